"""How strictly the bundled CSMS applies the rules OCPP 1.6 leaves to the Central System.

Lenient (the default) is the CSMS OCTT certifies against: it answers whatever it can, whenever it can. Strict
behaves like the strict third-party CSMSs a harness meets in the field. Every strict rule is legal OCPP 1.6, so
a harness that fails against it is at fault:

- one exchange at a time per station id, across its connections (OCPP-J 1.6 §4.1.1);
- ``ConcurrentTx`` for an idTag that already holds an open transaction (OCPP 1.6 §7.2, §4.1, §4.10);
- one connection per station id, and a pause before the same id reconnects.

The server and its handlers consult one :class:`Policy` at each of those decision points rather than keep
strict copies of themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

STRICT_RECONNECT_GRACE_S = 0.5


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
    def one_connection(self) -> bool:
        """A second websocket for a station id that has one open is refused rather than replacing it."""
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
