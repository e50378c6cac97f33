"""Reservation profile (OCPP 1.6 §3.9, §5.13 ReserveNow, §5.1 CancelReservation, §9.3).

A reservation holds a connector for an idTag, or for any tag of its parentIdTag group (TC_053), until its
expiryDate, a CancelReservation, or the transaction that uses it. A connector held by a reservation reports
Reserved (and Available again when the hold ends, TC_047, TC_051), accepts only the tags the reservation admits,
and the StartTransaction of that tag carries the reservationId (§4.10, TC_046).

A reservation of connector 0 holds "any one connector" (§5.13): the station keeps one free connector for it. As
long as more connectors are free than there are such reservations none of them is held; once they are as many,
every remaining free connector is held and reports Reserved, which is what OCTT expects in TC_049 (a
StatusNotification(Reserved) on one connector, MicroOcpp PR #434).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ocppj.timefmt import parse_time
from simulator.model.auth import IdTagInfo, same_tag
from simulator.model.base import ACCEPTED, REJECTED, Handler, status_reply
from simulator.model.config import RESERVATION
from simulator.model.connector import AVAILABLE, FAULTED, RESERVED, UNAVAILABLE, Connector
from simulator.model.machine import StationMachine


@dataclass(frozen=True)
class Reservation:
    reservation_id: int
    connector_id: int  # 0: any one connector of the station
    id_tag: str
    parent_id_tag: str | None
    expires_at: float

    def admits(self, id_tag: str, parent_id_tag: str | None) -> bool:
        """The reserved idTag, or one whose parentIdTag is the reservation's (§5.13)."""
        if same_tag(id_tag, self.id_tag):
            return True
        group = self.parent_id_tag
        return group is not None and parent_id_tag is not None and same_tag(parent_id_tag, group)


class ReservationCalls(StationMachine):
    def _reservation_handlers(self) -> dict[str, Handler]:
        return {"ReserveNow": self._on_reserve_now, "CancelReservation": self._on_cancel_reservation}

    # ------------------------------------------------------------------ CSMS calls

    def _on_reserve_now(self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None) -> dict[str, Any]:
        """§5.13. A ReserveNow with the reservationId of an existing reservation replaces it, so the old one is
        left out of every check. Rejected: the profile is not supported, the connector is unknown, connector 0
        without ReserveConnectorZeroSupported (§9.3.1), or an expiryDate already past (nothing left to hold).
        Else Faulted, Unavailable (TC_048_3) or Occupied (TC_048_2: a cable, an identification or a transaction,
        or another reservation) as the connector is, else Accepted (TC_046, TC_049)."""
        reservation_id: int = payload["reservationId"]
        connector_id: int = payload["connectorId"]
        expires_at = parse_time(payload["expiryDate"])
        parent = payload.get("parentIdTag")
        acceptable = (
            self._config.supports(RESERVATION)
            and 0 <= connector_id <= self._spec.connectors
            and (connector_id != 0 or self._config.get_bool("ReserveConnectorZeroSupported"))
            and expires_at > now
        )
        others = [r for r in self._reservations.values() if r.reservation_id != reservation_id]
        decided = self._reserve_status(connector_id, others) if acceptable else REJECTED
        reply = status_reply(answer, decided)
        if acceptable and reply.get("status") == ACCEPTED:
            reservation = Reservation(reservation_id, connector_id, payload["idTag"], parent or None, expires_at)
            self._reservations[reservation_id] = reservation
            self._resync(now)
        return reply

    def _reserve_status(self, connector_id: int, others: list[Reservation]) -> str:
        zero = sum(1 for r in others if r.connector_id == 0)
        taken = {r.connector_id for r in others if r.connector_id != 0}
        free = [c for c in self._connectors[1:] if c.connector_id not in taken and self._plain_status(c) == AVAILABLE]
        station = self._connectors[0]
        if station.fault is not None:
            return "Faulted"
        if connector_id == 0:
            if len(free) > zero:
                return ACCEPTED
            statuses = {self._plain_status(c) for c in self._connectors[1:]}
            if statuses == {FAULTED}:
                return "Faulted"
            return "Unavailable" if statuses <= {FAULTED, UNAVAILABLE} else "Occupied"
        status = self._plain_status(self._connectors[connector_id])
        if status in (FAULTED, UNAVAILABLE):
            return "Faulted" if status == FAULTED else "Unavailable"
        if status != AVAILABLE or connector_id in taken:
            return "Occupied"
        # Taking this connector must leave one free connector for each reservation of connector 0.
        return ACCEPTED if len(free) - 1 >= zero else "Occupied"

    def _on_cancel_reservation(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """§5.1: Accepted for a known reservation, which ends (its connector goes back to Available, TC_051);
        Rejected for an unknown reservationId (TC_052)."""
        reservation_id: int = payload["reservationId"]
        known = reservation_id in self._reservations
        reply = status_reply(answer, ACCEPTED if known else REJECTED)
        if known and reply.get("status") == ACCEPTED:
            del self._reservations[reservation_id]
            self._resync(now)
        return reply

    # ------------------------------------------------------------------ what holds a connector

    def _holders(self, connector: Connector) -> list[Reservation]:
        """The reservations that hold the connector: its own, or those of connector 0 when the free connectors,
        this one included, are no more than they are (so whoever takes it leaves them none). The connector's own
        state does not count: a cable plugged in by the wrong driver does not lift the hold."""
        if connector.connector_id == 0:
            return []
        own = [r for r in self._reservations.values() if r.connector_id == connector.connector_id]
        if own:
            return own
        zero = [r for r in self._reservations.values() if r.connector_id == 0]
        if not zero:
            return []
        taken = {r.connector_id for r in self._reservations.values()}
        free = [
            c
            for c in self._connectors[1:]
            if c.connector_id not in taken and (c is connector or self._plain_status(c) == AVAILABLE)
        ]
        return zero if len(free) <= len(zero) else []

    def _held(self, connector: Connector) -> bool:
        """Asked of an otherwise Available connector only (see StationBase._sync)."""
        return bool(self._holders(connector))

    def _known_parent(self, id_tag: str, parent_id_tag: str | None) -> str | None:
        """The tag's parentIdTag: as given (from Authorize.conf), else from the local list or cache (§5.13)."""
        if parent_id_tag is not None:
            return parent_id_tag
        info = self._cached(id_tag)
        return None if info is None else info.parent_id_tag

    def _reserved_against(self, connector: Connector, id_tag: str) -> bool:
        """True when no reservation holding the connector can admit the tag: it is not the reserved idTag and
        its group is either known to differ or cannot make a difference (the reservation has no parentIdTag).
        A tag whose group is still unknown gets its chance: the Authorize answer tells."""
        parent = self._known_parent(id_tag, None)
        holders = self._holders(connector)
        return bool(holders) and not any(
            r.admits(id_tag, parent) or (parent is None and r.parent_id_tag is not None) for r in holders
        )

    def _authorized(self, connector: Connector, id_tag: str, parent_id_tag: str | None, at: float) -> None:
        """An accepted identification at a connector held for someone else goes no further (§5.13)."""
        holders = self._holders(connector)
        parent = self._known_parent(id_tag, parent_id_tag)
        if holders and not any(r.admits(id_tag, parent) for r in holders):
            connector.pending = None
            return
        super()._authorized(connector, id_tag, parent_id_tag, at)

    def _usable_reservation(self, connector: Connector, id_tag: str, parent_id_tag: str | None) -> Reservation | None:
        """The reservation a transaction of this tag on this connector uses: the connector's own, else one of
        connector 0 (§5.13: the reserved tag may use any connector)."""
        parent = self._known_parent(id_tag, parent_id_tag)
        candidates = [
            r
            for r in self._reservations.values()
            if r.connector_id in (0, connector.connector_id) and r.admits(id_tag, parent)
        ]
        candidates.sort(key=lambda r: r.connector_id == 0)
        return candidates[0] if candidates else None

    def _claim_reservation(self, connector: Connector, id_tag: str, parent_id_tag: str | None, at: float) -> int | None:
        """The reservation ends when its transaction starts (§5.13)."""
        reservation = self._usable_reservation(connector, id_tag, parent_id_tag)
        if reservation is None:
            return None
        del self._reservations[reservation.reservation_id]
        return reservation.reservation_id

    # ------------------------------------------------------------------ status, time and explicit sends

    def _sync(self, connector: Connector, at: float) -> None:
        """A connector that changes may change which others a reservation of connector 0 holds: they are
        re-derived after it (their StatusNotifications follow its own)."""
        super()._sync(connector, at)
        if connector.connector_id == 0:
            return
        if self._reservations or any(c.status == RESERVED for c in self._connectors[1:]):
            for other in self._connectors[1:]:
                if other is not connector:
                    super()._sync(other, at)

    def _resync(self, at: float) -> None:
        for connector in self._connectors[1:]:
            super()._sync(connector, at)

    def _expire(self, reservation_id: int, at: float) -> None:
        """The expiryDate has come: the reservation ends and its connector is Available again (TC_047)."""
        del self._reservations[reservation_id]
        self._resync(at)

    def _timers(self) -> list[tuple[float, Callable[[float], None]]]:
        timers = super()._timers()
        for reservation in self._reservations.values():
            timers.append((reservation.expires_at, functools.partial(self._expire, reservation.reservation_id)))
        return timers

    def _adopt(self, request: dict[str, Any], tx_id: int, info: IdTagInfo, at: float) -> None:
        """A scenario's own StartTransaction that names a reservation uses it up once Accepted."""
        super()._adopt(request, tx_id, info, at)
        reservation_id = request.get("reservationId")
        if isinstance(reservation_id, int) and self._reservations.pop(reservation_id, None) is not None:
            self._resync(at)

    def default_payload(self, action: str, *, connector_id: int, id_tag: str | None, now: float) -> dict[str, Any]:
        """A StartTransaction built for a scenario carries the reservationId its tag would use (TC_046)."""
        payload = super().default_payload(action, connector_id=connector_id, id_tag=id_tag, now=now)
        if action == "StartTransaction" and id_tag:
            reservation = self._usable_reservation(self._connectors[connector_id], id_tag, None)
            if reservation is not None:
                payload = {**payload, "reservationId": reservation.reservation_id}
        return payload
