"""What the model hands to the runtime (calls to send) and how it refuses a CSMS call (OCPP-J 1.6 §4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# OCPP 1.6 §4.8 "transaction-related messages": queued while offline, delivered in order, retried on failure.
TRANSACTION_ACTIONS = frozenset({"StartTransaction", "StopTransaction"})


def is_transactional(action: str, payload: dict[str, Any], *, has_transaction: bool = False) -> bool:
    """StartTransaction, StopTransaction, and MeterValues that belong to a transaction (OCPP 1.6 §4.8)."""
    if action in TRANSACTION_ACTIONS:
        return True
    return action == "MeterValues" and (has_transaction or "transactionId" in payload)


@dataclass(frozen=True)
class OutgoingCall:
    """One CALL for the runtime to send. The runtime answers it through ``call_result``/``call_error``/
    ``call_timeout`` with this very object (the model matches by identity: two calls may be equal)."""

    action: str
    payload: dict[str, Any]
    transactional: bool = False


class CallRefused(Exception):
    """Raised by ``handle_call`` to answer a CSMS CALL with a CALLERROR (OCPP-J 1.6 §4.2.3).

    ``error_code`` is one of :class:`ocppj.frames.ErrorCode`'s values.
    """

    def __init__(self, error_code: str, description: str = "") -> None:
        super().__init__(f"{error_code}: {description}" if description else error_code)
        self.error_code = error_code
        self.description = description


@dataclass(frozen=True)
class DroppedMessage:
    """A CALL the model gave up on, with why: the record OCPP 1.6 §4.8 asks for when retries run out, and
    the trace of volatile messages lost to a disconnect or a power loss."""

    action: str
    payload: dict[str, Any]
    reason: str
    at: float
