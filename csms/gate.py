"""The CSMS's door: how many TCP connections it holds, and how long one may stay before it says what it wants.

Without it a plain TCP connection that never sends a request (no station id, no credentials needed) holds a file
descriptor forever, and enough of them lock real stations out. So:

- at most ``max_connections`` at once; one more is answered ``503 Service Unavailable`` with ``Retry-After``
  (RFC 9110 §15.6.4, §10.2.3), which a charger understands as "reconnect later", and closed;
- a connection whose first request has not arrived, complete, within ``handshake_timeout_s`` is dropped (it
  sent nothing, or headers a byte at a time);
- the default limit stays below the process's file-descriptor limit, leaving room for the database and logs;
  ``ocpp-harness csms`` first raises its soft limit to the hard one (:func:`raise_descriptor_limit`), as servers
  do, since a soft limit of 1,024 would hold a fleet to under a thousand stations.

What happens after the first request is the server's: idle HTTP keep-alive connections close after their own
timeout, and a websocket is kept alive or found dead by ping/pong (RFC 6455 §5.5.2, :mod:`csms.app`).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import weakref
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

DEFAULT_MAX_CONNECTIONS = 10_000
_RESERVED_DESCRIPTORS = 64  # the database, its WAL, the listening socket, log files, uploads in flight
_RETRY_AFTER_S = 10
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: %d\r\nContent-Type: text/plain\r\nContent-Length: 29\r\n"
    b"Connection: close\r\n\r\ntoo many connections; retry\r\n" % _RETRY_AFTER_S
)


def default_max_connections() -> int:
    """:data:`DEFAULT_MAX_CONNECTIONS`, or fewer when the process may not open that many files."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return DEFAULT_MAX_CONNECTIONS
    return max(1, min(DEFAULT_MAX_CONNECTIONS, soft - _RESERVED_DESCRIPTORS))


def raise_descriptor_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (no privilege needed); the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or soft >= hard:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        return soft
    return hard


class _Busy(asyncio.Protocol):
    """A connection over the limit: told to come back later, then closed."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(_BUSY)
        transport.close()


class Gate:
    """The protocol factory of the listening socket (:meth:`factory`), in front of aiohttp's :class:`web.Server`;
    its :meth:`middleware` sees each request arrive, which takes its connection out of the handshake deadline."""

    def __init__(self, *, max_connections: int, handshake_timeout_s: float) -> None:
        if max_connections < 1 or handshake_timeout_s <= 0:
            raise ValueError("max_connections must be >= 1 and handshake_timeout_s > 0")
        self._server: web.Server | None = None
        self._max_connections = max_connections
        self._handshake_timeout_s = handshake_timeout_s
        self._deadlines: dict[asyncio.BaseProtocol, asyncio.TimerHandle] = {}
        self._arrived: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()
        self.refused = 0
        self.expired = 0

    def factory(self, server: web.Server) -> Callable[[], asyncio.BaseProtocol]:
        self._server = server
        return self._accept

    def _accept(self) -> asyncio.BaseProtocol:
        assert self._server is not None
        if len(self._server.connections) >= self._max_connections:
            self.refused += 1
            log.warning("refused a connection: %d are open, the limit", self._max_connections)
            return _Busy()
        handler = self._server()
        loop = asyncio.get_running_loop()
        self._deadlines[handler] = loop.call_later(self._handshake_timeout_s, self._expire, handler)
        return handler

    def _expire(self, handler: asyncio.BaseProtocol) -> None:
        self._deadlines.pop(handler, None)
        transport = getattr(handler, "transport", None)
        if transport is None or transport.is_closing() or transport in self._arrived:
            return
        self.expired += 1
        log.info("dropped a connection that sent no complete request within %g s", self._handshake_timeout_s)
        transport.abort()

    def close(self) -> None:
        for handle in self._deadlines.values():
            handle.cancel()
        self._deadlines.clear()

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.transport is not None:
            self._arrived.add(request.transport)
        return await handler(request)
