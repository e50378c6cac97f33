"""CALLs the CSMS sends to a station: every CSMS-initiated action of OCPP 1.6 and the security whitepaper.

The CSMS sends a CALL only when the API asks for one: no GetConfiguration on connect, nothing after a
ChangeConfiguration (OCTT quirk, reference §5.6); in strict mode it also follows up a Pending boot (OCPP 1.6
§4.2). Per connection, or per station id across connections in strict mode, one CALL is outstanding at a time
and later ones queue (OCPP-J 1.6 §4.1.1); each gets a fresh UUID as message id (OCPP-J 1.6 §4.1.4). A payload
is checked against the 1.6 request schema before it is sent, but never against what the CSMS believes about the
station: an unknown transactionId (TC_028), connector (TC_031, TC_055), reservationId (TC_052) or configuration
key (TC_040_1) must be sendable. What an answer teaches the CSMS (a list the station holds, a reservation, a
profile, a job) is recorded here, once, whoever asked for the CALL (:mod:`csms.tracking`). The exchange log keeps
no password: an AuthorizationKey is logged as ``<redacted>`` (A01.FR.08/09).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from csms import tracking
from csms.credentials import redacted
from csms.handlers import describe_violations
from csms.profile_store import Answered
from csms.store import Store
from ocppj.frames import Call, CallError, CallResult, encode_call
from ocppj.schemas import SchemaViolation, csms_actions, kebab_case, validate

log = logging.getLogger(__name__)

CSMS_INITIATED: frozenset[str] = csms_actions()


ACTION_BY_KEBAB: Mapping[str, str] = {kebab_case(action): action for action in sorted(CSMS_INITIATED)}

# OCPP 1.6 §4.2: while Pending the Central System must not start or stop transactions remotely.
_REFUSED_WHILE_PENDING = frozenset({"RemoteStartTransaction", "RemoteStopTransaction"})


def registration_refusal(action: str, registration_status: str | None) -> str | None:
    """Why ``action`` may not be sent to a station with this registration status, or None when it may.

    OCPP 1.6 §4.2: a Rejected station gets no request at all; a Pending one may be configured and queried but
    not sent RemoteStartTransaction/RemoteStopTransaction.
    """
    if registration_status == "Rejected":
        return (
            f"The station's registration is Rejected, so the CSMS sends it nothing, not even {action} (OCPP 1.6 §4.2)."
        )
    if registration_status == "Pending" and action in _REFUSED_WHILE_PENDING:
        return f"The station's registration is Pending, so the CSMS must not send it {action} (OCPP 1.6 §4.2)."
    return None


class CommandError(Exception):
    """A CALL could not be completed; the message is one sentence for the API's ``error``."""


class InvalidPayload(CommandError):
    def __init__(self, action: str, violations: list[SchemaViolation]) -> None:
        super().__init__(f"The {action} payload breaks the OCPP 1.6 schema: {describe_violations(violations)}.")
        self.violations = violations


def check_payload(action: str, payload: dict[str, Any]) -> None:
    """Refuse what would put a schema-invalid frame on the wire, and nothing else (reference §5.7)."""
    if action not in CSMS_INITIATED:
        raise CommandError(f"{action!r} is not an action the CSMS can send.")
    violations = validate(action, payload, response=False)
    if violations:
        raise InvalidPayload(action, violations)


class CallTimedOut(CommandError):
    pass


class StationGone(CommandError):
    pass


@dataclass(frozen=True)
class Reply:
    """The station's answer to one CALL. ``violations`` are those of a CALLRESULT payload against the 1.6
    response schema: the result is kept anyway, so an operator sees what the station really said."""

    unique_id: str
    frame: CallResult | CallError
    violations: list[SchemaViolation]


Clock = Callable[[], float]
Send = Callable[[str], Awaitable[None]]
# Told of each answered CALL (action, payload, answer) while its turn still holds, so before the station's next
# CALL is processed in strict mode.
Observer = Callable[[str, dict[str, Any], CallResult | CallError], None]


@dataclass
class _Pending:
    """``settled`` is set once the answer is logged and what it teaches recorded (:mod:`csms.tracking`)."""

    unique_id: str
    future: asyncio.Future[CallResult | CallError]
    settled: asyncio.Event


class Outbox:
    """CSMS->station CALLs over one websocket connection.

    A new connection of the same station gets a new outbox; :meth:`close` fails every queued CALL with
    :class:`StationGone`, and the one in flight too unless it is to run into its timeout. ``turn`` is the lock
    a CALL holds from before it is sent until it is answered or timed out: the outbox's own by default, or one
    shared with the station's other connections and its incoming CALLs (strict mode, OCPP-J 1.6 §4.1.1).
    """

    def __init__(
        self,
        *,
        station_id: str,
        send: Send,
        store: Store,
        call_timeout_s: float,
        clock: Clock,
        turn: asyncio.Lock | None = None,
        observe: Observer | None = None,
    ) -> None:
        self._station_id = station_id
        self._send = send
        self._store = store
        self._call_timeout_s = call_timeout_s
        self._clock = clock
        self._serial = asyncio.Lock() if turn is None else turn
        self._observe = observe
        self._pending: _Pending | None = None
        self._closed = False

    async def call(self, action: str, payload: dict[str, Any]) -> Reply:
        """Send one CALL once the previous one is answered or timed out; persist the exchange either way, and
        what an answer teaches (:func:`csms.tracking.track`) before the station's next message is processed."""
        check_payload(action, payload)
        async with self._serial:
            if self._closed:
                raise StationGone(f"Station {self._station_id!r} disconnected before {action} could be sent.")
            frame = encode_call(str(uuid.uuid4()), action, payload)
            pending = _Pending(frame.unique_id, asyncio.get_running_loop().create_future(), asyncio.Event())
            try:
                return await self._exchange(pending, frame, action, payload)
            finally:
                pending.settled.set()

    async def _exchange(self, pending: _Pending, frame: Call, action: str, payload: dict[str, Any]) -> Reply:
        """One CALL on the wire, under the turn: sent, answered (or not), logged and tracked."""
        self._pending = pending
        requested_at_s = self._clock()
        try:
            # The timeout covers the send: a station that does not read must not hold the caller past it.
            async with asyncio.timeout(self._call_timeout_s):
                try:
                    await self._send(frame.raw)
                except (ConnectionError, RuntimeError) as exc:
                    raise StationGone(f"Station {self._station_id!r} could not be sent {action}: {exc}.") from None
                answer = await pending.future
        except TimeoutError:
            await self._record(frame.unique_id, action, payload, "timeout", requested_at_s, None)
            raise CallTimedOut(
                f"Station {self._station_id!r} did not answer {action} within {self._call_timeout_s:g} s."
            ) from None
        except StationGone:
            await self._record(frame.unique_id, action, payload, "disconnected", requested_at_s, None)
            raise
        finally:
            self._pending = None
            if not pending.future.done():
                pending.future.cancel()
            elif not pending.future.cancelled():
                pending.future.exception()  # a close that failed it after the caller gave up: nobody else will look
        answered_at_s = self._clock()
        reply_violations = validate(action, answer.payload, response=True) if isinstance(answer, CallResult) else []
        if reply_violations:
            log.warning(
                "station %s answered %s with a payload that breaks its schema: %s",
                self._station_id,
                action,
                describe_violations(reply_violations),
            )
        # Still under the lock: the exchange log keeps the order in which CALLs went out.
        await self._record(
            frame.unique_id,
            action,
            payload,
            "result" if isinstance(answer, CallResult) else "error",
            requested_at_s,
            answer,
            reply_violations,
            answered_at_s=answered_at_s,
        )
        await tracking.track(
            self._store,
            Answered(
                station_id=self._station_id,
                action=action,
                request=payload,
                answer=answer,
                message_id=frame.unique_id,
                requested_at_s=requested_at_s,
                answered_at_s=answered_at_s,
            ),
        )
        if self._observe is not None:
            self._observe(action, payload, answer)
        return Reply(frame.unique_id, answer, reply_violations)

    async def _record(
        self,
        unique_id: str,
        action: str,
        payload: dict[str, Any],
        outcome: str,
        requested_at_s: float,
        answer: CallResult | CallError | None,
        violations: list[SchemaViolation] | None = None,
        *,
        answered_at_s: float | None = None,
    ) -> None:
        await self._store.add_exchange(
            station_id=self._station_id,
            direction="csms_to_station",
            unique_id=unique_id,
            action=action,
            request=redacted(action, payload) or {},
            outcome=outcome,
            response=redacted(action, answer.payload) if isinstance(answer, CallResult) else None,
            error_code=answer.error_code if isinstance(answer, CallError) else None,
            error_description=answer.error_description if isinstance(answer, CallError) else None,
            error_details=answer.error_details if isinstance(answer, CallError) else None,
            schema_violations=[str(v) for v in violations or []],
            requested_at_s=requested_at_s,
            answered_at_s=answered_at_s,
        )

    def resolve(self, frame: CallResult | CallError) -> asyncio.Event | None:
        """Hand a CALLRESULT/CALLERROR to the CALL it answers; None for an id that is not outstanding (a late
        answer after a timeout, or a stray frame), which the caller logs and drops. The event returned is set once
        the answer is logged and tracked: the receive loop waits for it before it reads the station's next frame,
        so a station that reacts to the answer at once is judged with it recorded (TC_046: ReserveNow Accepted,
        then StartTransaction with its reservationId)."""
        pending = self._pending
        if pending is None or pending.unique_id != frame.unique_id or pending.future.done():
            return None
        pending.future.set_result(frame)
        return pending.settled

    def close(self, *, fail_in_flight: bool = True) -> None:
        """The connection is gone: fail everything queued, and the CALL in flight unless ``fail_in_flight`` is
        False (strict mode: it keeps the station's turn until its timeout)."""
        self._closed = True
        pending = self._pending
        if fail_in_flight and pending is not None and not pending.future.done():
            pending.future.set_exception(
                StationGone(f"Station {self._station_id!r} disconnected before answering the CALL.")
            )
