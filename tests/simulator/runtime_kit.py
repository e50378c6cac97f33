"""A scriptable OCPP CSMS on 127.0.0.1 for the runtime tests, and a bounded wait for a condition.

The fake answers every station CALL compliantly unless told otherwise per action (``hold``: never answer;
``close_after``: close the connection after answering that many CALLs of one connection), keeps every frame,
and can send a CALL of its own to the connected station.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from tests.engine.test_engine import COMPLIANT as ANSWERS


@dataclass
class FakeCsms:
    hold: set[str] = field(default_factory=set)
    close_after: int | None = None
    received: list[list[Any]] = field(default_factory=list)
    answers: list[list[Any]] = field(default_factory=list)  # the station's answers to the fake's CALLs
    connections: int = 0
    paths: list[str] = field(default_factory=list)
    current: ServerConnection | None = None
    url: str = ""

    async def handler(self, connection: ServerConnection) -> None:
        self.connections += 1
        self.current = connection
        self.paths.append(connection.request.path if connection.request else "")
        answered = 0
        async for text in connection:
            frame = json.loads(text)
            self.received.append(frame)
            if frame[0] != 2:
                self.answers.append(frame)
                continue
            if frame[2] in self.hold:
                continue
            await connection.send(json.dumps([3, frame[1], ANSWERS.get(frame[2], {})]))
            answered += 1
            if self.close_after is not None and answered >= self.close_after and self.connections == 1:
                await connection.close(code=1001, reason="going away")
                return

    def actions(self) -> list[str]:
        return [frame[2] for frame in self.received if frame[0] == 2]

    async def call(self, action: str, payload: dict[str, Any]) -> None:
        assert self.current is not None
        await self.current.send(json.dumps([2, f"csms-{len(self.answers)}", action, payload]))


@asynccontextmanager
async def fake_csms(**options: Any) -> AsyncIterator[FakeCsms]:
    fake = FakeCsms(**options)
    async with serve(fake.handler, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp1.6")]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        fake.url = f"ws://127.0.0.1:{port}/ocpp"
        yield fake


async def until(condition: Callable[[], bool], *, what: str, limit_s: float = 15.0) -> None:
    """Wait until ``condition()`` holds; fail naming ``what`` if it does not within ``limit_s`` (a bound
    against hanging, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)
