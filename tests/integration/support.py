"""Test support: the bundled CSMS and a frame-rewriting proxy on a background event loop.

The proxy sits between the simulated station and the bundled CSMS and lets a test break one CSMS answer or CALL
(a string transactionId, Accepted for a blocked token, a CALLERROR for a StatusNotification, ...). It works on
the wire, so the bundled CSMS itself stays free of test hooks.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from csms.app import CsmsServer
from harness.config import BUNDLED_DIAGNOSTICS_PATH, BUNDLED_FIRMWARE_PATH
from harness.scenario.model import PROFILES

# (frame from the CSMS, the station's CALLs by id as [action, payload]) -> replacement frame text, several frame
# texts to send in its place (e.g. an unsolicited CALL after it), or None to drop it.
Mutation = Callable[[list[Any], dict[str, list[Any]]], str | list[str] | None]
# A frame from the station (text, or bytes for a binary frame) -> frames to answer it with in the CSMS's place
# ([] to swallow it), or None to forward it to the CSMS.
StationHook = Callable[[str | bytes], list[str] | None]


@dataclass
class Broken:
    """A CSMS broken in how it takes what the station sends (the robustness scenarios' raw frames): ``up`` sees
    each station frame before the CSMS does; ``down`` rewrites the CSMS's frames as a :data:`Mutation` does.
    ``text_bytes``: text frames reach ``up`` as bytes, invalid UTF-8 included, as a CSMS that does not check it
    would take them (then every frame is forwarded as text)."""

    up: StationHook
    down: Mutation | None = None
    text_bytes: bool = False

    def __call__(self, frame: list[Any], pending: dict[str, list[Any]]) -> str | list[str] | None:
        return self.down(frame, pending) if self.down is not None else json.dumps(frame)


def _call_of(message: str | bytes) -> list[Any] | None:
    """The station's frame as a CALL, when it is one (raw frames may be anything)."""
    try:
        frame = json.loads(message)
    except (ValueError, RecursionError):
        return None
    return frame if isinstance(frame, list) and len(frame) == 4 and frame[0] == 2 else None


# ----------------------------------------------------------------- mutations: one CSMS answer or CALL broken


def answer(
    action: str, change: Callable[[dict[str, Any]], Any], *, when: Callable[[dict[str, Any]], bool] | None = None
) -> Mutation:
    """Rewrite the CSMS's CALLRESULT to the station's ``action`` (optionally only for matching requests)."""

    def mutate(frame: list[Any], pending: dict[str, list[Any]]) -> str | None:
        call = pending.get(frame[1]) if frame[0] == 3 else None
        if call is not None and call[0] == action and (when is None or when(call[1])):
            frame = [3, frame[1], change(frame[2])]
        return json.dumps(frame)

    return mutate


def call_error_for(action: str, *, when: Callable[[dict[str, Any]], bool]) -> Mutation:
    def mutate(frame: list[Any], pending: dict[str, list[Any]]) -> str | None:
        call = pending.get(frame[1]) if frame[0] == 3 else None
        if call is not None and call[0] == action and when(call[1]):
            return json.dumps([4, frame[1], "InternalError", "broken on purpose", {}])
        return json.dumps(frame)

    return mutate


def csms_call(action: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Mutation:
    """Rewrite a CALL the CSMS sends."""

    def mutate(frame: list[Any], pending: dict[str, list[Any]]) -> str | None:
        if frame[0] == 2 and frame[2] == action:
            frame = [2, frame[1], action, change(frame[3])]
        return json.dumps(frame)

    return mutate


def with_status(status: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda payload: {**payload, "idTagInfo": {"status": status}}


@dataclass
class Proxy:
    """Forwards ``/ocpp/<id>`` websockets to ``upstream``; ``mutate`` rewrites frames the CSMS sends."""

    upstream: str
    mutate: Mutation | None = None
    port: int = 0
    seen_actions: list[str] = field(default_factory=list)

    async def _handle(self, station: ServerConnection) -> None:
        path = station.request.path if station.request else "/"
        station_id = path.rsplit("/", 1)[-1]
        request = station.request
        headers = {k: v for k, v in request.headers.raw_items() if k.lower() == "authorization"} if request else {}
        async with connect(
            f"{self.upstream}/{station_id}", subprotocols=[Subprotocol("ocpp1.6")], additional_headers=headers
        ) as csms:
            pending: dict[str, list[Any]] = {}

            async def up() -> None:
                while True:
                    broken = self.mutate if isinstance(self.mutate, Broken) else None
                    try:
                        message = await station.recv(decode=False if broken and broken.text_bytes else None)
                    except ConnectionClosed:
                        return
                    replies = broken.up(message) if broken is not None else None
                    if replies is not None:
                        for reply in replies:
                            await station.send(reply)
                        continue
                    frame = _call_of(message)
                    if frame is not None:
                        pending[frame[1]] = [frame[2], frame[3]]
                        self.seen_actions.append(frame[2])
                    await csms.send(message, text=True if broken and broken.text_bytes else None)

            async def down() -> None:
                async for text in csms:
                    frame = json.loads(text)
                    out = self.mutate(frame, pending) if self.mutate else str(text)
                    for item in [out] if isinstance(out, str) else out or []:
                        await station.send(item)

            # Either side closing ends the pair: the other direction is cancelled, then the upstream closes.
            tasks = {asyncio.create_task(up()), asyncio.create_task(down())}
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> Proxy:
        self._server = await serve(self._handle, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp1.6")])
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"


class BackgroundLoop:
    """An event loop in a thread for servers the synchronous session talks to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)  # type: ignore[arg-type]

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@dataclass
class Stack:
    """A running bundled CSMS behind a proxy."""

    csms: CsmsServer
    proxy: Proxy


async def start_stack(db_path: Path) -> Stack:
    csms = CsmsServer(host="127.0.0.1", port=0, db_path=db_path)
    await csms.__aenter__()
    proxy = Proxy(upstream=csms.ws_url)
    await proxy.__aenter__()
    return Stack(csms, proxy)


async def stop_stack(stack: Stack) -> None:
    await stack.proxy.__aexit__(None, None, None)
    await stack.csms.__aexit__(None, None, None)


def target_document(
    *,
    ws_url: str,
    api_url: str,
    api_token: str,
    response_s: float = 5,
    step_s: float = 8,
    cleanup_s: float = 3,
) -> dict[str, Any]:
    """A target file's content for the bundled CSMS reached at ``ws_url`` (e.g. through the proxy), its API
    with ``api_token``. A broken answer usually breaks the cleanup too (the StopTransaction it refuses is
    retried), hence the short ``cleanup_s``."""
    return {
        "name": "bundled CSMS behind a test proxy",
        "profiles": [p for p in PROFILES if p != "Security"],  # the Security cases have their own TLS rig
        "additional_questions": ["AQ-1"],
        "endpoints": {"profile_0": {"ws_url": ws_url, "api_url": api_url}},
        "stations": {"default": {"id": "CP_1", "connectors": 2, "connector": 2}, "boot": {"id": "CP_BOOT"}},
        "tokens": {
            "central": {"valid": "OCA_TOKEN_1", "blocked": "BLOCKED", "expired": "EXPIRED", "invalid": "UNKNOWN_C"},
            "iso14443": {"valid": "123456789", "blocked": "222222222", "expired": "333333333", "invalid": "999999999"},
            "keycode": {
                "valid": "KEY_CODE_TOKEN",
                "blocked": "BLOCKED_KC",
                "expired": "EXPIRED_KC",
                "invalid": "UNKNOWN_KC",
            },
            "iso15693": {"valid": "987654321", "blocked": "111111111", "expired": "444444444", "invalid": "555555555"},
            "invalid": "UNKNOWN_0001",
            "parent": "GROUP_0001",
        },
        "driver": {"kind": "http", "preset": "bundled", "base_url": api_url, "auth": {"bearer": api_token}},
        "timeouts": {"response_s": response_s, "step_s": step_s, "connect_s": 5, "cleanup_s": cleanup_s},
        "provision": True,
        "test_data": {  # the bundled CSMS's file server, reached directly
            "firmware_url": api_url + BUNDLED_FIRMWARE_PATH,
            "diagnostics_location": api_url + BUNDLED_DIAGNOSTICS_PATH,
            "reservation_expiry_s": 3,
        },
    }
