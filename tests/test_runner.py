"""The asyncio loop under the engine, over a real websocket on loopback: what the engine queued goes on the wire
before the connection closes, the trace holds only what was written, and a CSMS that answers 503 while it
releases a station's previous connection is retried."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.typing import Subprotocol

from harness.results import Verdict
from harness.runner import Clock, fixed_link, replay
from harness.scenario.engine import DriverOutcome, Engine, EngineSettings
from simulator.model import StationSpec
from tests.engine.test_engine import BOOT, COMPLIANT, VARIABLES, scenario


class FakeCsms:
    """Answers every station CALL compliantly; a trigger makes it send ClearCache. Keeps every frame received,
    and refuses the first ``refuse`` handshakes with 503."""

    def __init__(self, refuse: int = 0) -> None:
        self.received: list[list[Any]] = []
        self.connection: ServerConnection | None = None
        self.refuse = refuse
        self.handshakes = 0

    def process_request(self, connection: ServerConnection, request: Any) -> Response | None:
        self.handshakes += 1
        if self.handshakes <= self.refuse:
            return Response(503, "Service Unavailable", Headers({"Retry-After": "0.1"}), b"busy\n")
        return None

    async def handler(self, connection: ServerConnection) -> None:
        self.connection = connection
        async for text in connection:
            frame = json.loads(text)
            self.received.append(frame)
            if frame[0] == 2:
                await connection.send(json.dumps([3, frame[1], COMPLIANT.get(frame[2], {})]))

    async def trigger(self, *, station_id: str, action: str, payload: dict[str, Any]) -> DriverOutcome:
        assert self.connection is not None
        await self.connection.send(json.dumps([2, "csms-1", action, payload]))
        return DriverOutcome(True, "sent")

    async def configure(self, *, station_id: str, operation: str, payload: dict[str, Any]) -> DriverOutcome:
        return DriverOutcome(True, "")

    async def provision(self, target: Any) -> None:
        return None

    async def aclose(self) -> None:
        return None


@pytest.fixture
async def csms(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FakeCsms, Server]]:
    fake = FakeCsms(refuse=getattr(request, "param", 0))
    async with serve(
        fake.handler, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp1.6")], process_request=fake.process_request
    ) as server:
        yield fake, server


async def replay_steps(tmp_path: Path, steps: str, fake: FakeCsms, server: Server) -> Engine:
    clock = Clock()
    engine = Engine(
        scenario(tmp_path, steps),
        station_spec=StationSpec(station_id="CP_1"),
        variables=VARIABLES,
        settings=EngineSettings(station_id="CP_1", connector_id=1, response_timeout_s=5, step_timeout_s=5),
        now=clock.now(),
    )
    port = next(iter(server.sockets)).getsockname()[1]
    await replay(
        engine,
        links=fixed_link(f"ws://127.0.0.1:{port}/ocpp/CP_1", connect_timeout_s=5),
        driver=fake,
        clock=clock,
        on_record=lambda record: None,
    )
    return engine


async def test_the_answer_to_the_last_csms_call_is_sent_before_the_connection_closes(
    tmp_path: Path, csms: tuple[FakeCsms, Server]
) -> None:
    fake, server = csms
    steps = BOOT + "\n  - trigger: ClearCache\n  - expect_call: ClearCache\n"
    engine = await replay_steps(tmp_path, steps, fake, server)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    for _ in range(100):  # the server reads what the station wrote before the close
        if [3, "csms-1", {"status": "Accepted"}] in fake.received:
            break
        await asyncio.sleep(0.01)
    assert fake.received[-1] == [3, "csms-1", {"status": "Accepted"}]
    sent = [json.loads(record.text) for record in engine.records if record.direction == ">"]
    assert sent == fake.received  # the trace holds exactly what went on the wire


@pytest.mark.parametrize("csms", [2], indirect=True)
async def test_a_503_while_the_csms_releases_the_station_is_retried(
    tmp_path: Path, csms: tuple[FakeCsms, Server]
) -> None:
    fake, server = csms
    engine = await replay_steps(tmp_path, BOOT, fake, server)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome
    assert fake.handshakes == 3


async def test_a_firmware_download_is_a_real_http_transfer(tmp_path: Path, csms: tuple[FakeCsms, Server]) -> None:
    """OCPP 1.6 §5.19: the station fetches the firmware from the location it is given (loopback HTTP here)."""
    fetched: list[str] = []

    async def firmware(request: web.Request) -> web.Response:
        fetched.append(request.path)
        return web.Response(body=b"firmware image")

    app = web.Application()
    app.router.add_get("/fw/image-2.0.bin", firmware)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    port = sock.getsockname()[1]
    try:
        fake, server = csms
        location = f"http://127.0.0.1:{port}/fw/image-2.0.bin"
        steps = (
            BOOT
            + f"""
  - trigger: UpdateFirmware
    payload: {{location: "{location}", retrieveDate: "2020-01-01T00:00:00Z"}}
  - expect_call: UpdateFirmware
  - exchange: FirmwareStatusNotification
    request: {{status: Downloading}}
  - exchange: FirmwareStatusNotification
    request: {{status: Downloaded}}
"""
        )
        engine = await replay_steps(tmp_path, steps, fake, server)
    finally:
        await runner.cleanup()
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome
    assert fetched == ["/fw/image-2.0.bin"]
    transfer_lines = [r.text for r in engine.records if r.text.startswith("transfer ")]
    assert transfer_lines[0] == f"transfer 1: download {location}"
    assert transfer_lines[1].startswith("transfer 1: done")


async def test_a_raw_text_frame_with_invalid_utf8_goes_on_the_wire_as_is(
    tmp_path: Path, csms: tuple[FakeCsms, Server]
) -> None:
    """RFC 6455 §8.1: a text frame that is not UTF-8 fails the connection; the websockets server closes it (1007),
    so the bytes really were sent as a text frame."""
    fake, server = csms
    steps = BOOT + "\n  - raw: invalid UTF-8\n    hex: c3 28\n    expect_close: true\n  - send: Heartbeat\n"
    engine = await replay_steps(tmp_path, steps, fake, server)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome
    texts = [record.text for record in engine.records]
    assert "<text frame, 2 bytes: c3 28>" in texts
    assert any(text.startswith("connection closed by the CSMS: close code 1007") for text in texts)
    assert fake.received[-1][2] == "Heartbeat"  # answered on the new connection
