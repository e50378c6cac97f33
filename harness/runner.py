"""The asyncio loop under the sans-I/O engine: one websocket, the driver, and the clock.

It owns every task it starts (TaskGroup) and cancels what is left when the scenario ends; it never decides
anything the engine can decide.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.config import Endpoint, StationTarget
from harness.drivers import Driver
from harness.outcomes import HarnessError
from harness.results import WireRecord
from harness.scenario.engine import DriverOutcome, DriverRequest, Engine, RawFrame
from simulator import transfers, transport
from simulator.model import ConnectionSettings, TransferJob
from simulator.station import Clock as Clock  # re-exported: the engine and its callers share it
from simulator.transport import ConnectFailure, Link, LinkSettings, open_link

_MAX_IDLE_WAIT_S = 1.0


def station_url(endpoint: Endpoint, station: StationTarget) -> str:
    """``<endpoint>/<percent-encoded station id>`` (OCPP-J 1.6 §3.1.1)."""
    return transport.station_url(endpoint.ws_url, station.id)


@dataclass
class _Link:
    """The current websocket and the task reading it."""

    ws: Link
    reader: asyncio.Task[None]


async def _read(link: Link, inbox: asyncio.Queue[tuple[Any, ...]]) -> None:
    while (text := await link.receive()) is not None:
        await inbox.put(("frame", link, text))
    await inbox.put(("closed", link, link.close_detail))


async def _open(settings: LinkSettings) -> tuple[Link | None, str]:
    try:
        return await open_link(settings), ""
    except ConnectFailure as failure:
        return None, failure.detail


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


LinkFactory = Callable[[ConnectionSettings], LinkSettings]
"""How to reach the CSMS for what the station wants now: its security profile picks the endpoint, its password
the Basic header, its trust anchors and client certificate the TLS context (all may change during a case:
TC_073 changes the password, TC_074 the certificate, TC_083 the profile)."""


def fixed_link(url: str, *, headers: Mapping[str, str] | None = None, connect_timeout_s: float = 10.0) -> LinkFactory:
    """One URL whatever the station wants (plain ``ws://``, no credentials unless ``headers`` say so)."""
    settings = LinkSettings(url=url, headers=dict(headers or {}), connect_timeout_s=connect_timeout_s, compression=True)
    return lambda wanted: settings


async def replay(
    engine: Engine,
    *,
    links: LinkFactory,
    driver: Driver,
    clock: Clock,
    on_record: Callable[[WireRecord], None],
) -> None:
    """Run ``engine`` to its outcome over a real websocket (:mod:`simulator.transport`), each connection opened
    as ``links`` says for the station's settings at that moment. permessage-deflate is offered, as it always was
    to the CSMS under test."""
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
            written = (
                await link.ws.send(frame.data, text=frame.text)
                if isinstance(frame, RawFrame)
                else await link.ws.send(frame)
            )
            if not written:
                continue  # the reader reports the close
            engine.sent(frame, clock.now())

    async with asyncio.TaskGroup() as group:
        try:
            while not engine.finished:
                await send_queued()
                if engine.wants_connection() and link is None:
                    try:
                        settings = links(engine.connection_settings(clock.now()))
                    except HarnessError as exc:
                        engine.connection_failed(clock.now(), url="(none)", detail=str(exc))
                        continue
                    url = settings.url
                    ws, detail = await _open(settings)
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
                    engine.transfer_done(
                        item[1], ok=item[2].ok, detail=item[2].detail, sha256=item[2].sha256, now=clock.now()
                    )
                engine.tick(clock.now())
            await send_queued()
        finally:
            flush()
            for task in tasks:
                task.cancel()
            if link is not None:
                await link.ws.close()
