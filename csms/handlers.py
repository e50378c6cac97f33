"""What the bundled CSMS answers to each CALL a charge point sends (OCPP 1.6 §4, security whitepaper).

Every answer is a business answer: a refusal (unknown tag, unknown vendor) is a normal CALLRESULT, never a
CALLERROR (reference §5.2). CALLERRORs are kept for framing and schema problems and for actions the CSMS does
not take from a station (OCPP-J 1.6 §4.2.3). Whatever a station says is persisted before it is answered.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from csms.policy import Policy
from csms.security_handlers import SECURITY_HANDLERS, FollowUp
from csms.store import Store, Token
from ocppj.frames import Call, CallError, CallResult, ErrorCode, encode_error, encode_result
from ocppj.schemas import SchemaViolation, actions, error_code_for, validate
from ocppj.timefmt import format_time

if TYPE_CHECKING:
    from csms.tls import TlsSettings

log = logging.getLogger(__name__)

# Actions only a charge point initiates (OCPP 1.6 §4, plus the security whitepaper's notifications and CSR).
# DataTransfer goes both ways, so it is not here: the CSMS answers it and can send it.

_MAX_VIOLATIONS_IN_DESCRIPTION = 5
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
MAX_NESTING = 64  # of a payload the CSMS takes, and of a request it logs as parsed (else as its text)


@dataclass(frozen=True)
class CallContext:
    """What a handler needs besides the payload; ``now_s`` is taken once per CALL so a message is judged at
    one instant (expiry checks and ``currentTime`` agree)."""

    station_id: str
    store: Store
    now_s: float
    heartbeat_interval_s: int
    policy: Policy = Policy()
    tls: TlsSettings | None = None  # the CA that signs CSRs (SignCertificate, A02)
    follow_up: Callable[[FollowUp], None] | None = None  # a CALL to send once this CALL is answered


Handler = Callable[[CallContext, dict[str, Any]], Awaitable[dict[str, Any]]]


def effective_token_status(token: Token | None, now_s: float) -> str:
    """The idTagInfo status of a token (OCPP 1.6 §7 AuthorizationStatus; reference §5.4, TC_023_1/2/3):
    unknown -> Invalid, administratively refused -> its status, expiry date passed -> Expired."""
    if token is None:
        return "Invalid"
    if token.status != "Accepted":
        return token.status
    if token.expiry_at_s is not None and token.expiry_at_s <= now_s:
        return "Expired"
    return "Accepted"


async def id_tag_info(store: Store, id_tag: str, now_s: float) -> dict[str, Any]:
    """IdTagInfo for Authorize, StartTransaction and StopTransaction (OCPP 1.6 §7 IdTagInfo).

    ``parentIdTag`` is returned for every known tag of a group: TC_053_CSMS and TC_069_CS compare it.
    ``expiryDate`` is given when known, and for an Accepted tag only while it lies in the future.
    """
    token = await store.get_token(id_tag)
    status = effective_token_status(token, now_s)
    info: dict[str, Any] = {"status": status}
    if token is None:
        return info
    if token.parent_id_tag:
        info["parentIdTag"] = token.parent_id_tag
    if token.expiry_at_s is not None and (status != "Accepted" or token.expiry_at_s > now_s):
        info["expiryDate"] = format_time(token.expiry_at_s)
    return info


async def _boot_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """OCPP 1.6 §4.2: Accepted carries the heartbeat interval, Pending/Rejected the retry interval, as an
    integer (2019-12 schema); the defaults are > 0 (TC_001_CSMS, SV asserts > 0)."""
    status, config = await ctx.store.record_boot(ctx.station_id, payload, now_s=ctx.now_s)
    interval_s = config.interval_for(status, heartbeat_interval_s=ctx.heartbeat_interval_s)
    return {"status": status, "currentTime": format_time(ctx.now_s), "interval": interval_s}


async def _heartbeat(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    await ctx.store.record_heartbeat(ctx.station_id, now_s=ctx.now_s)
    return {"currentTime": format_time(ctx.now_s)}


async def _authorize(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Strict mode answers ConcurrentTx for a valid tag already in a transaction on any station (OCPP 1.6 §7.2
    AuthorizationStatus, §4.1)."""
    id_tag = payload["idTag"]
    info = await id_tag_info(ctx.store, id_tag, ctx.now_s)
    if ctx.policy.concurrent_tx and info["status"] == "Accepted" and await ctx.store.tag_in_transaction(id_tag):
        info["status"] = "ConcurrentTx"
    return {"idTagInfo": info}


async def _start_transaction(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """A transaction id is handed out even for a refused tag: the schema requires it and TC_037_3_CSMS then
    stops that transaction. Past timestamps (offline queue, TC_037/TC_039) are accepted. In strict mode a tag
    already in a transaction is refused with ConcurrentTx (OCPP 1.6 §4.10, §7.2).

    A reservationId marks the station's reservation with that id used (§5.13; TC_046, TC_049, TC_053). One the
    CSMS does not know as active is accepted all the same, the station having decided, and the transaction
    records what became of it. The TxProfile of an accepted RemoteStartTransaction for the idTag is installed for
    the transaction (§5.11)."""
    info = await id_tag_info(ctx.store, payload["idTag"], ctx.now_s)
    started = await ctx.store.start_transaction(
        ctx.station_id, payload, auth_status=info["status"], exclusive=ctx.policy.concurrent_tx, now_s=ctx.now_s
    )
    transaction_id, status = started.transaction_id, started.auth_status
    if started.resent:
        log.info("station %s resent StartTransaction %s: answered with its id again", ctx.station_id, transaction_id)
        return {"idTagInfo": {**info, "status": status}, "transactionId": transaction_id}
    reservation_id = payload.get("reservationId")
    if reservation_id is not None:
        outcome = await ctx.store.profiles.reservation_used(
            ctx.station_id, reservation_id, transaction_id=transaction_id, now_s=ctx.now_s
        )
        if outcome != "used":
            log.warning(
                "station %s started transaction %s with reservation %s, which the CSMS has as %s",
                ctx.station_id,
                transaction_id,
                reservation_id,
                outcome,
            )
    await ctx.store.profiles.remote_start_applied(
        ctx.station_id, payload["connectorId"], payload["idTag"], transaction_id
    )
    return {"idTagInfo": {**info, "status": status}, "transactionId": transaction_id}


async def _stop_transaction(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Any transactionId is accepted, also one from before a reboot (TC_032_1_CSMS) or one this CSMS never
    issued: refusing a stop would make the station retry it forever (OCPP 1.6 §4.10). The TxProfiles of the
    transaction end with it (§3.13.1). A stop repeated for a stopped transaction is answered the same, keeps the
    first stop, and adds no meter values (csms.store: idempotence)."""
    outcome = await ctx.store.stop_transaction(ctx.station_id, payload, now_s=ctx.now_s)
    if outcome == "repeated":
        log.warning(
            "station %s stopped transaction %s again: the first stop is kept, this one recorded as a duplicate",
            ctx.station_id,
            payload["transactionId"],
        )
        return await _stop_answer(ctx, payload)
    await ctx.store.profiles.transaction_ended(ctx.station_id, payload["transactionId"])
    if outcome == "unknown":
        log.warning(
            "station %s stopped transaction %s, which this CSMS did not start for it",
            ctx.station_id,
            payload["transactionId"],
        )
    await ctx.store.add_meter_values(
        ctx.station_id,
        connector_id=None,
        transaction_id=payload["transactionId"],
        meter_values=list(payload.get("transactionData", [])),
        source="StopTransaction",
    )
    return await _stop_answer(ctx, payload)


async def _stop_answer(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    if "idTag" in payload:
        return {"idTagInfo": await id_tag_info(ctx.store, payload["idTag"], ctx.now_s)}
    return {}


async def _status_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Any status in any order is acknowledged: Charging may precede StartTransaction and Finishing may
    precede StopTransaction (D24 §1.2). Connector 0 is the charge point itself."""
    await ctx.store.set_connector_status(ctx.station_id, payload, now_s=ctx.now_s)
    return {}


async def _meter_values(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Meter values outside a transaction are accepted too (TC_054_CSMS triggers one)."""
    await ctx.store.add_meter_values(
        ctx.station_id,
        connector_id=payload["connectorId"],
        transaction_id=payload.get("transactionId"),
        meter_values=list(payload["meterValue"]),
        source="MeterValues",
    )
    return {}


async def _data_transfer(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """OCPP 1.6 §4.3: this CSMS implements no vendor extension, so every vendorId is unknown (TC_064_CSMS;
    Accepted would pass there only with a warning)."""
    return {"status": "UnknownVendorId"}


async def _firmware_status_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """OCPP 1.6 §4.5: kept in order with the firmware job it reports on (TC_044_1/2/3); Idle after a
    TriggerMessage (TC_054) is kept outside any job when none is under way."""
    await ctx.store.profiles.status_notified(ctx.station_id, "firmware", payload["status"], now_s=ctx.now_s)
    return {}


async def _diagnostics_status_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """OCPP 1.6 §4.4: kept in order with the diagnostics job it reports on (TC_045_1/2)."""
    await ctx.store.profiles.status_notified(ctx.station_id, "diagnostics", payload["status"], now_s=ctx.now_s)
    return {}


HANDLERS: Mapping[str, Handler] = {
    "BootNotification": _boot_notification,
    "Heartbeat": _heartbeat,
    "Authorize": _authorize,
    "StartTransaction": _start_transaction,
    "StopTransaction": _stop_transaction,
    "StatusNotification": _status_notification,
    "MeterValues": _meter_values,
    "DataTransfer": _data_transfer,
    "DiagnosticsStatusNotification": _diagnostics_status_notification,
    "FirmwareStatusNotification": _firmware_status_notification,
    **SECURITY_HANDLERS,
}


def describe_violations(violations: list[SchemaViolation]) -> str:
    shown = "; ".join(str(violation) for violation in violations[:_MAX_VIOLATIONS_IN_DESCRIPTION])
    more = len(violations) - _MAX_VIOLATIONS_IN_DESCRIPTION
    return shown + (f"; and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class Answer:
    """The frame sent back for one CALL, and the schema violations of the request (for the exchange log)."""

    frame: CallResult | CallError
    violations: list[SchemaViolation]


def nesting(value: Any) -> int:
    """How deep arrays and objects nest in ``value`` (iteratively: the value may be as deep as a parser allows)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((member, depth + 1) for member in item.values())
        elif isinstance(item, list):
            stack.extend((member, depth + 1) for member in item)
    return deepest


def survey(value: Any) -> tuple[int, bool]:
    """:func:`nesting` of ``value``, and whether :func:`unrepresentable` finds nothing in it, in one walk that
    builds no paths (the checks of every CALL; the list of what is unrepresentable is made only when there is
    some)."""
    deepest, clean, stack = 0, True, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
        if isinstance(item, str):
            clean = clean and _is_text(item)
        elif isinstance(item, dict):
            for key, member in item.items():
                clean = clean and (not isinstance(key, str) or _is_text(key))
                stack.append((member, depth + 1))
        elif isinstance(item, list):
            stack.extend((member, depth + 1) for member in item)
        elif isinstance(item, bool):
            pass
        elif isinstance(item, int):
            clean = clean and _INT64_MIN <= item <= _INT64_MAX
        elif isinstance(item, float):
            clean = clean and math.isfinite(item)
    return deepest, clean


def _is_text(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unrepresentable(value: Any, path: str = "") -> list[SchemaViolation]:
    """Values the schema allows but no CSMS can keep as given: a string with a lone UTF-16 surrogate
    (``"\\ud800"``: valid JSON, RFC 8259 §8.2, but no Unicode text), an integer outside 64 bits (RFC 8259 §6 lets
    a receiver limit numbers; SQLite's INTEGER is 64-bit), a number too large for a double (``1e400``). The payload
    is syntactically correct and a field holds an invalid value: PropertyConstraintViolation (OCPP-J 1.6
    §4.2.3), where a CSMS that tried to store it would fail (InternalError, or no answer at all)."""
    found: list[SchemaViolation] = []
    code = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            found.append(SchemaViolation(path, "holds a lone UTF-16 surrogate, which is not Unicode text", code))
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            found.append(SchemaViolation(path, "is an integer outside the 64-bit range this CSMS keeps", code))
    elif isinstance(value, float):
        if not math.isfinite(value):
            found.append(SchemaViolation(path, "is a number too large to represent", code))
    elif isinstance(value, dict):
        for key, member in value.items():
            found += unrepresentable(key, path)
            found += unrepresentable(member, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += unrepresentable(item, f"{path}.{index}" if path else str(index))
    return found


def internal_error(call: Call) -> Answer:
    return Answer(
        encode_error(call.unique_id, ErrorCode.INTERNAL_ERROR.value, f"the CSMS failed to handle {call.action}"), []
    )


async def answer_call(call: Call, ctx: CallContext) -> Answer:
    """Answer one CALL: NotImplemented for an action OCPP 1.6 does not have, NotSupported for one the CSMS
    does not take from a station (any CSMS-initiated action), the
    schema's CALLERROR code for an invalid payload (OCPP-J 1.6 §4.2.3), else the handler's CALLRESULT."""
    if call.action not in actions():
        return Answer(
            encode_error(call.unique_id, ErrorCode.NOT_IMPLEMENTED.value, f"unknown action {call.action!r}"),
            [],
        )
    handler = HANDLERS.get(call.action)
    if handler is None:
        return Answer(
            encode_error(
                call.unique_id,
                ErrorCode.NOT_SUPPORTED.value,
                f"this CSMS does not accept {call.action} from a charge point",
            ),
            [],
        )
    depth, representable = survey(call.payload)
    if depth > MAX_NESTING:
        # No OCPP 1.6 payload nests beyond a few levels; deeper ones would overflow the checks below (RFC 8259 §9
        # lets a receiver limit nesting): not the PDU of any action.
        return Answer(
            encode_error(
                call.unique_id, ErrorCode.FORMATION_VIOLATION.value, f"the payload nests deeper than {MAX_NESTING}"
            ),
            [],
        )
    violations = validate(call.action, call.payload, response=False) or (
        [] if representable else unrepresentable(call.payload)
    )
    if violations:
        return Answer(
            encode_error(
                call.unique_id,
                error_code_for(violations).value,
                describe_violations(violations),
                {"violations": [{"path": v.path, "message": v.message} for v in violations]},
            ),
            violations,
        )
    try:
        payload = await handler(ctx, call.payload)
    except Exception:
        log.exception("handling %s from station %s failed", call.action, ctx.station_id)
        return internal_error(call)
    own_violations = validate(call.action, payload, response=True)
    if own_violations:
        # The bundled CSMS must never put a schema-invalid frame on the wire (reference §5.3).
        log.error("answer to %s would break its schema: %s", call.action, describe_violations(own_violations))
        return Answer(
            encode_error(
                call.unique_id,
                ErrorCode.INTERNAL_ERROR.value,
                f"the CSMS built an invalid {call.action} answer",
            ),
            [],
        )
    return Answer(encode_result(call.unique_id, payload), [])
