"""The ``handshake`` step's I/O: one websocket upgrade request written byte for byte, apart from the station's
connection, and what the CSMS answered (OCPP-J 1.6 §3.1-§3.2, RFC 6455 §4.1-§4.2).

A websocket client library would not do: it offers subprotocols on one header line and refuses an answer it did
not ask for, while the step must send, say, two ``Sec-WebSocket-Protocol`` lines (RFC 6455 §11.3.4) or none, and
report what came back. The probe reaches the engine the way driver outcomes do (:class:`HandshakeProbes` wraps
the case's driver and takes the engine's ``handshake`` request), so the runtime needs nothing of its own for it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from harness.config import Target
from harness.drivers import Driver
from harness.scenario.engine import CONNECT, HANDSHAKE, DriverOutcome, HandshakeReply
from simulator.transport import LinkSettings

if TYPE_CHECKING:
    from harness.results import Verdict
    from harness.session import Case

_CLOSE = 0x8
_BUSY_RETRY_S = 0.5  # a 503 (RFC 9110 §15.6.4) is "not now": asked again until the step's time is up
_ANSWER_S = 5.0  # the longest the probe waits for the HTTP answer when it awaits no close


async def probe(
    url: str,
    *,
    protocol_lines: Sequence[str],
    headers: Mapping[str, str],
    timeout_s: float,
    await_close: bool,
    ssl_context: ssl.SSLContext | None = None,
) -> HandshakeReply:
    """Upgrade ``url`` offering ``protocol_lines``; after a 101, with ``await_close`` wait up to ``timeout_s`` for
    the CSMS to close; close politely if it does not. OSError/TimeoutError when nothing HTTP came back."""
    deadline = time.monotonic() + timeout_s
    while True:
        reply = await _once(url, protocol_lines, headers, timeout_s if await_close else 0.0, ssl_context)
        if reply.status != 503 or time.monotonic() + _BUSY_RETRY_S > deadline:
            return reply
        await asyncio.sleep(_BUSY_RETRY_S)


async def _once(
    url: str,
    protocol_lines: Sequence[str],
    headers: Mapping[str, str],
    close_wait_s: float,
    ssl_context: ssl.SSLContext | None,
) -> HandshakeReply:
    timeout_s = max(close_wait_s, _ANSWER_S)
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(
            parts.hostname, port, ssl=(ssl_context or ssl.create_default_context()) if secure else None
        )
    try:
        lines = [
            f"GET {parts.path or '/'} HTTP/1.1",
            f"Host: {parts.hostname}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)).decode("ascii"),
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in headers.items()),
            *(f"Sec-WebSocket-Protocol: {line}" for line in protocol_lines),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        async with asyncio.timeout(timeout_s):
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        protocols = tuple(
            line.split(":", 1)[1].strip() for line in head[1:] if line.lower().startswith("sec-websocket-protocol:")
        )
        close_code = await _close_code(reader, close_wait_s) if status == 101 and close_wait_s > 0 else None
        if status == 101 and close_code is None:
            writer.write(bytes([0x80 | _CLOSE, 0x80]) + os.urandom(4))  # a close frame, masked, no payload
        return HandshakeReply(status, protocols, close_code)
    except (ValueError, IndexError) as exc:
        raise OSError(f"the answer to the upgrade request is not HTTP: {exc}") from None
    finally:
        writer.close()


async def _close_code(reader: asyncio.StreamReader, timeout_s: float) -> int | None:
    """The code of the first close frame the CSMS sends within ``timeout_s`` (1005 when it has none), None when
    it sends none; other frames are skipped (RFC 6455 §5.2)."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                first, second = await reader.readexactly(2)
                length = second & 0x7F
                if length == 126:
                    length = int.from_bytes(await reader.readexactly(2), "big")
                elif length == 127:
                    length = int.from_bytes(await reader.readexactly(8), "big")
                payload = await reader.readexactly(length)
                if first & 0x0F == _CLOSE:
                    return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
    except TimeoutError:
        return None
    except (asyncio.IncompleteReadError, ConnectionError):
        return 1006  # closed without a close frame


class HandshakeProbes:
    """The case's driver, with the engine's ``handshake`` requests performed here against ``ws_url`` (with the
    headers and, for wss, the TLS context of the station's connection at that moment, as ``link`` gives them),
    and its ``connect`` requests by ``connect`` (:mod:`harness.connect`)."""

    def __init__(
        self,
        driver: Driver,
        *,
        ws_url: str,
        link: Callable[[], LinkSettings],
        connect: Callable[[dict[str, Any]], Awaitable[DriverOutcome]] | None = None,
    ) -> None:
        self._driver = driver
        self._ws_url = ws_url
        self._link = link
        self._connect = connect

    async def trigger(self, *, station_id: str, action: str, payload: dict[str, Any]) -> DriverOutcome:
        return await self._driver.trigger(station_id=station_id, action=action, payload=payload)

    async def configure(self, *, station_id: str, operation: str, payload: dict[str, Any]) -> DriverOutcome:
        if operation == CONNECT and self._connect is not None:
            return await self._connect(payload)
        if operation != HANDSHAKE:
            return await self._driver.configure(station_id=station_id, operation=operation, payload=payload)
        url = f"{self._ws_url}/{quote(str(payload['station_id']), safe='')}"
        lines = [str(line) for line in payload["subprotocols"]]
        link = self._link()
        try:
            reply = await probe(
                url,
                protocol_lines=lines,
                headers=link.headers,
                timeout_s=float(payload["timeout_s"]),
                await_close=bool(payload["await_close"]),
                ssl_context=link.ssl_context,
            )
        except (OSError, TimeoutError) as exc:
            return DriverOutcome(False, f"{type(exc).__name__} {exc}".strip(), request=HANDSHAKE, method="GET", url=url)
        return DriverOutcome(True, request=HANDSHAKE, method="GET", url=url, http_status=reply.status, handshake=reply)

    async def provision(self, target: Target) -> None:
        await self._driver.provision(target)

    async def before_case(self, case: Case) -> None:
        await self._driver.before_case(case)

    async def after_case(self, case: Case, verdict: Verdict) -> None:
        await self._driver.after_case(case, verdict)

    async def aclose(self) -> None:
        await self._driver.aclose()
