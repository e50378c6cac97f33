"""Who may open an OCPP connection, by security profile (security whitepaper edition 3, §2; A00.FR.002), and the
CSMS's security log.

Each station has a security profile (0-3, :class:`csms.security_store.StationSecurity`), and a connection of a
weaker kind than its profile is refused before the websocket upgrade (A00.FR.002; reference §5.1: plain ws for a
profile-2 station, SP2 credentials after an upgrade to SP3). What a connection is made of comes from the transport
(:class:`csms.tls.ConnectionSecurity`) and the HTTP request:

* profile 0: nothing, unless the station has a Basic password, which it then must give (profile 1 in effect: the
  CSMS's behaviour before profiles were stored);
* profile 1: Basic credentials whose username is the station id (A00.FR.202-205), over ws or wss;
* profile 2: TLS (A00.FR.301) and Basic credentials (A00.FR.302-304);
* profile 3: mutual TLS, a client certificate that chains to the CSMS's CA (checked in the handshake, A00.FR.403),
  fits the station (:class:`csms.tls.ClientCertificatePolicy`, A00.FR.404/405), and is not one the CSMS issued to
  another station (A00.FR.427); Basic credentials are not asked for.

A refusal is an HTTP answer before the upgrade with one line in the log and an event in the security log
(A00.FR.407/408); passwords never reach either (A01.FR.09).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from cryptography.x509.oid import NameOID

from csms.credentials import basic_credentials, verify_password
from csms.security_store import SecurityStore
from csms.store import Station, Store
from csms.tls import ClientCertificatePolicy, ConnectionSecurity

log = logging.getLogger(__name__)

_MAX_QUEUED_EVENTS = 1000
MAX_SECURITY_PROFILE = 3


def required_profile(security_profile: int, *, has_password: bool) -> int:
    """The profile a station's connection must meet: its own, or 1 when it has a Basic password on profile 0."""
    return max(security_profile, 1 if has_password else 0)


@dataclass(frozen=True)
class Refusal:
    """A connection refused before the upgrade: the HTTP status, the reason (for the log and the answer's body)
    and the security event the CSMS logs for it."""

    status: int
    reason: str
    event_type: str

    def response(self) -> web.HTTPException:
        text = self.reason + "\n"
        if self.status == 401:
            return web.HTTPUnauthorized(text=text, headers={"WWW-Authenticate": 'Basic realm="OCPP", charset="UTF-8"'})
        return web.HTTPForbidden(text=text)


class SecurityLog:
    """The CSMS's security log (A00.FR.408): one log line and one stored event per refusal. Refused handshakes are
    reported from inside OpenSSL's callback, where nothing can be awaited, so they are queued and written by a task
    this log owns between :meth:`start` and :meth:`stop` (the server's lifetime)."""

    def __init__(self, store: SecurityStore, *, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock
        self._queue: asyncio.Queue[tuple[str, str, float]] = asyncio.Queue(maxsize=_MAX_QUEUED_EVENTS)
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_queued(), name="security log")

    async def stop(self) -> None:
        """Cancel the writer and wait for it; events still queued are in the log lines only."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None

    async def record(self, station_id: str | None, event_type: str, reason: str, *, at_s: float | None = None) -> None:
        """Store an event whose log line the caller wrote."""
        await self._store.add_event(
            station_id=station_id,
            source="csms",
            event_type=event_type,
            timestamp=None,
            tech_info=reason[:255],
            now_s=self._clock() if at_s is None else at_s,
        )

    def report(self, event_type: str, reason: str) -> None:
        """From a synchronous caller (a TLS handshake, before the station id is known): logged now, stored by the
        writer task."""
        log.warning("security event %s (TLS handshake, station unknown): %s", event_type, reason)
        try:
            self._queue.put_nowait((event_type, reason, self._clock()))
        except asyncio.QueueFull:
            log.warning("security log queue full: event %s not stored", event_type)

    async def _write_queued(self) -> None:
        while True:
            event_type, reason, at_s = await self._queue.get()
            try:
                await self.record(None, event_type, reason, at_s=at_s)
            except Exception:
                log.exception("could not store security event %s", event_type)


class Admission:
    """Admits or refuses the OCPP connection of a provisioned station (the module docstring's rules)."""

    def __init__(
        self,
        *,
        store: Store,
        security_log: SecurityLog,
        policy: ClientCertificatePolicy | None,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._log = security_log
        self._policy = policy
        self._clock = clock

    async def admit(self, request: web.BaseRequest, station: Station) -> Refusal | None:
        """None when the connection may be upgraded; else the refusal, already logged."""
        refusal = await self._refusal(request, station)
        if refusal is not None:
            log.warning("refused websocket for station %r: %s", station.id, refusal.reason)
            await self._log.record(station.id, refusal.event_type, refusal.reason)
        return refusal

    async def _refusal(self, request: web.BaseRequest, station: Station) -> Refusal | None:
        record = await self._store.security.station(station.id)
        required = required_profile(record.security_profile, has_password=station.password_hash is not None)
        transport = ConnectionSecurity.of(request)
        if required >= 2 and not transport.tls:
            return Refusal(
                403,
                f"security profile {required} needs TLS: the station connects with wss://, not plain ws (A00.FR.002)",
                "SecurityProfileMismatch",
            )
        if required == MAX_SECURITY_PROFILE:
            return await self._certificate_refusal(transport, station)
        if required >= 1 and not await self._basic_authenticated(request, station):
            return Refusal(
                401,
                "Basic authentication failed: the charge point id as username and its password are required "
                "(A00.FR.202-205)",
                "FailedToAuthenticate",
            )
        return None

    async def _certificate_refusal(self, transport: ConnectionSecurity, station: Station) -> Refusal | None:
        certificate = transport.client_certificate
        if certificate is None or self._policy is None:
            return Refusal(
                403,
                "security profile 3 needs a client certificate issued by the CSMS's CA, on the mutual TLS endpoint"
                " (A00.FR.401, A00.FR.407)",
                "SecurityProfileMismatch",
            )
        problem = self._policy.problem(certificate.subject, station_id=station.id, serial_number=station.serial_number)
        serial = format(certificate.serial_number, "X")
        owner = await self._store.security.certificate_owner(serial)
        if problem is None and owner is not None and owner != station.id:
            problem = f"the certificate was issued to station {owner!r} (A00.FR.427)"
        if problem is not None:
            names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            shown = str(names[0].value) if names else certificate.subject.rfc4514_string()
            return Refusal(
                403, f"client certificate {shown} (serial {serial}) refused: {problem}", "InvalidChargePointCertificate"
            )
        await self._store.security.client_certificate_used(station.id, serial, now_s=self._clock())
        return None

    @staticmethod
    async def _basic_authenticated(request: web.BaseRequest, station: Station) -> bool:
        credentials = basic_credentials(request.headers.get("Authorization"))
        if credentials is None or station.password_hash is None:
            return False
        username, password = credentials
        if username != station.id:
            return False
        return await asyncio.to_thread(verify_password, password, station.password_hash)
