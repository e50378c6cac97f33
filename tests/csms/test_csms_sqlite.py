"""Group commit (csms.sqlite): writers that come together share one commit, each returns only once its writes
are committed (durable ones fsynced), a failed commit fails all of its writers, reads see the writes at once, and
writes nobody waits for are committed with the next commit, in the next loop step at the latest."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from csms.sqlite import Database


def committed_rows(path: Path) -> int:
    """What another connection (a process after a crash) finds: committed rows only."""
    with sqlite3.connect(path) as other:
        return int(other.execute("SELECT COUNT(*) FROM t").fetchone()[0])


async def test_writers_that_come_together_share_one_commit(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite3"
    async with await Database.open(path) as db:
        await db.executescript("CREATE TABLE t (n INTEGER)")
        before = db.commits
        seen: list[int] = []

        async def writer(n: int, *, durable: bool) -> None:
            await db.execute("INSERT INTO t VALUES (?)", (n,))
            await db.commit(durable=durable)
            seen.append(committed_rows(path))

        await asyncio.gather(*(writer(n, durable=n == 3) for n in range(10)))
        assert db.commits == before + 1
        assert seen == [10] * 10  # nobody returned before the commit that holds its row


async def test_a_read_sees_the_writes_before_their_commit(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    async with await Database.open(path) as db:
        await db.executescript("CREATE TABLE t (n INTEGER)")
        await db.execute("INSERT INTO t VALUES (1)")
        db.commit_soon()
        async with db.execute("SELECT COUNT(*) FROM t") as cursor:
            assert (await cursor.fetchone())[0] == 1
        assert committed_rows(path) == 0
        await asyncio.sleep(0)  # the next loop step
        assert committed_rows(path) == 1
        await db.execute("INSERT INTO t VALUES (2)")
        db.commit_soon()
        await db.execute("INSERT INTO t VALUES (3)")
        await db.commit()  # a writer's commit takes them along
        assert committed_rows(path) == 3


async def test_a_failed_commit_fails_each_of_its_writers(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    async with await Database.open(path) as db:
        await db.executescript(
            "CREATE TABLE p (id INTEGER PRIMARY KEY);"
            "CREATE TABLE c (p INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);"
            "PRAGMA foreign_keys = ON;"
        )

        async def writer(sql: str) -> None:
            await db.execute(sql)
            await db.commit()

        results = await asyncio.gather(
            writer("INSERT INTO p VALUES (1)"), writer("INSERT INTO c VALUES (2)"), return_exceptions=True
        )
        assert all(isinstance(result, sqlite3.IntegrityError) for result in results)
        await writer("INSERT INTO p VALUES (3)")
        async with db.execute("SELECT id FROM p") as cursor:
            assert [row[0] for row in await cursor.fetchall()] == [3]  # the failed commit was rolled back


async def test_a_cancelled_writer_leaves_the_commit_to_the_others(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    async with await Database.open(path) as db:
        await db.executescript("CREATE TABLE t (n INTEGER)")
        await db.execute("INSERT INTO t VALUES (1)")
        waiting = asyncio.ensure_future(db.commit(durable=True))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await db.execute("INSERT INTO t VALUES (2)")
        await db.commit()
        assert committed_rows(path) == 2
