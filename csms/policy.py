"""How strictly the bundled CSMS applies the rules OCPP 1.6 leaves to the Central System.

Lenient (the default) is the CSMS OCTT certifies against: it answers whatever it can, whenever it can. Strict
behaves like the strict third-party CSMSs a harness meets in the field. Every strict rule is legal OCPP 1.6, so
a harness that fails against it is at fault:

- ``ConcurrentTx`` for an idTag that already holds an open transaction (OCPP 1.6 §7.2, §4.1, §4.10).

The server and its handlers consult one :class:`Policy` at each of those decision points rather than keep
strict copies of themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Policy:
    strict: bool = False

    @classmethod
    def for_mode(cls, *, strict: bool) -> Policy:
        return cls(strict=strict)

    @property
    def concurrent_tx(self) -> bool:
        """OCPP 1.6 §7.2: an idTag already involved in a transaction is answered ConcurrentTx."""
        return self.strict

    def as_json(self) -> dict[str, Any]:
        return {"strict": self.strict}
