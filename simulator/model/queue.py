"""The station's outbox: explicit calls from a scenario, then everything the station generated, in order.

Transaction-related messages (OCPP 1.6 §4.8) live here across disconnects and power losses and are delivered
in the order they were generated, with their original timestamps; a failed one waits
``TransactionMessageRetryInterval * attempts`` before the next try, and nothing transaction-related overtakes it.
Other messages may pass a transaction message that is waiting for its retry (a Heartbeat must not wait a
minute behind a StopTransaction the CSMS keeps refusing).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from simulator.model.calls import OutgoingCall
from simulator.model.connector import PendingAuthorize, Transaction


@dataclass(eq=False)
class Entry:
    """A queued CALL and what the station needs to know when its answer comes back."""

    action: str
    payload: dict[str, Any]
    created_at: float
    transactional: bool = False
    transaction: Transaction | None = None  # StopTransaction/MeterValues: the id is taken from here when sent
    authorize: PendingAuthorize | None = None
    explicit: bool = False  # enqueued by a scenario ("send:" step)
    triggered: bool = False  # asked for by TriggerMessage: may be sent while Pending (§4.2)
    persistent: bool = False  # kept across disconnects and reboots, not transactional (whitepaper A04.FR.02)
    attempts: int = 0  # failed deliveries so far (CALLERROR or timeout)
    not_before: float = -math.inf
    call: OutgoingCall | None = None  # prebuilt for explicit calls, so next_call returns the very object

    def waiting_for_id(self) -> bool:
        return (
            self.transaction is not None
            and self.action != "StartTransaction"
            and self.transaction.transaction_id is None
        )

    def render(self) -> dict[str, Any]:
        """The payload as sent now: the transactionId of a transaction started offline is filled in once the
        StartTransaction answer has arrived (§4.8)."""
        tx = self.transaction
        if tx is None or self.action == "StartTransaction" or tx.transaction_id is None:
            return dict(self.payload)
        if self.action == "MeterValues":
            rendered = {"connectorId": self.payload["connectorId"], "transactionId": tx.transaction_id}
            rendered.update((k, v) for k, v in self.payload.items() if k != "connectorId")
            return rendered
        return {"transactionId": tx.transaction_id, **self.payload}


class Outbox:
    def __init__(self) -> None:
        self._explicit: deque[Entry] = deque()
        self._queue: deque[Entry] = deque()

    def __iter__(self) -> Iterator[Entry]:
        yield from self._explicit
        yield from self._queue

    def add(self, entry: Entry) -> None:
        if entry.explicit:
            self._explicit.append(entry)
        else:
            self._queue.append(entry)

    def put_back(self, entry: Entry) -> None:
        """A transaction message that was sent and not delivered goes back to the head: it was the oldest
        transaction message (nothing transactional overtakes it), so order is kept."""
        self._queue.appendleft(entry)

    def remove(self, entry: Entry) -> None:
        for queue in (self._explicit, self._queue):
            if entry in queue:
                queue.remove(entry)
                return

    def remove_where(self, predicate: Callable[[Entry], bool]) -> list[Entry]:
        removed = [entry for entry in self if predicate(entry)]
        for entry in removed:
            self.remove(entry)
        return removed

    def explicit_head(self) -> Entry | None:
        return self._explicit[0] if self._explicit else None

    def pick(self, now: float, allow: Callable[[Entry], bool]) -> Entry | None:
        """The entry to send now: explicit ones first, then the queue in order (see the module docstring)."""
        for entry in self._candidates(allow):
            if entry.not_before <= now:
                return entry
        return None

    def ready_at(self, allow: Callable[[Entry], bool]) -> float | None:
        """When :meth:`pick` will next return something, if nothing else happens before."""
        times = [entry.not_before for entry in self._candidates(allow)]
        return min(times) if times else None

    def _candidates(self, allow: Callable[[Entry], bool]) -> Iterator[Entry]:
        if self._explicit:
            yield self._explicit[0]
        transaction_seen = False
        for entry in self._queue:
            if entry.transactional:
                if transaction_seen:
                    continue
                transaction_seen = True
                if entry.waiting_for_id():
                    continue
            if allow(entry):
                yield entry
