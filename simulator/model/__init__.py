"""Sans-I/O model of an OCPP 1.6J charge point: the simulated station the scenario engine drives."""

from __future__ import annotations

from simulator.model.calls import CallRefused, DroppedMessage, OutgoingCall
from simulator.model.firmware import TransferJob, TransferReport
from simulator.model.machine import BOOT_RETRY_INTERVAL_S, REBOOT_DELAY_S, RESET_GRACE_S
from simulator.model.security import ConnectionSettings
from simulator.model.spec import StationSpec
from simulator.model.station import ChargePoint

__all__ = [
    "BOOT_RETRY_INTERVAL_S",
    "REBOOT_DELAY_S",
    "RESET_GRACE_S",
    "CallRefused",
    "ChargePoint",
    "ConnectionSettings",
    "DroppedMessage",
    "OutgoingCall",
    "StationSpec",
    "TransferJob",
    "TransferReport",
]
