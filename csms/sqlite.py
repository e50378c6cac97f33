"""The CSMS's SQLite connection: statements on the event loop's own thread, and group commit.

Statements run where they are called, synchronously: on this machine an UPDATE of a station takes about 7 µs
and an exchange row with its three indexes 15 µs, less than handing each to a worker thread and waking the loop
again (aiosqlite's way: two thread switches and a self-pipe write per statement, on the one core the CSMS's
process runs on; with a commit per OCPP message that made about 850 Heartbeats a second its limit). The
awaitable API is kept (``await db.execute(...)``, ``async with db.execute(...) as cursor``) but nothing in it
suspends, which gives the stores their one invariant: a unit of writes made under the write lock is never seen
half-done by a commit, because a commit runs only between two steps of the loop and a unit awaits nothing but
these statements.

Group commit (:meth:`Database.commit`). A writer that wants its writes committed joins the next commit and waits
for it; that commit runs once the loop has run every task that was ready with it, so the CALLs that arrived
together share one commit, and each of their answers is sent only after the commit that holds its writes. A
failed commit fails every one of its writers (who answer InternalError, not a CALLRESULT), and is rolled back.

Durability (the settings are made in :meth:`Database.open`). WAL journal mode with ``synchronous=NORMAL``: a
commit appends its pages to the WAL file with ``write()`` before it returns, so it is in the operating system's
page cache and survives a crash or ``kill -9`` of the CSMS process; the WAL is fsynced only at checkpoints, so a
power loss or a crash of the operating system may roll back the last commits (never corrupt the database: the
WAL's frames are checksummed and a torn tail is ignored on recovery). For a heartbeat, a status notification, a
boot or a line of the exchange log that is acceptable: the station sends them again in the normal course
(heartbeats, a StatusNotification per change and at every boot), and nothing is billed from them. Nor is a commit
whose answer had not gone out a loss: the station did not get its answer, so it sends the message again (a
transaction message stays in its queue until answered) and the CSMS keeps it then. It is not for
what the CSMS acknowledged of a transaction: a station drops a StartTransaction, StopTransaction or transaction
MeterValues from its queue once answered (OCPP 1.6 §4.7, §4.8, §4.10: resent only until answered), so a rolled
back stop is a session never billed, and a rolled back start frees its AUTOINCREMENT id (sqlite_sequence rolls
back with it) for the next session while the station still holds it: two sessions, one transactionId. A
``durable`` commit therefore also fsyncs the WAL file before its writers are answered, which is exactly what
``synchronous=FULL`` does in WAL mode ("the WAL file is synchronized after each transaction commit"), but done
by a worker thread on a file descriptor of its own, so the loop goes on parsing and answering while the disk
works; the fsync flushes every frame written so far, and a checkpoint meanwhile only copies frames that it has
fsynced first. One fsync per commit, however many transaction messages share it. The checkpoints themselves
(the WAL copied into the database file, both fsynced) run on that thread too, PASSIVE, on a connection of their
own, every :data:`CHECKPOINT_EVERY_COMMITS` commits, rather than in whichever commit of the loop crosses SQLite's
threshold of 1000 pages, which stays as a backstop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

# Every this many commits the WAL is checkpointed by the worker thread (module docstring); SQLite's own automatic
# checkpoint (at 1000 pages, on the loop's thread, in the commit that crosses it) is left on as a backstop.
CHECKPOINT_EVERY_COMMITS = 64


class Cursor:
    """A cursor whose statement has run; ``await`` it, or use it with ``async with``, as aiosqlite's."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self
        yield  # a generator that returns at once: awaiting a cursor never suspends

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._cursor.close()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class Database:
    """One SQLite connection of the event loop's thread (module docstring). Open with :meth:`open`."""

    def __init__(self, connection: sqlite3.Connection, *, path: Path, wal_path: Path | None) -> None:
        self._connection = connection
        self._path = path
        self._wal_path = wal_path
        self._checkpointer: sqlite3.Connection | None = None  # the worker thread's own connection
        self._checkpoint: asyncio.Future[None] | None = None  # under way
        self._wal_fd: int | None = None
        self._waiting: list[asyncio.Future[None]] | None = None  # the writers of the next commit, once one is due
        self._next_durable = False
        self._syncs: list[asyncio.Future[None]] = []  # fsyncs under way
        self._syncer: ThreadPoolExecutor | None = None
        self._before_commit: list[Callable[[], None]] = []
        self.commits = 0  # how many commits ran (the batching is visible in the tests)
        self._closed = False

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (or create) the database in WAL mode with ``synchronous=NORMAL``; see the module docstring for
        what that keeps and what a ``durable`` commit adds."""
        connection = sqlite3.connect(str(path))
        try:
            # WAL + NORMAL: a commit survives a crash or kill -9 of the process, a power loss may take the last
            # ones back; transaction messages are committed durable (fsynced) before they are answered. The whole
            # argument is the module docstring's.
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            connection.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            connection.close()
            raise
        wal = Path(f"{path}-wal") if str(mode).lower() == "wal" else None
        return cls(connection, path=Path(path), wal_path=wal)

    @property
    def row_factory(self) -> Any:
        return self._connection.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._connection.row_factory = factory

    @property
    def in_transaction(self) -> bool:
        return self._connection.in_transaction

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return Cursor(self._connection.execute(sql, params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        return Cursor(self._connection.executemany(sql, rows))

    async def executescript(self, script: str) -> None:
        """Runs the script as it is (sqlite3 commits what is pending first); for migrations, at open."""
        self._connection.executescript(script)

    async def rollback(self) -> None:
        self._connection.rollback()

    def commit_soon(self) -> None:
        """Have the writes made so far committed with the next commit, without waiting for it: the one due, or
        one in the next loop step, after the answers of this step have gone out (the exchange log's rows, off the
        path of the answer they log)."""
        self._due()

    async def commit(self, *, durable: bool = False) -> None:
        """Return once the writes made so far on this connection are committed, and with ``durable`` on disk
        (module docstring). Each writer waits on a future of its own, so one that is cancelled meanwhile leaves
        the commit to the others."""
        waiting = self._due()
        self._next_durable = self._next_durable or durable
        done = asyncio.get_running_loop().create_future()
        waiting.append(done)
        await done

    def _due(self) -> list[asyncio.Future[None]]:
        if self._waiting is None:
            self._waiting = []
            self._next_durable = False
            asyncio.get_running_loop().call_soon(self._commit)
        return self._waiting

    def _commit(self) -> None:
        waiting, durable = self._waiting or [], self._next_durable
        self._waiting = None
        if self._closed:
            self._settle(waiting, sqlite3.ProgrammingError("the database is closed"))
            return
        try:
            for hook in self._before_commit:
                hook()
            self._connection.commit()
        except Exception as exc:
            log.exception("SQLite commit failed: its writes are rolled back")
            with contextlib.suppress(sqlite3.Error):
                self._connection.rollback()
            self._settle(waiting, exc)
            return
        self.commits += 1
        if self.commits % CHECKPOINT_EVERY_COMMITS == 0 and self._wal_path is not None and self._checkpoint is None:
            self._checkpoint = asyncio.ensure_future(self._run_checkpoint())
        if not durable or self._wal_path is None:
            self._settle(waiting, None)
            return
        sync = asyncio.ensure_future(self._fsync_wal())
        self._syncs.append(sync)
        sync.add_done_callback(lambda finished: self._synced(finished, waiting))

    def _synced(self, sync: asyncio.Future[None], waiting: list[asyncio.Future[None]]) -> None:
        self._syncs.remove(sync)
        error = sqlite3.OperationalError("the WAL was not fsynced") if sync.cancelled() else sync.exception()
        if error is not None:
            log.error("fsync of the WAL failed: %s", error)
        self._settle(waiting, error)

    @staticmethod
    def _settle(waiting: list[asyncio.Future[None]], error: BaseException | None) -> None:
        for done in waiting:
            if done.done():  # its writer was cancelled
                continue
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

    def before_commit(self, hook: Callable[[], None]) -> None:
        """Have ``hook`` run just before each commit (it may write: its writes are part of the commit)."""
        self._before_commit.append(hook)

    def _worker(self) -> ThreadPoolExecutor:
        if self._syncer is None:
            self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csms-sqlite")
        return self._syncer

    async def _run_checkpoint(self) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._worker(), self._checkpoint_in_worker)
        except sqlite3.Error as exc:  # SQLite's automatic checkpoint does it then
            log.warning("WAL checkpoint failed: %s", exc)
        finally:
            self._checkpoint = None

    def _checkpoint_in_worker(self) -> None:
        """A PASSIVE checkpoint (it never blocks the loop's writes), on the worker thread's own connection: the
        copying of pages into the database file and its two fsyncs happen off the loop."""
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(str(self._path), check_same_thread=False)
        self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    async def _fsync_wal(self) -> None:
        assert self._wal_path is not None
        if self._wal_fd is None:
            try:
                self._wal_fd = os.open(self._wal_path, os.O_RDONLY)
            except FileNotFoundError:  # no WAL yet: nothing was appended to one
                return
        await asyncio.get_running_loop().run_in_executor(self._worker(), os.fsync, self._wal_fd)

    async def close(self) -> None:
        """Commit what is pending (its writers are answered), wait for the fsyncs under way, then close."""
        if self._waiting is not None:
            self._commit()
        self._closed = True
        if self._syncs or self._checkpoint is not None:
            await asyncio.gather(
                *self._syncs, *[c for c in (self._checkpoint,) if c is not None], return_exceptions=True
            )
        if self._syncer is not None:
            if self._checkpointer is not None:
                self._syncer.submit(self._checkpointer.close).result()
            self._syncer.shutdown(wait=True)
        if self._wal_fd is not None:
            os.close(self._wal_fd)
            self._wal_fd = None
        self._connection.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()
