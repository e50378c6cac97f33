"""The asyncio loop under the sans-I/O engine: one websocket, the driver, and the clock.

It owns every task it starts (TaskGroup) and cancels what is left when the scenario ends; it never decides
anything the engine can decide.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from harness.config import Endpoint, StationTarget, Timeouts
from harness.drivers import Driver
from harness.results import WireRecord
from harness.scenario.engine import DriverOutcome, DriverRequest, Engine, RawFrame
from simulator import transfers
from simulator.model import TransferJob

_MAX_IDLE_WAIT_S = 1.0


class Clock:
    """A monotonic clock on the POSIX time scale: differences are monotonic (latencies), values are wall time
    (OCPP timestamps)."""

    def __init__(self) -> None:
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0)


def station_url(endpoint: Endpoint, station: StationTarget) -> str:
    """``<endpoint>/<percent-encoded station id>`` (OCPP-J 1.6 §3.1.1)."""
    return f"{endpoint.ws_url}/{quote(station.id, safe='')}"


def basic_auth_headers(station: StationTarget) -> dict[str, str]:
    """``Authorization: Basic base64(id:password)`` for security profiles 1 and 2 (whitepaper A00.FR.202-204)."""
    if station.security_profile not in (1, 2) or station.basic_auth_password is None:
        return {}
    token = base64.b64encode(f"{station.id}:{station.basic_auth_password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


@dataclass
class _Link:
    """The current websocket and the task reading it."""

    ws: ClientConnection
    reader: asyncio.Task[None]


async def _read(ws: ClientConnection, inbox: asyncio.Queue[tuple[Any, ...]]) -> None:
    try:
        async for message in ws:
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            await inbox.put(("frame", ws, text))
    except ConnectionClosed:
        pass
    code = ws.close_code
    reason = ws.close_reason or ""
    await inbox.put(("closed", ws, f"close code {code} {reason}".strip()))


async def _drive(request: DriverRequest, driver: Driver, inbox: asyncio.Queue[tuple[Any, ...]]) -> None:
    try:
        if request.kind == "trigger":
            outcome = await driver.trigger(station_id=request.station_id, action=request.name, payload=request.payload)
        else:
            outcome = await driver.configure(
                station_id=request.station_id, operation=request.name, payload=request.payload
            )
    except Exception as exc:  # a driver must not take the loop down; the engine reports it as ERROR
        outcome = DriverOutcome(False, f"{type(exc).__name__}: {exc}")
    await inbox.put(("driver", request.request_id, outcome))


async def _transfer(job: TransferJob, inbox: asyncio.Queue[tuple[Any, ...]]) -> None:
    outcome = await transfers.perform(job)
    await inbox.put(("transfer", job.job_id, outcome))


async def _open(url: str, headers: dict[str, str], timeouts: Timeouts) -> tuple[ClientConnection | None, str]:
    """Open the websocket offering ``ocpp1.6``; retry refused connections until ``connect_s`` (a CSMS may be
    restarting), but not HTTP answers, which are the CSMS's decision."""
    deadline = time.monotonic() + timeouts.connect_s
    while True:
        try:
            ws = await connect(
                url,
                subprotocols=[Subprotocol("ocpp1.6")],
                additional_headers=headers,
                open_timeout=timeouts.connect_s,
                ping_interval=None,
                max_size=2**22,
            )
            return ws, ""
        except InvalidStatus as exc:
            status = exc.response.status_code
            # 503 says "not now" (RFC 9110 §15.6.4): a CSMS still releasing the station's previous connection.
            # A charger retries after Retry-After; anything else is the CSMS's answer.
            if status == 503 and time.monotonic() < deadline:
                await asyncio.sleep(
                    min(_retry_after_s(exc.response.headers.get("Retry-After")), deadline - time.monotonic())
                )
                continue
            return None, f"HTTP {status} during the websocket handshake"
        except (InvalidHandshake, InvalidURI) as exc:
            return None, str(exc)
        except (OSError, TimeoutError) as exc:
            if time.monotonic() >= deadline:
                return None, f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(0.2)


def _retry_after_s(value: str | None) -> float:
    """Seconds of a ``Retry-After: <seconds>`` header (a date is not expected from a CSMS): 1 s if absent or
    unreadable, at most 5 s."""
    try:
        return min(max(float(value or 1), 0.1), 5.0)
    except ValueError:
        return 1.0


async def replay(
    engine: Engine,
    *,
    url: str,
    headers: dict[str, str],
    driver: Driver,
    clock: Clock,
    timeouts: Timeouts,
    on_record: Callable[[WireRecord], None],
) -> None:
    """Run ``engine`` to its outcome over a real websocket."""
    inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
    link: _Link | None = None
    written = 0
    tasks: set[asyncio.Task[None]] = set()

    def flush() -> None:
        nonlocal written
        for record in engine.records[written:]:
            on_record(record)
        written = len(engine.records)

    async def send_queued() -> None:
        """Everything the engine queued goes out before anything else happens (a station answers a CALL before
        it loses its connection, and before a scenario ends); what could not be written is not traced."""
        nonlocal link
        for frame in engine.data_to_send():
            if link is None:
                continue
            try:
                if isinstance(frame, RawFrame):
                    await link.ws.send(frame.data, text=frame.text)
                else:
                    await link.ws.send(frame)
            except ConnectionClosed:
                continue  # the reader reports the close
            engine.sent(frame, clock.now())

    async with asyncio.TaskGroup() as group:
        try:
            while not engine.finished:
                await send_queued()
                if engine.wants_connection() and link is None:
                    ws, detail = await _open(url, headers, timeouts)
                    if ws is None:
                        engine.connection_failed(clock.now(), url=url, detail=detail)
                    else:
                        link = _Link(ws, group.create_task(_read(ws, inbox)))
                        tasks.add(link.reader)
                        engine.connection_opened(clock.now(), url=url, subprotocol=ws.subprotocol)
                elif not engine.wants_connection() and link is not None:
                    await link.ws.close()
                    link = None
                    engine.connection_closed(clock.now(), by_peer=False, detail="station went down or offline")
                await send_queued()
                for request in engine.driver_requests():
                    tasks.add(group.create_task(_drive(request, driver, inbox)))
                for job in engine.transfers(clock.now()):
                    tasks.add(group.create_task(_transfer(job, inbox)))
                flush()
                if engine.finished or engine.wants_connection() != (link is not None):
                    continue
                deadline = engine.next_deadline()
                wait_s = _MAX_IDLE_WAIT_S if deadline is None else min(_MAX_IDLE_WAIT_S, deadline - clock.now())
                try:
                    item = await asyncio.wait_for(inbox.get(), timeout=max(0.0, wait_s))
                except TimeoutError:
                    engine.tick(clock.now())
                    continue
                kind = item[0]
                if kind == "frame" and link is not None and item[1] is link.ws:
                    engine.receive(item[2], clock.now())
                elif kind == "closed" and link is not None and item[1] is link.ws:
                    link = None
                    engine.connection_closed(clock.now(), by_peer=True, detail=item[2])
                elif kind == "driver":
                    engine.driver_done(item[1], item[2], clock.now())
                elif kind == "transfer":
                    engine.transfer_done(item[1], ok=item[2].ok, detail=item[2].detail, now=clock.now())
                engine.tick(clock.now())
            await send_queued()
        finally:
            flush()
            for task in tasks:
                task.cancel()
            if link is not None:
                await link.ws.close()
