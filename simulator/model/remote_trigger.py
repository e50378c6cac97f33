"""TriggerMessage (OCPP 1.6 §5.17, Remote Trigger profile; TC_054, TC_055)."""

from __future__ import annotations

from typing import Any

from simulator.model import payloads
from simulator.model.base import ACCEPTED, PENDING, Handler
from simulator.model.machine import StationMachine
from simulator.model.queue import Entry


class RemoteTriggerCalls(StationMachine):
    def _remote_trigger_handlers(self) -> dict[str, Handler]:
        return {"TriggerMessage": self._on_trigger_message}

    def _on_trigger_message(self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None) -> dict[str, Any]:
        """Accepted and the message queued after the answer; a connectorId beyond NumberOfConnectors is
        Rejected (TC_055). Triggered messages may be sent while Pending (§4.2); while Rejected, or before any
        BootNotification answer, the station may send nothing, so it rejects."""
        requested: str = payload["requestedMessage"]
        connector_id: int | None = payload.get("connectorId")
        valid = connector_id is None or 0 <= connector_id <= self._spec.connectors
        can_send = self._registration in (ACCEPTED, PENDING)
        reply = answer if answer is not None else {"status": "Accepted" if valid and can_send else "Rejected"}
        if valid and reply.get("status") == "Accepted":
            self._trigger(requested, connector_id, now)
        return reply

    def _trigger(self, requested: str, connector_id: int | None, at: float) -> None:
        if requested == "BootNotification":
            if self._registration == ACCEPTED:
                boot = payloads.boot_notification(self._spec)
                self._queue_entry(Entry("BootNotification", boot, at, triggered=True))
            else:
                self._boot_due_at = at  # Pending: the retry is simply brought forward
        elif requested == "Heartbeat":
            self._queue_entry(Entry("Heartbeat", {}, at, triggered=True))
        elif requested == "StatusNotification":
            targets = self._connectors if connector_id is None else [self._connectors[connector_id]]
            for connector in targets:
                self._queue_status(connector, at, triggered=True)
        elif requested == "MeterValues":
            ids = range(1, self._spec.connectors + 1) if connector_id is None else [connector_id]
            measurands = self._config.get_list("MeterValuesSampledData") or ("Energy.Active.Import.Register",)
            for cid in ids:
                values = self._sampled(cid, at, measurands, "Trigger")
                tx = self._connectors[cid].transaction if cid else None
                entry = Entry(
                    "MeterValues",
                    payloads.meter_values(cid, at, values),
                    at,
                    transactional=tx is not None,
                    transaction=tx,
                    triggered=True,
                )
                self._queue_entry(entry)
        elif requested == "DiagnosticsStatusNotification":
            status = payloads.diagnostics_status(self._diagnostics_status)
            self._queue_entry(Entry("DiagnosticsStatusNotification", status, at, triggered=True))
        elif requested == "FirmwareStatusNotification":
            status = payloads.firmware_status(self._firmware_status)
            self._queue_entry(Entry("FirmwareStatusNotification", status, at, triggered=True))
