"""Charging sessions: identification, transactions, meter values and availability.

OCPP 1.6 §3.4-3.5 (authorization, cache, offline authorization), §4.1 Authorize, §4.7 MeterValues,
§4.9 StatusNotification, §4.10 StartTransaction, §4.11 StopTransaction, §5.2 availability.
"""

from __future__ import annotations

from typing import Any

from simulator.model import payloads
from simulator.model.auth import IdTagInfo, same_tag
from simulator.model.base import StationBase
from simulator.model.connector import Authorization, Connector, PendingAuthorize, Transaction
from simulator.model.queue import Entry


class Sessions(StationBase):
    """What happens at the connectors; the CSMS's answers that drive it arrive through ``_*_answered``."""

    def _connection_timeout(self, connector: Connector, at: float) -> None:
        """No cable within ConnectionTimeOut after the identification: back to Available (§9.1.5, TC_004_2)."""
        connector.authorization = None
        self._sync(connector, at)

    def _sample_periodic(self, connector: Connector, at: float) -> None:
        """MeterValues every MeterValueSampleInterval during a transaction (§3.16.1, §9.1.15)."""
        tx = connector.transaction
        if tx is None:
            return
        interval = self._config.get_int("MeterValueSampleInterval")
        tx.next_sample_at = at + interval if interval > 0 else None
        values = self._sampled(
            connector.connector_id, at, self._config.get_list("MeterValuesSampledData"), "Sample.Periodic"
        )
        if values:
            payload = payloads.meter_values(connector.connector_id, at, values)
            self._queue_entry(Entry("MeterValues", payload, at, transactional=True, transaction=tx))

    def _sample_aligned(self, at: float) -> None:
        """Clock-aligned MeterValues at every multiple of ClockAlignedDataInterval since midnight UTC
        (§3.16.2, §9.1.3); inside a transaction they are transaction messages, outside only sent online."""
        self._next_aligned_at = self._aligned_after(at)
        measurands = self._config.get_list("MeterValuesAlignedData")
        if not measurands:
            return
        for connector in self._connectors[1:]:
            values = self._sampled(connector.connector_id, at, measurands, "Sample.Clock")
            payload = payloads.meter_values(connector.connector_id, at, values)
            tx = connector.transaction
            if tx is not None:
                self._queue_entry(Entry("MeterValues", payload, at, transactional=True, transaction=tx))
            elif self._online():
                self._queue_entry(Entry("MeterValues", payload, at))

    def _authorize_answered(self, entry: Entry, payload: dict[str, Any], at: float) -> bool:
        info = IdTagInfo.from_payload(payload.get("idTagInfo"))
        if info is None:
            return False
        id_tag = entry.payload.get("idTag")
        if isinstance(id_tag, str):
            self._remember(id_tag, info)
        pending = entry.authorize
        if pending is None:
            return True
        connector = self._connectors[pending.connector_id]
        if connector.pending is not pending:
            return True
        connector.pending = None
        if pending.purpose == "stop":
            tx = connector.transaction
            if tx is not None and info.accepted and self._same_group(tx, info.parent_id_tag):
                self._stop_transaction(connector, "Local", at, id_tag=pending.id_tag)
        elif info.accepted:
            self._authorized(connector, pending.id_tag, info.parent_id_tag, at)
        return True

    def _start_answered(self, entry: Entry, payload: dict[str, Any], at: float) -> bool:
        """StartTransaction.conf (§4.10, §6.47). Not Accepted: with StopTransactionOnInvalidId the transaction
        stops with reason DeAuthorized (TC_037_3), else it goes on suspended, SuspendedEVSE (TC_037_2)."""
        info = IdTagInfo.from_payload(payload.get("idTagInfo"))
        tx_id = payload.get("transactionId")
        if info is None or isinstance(tx_id, bool) or not isinstance(tx_id, int):
            return False
        id_tag = entry.payload.get("idTag")
        if isinstance(id_tag, str):
            self._remember(id_tag, info)
        tx = entry.transaction
        if tx is None:
            self._adopt(entry.payload, tx_id, info, at)
            return True
        tx.transaction_id = tx_id
        if tx.parent_id_tag is None:
            tx.parent_id_tag = info.parent_id_tag
        if tx.ended:
            return True
        connector = self._connectors[tx.connector_id]
        if info.accepted:
            tx.energy_allowed = True
            self._sync(connector, at)
        elif self._config.get_bool("StopTransactionOnInvalidId"):
            self._stop_transaction(connector, "DeAuthorized", at)
        else:
            tx.energy_allowed = True
            tx.deauthorized = True
            self._sync(connector, at)
        return True

    def _adopt(self, request: dict[str, Any], tx_id: int, info: IdTagInfo, at: float) -> None:
        """A scenario's own StartTransaction was Accepted: the station now runs that transaction."""
        connector_id = request.get("connectorId")
        if not info.accepted or isinstance(connector_id, bool) or not isinstance(connector_id, int):
            return
        if not 1 <= connector_id <= self._spec.connectors:
            return
        connector = self._connectors[connector_id]
        if connector.transaction is not None:
            return
        id_tag = request.get("idTag")
        meter_start = request.get("meterStart")
        tx = Transaction(
            self._next_local_tx,
            connector_id,
            id_tag if isinstance(id_tag, str) else "",
            info.parent_id_tag,
            meter_start if isinstance(meter_start, int) else self._register(connector_id, at),
            at,
            transaction_id=tx_id,
            energy_allowed=True,
        )
        self._next_local_tx += 1
        interval = self._config.get_int("MeterValueSampleInterval")
        tx.next_sample_at = at + interval if interval > 0 else None
        connector.transaction = tx
        connector.plugged = True
        connector.authorization = None
        connector.pending = None
        connector.finishing = False
        self._sync(connector, at)

    def _stop_answered(self, entry: Entry, payload: dict[str, Any], at: float) -> None:
        info = IdTagInfo.from_payload(payload.get("idTagInfo"))
        id_tag = entry.payload.get("idTag")
        if info is not None and isinstance(id_tag, str):
            self._remember(id_tag, info)
        if entry.transaction is not None:
            return
        tx_id = entry.payload.get("transactionId")
        for connector in self._connectors[1:]:
            tx = connector.transaction
            if tx is not None and tx.transaction_id is not None and tx.transaction_id == tx_id:
                self._stop_transaction(connector, "Local", at, send=False)

    def _remember(self, id_tag: str, info: IdTagInfo) -> None:
        if self._config.get_bool("AuthorizationCacheEnabled"):
            self._cache.update(id_tag, info)

    def _cached(self, id_tag: str) -> IdTagInfo | None:
        return self._cache.lookup(id_tag) if self._config.get_bool("AuthorizationCacheEnabled") else None

    def _same_group(self, tx: Transaction, parent_id_tag: str | None) -> bool:
        return tx.parent_id_tag is not None and parent_id_tag is not None and same_tag(tx.parent_id_tag, parent_id_tag)

    def _begin_authorization(self, connector: Connector, id_tag: str, at: float) -> None:
        """Online: Authorize, unless LocalPreAuthorize finds the tag valid in the cache (§3.5.1, TC_007).
        Offline or not registered: decide locally (§4.8)."""
        if not self._online():
            self._authorize_locally(connector, id_tag, at)
            return
        if self._config.get_bool("LocalPreAuthorize"):
            info = self._cached(id_tag)
            if info is not None and info.valid_at(at):
                self._authorized(connector, id_tag, info.parent_id_tag, at)
                return
        pending = PendingAuthorize(connector.connector_id, id_tag, "start")
        connector.pending = pending
        self._queue_entry(Entry("Authorize", payloads.authorize(id_tag), at, authorize=pending))

    def _authorize_locally(self, connector: Connector, id_tag: str, at: float) -> None:
        """Offline authorization (§3.5, §9.1.10 LocalAuthorizeOffline, §9.1.1 AllowOfflineTxForUnknownId): a
        tag the cache knows is decided by its entry; an unknown tag only when unknown ids are allowed."""
        info = self._cached(id_tag) if self._config.get_bool("LocalAuthorizeOffline") else None
        if info is not None:
            if info.valid_at(at):
                self._authorized(connector, id_tag, info.parent_id_tag, at)
            return
        if self._config.get_bool("AllowOfflineTxForUnknownId"):
            self._authorized(connector, id_tag, None, at)

    def _authorize_unanswered(self, pending: PendingAuthorize, at: float) -> None:
        """No usable Authorize answer (connection lost, CALLERROR, timeout): fall back to local rules."""
        connector = self._connectors[pending.connector_id]
        if connector.pending is not pending:
            return
        connector.pending = None
        if pending.purpose == "start":
            self._authorize_locally(connector, pending.id_tag, at)
            return
        tx = connector.transaction
        info = self._cached(pending.id_tag) if self._config.get_bool("LocalAuthorizeOffline") else None
        if tx is not None and info is not None and info.valid_at(at) and self._same_group(tx, info.parent_id_tag):
            self._stop_transaction(connector, "Local", at, id_tag=pending.id_tag)

    def _authorized(self, connector: Connector, id_tag: str, parent_id_tag: str | None, at: float) -> None:
        """An accepted identification: start at once when the cable is in, else Preparing until the cable
        comes or ConnectionTimeOut passes (0 = wait indefinitely) (§9.1.5, TC_004_1, TC_004_2)."""
        connector.pending = None
        if not connector.idle(station_inoperative=self._station_blocked()):
            return
        if connector.plugged:
            self._start_transaction(connector, id_tag, parent_id_tag, at)
            return
        timeout = self._config.get_int("ConnectionTimeOut")
        connector.authorization = Authorization(id_tag, parent_id_tag, at + timeout if timeout > 0 else None)
        self._sync(connector, at)

    def _token_on_transaction(self, connector: Connector, id_tag: str, at: float) -> None:
        tx = connector.transaction
        assert tx is not None
        if same_tag(id_tag, tx.id_tag):
            self._stop_transaction(connector, "Local", at, id_tag=id_tag)
            return
        if tx.parent_id_tag is None or connector.pending is not None:
            return
        if not self._online():
            info = self._cached(id_tag) if self._config.get_bool("LocalAuthorizeOffline") else None
            if info is not None and info.valid_at(at) and self._same_group(tx, info.parent_id_tag):
                self._stop_transaction(connector, "Local", at, id_tag=id_tag)
            return
        if self._config.get_bool("LocalPreAuthorize"):
            info = self._cached(id_tag)
            if info is not None and info.valid_at(at) and self._same_group(tx, info.parent_id_tag):
                self._stop_transaction(connector, "Local", at, id_tag=id_tag)
                return
        pending = PendingAuthorize(connector.connector_id, id_tag, "stop")
        connector.pending = pending
        self._queue_entry(Entry("Authorize", payloads.authorize(id_tag), at, authorize=pending))

    def _start_transaction(self, connector: Connector, id_tag: str, parent_id_tag: str | None, at: float) -> None:
        """StartTransaction with the register now (§4.10). Online the connector stays Preparing until the CSMS
        accepts (then Charging, the StatusNotification after the StartTransaction, TC_003); offline it
        charges at once and the message waits in the queue (§4.8, TC_037_1)."""
        tx = Transaction(
            self._next_local_tx,
            connector.connector_id,
            id_tag,
            parent_id_tag,
            connector.meter.register_wh(at),
            at,
        )
        self._next_local_tx += 1
        tx.energy_allowed = not self._online()
        interval = self._config.get_int("MeterValueSampleInterval")
        tx.next_sample_at = at + interval if interval > 0 else None
        connector.transaction = tx
        connector.authorization = None
        connector.pending = None
        connector.finishing = False
        reservation_id = self._claim_reservation(connector, id_tag, parent_id_tag, at)
        payload = payloads.start_transaction(
            connector.connector_id, id_tag, tx.meter_start_wh, at, reservation_id=reservation_id
        )
        self._queue_entry(Entry("StartTransaction", payload, at, transactional=True, transaction=tx))
        self._sync(connector, at)

    def _stop_transaction(
        self,
        connector: Connector,
        reason: str,
        at: float,
        *,
        id_tag: str | None = None,
        send: bool = True,
        cable_locked: bool = False,
    ) -> None:
        """StopTransaction (§4.11) then Finishing; with the cable already out, Available right after, unless
        the cable is still locked in the station's socket (``cable_locked``, §9.1.27)."""
        tx = connector.transaction
        assert tx is not None
        meter_stop = connector.meter.register_wh(at)
        tx.ended = True
        tx.next_sample_at = None
        connector.transaction = None
        connector.finishing = True
        if send:
            payload = payloads.stop_transaction(meter_stop_wh=meter_stop, at=at, reason=reason, id_tag=id_tag)
            self._queue_entry(Entry("StopTransaction", payload, at, transactional=True, transaction=tx))
        self._sync(connector, at)
        if not connector.plugged and not cable_locked:
            connector.finishing = False
            self._sync(connector, at)
        self._transaction_ended(connector, at)

    def _set_availability(self, connector_id: int, *, operative: bool, at: float) -> None:
        """ChangeAvailability applied (§5.2); a connector with a transaction turns Unavailable when it ends."""
        if connector_id == 0:
            self._connectors[0].inoperative = not operative
            if operative:
                for connector in self._connectors[1:]:
                    connector.inoperative = False
            targets = self._connectors[1:]
        else:
            self._connectors[connector_id].inoperative = not operative
            targets = [self._connectors[connector_id]]
        if not operative:
            for connector in targets:
                if connector.transaction is None:
                    connector.authorization = None
                    connector.pending = None
        for connector in self._connectors:
            self._sync(connector, at)
