"""Nothing lost: simulated stations charge while the bundled CSMS (``ocpp-harness csms``, a real process) is killed
with SIGKILL at random moments and restarted on the same database; afterwards what the CSMS kept is compared
with what it acknowledged.

Each station runs sessions one after the other: StartTransaction, MeterValues, StopTransaction. Like a charger's
queue of transaction messages (OCPP 1.6 §4.7, §4.8, §4.10) a message whose answer did not come (the CSMS died, the
connection dropped, the answer was late) is sent again, the same payload under a new message id, until it is
answered; on every new connection the station boots first. So a start the CSMS committed and died before answering
is sent twice: the CSMS must give it the same transactionId (no phantom session).

The comparison (:class:`Figures`): ``lost`` an acknowledged start that is not in the database, or an acknowledged
stop whose meterStop is not kept; ``reused`` a transactionId acknowledged for two sessions; ``phantom`` a
database transaction that is no session, or a session kept as more than one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

from ocppj.timefmt import format_time

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "crash-test-token-5e9d1a"
ANSWER_WAIT_S = 3.0
_EPOCH_S = 1_767_225_600.0  # 2026-01-01T00:00:00Z: session timestamps are made up, one second apart


@dataclass
class Figures:
    sessions: int = 0
    kills: int = 0
    resends: int = 0  # transaction messages sent again because no answer came
    duplicates_kept: int = 0  # resends the CSMS recognised (transaction_duplicates)
    lost: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    phantom: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.sessions} sessions, {self.kills} SIGKILLs, {self.resends} transaction messages resent "
            f"({self.duplicates_kept} recognised as resends by the CSMS); lost {len(self.lost)}, "
            f"reused transactionIds {len(self.reused)}, phantom sessions {len(self.phantom)}"
        )


class Csms:
    """``ocpp-harness csms`` as a child process on a fixed port and database, killed and restarted at will."""

    def __init__(self, *, db_path: Path, port: int) -> None:
        self.db_path = db_path
        self.port = port
        self._process: subprocess.Popen[str] | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        command = [sys.executable, "-m", "harness.cli", "csms", "--port", str(self.port), "--db", str(self.db_path)]
        env = {**os.environ, "OCPP_HARNESS_CSMS_TOKEN": TOKEN}
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        assert self._process.stdout is not None
        line = await asyncio.to_thread(self._process.stdout.readline)
        if not re.match(r"CSMS listening on ", line):
            raise RuntimeError(f"the CSMS did not start: {line!r}")

    def kill(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
            self._process = None

    def terminate(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    async def provision(self, station_ids: list[str]) -> None:
        async with aiohttp.ClientSession(base_url=self.api_url, headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            for station_id in station_ids:
                async with api.post("/api/stations", json={"id": station_id}) as response:
                    assert response.status in (200, 201), await response.text()


@dataclass
class Session:
    station_id: str
    connector_id: int
    started_at: str
    meter_start: int
    meter_stop: int
    transaction_id: int | None = None
    stopped: bool = False

    @property
    def key(self) -> str:
        return f"{self.station_id}/{self.connector_id}/{self.started_at}"


class Station:
    """One charger: its sessions, sent over a connection it opens again whenever it is lost."""

    def __init__(self, csms: Csms, station_id: str, *, index: int, deadline: float) -> None:
        self.csms = csms
        self.station_id = station_id
        self.deadline = deadline
        self.resends = 0
        self.sessions: list[Session] = []
        self._index = index
        self._ws: ClientConnection | None = None

    def _next_session(self) -> Session:
        number = len(self.sessions)
        session = Session(
            self.station_id,
            1 + number % 2,
            format_time(_EPOCH_S + self._index * 100_000 + number),
            meter_start=1000 * number,
            meter_stop=1000 * number + 500,
        )
        self.sessions.append(session)
        return session

    async def run(self, *, sessions: int, until: asyncio.Event) -> None:
        """At least ``sessions``, and more until ``until`` is set (the kills are done), with a pause between
        messages as a charger has (its meter value interval)."""
        try:
            while len(self.sessions) < sessions or not until.is_set():
                session = self._next_session()
                start = {
                    "connectorId": session.connector_id,
                    "idTag": "CRASH_TAG",
                    "meterStart": session.meter_start,
                    "timestamp": session.started_at,
                }
                answer = await self.call("StartTransaction", start)
                session.transaction_id = answer["transactionId"]
                await asyncio.sleep(random.uniform(0.02, 0.15))
                meter = {"timestamp": session.started_at, "sampledValue": [{"value": str(session.meter_start + 250)}]}
                await self.call(
                    "MeterValues",
                    {
                        "connectorId": session.connector_id,
                        "transactionId": session.transaction_id,
                        "meterValue": [meter],
                    },
                )
                await asyncio.sleep(random.uniform(0.02, 0.15))
                stop = {
                    "transactionId": session.transaction_id,
                    "meterStop": session.meter_stop,
                    "timestamp": session.started_at,
                    "reason": "Local",
                }
                await self.call("StopTransaction", stop)
                session.stopped = True
        finally:
            if self._ws is not None:
                await self._ws.close()

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send until answered: a CALL whose answer did not come is sent again (a new message id, OCPP-J 1.6
        §4.1.4), on a new connection when the old one is gone."""
        sent = False
        while True:
            if time.monotonic() > self.deadline:
                raise TimeoutError(f"{self.station_id}: {action} was not answered before the test's deadline")
            try:
                ws = await self._connected()
                unique_id = str(uuid.uuid4())
                await ws.send(json.dumps([2, unique_id, action, payload]))
                self.resends += sent  # this one went out before and got no answer
                sent = True
                async with asyncio.timeout(ANSWER_WAIT_S):
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame[0] in (3, 4) and frame[1] == unique_id:
                            break
                if frame[0] != 3:
                    raise AssertionError(f"{self.station_id}: {action} answered {frame}")
                result: dict[str, Any] = frame[2]
                return result
            except (ConnectionClosed, OSError, TimeoutError, InvalidHandshake):
                await self._drop()
                await asyncio.sleep(random.uniform(0.05, 0.2))

    async def _connected(self) -> ClientConnection:
        if self._ws is not None:
            return self._ws
        ws = await connect(
            f"{self.csms.ws_url}/{self.station_id}",
            subprotocols=[Subprotocol("ocpp1.6")],
            open_timeout=ANSWER_WAIT_S,
            ping_interval=None,
            close_timeout=0.5,
        )
        self._ws = ws
        boot = json.dumps(
            [2, str(uuid.uuid4()), "BootNotification", {"chargePointVendor": "C", "chargePointModel": "K"}]
        )
        await ws.send(boot)
        async with asyncio.timeout(ANSWER_WAIT_S):
            answer = json.loads(await ws.recv())
        if answer[0] != 3 or answer[2].get("status") != "Accepted":
            raise OSError(f"{self.station_id}: BootNotification answered {answer}")
        return ws

    async def _drop(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(
    folder: Path, *, stations: int, sessions: int, kills: int, seed: int, deadline_s: float = 300.0
) -> Figures:
    """The whole experiment; returns the figures (the caller asserts or prints them)."""
    random.seed(seed)
    csms = Csms(db_path=folder / "csms.sqlite3", port=free_port())
    await csms.start()
    ids = [f"CRASH_{number:03d}" for number in range(stations)]
    await csms.provision(ids)
    deadline = time.monotonic() + deadline_s
    fleet = [Station(csms, station_id, index=i, deadline=deadline) for i, station_id in enumerate(ids)]
    figures = Figures()
    killed = asyncio.Event()
    try:
        async with asyncio.TaskGroup() as group:
            for station in fleet:
                group.create_task(station.run(sessions=sessions, until=killed))

            async def killer() -> None:
                """Stations charge all along: they go on with new sessions until the last kill is done."""
                while figures.kills < kills:
                    await asyncio.sleep(random.uniform(0.1, 0.6))
                    csms.kill()
                    figures.kills += 1
                    await asyncio.sleep(random.uniform(0.0, 0.3))
                    await csms.start()
                killed.set()

            group.create_task(killer())
    finally:
        csms.terminate()
    all_sessions = [session for station in fleet for session in station.sessions]
    figures.sessions = len(all_sessions)
    figures.resends = sum(station.resends for station in fleet)
    compare(csms.db_path, all_sessions, figures)
    return figures


def compare(db_path: Path, sessions: list[Session], figures: Figures) -> None:
    db = sqlite3.connect(db_path)
    try:
        rows = db.execute(
            "SELECT id, station_id, connector_id, started_at, meter_start, meter_stop FROM transactions"
        ).fetchall()
        figures.duplicates_kept = db.execute("SELECT COUNT(*) FROM transaction_duplicates").fetchone()[0]
    finally:
        db.close()
    kept = {row[0]: row for row in rows}
    per_session = Counter(f"{row[1]}/{row[2]}/{row[3]}" for row in rows)
    by_id: dict[int, str] = {}
    for session in sessions:
        if session.transaction_id is None:
            figures.lost.append(f"{session.key}: never acknowledged")
            continue
        earlier = by_id.setdefault(session.transaction_id, session.key)
        if earlier != session.key:
            figures.reused.append(f"transactionId {session.transaction_id}: {earlier} and {session.key}")
        row = kept.get(session.transaction_id)
        if row is None or f"{row[1]}/{row[2]}/{row[3]}" != session.key:
            figures.lost.append(f"{session.key}: acknowledged start {session.transaction_id} not kept")
        elif session.stopped and row[5] != session.meter_stop:
            figures.lost.append(f"{session.key}: acknowledged stop kept meterStop {row[5]}")
        if per_session[session.key] != 1:
            figures.phantom.append(f"{session.key}: kept as {per_session[session.key]} transactions")
    known = {session.key for session in sessions}
    figures.phantom += [
        f"transaction {row[0]} is no session" for row in rows if f"{row[1]}/{row[2]}/{row[3]}" not in known
    ]
