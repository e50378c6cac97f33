"""Connector state (OCPP 1.6 §4.9 StatusNotification, §7.7 ChargePointStatus) and the energy meter.

A connector's status is *derived* from physical and logical facts (cable plugged, fault, availability, a
transaction and whether energy may flow, an identification waiting for the cable). Flows change facts and then
ask the station to re-derive the status; every change of the derived status is one StatusNotification
(MinimumStatusDuration 0, §9.1.16). Deriving rather than assigning keeps the status consistent whichever order
events arrive in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AVAILABLE = "Available"
PREPARING = "Preparing"
CHARGING = "Charging"
SUSPENDED_EV = "SuspendedEV"
SUSPENDED_EVSE = "SuspendedEVSE"
FINISHING = "Finishing"
RESERVED = "Reserved"
UNAVAILABLE = "Unavailable"
FAULTED = "Faulted"

NO_ERROR = "NoError"


class EnergyMeter:
    """Energy.Active.Import.Register of one connector: grows at ``power_w`` while the connector is Charging.

    Deterministic from the times it is given: the register at ``t`` is the energy accumulated before the last
    start plus ``power_w * (t - since) / 3600``.
    """

    def __init__(self, *, start_wh: int, power_w: float) -> None:
        self._energy_wh = float(start_wh)
        self._power_w = power_w
        self._since: float | None = None

    @property
    def running(self) -> bool:
        return self._since is not None

    def start(self, at: float) -> None:
        if self._since is None:
            self._since = at

    def stop(self, at: float) -> None:
        if self._since is not None:
            self._energy_wh += self._power_w * max(0.0, at - self._since) / 3600.0
            self._since = None

    def set_power(self, power_w: float, at: float) -> None:
        """Charge at ``power_w`` from ``at`` on (a smart-charging limit, OCPP 1.6 §3.13); the energy charged so far
        stays counted at the old rate."""
        if power_w == self._power_w:
            return
        if self._since is not None:
            self._energy_wh += self._power_w * max(0.0, at - self._since) / 3600.0
            self._since = at
        self._power_w = power_w

    def register_wh(self, at: float) -> int:
        energy = self._energy_wh
        if self._since is not None:
            energy += self._power_w * max(0.0, at - self._since) / 3600.0
        return int(energy)

    def power_w(self) -> float:
        return self._power_w if self._since is not None else 0.0


@dataclass(eq=False)
class Transaction:
    """A transaction as the station knows it. ``transaction_id`` is the CSMS's id, None until the
    StartTransaction answer arrives (it may be queued offline, §4.8); queued StopTransaction and MeterValues
    refer to this record and get the id filled in when they are sent."""

    local_id: int
    connector_id: int
    id_tag: str
    parent_id_tag: str | None
    meter_start_wh: int
    started_at: float
    transaction_id: int | None = None
    energy_allowed: bool = False  # Accepted by the CSMS, or started offline (§4.8): the connector is Charging
    deauthorized: bool = False  # Start answered non-Accepted and StopTransactionOnInvalidId false: SuspendedEVSE
    ended: bool = False
    start_dropped: bool = False  # StartTransaction gave up after TransactionMessageAttempts (§4.8)
    next_sample_at: float | None = None


@dataclass(eq=False)
class Authorization:
    """An accepted identification waiting for the cable (Preparing until ConnectionTimeOut, §9.1.5)."""

    id_tag: str
    parent_id_tag: str | None
    expires_at: float | None


@dataclass(eq=False)
class PendingAuthorize:
    """An Authorize in flight for a connector: to start a transaction or to stop one with a group tag (§3.4)."""

    connector_id: int
    id_tag: str
    purpose: Literal["start", "stop"]


@dataclass(eq=False)
class Connector:
    """One connector; connector 0 stands for the whole charge point (§4.9) and only uses fault/inoperative.

    ``delivered`` is the status the CSMS last acknowledged a StatusNotification for: after a reconnect the
    station reports the connectors where it differs from the current status (§4.8).
    """

    connector_id: int
    meter: EnergyMeter
    status: str = AVAILABLE
    error_code: str = NO_ERROR
    status_since: float = 0.0
    delivered: str | None = None
    plugged: bool = False
    fault: str | None = None
    inoperative: bool = False
    finishing: bool = False
    transaction: Transaction | None = None
    authorization: Authorization | None = None
    pending: PendingAuthorize | None = None

    def derived_status(self, *, station_inoperative: bool) -> str:
        """The §4.9 status the facts imply. A running transaction outranks availability, which is how a
        ChangeAvailability(Inoperative) during a transaction is "Scheduled" (§5.2)."""
        if self.fault is not None:
            return FAULTED
        if self.connector_id == 0:
            return UNAVAILABLE if self.inoperative else AVAILABLE
        tx = self.transaction
        if tx is not None:
            if not self.plugged:
                return SUSPENDED_EV
            if tx.deauthorized:
                return SUSPENDED_EVSE
            return CHARGING if tx.energy_allowed else PREPARING
        if self.finishing:
            return FINISHING
        if self.inoperative or station_inoperative:
            return UNAVAILABLE
        if self.plugged or self.authorization is not None:
            return PREPARING
        return AVAILABLE

    def idle(self, *, station_inoperative: bool) -> bool:
        """Free for a new session: no transaction, identification or Authorize under way, usable."""
        return (
            self.transaction is None
            and self.authorization is None
            and self.pending is None
            and self.fault is None
            and not self.inoperative
            and not station_inoperative
        )
