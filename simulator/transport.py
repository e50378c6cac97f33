"""The one websocket transport of the charge point: under the scenario runner, ``ocpp-harness sim`` and
``ocpp-harness load`` alike.

What it does is what OCPP-J 1.6 §3 asks of a charge point's connection, and what the security whitepaper adds:

- the URL is ``<endpoint>/<percent-encoded charge point id>`` (OCPP-J 1.6 §3.1.1) over ``ws://`` or ``wss://``;
- it offers the ``ocpp1.6`` subprotocol (OCPP-J 1.6 §3.1.2) and reports what the CSMS selected;
- HTTP Basic authentication with the charge point id as username (security profiles 1 and 2, A00.FR.202-204);
- TLS with the caller's :class:`ssl.SSLContext`: server verification (profile 2) and, when the context holds a
  certificate chain, the client certificate (profile 3, mutual TLS);
- a CSMS that is restarting (refused TCP connection) is retried until the connect timeout; an HTTP 503 with
  ``Retry-After`` (RFC 9110 §15.6.4, §10.2.3) is retried after that pause within the same timeout; any other HTTP
  answer is the CSMS's decision and ends the attempt;
- reconnection after a lost connection waits by :class:`Backoff`, so that a fleet which lost its CSMS does not
  come back as one storm;
- one CALL in flight at a time (OCPP-J 1.6 §4.1.1) with its response time measured from the write of the CALL to
  the receipt of its answer: :class:`CallSlot`.

It knows nothing of what the frames mean: the sans-I/O model (or the scenario engine) decides, the runtime moves
text. Compression (permessage-deflate, RFC 7692) is off unless asked for: OCPP-J does not need it, and its zlib
state costs some 50 KB per connection, more than the rest of a simulated station.
"""

from __future__ import annotations

import asyncio
import base64
import random
import ssl
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

SUBPROTOCOL = "ocpp1.6"
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
_REFUSED_RETRY_S = 0.2


def station_url(endpoint_url: str, station_id: str) -> str:
    """``<endpoint>/<percent-encoded station id>`` (OCPP-J 1.6 §3.1.1)."""
    return f"{endpoint_url.rstrip('/')}/{quote(station_id, safe='')}"


def basic_auth_header(username: str, password: str) -> dict[str, str]:
    """``Authorization: Basic base64(id:password)`` (RFC 7617; security whitepaper A00.FR.202-204: the username
    is the charge point id)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def client_ssl_context(
    *,
    ca_file: str | None = None,
    cert_file: str | None = None,
    key_file: str | None = None,
    verify: bool = True,
    ca_pem: str | None = None,
    cert_pem: str | None = None,
    key_pem: str | None = None,
) -> ssl.SSLContext:
    """A TLS client context: the CSMS certificate verified against ``ca_pem`` or ``ca_file`` (else the system's
    trust store), and with ``cert_file``/``key_file`` or ``cert_pem``/``key_pem`` the client certificate of
    security profile 3. TLS 1.2 at least (security whitepaper A00.FR.310). PEM text is what a station holds (a
    certificate it was just issued, TC_074); ``ssl`` loads a chain only from files, so it goes through a private
    temporary folder, removed once loaded."""
    context = ssl.create_default_context(cafile=ca_file if ca_pem is None else None, cadata=ca_pem)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    elif cert_pem is not None:
        with tempfile.TemporaryDirectory(prefix="ocpp-tls-") as folder:
            chain, key = Path(folder) / "chain.pem", Path(folder) / "key.pem"
            chain.write_text(cert_pem, encoding="ascii")
            key.touch(mode=0o600)
            key.write_text(key_pem or "", encoding="ascii")
            context.load_cert_chain(str(chain), str(key) if key_pem else None)
    return context


@dataclass(frozen=True, kw_only=True)
class LinkSettings:
    """How to reach the CSMS for one station. ``url`` is the station's own URL (see :func:`station_url`);
    ``headers`` go into the opening handshake (Basic authentication: :func:`basic_auth_header`)."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    ssl_context: ssl.SSLContext | None = None
    connect_timeout_s: float = 10.0
    max_message_bytes: int = MAX_MESSAGE_BYTES
    compression: bool = False


class ConnectFailure(Exception):
    """The websocket could not be opened. ``kind``: ``refused`` (no TCP connection within the timeout), ``http``
    (the CSMS answered the handshake with ``status``), ``handshake`` (not a valid websocket answer), ``tls``,
    ``url`` or ``timeout``; ``detail`` is one line for a person."""

    def __init__(self, kind: str, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.status = status


def retry_after_s(value: str | None) -> float:
    """Seconds of a ``Retry-After: <seconds>`` header (a date is not expected from a CSMS): 1 s if absent or
    unreadable, at most 5 s."""
    try:
        return min(max(float(value or 1), 0.1), 5.0)
    except ValueError:
        return 1.0


class Link:
    """One open websocket of a station. :meth:`receive` is safe to cancel (websockets keeps the message for the
    next call), so a runtime may wait on it under a deadline and be woken early."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    @property
    def subprotocol(self) -> str | None:
        return self._ws.subprotocol

    @property
    def close_detail(self) -> str:
        """Why the connection closed, as the close frame said (RFC 6455 §7.1.5)."""
        return f"close code {self._ws.close_code} {self._ws.close_reason or ''}".strip()

    async def send(self, data: str | bytes, *, text: bool = True) -> bool:
        """Write one frame, a text frame unless ``text`` is False; bytes go out as they are, so a robustness test
        can send a text frame that is not UTF-8 (RFC 6455 §8.1). False when the connection is already closed
        (:meth:`receive` then says so)."""
        try:
            await self._ws.send(data, text=text)
        except ConnectionClosed:
            return False
        return True

    async def receive(self) -> str | None:
        """The next text frame; None once the connection is closed. OCPP-J frames are text (§4); a binary frame
        is decoded as UTF-8 so that it reaches the model as the malformed frame it is."""
        try:
            message = await self._ws.recv()
        except ConnectionClosed:
            return None
        return message if isinstance(message, str) else message.decode("utf-8", "replace")

    async def close(self) -> None:
        """The closing handshake (RFC 6455 §7.1.2), bounded by the library's close timeout."""
        await self._ws.close()


async def open_link(settings: LinkSettings) -> Link:
    """Open the websocket offering ``ocpp1.6``, or raise :class:`ConnectFailure`. Refused connections are
    retried until ``connect_timeout_s`` (a CSMS may be restarting), a 503 after its Retry-After within the same
    time; other HTTP answers are not retried: they are the CSMS's decision."""
    deadline = time.monotonic() + settings.connect_timeout_s
    while True:
        try:
            ws = await connect(
                settings.url,
                subprotocols=[Subprotocol(SUBPROTOCOL)],
                additional_headers=dict(settings.headers),
                ssl=settings.ssl_context,
                open_timeout=settings.connect_timeout_s,
                ping_interval=None,
                max_size=settings.max_message_bytes,
                compression="deflate" if settings.compression else None,
            )
            return Link(ws)
        except InvalidStatus as exc:
            status = exc.response.status_code
            # 503 says "not now": a CSMS still releasing the station's previous connection. A charger retries
            # after Retry-After; anything else is the CSMS's answer.
            if status == 503 and time.monotonic() < deadline:
                await asyncio.sleep(
                    min(retry_after_s(exc.response.headers.get("Retry-After")), max(0.0, deadline - time.monotonic()))
                )
                continue
            raise ConnectFailure("http", f"HTTP {status} during the websocket handshake", status=status) from None
        except InvalidURI as exc:
            raise ConnectFailure("url", str(exc)) from None
        except InvalidHandshake as exc:
            raise ConnectFailure("handshake", str(exc)) from None
        except ssl.SSLError as exc:
            raise ConnectFailure("tls", f"{type(exc).__name__}: {exc}") from None
        except TimeoutError as exc:
            if time.monotonic() >= deadline:
                raise ConnectFailure("timeout", f"TimeoutError: {exc}") from None
            await asyncio.sleep(_REFUSED_RETRY_S)
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise ConnectFailure("refused", f"{type(exc).__name__}: {exc}") from None
            await asyncio.sleep(_REFUSED_RETRY_S)


class Backoff:
    """Waits between reconnection attempts: exponential from ``initial_s`` to ``max_s`` with full jitter drawn
    from ``rng`` (so a seeded fleet repeats its waits). OCPP 1.6 leaves the policy to the charger; this is the
    shape OCPP 2.0.1 later wrote down (RetryBackOffWaitMinimum, RetryBackOffRandomRange), and it keeps a fleet
    that lost its CSMS from coming back at one instant."""

    __slots__ = ("_attempts", "_initial_s", "_max_s", "_rng")

    def __init__(self, *, initial_s: float = 1.0, max_s: float = 60.0, rng: random.Random) -> None:
        if initial_s <= 0 or max_s < initial_s:
            raise ValueError("Backoff needs 0 < initial_s <= max_s")
        self._initial_s = initial_s
        self._max_s = max_s
        self._rng = rng
        self._attempts = 0

    @property
    def attempts(self) -> int:
        return self._attempts

    def next_s(self) -> float:
        """The wait before the next attempt: half the current step plus a random half of it."""
        step = min(self._max_s, self._initial_s * 2.0**self._attempts)
        self._attempts = min(self._attempts + 1, 32)
        return step / 2 + self._rng.random() * step / 2

    def reset(self) -> None:
        """A connection succeeded: the next loss starts from ``initial_s`` again."""
        self._attempts = 0


@dataclass(slots=True)
class CallSlot:
    """The one CALL a station has in flight (OCPP-J 1.6 §4.1.1): its message id, when it was written and when
    it times out. ``written_s`` and the answer time are ``time.perf_counter()`` readings, so a response time is
    measured from the write of the CALL to the receipt of its answer and never jumps with the wall clock."""

    unique_id: str = ""
    action: str = ""
    written_s: float = 0.0
    deadline_s: float = 0.0
    busy: bool = False

    def start(self, unique_id: str, action: str, *, timeout_s: float) -> None:
        if self.busy:
            raise RuntimeError(f"a CALL is already in flight ({self.action} {self.unique_id})")
        self.unique_id, self.action, self.busy = unique_id, action, True
        self.written_s = time.perf_counter()
        self.deadline_s = self.written_s + timeout_s

    def answered(self, unique_id: str) -> float | None:
        """The response time in seconds when ``unique_id`` answers the CALL in flight, else None (an answer to
        a CALL the station no longer waits for is ignored, OCPP-J 1.6 §4.1.4)."""
        if not self.busy or unique_id != self.unique_id:
            return None
        self.busy = False
        elapsed_s: float = time.perf_counter() - self.written_s
        return elapsed_s

    def expired(self) -> bool:
        return self.busy and time.perf_counter() >= self.deadline_s

    def clear(self) -> None:
        self.busy = False
