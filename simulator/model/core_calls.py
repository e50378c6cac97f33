"""Answers to the Core profile's CSMS-initiated messages (OCPP 1.6 §5), with their side effects.

Each handler decides what a real charger would answer, then applies the side effects of the answer that is
actually sent: the model's own, or the one a scenario imposes (``answer``), so that "reply Rejected to the next
Reset" means no reboot and "reply Accepted" means one (DESIGN §2). Side effects the model cannot carry out for
an imposed answer (an Accepted RemoteStart on a busy connector) are skipped.
"""

from __future__ import annotations

from typing import Any

from ocppj.frames import ErrorCode
from simulator.model.base import ACCEPTED, Handler
from simulator.model.base import status_reply as _status
from simulator.model.calls import CallRefused
from simulator.model.connector import AVAILABLE, PREPARING, RESERVED, Connector
from simulator.model.machine import StationMachine


class CoreCalls(StationMachine):
    def _core_handlers(self) -> dict[str, Handler]:
        return {
            "ChangeAvailability": self._on_change_availability,
            "ChangeConfiguration": self._on_change_configuration,
            "ClearCache": self._on_clear_cache,
            "DataTransfer": self._on_data_transfer,
            "GetConfiguration": self._on_get_configuration,
            "RemoteStartTransaction": self._on_remote_start,
            "RemoteStopTransaction": self._on_remote_stop,
            "Reset": self._on_reset,
            "UnlockConnector": self._on_unlock_connector,
        }

    def _on_change_availability(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """§5.2: connector 0 is the whole station; Inoperative with a transaction running is Scheduled and
        takes effect when it ends; an unknown connector is Rejected."""
        connector_id: int = payload["connectorId"]
        operative = payload["type"] == "Operative"
        known = 0 <= connector_id <= self._spec.connectors
        if not known:
            decided = "Rejected"
        else:
            targets = self._connectors[1:] if connector_id == 0 else [self._connectors[connector_id]]
            busy = any(connector.transaction is not None for connector in targets)
            decided = "Scheduled" if busy and not operative else "Accepted"
        reply = _status(answer, decided)
        if known and reply.get("status") in ("Accepted", "Scheduled"):
            self._set_availability(connector_id, operative=operative, at=now)
        return reply

    def _on_change_configuration(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """§5.3: unknown key NotSupported (TC_040_1), read-only or invalid value Rejected (TC_040_2), and the
        security whitepaper's rules: an AuthorizationKey that is not 16-20 bytes in hexadecimal (A00.FR.205), a
        SecurityProfile not higher than the current one or without its prerequisites (A05.FR.01-04)."""
        key: str = payload["key"]
        value: str = payload["value"]
        decided = self._config.check(key, value)
        spec = self._config.lookup(key)
        if decided == "Accepted" and spec is not None and self._change_refused(spec.name, value):
            decided = "Rejected"
        reply = _status(answer, decided)
        if decided == "Accepted" and reply.get("status") in ("Accepted", "RebootRequired"):
            name = self._config.change(key, value)
            if name is not None:
                self._configuration_changed(name, now)
        return reply

    def _on_clear_cache(self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None) -> dict[str, Any]:
        """§5.4, TC_061."""
        reply = _status(answer, "Accepted")
        if reply.get("status") == "Accepted":
            self._cache.clear()
        return reply

    def _on_data_transfer(self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None) -> dict[str, Any]:
        """§5.5: the station knows no vendor extension but its own vendor id."""
        return _status(answer, "Accepted" if payload["vendorId"] == self._spec.vendor else "UnknownVendorId")

    def _on_get_configuration(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """§5.8: no key (or an empty list) means every key (TC_019_1). More keys than GetConfigurationMaxKeys
        is refused with OccurenceConstraintViolation: the request breaks a limit the station advertises."""
        if answer is not None:
            return answer
        keys: list[str] | None = payload.get("key")
        if not keys:
            return self._config.report(None)
        limit = self._config.get_int("GetConfigurationMaxKeys")
        if len(keys) > limit:
            raise CallRefused(
                ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION.value,
                f"{len(keys)} keys requested; GetConfigurationMaxKeys is {limit}",
            )
        return self._config.report(keys)

    def _on_remote_start(self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None) -> dict[str, Any]:
        """§5.11: Rejected when the connector is unknown, busy (TC_026) or reserved for someone else (§5.13),
        while not registered (§4.2 forbids it while Pending), or for a chargingProfile the station refuses
        (TC_060). Accepted: Authorize first when AuthorizeRemoteTxRequests (TC_010, TC_011_1), then as a local
        identification, including the ConnectionTimeOut wait (TC_011_2)."""
        id_tag: str = payload["idTag"]
        profile: dict[str, Any] | None = payload.get("chargingProfile")
        connector = self._remote_start_connector(payload.get("connectorId"), id_tag)
        usable = connector is not None and not self._remote_profile_refused(connector, profile)
        reply = _status(answer, "Accepted" if usable else "Rejected")
        if connector is not None and reply.get("status") == "Accepted":
            self._remote_profile_accepted(connector, id_tag, profile)
            if self._config.get_bool("AuthorizeRemoteTxRequests"):
                self._begin_authorization(connector, id_tag, now)
            else:
                self._authorized(connector, id_tag, None, now)
        return reply

    def _remote_start_connector(self, connector_id: int | None, id_tag: str) -> Connector | None:
        """The connector a RemoteStart would use. Without connectorId: one where a cable already waits, else
        the first Available one or one Reserved for this idTag (a driver standing at a plugged connector is
        who asked)."""
        if self._registration != ACCEPTED or not self._accepting_sessions():
            return None
        if connector_id is not None:
            if not 1 <= connector_id <= self._spec.connectors:
                return None
            connector = self._connectors[connector_id]
            return connector if self._free(connector, id_tag) else None
        free = [connector for connector in self._connectors[1:] if self._free(connector, id_tag)]
        for connector in free:
            if connector.plugged:
                return connector
        return next((connector for connector in free if connector.status in (AVAILABLE, RESERVED)), None)

    def _free(self, connector: Connector, id_tag: str) -> bool:
        return (
            connector.idle(station_inoperative=self._station_blocked())
            and connector.status in (AVAILABLE, PREPARING, RESERVED)
            and not self._reserved_against(connector, id_tag)
        )

    def _on_remote_stop(self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None) -> dict[str, Any]:
        """§5.12: Accepted for a running transaction, then StopTransaction reason Remote (TC_012); an unknown
        transactionId is Rejected (TC_028)."""
        tx_id: int = payload["transactionId"]
        found = None
        if self._registration == ACCEPTED:
            for connector in self._connectors[1:]:
                tx = connector.transaction
                if tx is not None and tx.transaction_id is not None and tx.transaction_id == tx_id:
                    found = connector
        reply = _status(answer, "Accepted" if found is not None else "Rejected")
        if found is not None and reply.get("status") == "Accepted":
            self._stop_transaction(found, "Remote", now)
        return reply

    def _on_reset(self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None) -> dict[str, Any]:
        """§5.14: always Accepted; see StationMachine._request_reset (TC_013 Hard, TC_014 Soft)."""
        reply = _status(answer, "Accepted")
        if reply.get("status") == "Accepted":
            self._request_reset(payload["type"], now)
        return reply

    def _on_unlock_connector(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """§5.18: unknown connector NotSupported (TC_031), fixed cable NotSupported (TC_017_2); with a
        transaction it stops first, reason UnlockCommand (TC_018_1); else Unlocked (TC_017_1). The connector
        stays Finishing until the cable is taken out (unplug); a cable left locked in the socket after an
        EV-side disconnect (UnlockConnectorOnEVSideDisconnect false, §9.1.27) is released: Available."""
        connector_id: int = payload["connectorId"]
        known = 1 <= connector_id <= self._spec.connectors
        decided = "Unlocked" if known and not self._spec.fixed_cable else "NotSupported"
        reply = _status(answer, decided)
        if known and reply.get("status") == "Unlocked":
            connector = self._connectors[connector_id]
            if connector.transaction is not None:
                self._stop_transaction(connector, "UnlockCommand", now)
            elif connector.finishing and not connector.plugged:
                connector.finishing = False
                self._sync(connector, now)
        return reply
