"""How strictly the bundled CSMS applies the rules OCPP 1.6 leaves to the Central System.

Lenient (the default) is the CSMS OCTT certifies against: it answers whatever it can, whenever it can. Strict
behaves like the strict third-party CSMSs a harness meets in the field. Every strict rule is legal OCPP 1.6, so
a harness that fails against it is at fault:

- one exchange at a time per station id, across its connections (OCPP-J 1.6 §4.1.1);
- ``ConcurrentTx`` for an idTag that already holds an open transaction (OCPP 1.6 §7.2, §4.1, §4.10);
- a Pending station is queried and asked to boot again (OCPP 1.6 §4.2, §5.17);
- one connection per station id, and a pause before the same id reconnects;
- ``SecurityError`` for CALLs other than BootNotification before the registration is Accepted (OCPP 1.6 §4.2).

The server and its handlers consult one :class:`Policy` at each of those decision points rather than keep
strict copies of themselves.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ocppj.frames import CallError, CallResult

STRICT_RECONNECT_GRACE_S = 0.5

# What a station sends when asked with TriggerMessage (OCPP 1.6 §5.17) or ExtendedTriggerMessage (security
# whitepaper): the requested message is the action's name, except the certificate request.
_TRIGGER_ACTIONS = frozenset({"TriggerMessage", "ExtendedTriggerMessage"})
_TRIGGERED_ACTION = {"SignChargePointCertificate": "SignCertificate"}


@dataclass(frozen=True)
class Policy:
    """``reconnect_grace_s`` applies in either mode; the other rules are those of strict mode."""

    strict: bool = False
    reconnect_grace_s: float = 0.0

    @classmethod
    def for_mode(cls, *, strict: bool, reconnect_grace_s: float | None = None) -> Policy:
        if reconnect_grace_s is None:
            reconnect_grace_s = STRICT_RECONNECT_GRACE_S if strict else 0.0
        if reconnect_grace_s < 0:
            raise ValueError("reconnect_grace_s must be >= 0")
        return cls(strict=strict, reconnect_grace_s=reconnect_grace_s)

    @property
    def one_exchange_at_a_time(self) -> bool:
        """OCPP-J 1.6 §4.1.1 lets a party handle one exchange at a time: no station CALL is processed while a
        CALL of the CSMS to that station is unanswered, even one sent over an earlier connection."""
        return self.strict

    @property
    def concurrent_tx(self) -> bool:
        """OCPP 1.6 §7.2: an idTag already involved in a transaction is answered ConcurrentTx."""
        return self.strict

    @property
    def configures_pending(self) -> bool:
        """OCPP 1.6 §4.2: while Pending the Central System may query the station and trigger its next boot."""
        return self.strict

    @property
    def one_connection(self) -> bool:
        """A second websocket for a station id that has one open is refused rather than replacing it."""
        return self.strict

    @property
    def registration_required(self) -> bool:
        """OCPP 1.6 §4.2: until it is Accepted a station sends only BootNotification and what it is asked
        for with TriggerMessage."""
        return self.strict

    def reconnect_wait_s(self, closed_at_s: float | None, *, now_s: float) -> float:
        """How long a new connection of a station whose last one closed at ``closed_at_s`` must still wait."""
        if closed_at_s is None:
            return 0.0
        return max(0.0, closed_at_s + self.reconnect_grace_s - now_s)

    def as_json(self) -> dict[str, Any]:
        return {"strict": self.strict, "reconnect_grace_s": self.reconnect_grace_s}


def retry_after_s(wait_s: float) -> int:
    """The ``Retry-After`` of a refused reconnect (RFC 9110 §10.2.3: whole seconds), never 0."""
    return max(1, math.ceil(wait_s))


def unregistered_refusal(action: str, registration_status: str | None) -> str | None:
    """Why a station CALL is refused before registration, or None when it is processed (OCPP 1.6 §4.2).

    A BootNotification is always processed: it is how a station registers. Messages the CSMS asked for with
    TriggerMessage are let through by :class:`TriggeredMessages` before this is consulted.
    """
    if action == "BootNotification" or registration_status == "Accepted":
        return None
    state = (
        "the station has not registered with a BootNotification"
        if registration_status is None
        else f"the station's registration is {registration_status}"
    )
    return (
        f"OCPP 1.6 §4.2: {state}; until a BootNotification is Accepted it may send only BootNotification and"
        f" what the Central System requests with TriggerMessage, not {action}"
    )


class TriggeredMessages:
    """Messages a station was asked for with an Accepted (Extended)TriggerMessage; each may be sent once before
    the registration is Accepted (OCPP 1.6 §4.2, §5.17). A BootNotification answer starts afresh."""

    def __init__(self) -> None:
        self._granted: Counter[str] = Counter()

    def observe(self, action: str, payload: dict[str, Any], answer: CallResult | CallError) -> None:
        """Called with each CALL the CSMS sent and its answer, before the station's next CALL is processed."""
        if action not in _TRIGGER_ACTIONS or not isinstance(answer, CallResult):
            return
        requested = payload.get("requestedMessage")
        if answer.payload.get("status") == "Accepted" and isinstance(requested, str):
            self._granted[_TRIGGERED_ACTION.get(requested, requested)] += 1

    def consume(self, action: str) -> bool:
        if self._granted[action] <= 0:
            return False
        self._granted[action] -= 1
        return True

    def clear(self) -> None:
        self._granted.clear()
