"""What the bundled CSMS answers to the security whitepaper's charge point messages (edition 3, §4 and §7):
SignCertificate (A02, A03), SecurityEventNotification (A04), LogStatusNotification (N01) and
SignedFirmwareStatusNotification (L01). Part of :data:`csms.handlers.HANDLERS`.

Each is persisted before it is answered, like every message (:mod:`csms.handlers`); the three notifications are
answered ``{}`` whatever they say (a SecurityEventNotification ``type`` is an open string[50] list, reference §5.3).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from csms import pki
from csms.store import Store

if TYPE_CHECKING:
    from csms.handlers import CallContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FollowUp:
    """A CALL the CSMS sends on its own once it has answered a station's CALL (CertificateSigned after an Accepted
    SignCertificate, A02 step 9). ``undelivered`` is told why, and when, the CALL got no answer (a timeout, the
    station gone); an answer is recorded where every answer is (:mod:`csms.tracking`)."""

    action: str
    payload: dict[str, Any]
    undelivered: Callable[[str, float], Awaitable[None]] | None = field(default=None, compare=False)


async def _sign_certificate(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """A02.FR.11/12: Accepted when the CSMS can process the CSR, which it then signs into the chain of
    CertificateSigned (leaf first, then the CA; at most the station's CertificateSignedMaxChainSize), sent once this
    answer is (A02 step 9, TC_074); Rejected when it cannot: no CA key, a CSR that is not one or whose key is too
    weak, a subject that does not fit the station (:class:`csms.tls.ClientCertificatePolicy`, A02.FR.13), a chain
    too long, a station whose registration is Rejected and so may be sent nothing (OCPP 1.6 §4.2). The RSA CA signs
    with SHA256withRSA (reference §5.6)."""
    tls = ctx.tls
    authority = None if tls is None else tls.authority
    if tls is None or authority is None or ctx.follow_up is None:
        log.warning("station %r sent a CSR, but the CSMS has no CA key to sign it with: Rejected", ctx.station_id)
        return {"status": "Rejected"}
    station = await ctx.store.get_station(ctx.station_id)
    if station is not None and station.registration_status == "Rejected":
        log.warning(
            "station %r sent a CSR while its registration is Rejected: Rejected (OCPP 1.6 §4.2)", ctx.station_id
        )
        return {"status": "Rejected"}
    record = await ctx.store.security.station(ctx.station_id)
    max_chain_chars = min(pki.CHAIN_MAX_CHARS, record.max_chain_chars or pki.CHAIN_MAX_CHARS)
    try:
        csr = pki.load_csr(payload["csr"])
        problem = tls.client_certificates.problem(
            csr.subject, station_id=ctx.station_id, serial_number=None if station is None else station.serial_number
        )
        if problem is not None:
            raise pki.CsrRejected(problem)
        signed = authority.sign_csr(payload["csr"], max_chain_chars=max_chain_chars)
    except pki.PkiError as exc:
        log.warning("station %r: CSR rejected (A02.FR.12): %s", ctx.station_id, exc)
        return {"status": "Rejected"}
    leaf = signed.certificate
    serial_number = format(leaf.serial_number, "X")
    certificate_id = await ctx.store.security.certificate_issued(
        ctx.station_id,
        serial_number=serial_number,
        subject=leaf.subject.rfc4514_string(),
        certificate=pki.certificate_pem(leaf),
        expires_at_s=leaf.not_valid_after_utc.timestamp(),
        now_s=ctx.now_s,
    )
    ctx.follow_up(
        FollowUp(
            "CertificateSigned",
            {"certificateChain": signed.chain_pem},
            undelivered=functools.partial(_undelivered, ctx.store, certificate_id, ctx.station_id),
        )
    )
    log.info("station %r: CSR signed into certificate %s; CertificateSigned follows", ctx.station_id, serial_number)
    return {"status": "Accepted"}


async def _undelivered(store: Store, certificate_id: int, station_id: str, reason: str, now_s: float) -> None:
    log.warning(
        "station %r: the CertificateSigned of issued certificate %d got no answer: %s",
        station_id,
        certificate_id,
        reason,
    )
    await store.security.certificate_undelivered(certificate_id, reason, now_s=now_s)


async def _security_event_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """A04: kept in the security log with the station's timestamp and techInfo (TC_077 InvalidChargePointCertificate,
    TC_078 InvalidCentralSystemCertificate, TC_080 FirmwareUpdated), any type acknowledged."""
    await ctx.store.security.add_event(
        station_id=ctx.station_id,
        source="station",
        event_type=payload["type"],
        timestamp=payload["timestamp"],
        tech_info=payload.get("techInfo"),
        now_s=ctx.now_s,
    )
    log.info("station %r reported security event %s", ctx.station_id, payload["type"])
    return {}


async def _log_status_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """N01: kept with the GetLog job of its requestId (TC_079: Uploading, Uploaded)."""
    await ctx.store.profiles.status_notified(
        ctx.station_id, "log", payload["status"], now_s=ctx.now_s, request_id=payload.get("requestId")
    )
    return {}


async def _signed_firmware_status_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """L01: kept with the SignedUpdateFirmware job of its requestId (TC_080, TC_081: InvalidSignature)."""
    await ctx.store.profiles.status_notified(
        ctx.station_id, "signed_firmware", payload["status"], now_s=ctx.now_s, request_id=payload.get("requestId")
    )
    return {}


SECURITY_HANDLERS: Mapping[str, Callable[[CallContext, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "SignCertificate": _sign_certificate,
    "SecurityEventNotification": _security_event_notification,
    "LogStatusNotification": _log_status_notification,
    "SignedFirmwareStatusNotification": _signed_firmware_status_notification,
}
