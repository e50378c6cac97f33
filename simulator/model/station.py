"""The simulated charge point as the engine and the runtime see it (sans-I/O, DESIGN §5.1).

The runtime connects when :meth:`ChargePoint.wants_connection` says so, sends what
:meth:`~ChargePoint.next_call` returns (one CALL at a time, OCPP-J 1.6 §4.1.1), reports the answer, passes CSMS
calls to :meth:`~ChargePoint.handle_call`, and sleeps until :meth:`~ChargePoint.next_deadline`. Scenario steps
drive the physical events (plug, present_token, power_cycle, ...) and explicit sends (``enqueue``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ocppj import schemas
from ocppj.frames import ErrorCode
from simulator.model.base import Handler
from simulator.model.calls import CallRefused
from simulator.model.core_calls import CoreCalls
from simulator.model.local_list import LocalListCalls
from simulator.model.reservations import ReservationCalls
from simulator.model.security import SecurityCalls
from simulator.model.security_transfers import SecurityTransfers
from simulator.model.smart_charging import SmartChargingCalls
from simulator.model.spec import StationSpec


class ChargePoint(CoreCalls, SecurityCalls, LocalListCalls, ReservationCalls, SmartChargingCalls, SecurityTransfers):
    """An OCPP 1.6J charge point of the six feature profiles of OCPP 1.6 §3 and the security white paper
    (edition 3): powered on, not connected, not registered when created.

    Each profile is a mixin contributing handlers to ``_handlers``; those that change what happens at the
    connectors override the hooks of :class:`~simulator.model.base.StationBase` or extend the sessions'
    methods (calling ``super()``). Firmware Management adds the transfer interface: ``take_transfers``,
    ``transfer_finished``, ``transfer_wanted``, ``transfer_reports``. A station whose SupportedFeatureProfiles
    lacks a profile answers its messages as such a station would (OCPP 1.6 §9.1, SupportedFeatureProfiles).
    The security white paper (:class:`~simulator.model.security.SecurityCalls`, which also brings Remote Trigger,
    and :class:`~simulator.model.security_transfers.SecurityTransfers`, on top of Firmware Management) adds what a
    runtime needs for security profiles: ``connection_settings``, ``connection_failed``,
    ``report_security_event``, ``security_log``.
    """

    def __init__(self, spec: StationSpec, *, now: float) -> None:
        super().__init__(spec, now=now)
        self._handlers: dict[str, Handler] = {
            **self._core_handlers(),
            **self._remote_trigger_handlers(),
            **self._local_list_handlers(),
            **self._reservation_handlers(),
            **self._smart_charging_handlers(),
            **self._firmware_handlers(),
            **self._security_handlers(),
            **self._security_transfer_handlers(),
        }

    def handle_call(
        self, action: str, payload: dict[str, Any], now: float, *, answer: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The CALLRESULT payload for a CSMS CALL, or :class:`CallRefused` for a CALLERROR.

        A request that breaks its 1.6 schema is refused with the matching OCPP-J §4.2.3 code; an unknown
        action with NotImplemented; a known action this station does not support with NotSupported. With
        ``answer`` (a scenario's override) that answer is returned as given and its side effects applied when
        the request is well formed.
        """
        self._advance(now)
        known = action in schemas.actions()
        problems = schemas.validate(action, payload, response=False) if known else []
        handler = self._handlers.get(action)
        if answer is not None:
            reply = dict(answer)
            if handler is not None and known and not problems:
                handler(payload, now, reply)
            return reply
        if not known:
            raise CallRefused(ErrorCode.NOT_IMPLEMENTED.value, f"unknown action {action!r}")
        if problems:
            self._security_event("InvalidMessages", now, f"{action}: {problems[0]}")
            raise CallRefused(problems[0].error_code.value, str(problems[0]))
        if handler is None:
            raise CallRefused(ErrorCode.NOT_SUPPORTED.value, f"{action} is not supported by this charge point")
        return handler(payload, now, None)
