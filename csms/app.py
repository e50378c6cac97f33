"""The bundled CSMS as an aiohttp application: the OCPP-J websocket endpoint, the HTTP API and the file server on
one port, and on two TLS ports beside it (security profiles 2 and 3) when the CSMS has TLS settings.

``/ocpp/{station_id}``: OCPP-J 1.6 §3 (URL, subprotocol negotiation) with the security profiles of the security
whitepaper (:mod:`csms.security`): HTTP Basic authentication (profiles 1 and 2; A00.FR.202-205), TLS and client
certificates (profiles 2 and 3) on TLS listeners of their own (:mod:`csms.tls`). ``/api/...``: provisioning,
inspection and the trigger contract through which the harness makes the CSMS send a CALL
(``POST /api/octt/1.6/{station_id}/{action}``), and the operator routes of the five other certified profiles
(:mod:`csms.operator`) and of the security whitepaper (:mod:`csms.security_routes`). ``/files/...``: firmware
images, diagnostics and log uploads (:mod:`csms.files`). Every listener serves the same application.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import socket
import ssl
import sys
import time
from collections.abc import Callable, Coroutine, Generator, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, hdrs, web
from multidict import CIMultiDict

from csms import commands, handlers
from csms.access import TOKEN_ENV, Access, exposure_warning, is_loopback
from csms.api import (
    ApiError,
    int_field,
    json_errors,
    json_object,
    known_fields,
    required_string,
    string_field,
    time_field,
)
from csms.commands import (
    ACTION_BY_KEBAB,
    CSMS_INITIATED,
    CallTimedOut,
    CommandError,
    InvalidPayload,
    Outbox,
    StationGone,
)
from csms.credentials import hash_password
from csms.files import FileServer
from csms.gate import Gate, default_max_connections, raise_descriptor_limit
from csms.operator import OperatorRoutes, known_station
from csms.policy import Policy, TriggeredMessages, retry_after_s, unregistered_refusal
from csms.security import Admission, SecurityLog
from csms.security_handlers import FollowUp
from csms.security_routes import SecurityRoutes
from csms.store import (
    BOOT_STATUSES,
    EXCHANGE_DIRECTIONS,
    EXCHANGE_OUTCOMES,
    TOKEN_STATUSES,
    BootConfig,
    Retention,
    Station,
    Store,
    Token,
    TokenStatus,
)
from ocppj.frames import Call, CallError, CallResult, ErrorCode, FrameError, encode_error, parse_frame
from ocppj.timefmt import format_time

if TYPE_CHECKING:
    from csms.tls import TlsSettings

log = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"  # OCPP-J 1.6 §3.1.2
_CLOSE_TIMEOUT_S = 5.0
_EXPIRED_TOKEN_AGE_S = 86_400.0
_MAX_ID_TAG_LENGTH = 20  # IdToken is CiString20Type (OCPP 1.6 §7 IdToken)
_MAX_EXCHANGES = 1000
# A station has one CALL outstanding at a time (OCPP-J 1.6 §4.1.1); beyond this many waiting for their turn the
# receive loop stops reading, so a flood is slowed down by TCP rather than held in memory.
_MAX_QUEUED_CALLS = 16


def boot_config_from(body: Any) -> BootConfig:
    """The boot answer of AQ-1: ``{"status": ..., "interval_s": 10, "accept_after_boots": 1}``, every field
    optional (the scenario schema's ``boot_answer_payload``). An explicit interval of 0 is allowed: OCPP 1.6
    §4.2 lets the station choose its own wait then, and a scenario may want exactly that."""
    if not isinstance(body, dict):
        raise ApiError(400, "The boot answer must be a JSON object.")
    known_fields(body, {"status", "interval_s", "accept_after_boots"}, what="boot answer")
    wanted = body.get("status", "Accepted")
    status = next((known for known in BOOT_STATUSES if known == wanted), None)
    if status is None:
        raise ApiError(400, f"'status' must be one of {', '.join(BOOT_STATUSES)}.")
    interval = body.get("interval_s")
    interval_s = None if interval is None else int_field(interval, "interval_s", minimum=0)
    after = body.get("accept_after_boots")
    accept_after_boots = None if after is None else int_field(after, "accept_after_boots", minimum=0)
    return BootConfig(status=status, interval_s=interval_s, accept_after_boots=accept_after_boots)


def _token_json(token: Token, now_s: float) -> dict[str, Any]:
    return {
        "id_tag": token.id_tag,
        "status": token.status,
        "effective_status": handlers.effective_token_status(token, now_s),
        "expiry_date": None if token.expiry_at_s is None else format_time(token.expiry_at_s),
        "parent_id_tag": token.parent_id_tag,
    }


def _token_status(body: dict[str, Any]) -> TokenStatus:
    wanted = body.get("status", "Accepted")
    for status in TOKEN_STATUSES:
        if wanted == status:
            return status
    raise ApiError(400, f"'status' must be one of {', '.join(TOKEN_STATUSES)}.")


def _one_protocol_line(request: web.Request) -> web.Request:
    """The request with its ``Sec-WebSocket-Protocol`` lines joined into one list. RFC 6455 §11.3.4: the header
    may appear several times, which is the same as one header with all the values; aiohttp reads only the first
    line, so ``ocpp0.1`` and ``ocpp1.6`` on two lines would be refused."""
    lines = request.headers.getall(hdrs.SEC_WEBSOCKET_PROTOCOL, [])
    if len(lines) < 2:
        return request
    headers = CIMultiDict(request.headers)
    headers.popall(hdrs.SEC_WEBSOCKET_PROTOCOL)
    headers[hdrs.SEC_WEBSOCKET_PROTOCOL] = ", ".join(lines)
    return request.clone(headers=headers)


class _Rest:
    """The rest of a coroutine that has run up to its first suspension, as an awaitable: it hands on what the
    coroutine waits for and passes back what it is sent or thrown (as ``yield from`` would)."""

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting_for: Any) -> None:
        self._coroutine = coroutine
        self._waiting_for = waiting_for

    def __await__(self) -> Generator[Any, Any, None]:
        coroutine, value = self._coroutine, self._waiting_for
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as exc:  # thrown in by the task (a cancellation): handed on to the coroutine
                try:
                    value = coroutine.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    value = coroutine.send(sent)
                except StopIteration:
                    return


def _started(coroutine: Coroutine[Any, Any, None]) -> asyncio.Future[None] | None:
    """Run ``coroutine`` up to its first suspension, on the spot: None when it finished without one (what it
    raised is raised here), else a task that runs the rest."""
    try:
        waiting_for = coroutine.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_Rest(coroutine, waiting_for))


class _Line:
    """What the CSMS keeps about a station id across its connections.

    ``turn``: in strict mode the one exchange the station id may have in flight (OCPP-J 1.6 §4.1.1), taken by
    each CALL of the CSMS until it is answered or times out and by each station CALL while it is answered; a
    CALL outlives the connection it went out on. ``holder``: the connection attempt that owns the station id
    (strict mode: one at a time). ``closed_at_s``: when its last OCPP connection closed (loop time).
    ``triggered``: what the CSMS asked it for with TriggerMessage, which it may send before it is Accepted.
    """

    def __init__(self) -> None:
        self.turn = asyncio.Lock()
        self.holder: object | None = None
        self.closed_at_s: float | None = None
        self.triggered = TriggeredMessages()

    def release(self, holder: object) -> None:
        if self.holder is holder:
            self.holder = None


class _Connection:
    """One accepted websocket of a station, with the outbox of the CALLs the CSMS sends over it and, in strict
    mode, the inbox of the station's CALLs waiting for their turn.

    The connection owns the tasks that work for it (answering CALLs in turn, following up a Pending boot).
    When it closes, a task that is waiting is cancelled; one in the middle of a step (answering a CALL, a CALL
    on the wire) finishes that step first, so nothing half-done is left behind (:meth:`step`).
    """

    def __init__(
        self,
        *,
        station_id: str,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
        line: _Line,
        policy: Policy,
        store: Store,
        call_timeout_s: float,
        clock: Callable[[], float],
    ) -> None:
        self.station_id = station_id
        self.ws = ws
        self.line = line
        self._transport = transport
        self._send_timeout_s = call_timeout_s
        self._send_lock = asyncio.Lock()
        self.outbox = Outbox(
            station_id=station_id,
            send=self.send,
            store=store,
            call_timeout_s=call_timeout_s,
            clock=clock,
            turn=line.turn if policy.one_exchange_at_a_time else None,
            observe=line.triggered.observe if policy.registration_required else None,
        )
        self.inbox: asyncio.Queue[tuple[Call | FrameError, str, float]] = asyncio.Queue(maxsize=_MAX_QUEUED_CALLS)
        self.registration_changed = asyncio.Event()
        self.pending_boots = 0
        self.closed = False
        # CALLs the CSMS sends on its own once it has answered a station's CALL (:meth:`answered`).
        self.follow_ups: asyncio.Queue[FollowUp] = asyncio.Queue()
        self._answering: list[FollowUp] = []
        self._workers: set[asyncio.Task[None]] = set()
        self._busy: set[asyncio.Task[Any]] = set()

    async def send(self, text: str) -> None:
        """Answers (receive loop) and CALLs (API tasks) share the socket: one frame at a time. A frame the station
        has not taken within the call timeout (waiting for the socket included) means it does not read: the
        connection is aborted rather than left to buffer frames for nobody."""
        async with self._send_lock:
            # The write itself is never cancelled: aiohttp's drain waiter is shared by every writer of the socket,
            # so cancelling one write would fail the next ones. A write that does not finish in time, or whose
            # caller gives up (a CALL's timeout), aborts the connection instead, which ends the write. Most writes
            # finish at once (the socket takes the frame): those need neither a task nor a timer.
            sending = _started(self.ws.send_str(text))
            if sending is None:
                return
            try:
                await asyncio.wait_for(asyncio.shield(sending), self._send_timeout_s)
            except (TimeoutError, asyncio.CancelledError) as exc:
                self.abandon(f"it took no frame within {self._send_timeout_s:g} s")
                await asyncio.gather(sending, return_exceptions=True)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                raise ConnectionError(f"station {self.station_id!r} does not read its connection") from None

    def abandon(self, why: str) -> None:
        """Drop the TCP connection at once: no close frame can reach a station that does not read."""
        log.warning("station %r: aborting its connection: %s", self.station_id, why)
        if self._transport is not None:
            self._transport.abort()

    async def going_away(self) -> None:
        """Close 1001 Going Away for a CSMS shutdown (RFC 6455 §7.4.1), or abort when that cannot be done."""
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                await self.ws.close(code=WSCloseCode.GOING_AWAY, message=b"CSMS shutting down")
        except (TimeoutError, ConnectionError):
            self.abandon("the close frame could not be sent")

    def own(self, task: asyncio.Task[None]) -> None:
        self._workers.add(task)

    def follow_up(self, follow_up: FollowUp) -> None:
        """A handler's CALL to send after the answer it is building (CertificateSigned after SignCertificate)."""
        self._answering.append(follow_up)

    def answered(self, *, result: bool) -> None:
        """The answer is on the wire: its follow-ups may go now, unless it was a CALLERROR."""
        if result:
            for follow_up in self._answering:
                self.follow_ups.put_nowait(follow_up)
        self._answering.clear()

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        """A piece of a worker's work that is not cancelled by the connection closing."""
        task = asyncio.current_task()
        assert task is not None
        self._busy.add(task)
        try:
            yield
        finally:
            self._busy.discard(task)

    def close(self, *, fail_in_flight: bool) -> None:
        self.closed = True
        self.outbox.close(fail_in_flight=fail_in_flight)
        for task in self._workers:
            if task not in self._busy:
                task.cancel()
        dropped = self.inbox.qsize()
        if dropped:
            log.warning("%d CALL(s) of station %r dropped unanswered: its connection closed", dropped, self.station_id)


class CsmsServer:
    """The bundled CSMS; ``async with CsmsServer(db_path=...) as csms:`` binds, serves and cleans up.

    ``strict``: behave like a strict third-party CSMS (:mod:`csms.policy`). ``reconnect_grace_s``: how long
    after a station's connection closed a new one of the same id is refused with 503; None is 0.5 s in strict
    mode and 0 (no pause) otherwise. ``tls``: also serve the same application over TLS on ``tls_port`` (security
    profile 2) and over mutual TLS on ``mtls_port`` (profile 3, when the settings have a CA for client
    certificates), :mod:`csms.tls`; None serves plain ws (profiles 0 and 1) only. ``api_token``: the bearer token
    of the HTTP API (:mod:`csms.access`); None draws a random one, readable as :attr:`api_token` by whoever
    started the server.

    ``handshake_timeout_s``: a connection must send a complete first request within it, and an idle HTTP
    keep-alive connection is closed after it; ``max_connections``: beyond it a connection is answered 503
    (:mod:`csms.gate`; None: below the file-descriptor limit). ``ping_interval_s``: a websocket ping that often; no
    pong within half of it and the connection is closed as half-open (RFC 6455 §5.5.2; None: no pings).
    ``retention``: how much of the exchange log is kept (:class:`csms.store.Retention`; default 100,000
    exchanges and 30 days). ``call_timeout_s`` bounds a CSMS CALL from the moment it is handed to the socket, its
    send included, and a frame to a station that has not taken it within that time closes the connection (the
    station is not reading).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db_path: str | Path,
        call_timeout_s: float = 30.0,
        heartbeat_interval_s: int = 300,
        strict: bool = False,
        reconnect_grace_s: float | None = None,
        tls: TlsSettings | None = None,
        tls_port: int = 0,
        mtls_port: int = 0,
        api_token: str | None = None,
        handshake_timeout_s: float = 10.0,
        ping_interval_s: float | None = 30.0,
        max_connections: int | None = None,
        retention: Retention | None = None,
    ) -> None:
        if heartbeat_interval_s <= 0:
            raise ValueError("heartbeat_interval_s must be > 0 (OCPP 1.6 §4.2: BootNotification interval)")
        self._host = host
        self._requested_port = port
        self._db_path = db_path
        self._call_timeout_s = call_timeout_s
        self._heartbeat_interval_s = heartbeat_interval_s
        self._policy = Policy.for_mode(strict=strict, reconnect_grace_s=reconnect_grace_s)
        self._gate = Gate(
            max_connections=default_max_connections() if max_connections is None else max_connections,
            handshake_timeout_s=handshake_timeout_s,
        )
        self._handshake_timeout_s = handshake_timeout_s
        self._ping_interval_s = ping_interval_s
        self._retention = retention
        self._api_token = api_token or secrets.token_urlsafe(32)
        self._access = Access(token=self._api_token, loopback_only=is_loopback(host))
        self._clock: Callable[[], float] = time.time
        self._connections: dict[str, _Connection] = {}
        self._live: set[_Connection] = set()
        self._lines: dict[str, _Line] = {}
        self._store: Store | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._tls = tls
        self._requested_tls_ports = (tls_port, mtls_port)
        self._tls_port: int | None = None
        self._mtls_port: int | None = None
        self._listeners: list[asyncio.Server] = []
        self._security_log: SecurityLog | None = None
        self._admission: Admission | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def __aenter__(self) -> CsmsServer:
        self._store = await Store.open(self._db_path, retention=self._retention)
        try:
            self._security_log = SecurityLog(self._store.security, clock=self._clock)
            self._security_log.start()
            self._admission = Admission(
                store=self._store,
                security_log=self._security_log,
                policy=None if self._tls is None else self._tls.client_certificates,
                clock=self._clock,
            )
            self._runner = web.AppRunner(
                self._build_app(), shutdown_timeout=_CLOSE_TIMEOUT_S, keepalive_timeout=self._handshake_timeout_s
            )
            await self._runner.setup()
            self._port = await self._listen(self._requested_port)
            if self._tls is not None:
                report = self._security_log.report
                tls_port, mtls_port = self._requested_tls_ports
                self._tls_port = await self._listen(tls_port, self._tls.ssl_context(report=report))
                if self._tls.client_ca is not None:
                    self._mtls_port = await self._listen(mtls_port, self._tls.ssl_context(mutual=True, report=report))
        except BaseException:
            await self._shutdown()
            raise
        log.info("CSMS listening on %s (API %s) in %s mode", self.ws_url, self.api_url, self.mode)
        if self._tls is not None:
            log.info("CSMS listening on %s (TLS, security profile 2)", self.wss_url)
        if self._mtls_port is not None:
            log.info("CSMS listening on %s (mutual TLS, security profile 3)", self.mtls_url)
        warning = exposure_warning(self._host)
        if warning is not None:
            log.warning("%s", warning)
        return self

    async def _listen(self, port: int, ssl_context: ssl.SSLContext | None = None) -> int:
        """Binding the socket ourselves gives the ephemeral port through a public API; both listeners hand their
        connections to the one aiohttp server."""
        assert self._runner is not None and self._runner.server is not None
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.create_server((self._host, port), family=family)
        try:
            listener = await asyncio.get_running_loop().create_server(
                self._gate.factory(self._runner.server), sock=sock, ssl=ssl_context
            )
        except BaseException:
            sock.close()
            raise
        self._listeners.append(listener)
        return int(sock.getsockname()[1])

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        """Stop taking connections, close every station's websocket with 1001 Going Away (RFC 6455 §7.4.1), each
        within a bound (one that does not read is aborted), then the HTTP side and the database."""
        for listener in self._listeners:
            listener.close()
        self._listeners.clear()
        for live in self._live:
            live.outbox.close()
        connections = list(self._connections.values())
        if connections:
            async with asyncio.TaskGroup() as group:
                for connection in connections:
                    group.create_task(connection.going_away())
        self._gate.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._security_log is not None:
            await self._security_log.stop()
            self._security_log = None
        if self._store is not None:
            await self._store.close()
            self._store = None

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def mode(self) -> str:
        return "strict" if self._policy.strict else "lenient"

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the CSMS is not started; use it as an async context manager")
        return self._port

    @property
    def _url_host(self) -> str:
        if self._host in ("", "0.0.0.0", "::"):
            return "127.0.0.1"
        return f"[{self._host}]" if ":" in self._host else self._host

    @property
    def ws_url(self) -> str:
        return f"ws://{self._url_host}:{self.port}/ocpp"

    @property
    def api_url(self) -> str:
        return f"http://{self._url_host}:{self.port}"

    @property
    def tls_port(self) -> int:
        if self._tls_port is None:
            raise RuntimeError("the CSMS serves no TLS; give it TlsSettings and use it as an async context manager")
        return self._tls_port

    @property
    def mtls_port(self) -> int:
        if self._mtls_port is None:
            raise RuntimeError("the CSMS serves no mutual TLS; give it TlsSettings with a CA for client certificates")
        return self._mtls_port

    @property
    def _tls_host(self) -> str:
        """The host the server certificate names (A00.FR.510), which a station's host name check needs; the
        listener's own address when the CN is no host name."""
        assert self._tls is not None
        name = self._tls.server_name
        return name if name and all(c.isalnum() or c in ".-" for c in name) else self._url_host

    @property
    def wss_url(self) -> str:
        """Security profile 2: TLS, Basic credentials."""
        return f"wss://{self._tls_host}:{self.tls_port}/ocpp"

    @property
    def mtls_url(self) -> str:
        """Security profile 3: mutual TLS."""
        return f"wss://{self._tls_host}:{self.mtls_port}/ocpp"

    @property
    def endpoint_urls(self) -> dict[int, str]:
        """The URL a station of each security profile the CSMS serves connects to (0 and 1 share the ws one)."""
        urls = {0: self.ws_url, 1: self.ws_url}
        if self._tls_port is not None:
            urls[2] = self.wss_url
        if self._mtls_port is not None:
            urls[3] = self.mtls_url
        return urls

    @property
    def api_token(self) -> str:
        """The API's bearer token (:mod:`csms.access`); never logged."""
        return self._api_token

    @property
    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_token}"}

    @property
    def store(self) -> Store:
        """For in-process callers (tests, a harness session) that provision or inspect without HTTP."""
        if self._store is None:
            raise RuntimeError("the CSMS is not started; use it as an async context manager")
        return self._store

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._gate.middleware, self._access.middleware, json_errors])
        app.router.add_get("/ocpp/{station_id}", self._ocpp)
        app.router.add_get("/api/settings", self._get_settings)
        app.router.add_get("/api/actions", self._list_actions)
        app.router.add_post("/api/stations", self._provision_station)
        app.router.add_get("/api/stations", self._list_stations)
        app.router.add_get("/api/stations/{station_id}", self._get_station)
        app.router.add_put("/api/stations/{station_id}/boot-answer", self._put_boot_answer)
        app.router.add_post("/api/stations/{station_id}/accept", self._accept_station)
        app.router.add_post("/api/stations/{station_id}/calls/{action}", self._call_camel)
        app.router.add_post("/api/tokens", self._put_token)
        app.router.add_get("/api/tokens", self._list_tokens)
        app.router.add_get("/api/transactions", self._list_transactions)
        app.router.add_get("/api/transactions/unknown-stops", self._list_unknown_stops)
        app.router.add_get("/api/transactions/duplicates", self._list_duplicates)
        app.router.add_get("/api/exchanges", self._list_exchanges)
        app.router.add_post("/api/octt/create-token", self._octt_create_token)
        app.router.add_post("/api/octt/set-basic-auth-password", self._octt_set_password)
        app.router.add_post("/api/octt/1.6/{station_id}/{action}", self._call_kebab)
        OperatorRoutes(store=self.store, clock=self._clock, relay=self._relay).add_routes(app.router)
        SecurityRoutes(store=self.store, clock=self._clock, relay=self._relay, tls=self._tls).add_routes(app.router)
        FileServer(profiles=self.store.profiles, clock=self._clock).add_routes(app.router)
        return app

    # -- websocket endpoint (OCPP-J 1.6 §3) ------------------------------------------------------------------

    async def _ocpp(self, request: web.Request) -> web.StreamResponse:
        """Refusals happen before the upgrade: 404 for an unknown station (OCPP-J 1.6 §3.2), 401 for missing
        or wrong Basic credentials whose username must be the station id (A00.FR.202-205), 403 for a connection
        weaker than the station's security profile (A00.FR.002, :class:`csms.security.Admission`), then 409 or 503
        for a station id that is still, or only just, connected (:meth:`_refusal`)."""
        station_id = request.match_info["station_id"]
        station = await self.store.get_station(station_id)
        if station is None:
            log.info("refused websocket for unknown station %r", station_id)
            raise web.HTTPNotFound(text=f"unknown charge point {station_id!r}\n")
        assert self._admission is not None
        denied = await self._admission.admit(request, station)
        if denied is not None:
            raise denied.response()
        line = self._lines.setdefault(station_id, _Line())
        refusal = self._refusal(station_id, line)
        if refusal is not None:
            raise refusal
        if self._policy.one_connection:
            line.holder = request
        try:
            # aiohttp echoes the first offered protocol it knows and sends no header when none matches.
            ws = web.WebSocketResponse(
                protocols=(SUBPROTOCOL,), timeout=_CLOSE_TIMEOUT_S, autoping=True, heartbeat=self._ping_interval_s
            )
            await ws.prepare(_one_protocol_line(request))
            if ws.ws_protocol != SUBPROTOCOL:
                # OCPP-J 1.6 §3.2 / TC_088_CSMS: complete the handshake without the header, then close at once.
                log.info(
                    "station %r offered no acceptable subprotocol (%r): closing",
                    station_id,
                    request.headers.get("Sec-WebSocket-Protocol"),
                )
                await ws.close(code=WSCloseCode.PROTOCOL_ERROR, message=b"subprotocol ocpp1.6 required")
                return ws
            connection = _Connection(
                station_id=station_id,
                ws=ws,
                transport=request.transport,
                line=line,
                policy=self._policy,
                store=self.store,
                call_timeout_s=self._call_timeout_s,
                clock=self._clock,
            )
            await self._session(connection, holder=request)
            return ws
        finally:
            line.release(request)

    def _refusal(self, station_id: str, line: _Line) -> web.HTTPException | None:
        """Strict mode refuses a second connection of a station id (409) instead of replacing the first. Within
        ``reconnect_grace_s`` after a connection closed, a new one is refused with 503 and ``Retry-After``:
        the station is to pause before it reconnects (RFC 9110 §15.6.4, §10.2.3)."""
        if self._policy.one_connection and line.holder is not None:
            log.info("refused websocket for station %r: it already has an open connection (strict mode)", station_id)
            return web.HTTPConflict(text=f"charge point {station_id!r} is already connected\n")
        wait_s = self._policy.reconnect_wait_s(line.closed_at_s, now_s=asyncio.get_running_loop().time())
        if wait_s <= 0:
            return None
        log.info(
            "refused websocket for station %r: its previous connection closed less than %g s ago (reconnect grace)",
            station_id,
            self._policy.reconnect_grace_s,
        )
        return web.HTTPServiceUnavailable(
            text=f"charge point {station_id!r} reconnected too soon; retry later\n",
            headers={"Retry-After": str(retry_after_s(wait_s))},
        )

    async def _session(self, connection: _Connection, *, holder: object) -> None:
        """One OCPP connection, with the tasks it owns: they are cancelled or awaited before it ends
        (structured concurrency; a CALL in flight is failed only by its timeout in strict mode)."""
        station_id = connection.station_id
        previous = self._connections.get(station_id)
        self._connections[station_id] = connection
        self._live.add(connection)
        log.info("station %r connected", station_id)
        try:
            async with asyncio.TaskGroup() as group:
                if previous is not None:
                    group.create_task(self._replace(previous))
                if self._policy.one_exchange_at_a_time:
                    connection.own(group.create_task(self._answer_in_turn(connection), name=f"answer {station_id}"))
                if self._policy.configures_pending:
                    connection.own(group.create_task(self._follow_up_pending(connection), name=f"pending {station_id}"))
                connection.own(group.create_task(self._send_follow_ups(connection), name=f"follow-ups {station_id}"))
                try:
                    await self._receive(connection)
                finally:
                    connection.close(fail_in_flight=not self._policy.one_exchange_at_a_time)
                    if self._connections.get(station_id) is connection:
                        del self._connections[station_id]
                    connection.line.closed_at_s = asyncio.get_running_loop().time()
                    connection.line.release(holder)
                    log.info("station %r disconnected (close code %s)", station_id, connection.ws.close_code)
        finally:
            self._live.discard(connection)

    @staticmethod
    async def _replace(previous: _Connection) -> None:
        """A station has one connection: the newest wins and the older one is closed."""
        previous.outbox.close()
        await previous.ws.close(code=WSCloseCode.OK, message=b"replaced by a new connection")

    async def _receive(self, connection: _Connection) -> None:
        async for message in connection.ws:
            if message.type == WSMsgType.TEXT:
                await self._on_text(connection, message.data)
            elif message.type == WSMsgType.BINARY:
                log.warning("station %r sent a binary frame; OCPP-J uses text frames: ignored", connection.station_id)
            elif message.type == WSMsgType.ERROR:
                log.warning("websocket of station %r failed: %s", connection.station_id, connection.ws.exception())

    async def _on_text(self, connection: _Connection, text: str) -> None:
        received_at_s = self._clock()
        frame: Call | CallResult | CallError | FrameError
        try:
            frame = parse_frame(text)
        except FrameError as exc:
            if not exc.answerable:
                # OCPP-J 1.6 §4.1.3: an unknown MessageTypeId is ignored; a malformed CALLRESULT/CALLERROR or a
                # frame whose id cannot be read has nobody waiting for a CALLERROR (§4.2.3 answers CALLs only).
                log.warning(
                    "station %r sent a frame that is not a readable CALL (%s): ignored", connection.station_id, exc
                )
                return
            frame = exc
        if isinstance(frame, CallResult | CallError):
            settled = connection.outbox.resolve(frame)
            if settled is None:
                log.warning(
                    "station %r answered unknown or expired message id %r: ignored",
                    connection.station_id,
                    frame.unique_id,
                )
            else:
                await settled.wait()
            return
        if self._policy.one_exchange_at_a_time:
            # The receive loop must go on reading: the answer to the CSMS's own CALL may be next.
            await connection.inbox.put((frame, text, received_at_s))
        else:
            await self._answer(connection, frame, text, received_at_s)

    async def _answer_in_turn(self, connection: _Connection) -> None:
        """Strict mode (OCPP-J 1.6 §4.1.1): the station's CALLs are answered one at a time, in the order they
        came, each when the station id has no other exchange in flight, not even a CALL of the CSMS sent over
        an earlier connection that has neither been answered nor timed out."""
        while not connection.closed:
            frame, text, received_at_s = await connection.inbox.get()
            async with connection.line.turn:
                with connection.step():
                    await self._answer(connection, frame, text, received_at_s)

    async def _answer(self, connection: _Connection, frame: Call | FrameError, text: str, received_at_s: float) -> None:
        """Answer a CALL, or a frame whose message id could be read but nothing else (FormationViolation,
        OCPP-J 1.6 §4.2.3)."""
        if isinstance(frame, FrameError):
            assert frame.unique_id is not None
            action, request = "", {"raw": text}
            answer = handlers.Answer(encode_error(frame.unique_id, frame.error_code.value, str(frame)), [])
        else:
            action, request = frame.action, frame.payload
            try:
                answer = await self._answer_call(connection, frame)
            except Exception:
                # Every CALL gets exactly one answer (OCPP-J 1.6 §4.2): a failure of the CSMS is InternalError,
                # never a dropped connection.
                log.exception("answering %s from station %r failed", frame.action, connection.station_id)
                answer = handlers.internal_error(frame)
        reply = answer.frame
        # Logged before it is sent, so whoever reacts to the answer finds the exchange already in the API; a log
        # that cannot be written does not keep the answer from the station.
        await self._log_answer(connection, action, request, text, answer, received_at_s)
        await self._send_answer(connection, reply.raw)
        connection.answered(result=isinstance(reply, CallResult))
        if action == "BootNotification" and isinstance(reply, CallResult):
            self._registered(connection, reply.payload.get("status"))

    async def _log_answer(
        self,
        connection: _Connection,
        action: str,
        request: dict[str, Any],
        text: str,
        answer: handlers.Answer,
        received_at_s: float,
    ) -> None:
        reply = answer.frame
        fields: dict[str, Any] = {
            "station_id": connection.station_id,
            "direction": "station_to_csms",
            "unique_id": reply.unique_id,
            "action": action,
            "outcome": "result" if isinstance(reply, CallResult) else "error",
            "response": reply.payload if isinstance(reply, CallResult) else None,
            "error_code": reply.error_code if isinstance(reply, CallError) else None,
            "error_description": reply.error_description if isinstance(reply, CallError) else None,
            "error_details": reply.error_details if isinstance(reply, CallError) else None,
            "schema_violations": [str(v) for v in answer.violations],
            "requested_at_s": received_at_s,
            "answered_at_s": self._clock(),
        }
        # A CALLRESULT answers a request that passed handlers.answer_call's nesting check.
        if not isinstance(reply, CallResult) and handlers.nesting(request) > handlers.MAX_NESTING:
            request = {"raw": text}  # kept as text: read back, so deep a value would overflow the API's JSON
        try:
            await self.store.add_exchange(request=request, **fields)
        except Exception:
            log.exception("could not log %s from station %r as parsed; logging its text", action, connection.station_id)
            try:
                await self.store.add_exchange(request={"raw": text}, **fields)
            except Exception:
                log.exception("could not log %s from station %r", action, connection.station_id)

    async def _answer_call(self, connection: _Connection, call: Call) -> handlers.Answer:
        refusal = await self._registration_refusal(connection, call)
        if refusal is not None:
            log.info(
                "station %r sent %s before its registration was Accepted: SecurityError",
                connection.station_id,
                call.action,
            )
            return handlers.Answer(encode_error(call.unique_id, ErrorCode.SECURITY_ERROR.value, refusal), [])
        context = handlers.CallContext(
            station_id=connection.station_id,
            store=self.store,
            now_s=self._clock(),
            heartbeat_interval_s=self._heartbeat_interval_s,
            policy=self._policy,
            tls=self._tls,
            follow_up=connection.follow_up,
        )
        return await handlers.answer_call(call, context)

    async def _registration_refusal(self, connection: _Connection, call: Call) -> str | None:
        """Strict mode: a station that is not Accepted may send BootNotification and, once each, the messages
        the CSMS asked for with TriggerMessage (OCPP 1.6 §4.2); anything else is a SecurityError."""
        if not self._policy.registration_required or call.action == "BootNotification":
            return None
        station = await self.store.get_station(connection.station_id)
        refusal = unregistered_refusal(call.action, None if station is None else station.registration_status)
        if refusal is not None and connection.line.triggered.consume(call.action):
            return None
        return refusal

    def _registered(self, connection: _Connection, status: object) -> None:
        """A BootNotification was answered: triggers sent before it no longer count, and in strict mode a
        Pending answer is followed up (:meth:`_follow_up_pending`)."""
        connection.line.triggered.clear()
        if status == "Pending":
            connection.pending_boots += 1
        connection.registration_changed.set()

    async def _follow_up_pending(self, connection: _Connection) -> None:
        """Strict mode, OCPP 1.6 §4.2: while a station is Pending the Central System may query and configure it,
        and may ask it to boot again (TriggerMessage, §5.17) rather than wait for its retry interval.

        After each Pending answer the CSMS reads the station's whole configuration (GetConfiguration without
        keys); once its boot answer would be Accepted (the boot count of AQ-1 is used up, or an operator
        accepted it) it sends TriggerMessage(BootNotification). Nothing is sent to a Rejected station (§4.2),
        and nothing unasked to an Accepted one (OCTT fails on unsolicited CALLs, reference §5.6).
        """
        queried = triggered = 0
        while not connection.closed:
            connection.registration_changed.clear()
            if connection.pending_boots > queried:
                queried = connection.pending_boots
                await self._call_while_pending(connection, "GetConfiguration", {})
                continue
            if queried > triggered:
                station = await self.store.get_station(connection.station_id)
                if station is not None and station.next_boot_status == "Accepted":
                    triggered = queried
                    boot = {"requestedMessage": "BootNotification"}
                    await self._call_while_pending(connection, "TriggerMessage", boot)
                    continue
            await connection.registration_changed.wait()

    async def _send_follow_ups(self, connection: _Connection) -> None:
        """The CALLs handlers asked for once their answer went out (A02 step 9: CertificateSigned after an Accepted
        SignCertificate), one at a time, each as any CALL of the CSMS (the outbox logs and tracks its answer)."""
        while not connection.closed:
            follow_up = await connection.follow_ups.get()
            with connection.step():
                try:
                    await connection.outbox.call(follow_up.action, follow_up.payload)
                except CommandError as exc:
                    log.info("station %r: %s", connection.station_id, exc)
                    if follow_up.undelivered is not None:
                        await follow_up.undelivered(str(exc), self._clock())

    async def _call_while_pending(self, connection: _Connection, action: str, payload: dict[str, Any]) -> None:
        with connection.step():
            station = await self.store.get_station(connection.station_id)
            if station is None or station.registration_status != "Pending":
                return
            try:
                reply = await connection.outbox.call(action, payload)
            except CommandError as exc:
                log.info("station %r: %s", connection.station_id, exc)
                return
            if isinstance(reply.frame, CallError):
                log.info("station %r answered %s with %s", connection.station_id, action, reply.frame.error_code)

    @staticmethod
    async def _send_answer(connection: _Connection, text: str) -> None:
        try:
            await connection.send(text)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            log.warning("could not answer station %r: %s", connection.station_id, exc)

    # -- HTTP API: stations ----------------------------------------------------------------------------------

    async def _station_json(self, station: Station) -> dict[str, Any]:
        connectors = await self.store.connector_statuses(station.id)
        return {
            "id": station.id,
            "connected": station.id in self._connections,
            "registration_status": station.registration_status,
            "boot": {
                "status": station.boot.status,
                "interval_s": station.boot.interval_s,
                "accept_after_boots": station.boot.accept_after_boots,
            },
            "boots_until_accepted": station.boots_until_accepted,
            "boot_count": station.boot_count,
            "last_boot_at": None if station.last_boot_at_s is None else format_time(station.last_boot_at_s),
            "last_heartbeat_at": (
                None if station.last_heartbeat_at_s is None else format_time(station.last_heartbeat_at_s)
            ),
            "vendor": station.vendor,
            "model": station.model,
            "serial_number": station.serial_number,
            "firmware_version": station.firmware_version,
            "basic_auth": station.password_hash is not None,
            "security_profile": (await self.store.security.station(station.id)).security_profile,
            "connectors": [
                {
                    "connector_id": status.connector_id,
                    "status": status.status,
                    "error_code": status.error_code,
                    "info": status.info,
                    "vendor_id": status.vendor_id,
                    "vendor_error_code": status.vendor_error_code,
                    "timestamp": status.timestamp,
                    "received_at": format_time(status.received_at_s),
                }
                for status in connectors
            ],
        }

    def _boot_answer_changed(self, station_id: str) -> None:
        """A Pending station may now be triggered to boot again (:meth:`_follow_up_pending`)."""
        connection = self._connections.get(station_id)
        if connection is not None:
            connection.registration_changed.set()

    async def _get_settings(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                **self._policy.as_json(),
                "call_timeout_s": self._call_timeout_s,
                "heartbeat_interval_s": self._heartbeat_interval_s,
            }
        )

    async def _known_station(self, station_id: str) -> Station:
        return await known_station(self.store, station_id)

    async def _provision_station(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        known_fields(body, {"id", "boot"}, what="station")
        station_id = required_string(body, "id")
        boot = None if body.get("boot") is None else boot_config_from(body["boot"])
        created = await self.store.provision_station(station_id, boot=boot, now_s=self._clock())
        self._boot_answer_changed(station_id)
        station = await self._known_station(station_id)
        return web.json_response(await self._station_json(station), status=201 if created else 200)

    async def _list_stations(self, request: web.Request) -> web.Response:
        return web.json_response([await self._station_json(s) for s in await self.store.list_stations()])

    async def _get_station(self, request: web.Request) -> web.Response:
        station = await self._known_station(request.match_info["station_id"])
        return web.json_response(await self._station_json(station))

    async def _put_boot_answer(self, request: web.Request) -> web.Response:
        station_id = request.match_info["station_id"]
        boot = boot_config_from(await json_object(request))
        if not await self.store.set_boot_config(station_id, boot):
            raise ApiError(404, f"Station {station_id!r} is not provisioned.")
        self._boot_answer_changed(station_id)
        return web.json_response(await self._station_json(await self._known_station(station_id)))

    async def _accept_station(self, request: web.Request) -> web.Response:
        """The operator accepts a Pending station: its next BootNotification is answered Accepted
        (OCPP 1.6 §4.2; the registration itself changes only with that answer)."""
        station_id = request.match_info["station_id"]
        if not await self.store.accept_station(station_id):
            raise ApiError(404, f"Station {station_id!r} is not provisioned.")
        self._boot_answer_changed(station_id)
        return web.json_response(await self._station_json(await self._known_station(station_id)))

    # -- HTTP API: tokens ----------------------------------------------------------------------------------

    async def _put_token(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        known_fields(body, {"id_tag", "status", "expiry_date", "parent_id_tag"}, what="token")
        token = Token(
            id_tag=required_string(body, "id_tag", max_length=_MAX_ID_TAG_LENGTH),
            status=_token_status(body),
            expiry_at_s=time_field(body, "expiry_date"),
            parent_id_tag=string_field(body, "parent_id_tag", required=False, max_length=_MAX_ID_TAG_LENGTH),
        )
        created = await self.store.put_token(token)
        return web.json_response(_token_json(token, self._clock()), status=201 if created else 200)

    async def _list_tokens(self, request: web.Request) -> web.Response:
        now_s = self._clock()
        return web.json_response([_token_json(token, now_s) for token in await self.store.list_tokens()])

    async def _octt_create_token(self, request: web.Request) -> web.Response:
        """Trigger contract: an Expired token is an Accepted token whose expiry date has passed, so Authorize
        says Expired through the expiry rule (reference §1 "the expired tag has an expiry date in the
        past")."""
        body = await json_object(request)
        known_fields(body, {"token_id", "status", "expiry_date", "parent_id_tag"}, what="token")
        now_s = self._clock()
        status: TokenStatus = _token_status(body)
        expiry_at_s = time_field(body, "expiry_date")
        if status == "Expired":
            if expiry_at_s is not None and expiry_at_s > now_s:
                raise ApiError(400, "An Expired token needs an 'expiry_date' in the past.")
            if expiry_at_s is None:
                expiry_at_s = now_s - _EXPIRED_TOKEN_AGE_S
            status = "Accepted"
        token = Token(
            id_tag=required_string(body, "token_id", max_length=_MAX_ID_TAG_LENGTH),
            status=status,
            expiry_at_s=expiry_at_s,
            parent_id_tag=string_field(body, "parent_id_tag", required=False, max_length=_MAX_ID_TAG_LENGTH),
        )
        created = await self.store.put_token(token)
        return web.json_response(_token_json(token, now_s), status=201 if created else 200)

    async def _octt_set_password(self, request: web.Request) -> web.Response:
        """Only a salted hash is stored (A01.FR.08) and the password is never logged (A01.FR.09)."""
        body = await json_object(request)
        station_id = required_string(body, "station_id")
        password = required_string(body, "password")
        await self._known_station(station_id)
        password_hash = await asyncio.to_thread(hash_password, password)
        if not await self.store.set_password_hash(station_id, password_hash):
            raise ApiError(404, f"Station {station_id!r} is not provisioned.")
        log.info("Basic authentication password set for station %r", station_id)
        return web.json_response({"station_id": station_id, "basic_auth": True})

    # -- HTTP API: transactions and exchanges ----------------------------------------------------------------

    async def _list_transactions(self, request: web.Request) -> web.Response:
        transactions = await self.store.list_transactions(request.query.get("station_id"))
        return web.json_response(
            [
                {
                    "id": tx.id,
                    "station_id": tx.station_id,
                    "connector_id": tx.connector_id,
                    "id_tag": tx.id_tag,
                    "auth_status": tx.auth_status,
                    "meter_start": tx.meter_start,
                    "meter_stop": tx.meter_stop,
                    "started_at": tx.started_at,
                    "stopped_at": tx.stopped_at,
                    "stop_reason": tx.stop_reason,
                    "reservation_id": tx.reservation_id,
                    "reservation_outcome": tx.reservation_outcome,
                    "meter_value_count": tx.meter_value_count,
                    "start_resends": tx.start_resends,
                    "stop_resends": tx.stop_resends,
                }
                for tx in transactions
            ]
        )

    async def _list_duplicates(self, request: web.Request) -> web.Response:
        """Transaction messages received again (csms.store: idempotence), oldest first; ``?station_id=``."""
        duplicates = await self.store.list_duplicates(request.query.get("station_id"))
        return web.json_response(
            [
                {
                    "station_id": d.station_id,
                    "transaction_id": d.transaction_id,
                    "action": d.action,
                    "request": d.request,
                    "differs": d.differs,
                    "received_at": format_time(d.received_at_s),
                }
                for d in duplicates
            ]
        )

    async def _list_unknown_stops(self, request: web.Request) -> web.Response:
        stops = await self.store.list_unknown_stops(request.query.get("station_id"))
        return web.json_response(
            [
                {
                    "station_id": stop.station_id,
                    "transaction_id": stop.transaction_id,
                    "id_tag": stop.id_tag,
                    "meter_stop": stop.meter_stop,
                    "stopped_at": stop.stopped_at,
                    "stop_reason": stop.stop_reason,
                    "received_at": format_time(stop.received_at_s),
                }
                for stop in stops
            ]
        )

    async def _list_exchanges(self, request: web.Request) -> web.Response:
        """The latest exchanges, oldest first, filtered by ``station_id``, ``action``, ``outcome`` (result, error,
        timeout, disconnected) and ``direction`` (station_to_csms, csms_to_station); ``limit`` up to 1000.
        ``?outcome=error&direction=station_to_csms`` lists the CALLERRORs the CSMS answered to the whole fleet."""
        query = request.query
        known_fields(dict(query), {"station_id", "action", "outcome", "direction", "limit"}, what="exchange filter")
        limit_text = query.get("limit", "100")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= _MAX_EXCHANGES:
            raise ApiError(400, f"'limit' must be an integer from 1 to {_MAX_EXCHANGES}.")
        for name, choices in (("outcome", EXCHANGE_OUTCOMES), ("direction", EXCHANGE_DIRECTIONS)):
            if name in query and query[name] not in choices:
                raise ApiError(400, f"'{name}' must be one of {', '.join(choices)}.")
        exchanges = await self.store.list_exchanges(
            station_id=query.get("station_id"),
            action=query.get("action"),
            outcome=query.get("outcome"),
            direction=query.get("direction"),
            limit=int(limit_text),
        )
        return web.json_response([exchange.as_json() for exchange in exchanges])

    # -- HTTP API: CSMS -> station CALLs ---------------------------------------------------------------------

    async def _list_actions(self, request: web.Request) -> web.Response:
        return web.json_response(
            [{"action": action, "trigger": kebab} for kebab, action in sorted(ACTION_BY_KEBAB.items())]
        )

    async def _call_camel(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in CSMS_INITIATED:
            raise ApiError(404, f"{action!r} is not an action the CSMS can send; GET /api/actions lists them.")
        return await self._call(request, request.match_info["station_id"], action)

    async def _call_kebab(self, request: web.Request) -> web.Response:
        name = request.match_info["action"]
        action = ACTION_BY_KEBAB.get(name)
        if action is None:
            raise ApiError(404, f"{name!r} is not an action the CSMS can send; GET /api/actions lists them.")
        return await self._call(request, request.match_info["station_id"], action)

    async def _call(self, request: web.Request, station_id: str, action: str) -> web.Response:
        """The raw trigger contract: the body is the OCPP payload, sent as it is (reference §5.7)."""
        return await self._relay(station_id, action, await json_object(request, empty={}))

    async def _relay(self, station_id: str, action: str, payload: dict[str, Any]) -> web.Response:
        """Send one CALL and relay the answer: 200 with the CALLRESULT payload, 502 for a CALLERROR (or a
        station that dropped the connection meanwhile), 504 when it did not answer in time; 400, 404 and 409 when
        nothing is sent (a payload that breaks the schema, a station unknown or not connected, OCPP 1.6 §4.2)."""
        try:
            commands.check_payload(action, payload)
            station = await self._known_station(station_id)
            connection = self._connections.get(station_id)
            if connection is None:
                raise ApiError(404, f"Station {station_id!r} is not connected.")
            refusal = commands.registration_refusal(action, station.registration_status)
            if refusal is not None:
                raise ApiError(409, refusal)
            reply = await connection.outbox.call(action, payload)
        except InvalidPayload as exc:
            return web.json_response(
                {
                    "error": str(exc),
                    "violations": [{"path": v.path, "message": v.message} for v in exc.violations],
                },
                status=400,
            )
        except CallTimedOut as exc:
            return web.json_response({"error": str(exc)}, status=504)
        except StationGone as exc:
            return web.json_response({"error": str(exc)}, status=502)
        headers = {"X-OCPP-Message-Id": reply.unique_id}
        if isinstance(reply.frame, CallError):
            return web.json_response(
                {
                    "error": "CALLERROR",
                    "errorCode": reply.frame.error_code,
                    "errorDescription": reply.frame.error_description,
                    "errorDetails": reply.frame.error_details,
                },
                status=502,
                headers=headers,
            )
        if reply.violations:
            headers["X-OCPP-Schema-Violations"] = str(len(reply.violations))
        return web.json_response(reply.frame.payload, headers=headers)


async def serve(
    *,
    host: str,
    port: int,
    db_path: str | Path,
    strict: bool = False,
    api_token: str | None = None,
    tls: TlsSettings | None = None,
    tls_port: int = 0,
    mtls_port: int = 0,
    max_connections: int | None = None,
) -> None:
    """Run the bundled CSMS until cancelled or sent SIGTERM (``ocpp-harness csms [--strict] [--tls-dir certs/]``),
    then shut down cleanly: every station gets a close frame 1001 (RFC 6455 §7.4.1) and the database is closed.
    Without ``api_token`` one is drawn and printed once on stdout, for the operator to hand to the harness; a
    given one is not echoed."""
    raise_descriptor_limit()
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()

    def terminate() -> None:
        if not stop.done():
            log.info("SIGTERM: shutting down")
            stop.set_result(None)

    async with CsmsServer(
        host=host,
        port=port,
        db_path=db_path,
        strict=strict,
        api_token=api_token,
        tls=tls,
        tls_port=tls_port,
        mtls_port=mtls_port,
        max_connections=max_connections,
    ) as server:
        mode = " in strict mode" if strict else ""
        print(f"CSMS listening on {server.ws_url} (API {server.api_url}){mode}", flush=True)
        if tls is not None:
            print(f"CSMS listening on {server.wss_url} (TLS: security profile 2)", flush=True)
        if tls is not None and tls.client_ca is not None:
            print(f"CSMS listening on {server.mtls_url} (mutual TLS: security profile 3)", flush=True)
        if api_token is None:
            print(f"API token (Authorization: Bearer): {server.api_token}", flush=True)
        else:
            print(f"API token: the one given in {TOKEN_ENV}", flush=True)
        warning = exposure_warning(host)
        if warning is not None:
            print(warning, file=sys.stderr, flush=True)
        loop.add_signal_handler(signal.SIGTERM, terminate)
        try:
            await stop
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
