"""State of the simulated station and the helpers every part of it uses.

The station is split by concern into cooperating classes: this base holds the state (all of it, so each part
can be read on its own), :mod:`~simulator.model.sessions` the charging sessions, and
:mod:`~simulator.model.machine` transport, registration, timers and the public interface; per-profile mixins
(:mod:`~simulator.model.core_calls`, :mod:`~simulator.model.remote_trigger`, :mod:`~simulator.model.local_list`,
:mod:`~simulator.model.reservations`, :mod:`~simulator.model.smart_charging`, :mod:`~simulator.model.firmware`,
and the security whitepaper's :mod:`~simulator.model.security` and :mod:`~simulator.model.security_transfers`)
answer CSMS calls on top. Where a profile changes what happens at the connectors, the sessions ask it through the
hooks at the end of this class, which do nothing until a profile's mixin overrides them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ocpp.v16.enums import ChargePointErrorCode

from simulator.model import payloads
from simulator.model.auth import AuthorizationCache, LocalAuthList
from simulator.model.calls import DroppedMessage, OutgoingCall
from simulator.model.config import Configuration
from simulator.model.connector import (
    AVAILABLE,
    CHARGING,
    NO_ERROR,
    RESERVED,
    UNAVAILABLE,
    Connector,
    EnergyMeter,
    Transaction,
)
from simulator.model.queue import Entry, Outbox
from simulator.model.spec import StationSpec

if TYPE_CHECKING:
    from simulator.model.certificates import ClientCredential, InstalledCertificate, PendingCsr
    from simulator.model.composite import ChargingProfile
    from simulator.model.firmware import DiagnosticsUpload, FirmwareUpdate, TransferJob, TransferReport
    from simulator.model.reservations import Reservation
    from simulator.model.security import PendingReconnect, SecurityEvent
    from simulator.model.security_transfers import LogUpload
    from simulator.model.smart_charging import InstalledProfile

ACCEPTED = "Accepted"
PENDING = "Pending"
REJECTED = "Rejected"

DROPPED_HISTORY = 1000
"""How many dropped messages ``dropped_messages`` keeps (a long ``load`` run must not grow without bound)."""

MAX_ID_TAG_LENGTH = 20  # IdToken is CiString20 (OCPP 1.6 §7.27)

FAULT_CODES = frozenset(str(code.value) for code in ChargePointErrorCode) - {NO_ERROR}

Handler = Callable[[dict[str, Any], float, "dict[str, Any] | None"], dict[str, Any]]
"""A CSMS-call handler: (request payload, now, scenario's answer or None) -> CALLRESULT payload."""


def keep_last(history: list[Any], item: Any) -> None:
    """Append ``item``, dropping the oldest beyond DROPPED_HISTORY."""
    history.append(item)
    if len(history) > DROPPED_HISTORY:
        del history[0]


def status_reply(answer: dict[str, Any] | None, decided: str) -> dict[str, Any]:
    """The scenario's answer when it imposes one, else the status the model decided."""
    return answer if answer is not None else {"status": decided}


@dataclass
class PendingReset:
    kind: str  # "Soft" or "Hard" (OCPP 1.6 §5.14)
    at: float  # end of the grace period
    armed: bool = False  # grace over: goes down as soon as nothing is left to send


class StationBase:
    """State and read-only views; see :class:`simulator.model.station.ChargePoint` for the whole."""

    def __init__(self, spec: StationSpec, *, now: float) -> None:
        self._spec = spec
        self._config = Configuration(connectors=spec.connectors, overrides=spec.config)
        self._cache = AuthorizationCache()
        self._connectors = [
            Connector(i, EnergyMeter(start_wh=spec.meter_start_wh, power_w=spec.power_w), status_since=now)
            for i in range(spec.connectors + 1)
        ]
        self._outbox = Outbox()
        # Bounded histories as lists trimmed by hand: an empty deque costs 600 bytes, a fleet has one per station.
        self._dropped: list[DroppedMessage] = []
        self._now = now
        self._registration: str | None = None
        self._connected = False
        self._network_up = True
        self._down_until: float | None = None
        self._boot_due_at: float | None = now  # a registration BootNotification is owed from this time
        self._boot_sent = False  # since power-on; explicit calls wait for the first one (§4.2)
        self._full_report_due = True  # first Accepted after power-on reports every connector (§4.2)
        self._in_flight: tuple[OutgoingCall, Entry] | None = None
        self._heartbeat_anchor = now
        self._lost: list[tuple[Transaction, int, float]] = []  # (tx, meterStop, power-loss time) (TC_032_1)
        self._reset: PendingReset | None = None
        self._next_local_tx = 1
        self._next_aligned_at = self._aligned_after(now)
        self._diagnostics_status = "Idle"  # what a triggered notification reports (§4.4, §4.5, §5.17)
        self._firmware_status = "Idle"
        # Local Auth List Management (§3.5.2): non-volatile, like the cache.
        self._local_list = LocalAuthList()
        # Reservation (§3.9), by reservationId.
        self._reservations: dict[int, Reservation] = {}
        # Smart Charging (§3.13): installed profiles, the TxProfile a RemoteStart brought per connector (with its
        # idTag), and when the limits of the running transactions next change.
        self._charging_profiles: list[InstalledProfile] = []
        self._remote_profiles: dict[int, tuple[str, ChargingProfile]] = {}
        self._limits_change_at: float | None = None
        # Firmware Management (§5.6, §5.19): the update and the diagnostics upload under way, transfer jobs not
        # yet handed to the runtime, what became of the finished ones, the status owed after a reboot into new
        # firmware, and whether the station is out of service for an installation.
        self._firmware: FirmwareUpdate | None = None
        self._diagnostics: DiagnosticsUpload | None = None
        self._transfers_ready: list[TransferJob] = []
        self._transfer_reports: list[TransferReport] = []
        self._next_job_id = 1
        self._firmware_report: str | None = None
        self._out_of_service = False
        # The security whitepaper (edition 3), non-volatile but for the reconnect: the trust store (M03-M05) with
        # the CentralSystemRootCertificate kept as fallback under AdditionalRootCertificateCheck (M05.FR.11), the
        # station's certificates (A02.FR.09/10) and the key pair of the CSR in progress, the certificate a renewal
        # was asked for (A03), the security log (A04.FR.04), the profile to fall back to while the new one has not
        # connected yet and how often it failed (A05.FR.08), a reconnect with new credentials (A01, A05), the log
        # upload (N01), and what the signed firmware flow last reported (L01.FR.28/29) or owes after its reboot.
        self._certificates: list[InstalledCertificate] = []
        self._root_fallback: InstalledCertificate | None = None
        self._client_credentials: list[ClientCredential] = []
        self._pending_csr: PendingCsr | None = None
        self._renewal_asked_for: ClientCredential | None = None
        self._security_log: list[SecurityEvent] = []
        self._security_profile = 0  # the SecurityProfile setting as last applied
        self._profile_fallback: int | None = None
        self._profile_failures = 0
        self._reconnect: PendingReconnect | None = None
        self._log_upload: LogUpload | None = None
        self._signed_firmware_status = "Idle"
        self._signed_firmware_request_id: int | None = None
        self._signed_firmware_report: tuple[str, int] | None = None

    # ------------------------------------------------------------------ read-only views

    @property
    def spec(self) -> StationSpec:
        return self._spec

    @property
    def registration(self) -> str | None:
        """Last BootNotification status since power-on: None, "Accepted", "Pending" or "Rejected" (§4.2)."""
        return self._registration

    def connector_status(self, connector_id: int) -> str:
        return self._connector(connector_id, allow_zero=True).status

    def transaction_id(self, connector_id: int) -> int | None:
        """The CSMS's transactionId of the connector's running transaction; None when there is none or its
        StartTransaction has not been answered yet."""
        tx = self._connector(connector_id, allow_zero=True).transaction
        return None if tx is None else tx.transaction_id

    def configuration(self) -> Mapping[str, str]:
        return MappingProxyType(self._config.values())

    def meter_wh(self, connector_id: int, now: float) -> int:
        """Energy.Active.Import.Register of a connector (connector 0: the sum, the station's main meter)."""
        self._connector(connector_id, allow_zero=True)
        return self._register(connector_id, now)

    @property
    def dropped_messages(self) -> tuple[DroppedMessage, ...]:
        """CALLs given up on, oldest first, the last DROPPED_HISTORY of them (retries exhausted, §4.8; volatile
        ones lost to a disconnect or a power loss; answered with a CALLERROR)."""
        return tuple(self._dropped)

    def wants_connection(self) -> bool:
        return self._network_up and self._down_until is None

    @property
    def link_up(self) -> bool:
        """Whether the station takes its websocket as open: False from a network loss or reboot on, even when
        it wants a new connection right away (the runtime must close the old one first)."""
        return self._connected

    # ------------------------------------------------------------------ helpers

    def _online(self) -> bool:
        """Registered and connected: status changes and Authorize may be sent (§4.2)."""
        return (
            self._connected and self.wants_connection() and self._registration == ACCEPTED and self._boot_due_at is None
        )

    def _accepting_sessions(self) -> bool:
        return self._down_until is None and self._reset is None

    def _station_blocked(self) -> bool:
        station = self._connectors[0]
        return station.inoperative or station.fault is not None or self._out_of_service

    def _plain_status(self, connector: Connector) -> str:
        """The §4.9 status the connector's facts imply, before any reservation holds it."""
        station_off = self._connectors[0].inoperative or self._out_of_service
        status = connector.derived_status(station_inoperative=station_off)
        if connector.connector_id == 0 and status == AVAILABLE and self._out_of_service:
            return UNAVAILABLE
        return status

    def _queue_entry(self, entry: Entry) -> None:
        tx = entry.transaction
        if tx is not None and tx.start_dropped and entry.action != "StartTransaction":
            self._record_drop(entry, "its StartTransaction was dropped, so it has no transactionId", entry.created_at)
            return
        self._outbox.add(entry)

    def _queue_status(self, connector: Connector, at: float, *, triggered: bool = False) -> None:
        payload = payloads.status_notification(connector.connector_id, connector.status, connector.error_code, at)
        self._queue_entry(Entry("StatusNotification", payload, at, triggered=triggered))

    def _record_drop(self, entry: Entry, reason: str, at: float) -> None:
        keep_last(self._dropped, DroppedMessage(entry.action, entry.render(), reason, at))

    def _sync(self, connector: Connector, at: float) -> None:
        """Re-derive the connector's status; a change is one StatusNotification when online (§4.9)."""
        status = self._plain_status(connector)
        if status == AVAILABLE and self._held(connector):
            status = RESERVED
        error_code = connector.fault or NO_ERROR
        if status == connector.status and error_code == connector.error_code:
            return
        if connector.connector_id != 0:
            if status == CHARGING:
                connector.meter.start(at)
            else:
                connector.meter.stop(at)
        connector.status, connector.error_code, connector.status_since = status, error_code, at
        if self._online():
            self._queue_status(connector, at)

    def _register(self, connector_id: int, at: float) -> int:
        if connector_id == 0:
            return sum(connector.meter.register_wh(at) for connector in self._connectors[1:])
        return self._connectors[connector_id].meter.register_wh(at)

    def _sampled(self, connector_id: int, at: float, measurands: tuple[str, ...], context: str) -> list[dict[str, Any]]:
        if connector_id == 0:
            power = sum(connector.meter.power_w() for connector in self._connectors[1:])
        else:
            power = self._connectors[connector_id].meter.power_w()
        return payloads.sampled_values(
            measurands, energy_wh=self._register(connector_id, at), power_w=power, context=context
        )

    def _aligned_after(self, at: float) -> float | None:
        interval = self._config.get_int("ClockAlignedDataInterval")
        return (math.floor(at / interval) + 1) * interval if interval > 0 else None

    def _connector(self, connector_id: int, *, allow_zero: bool = False) -> Connector:
        if isinstance(connector_id, bool) or not isinstance(connector_id, int):
            raise ValueError(f"connector id must be an integer, got {connector_id!r}")
        low = 0 if allow_zero else 1
        if not low <= connector_id <= self._spec.connectors:
            whole = " (0 = the whole station)" if allow_zero else ""
            raise ValueError(
                f"unknown connector {connector_id}: this station has connectors {low}..{self._spec.connectors}{whole}"
            )
        return self._connectors[connector_id]

    def _require_tag(self, action: str, id_tag: str | None) -> str:
        if not id_tag:
            raise ValueError(f"{action} needs an id tag")
        return id_tag

    # ------------------------------------------------------------------ hooks of the other feature profiles

    def _held(self, connector: Connector) -> bool:
        """Whether a reservation holds this otherwise Available connector, so it reports Reserved (§3.9)."""
        return False

    def _reserved_against(self, connector: Connector, id_tag: str) -> bool:
        """Whether a reservation holds the connector for someone ``id_tag`` cannot be (§5.13)."""
        return False

    def _claim_reservation(self, connector: Connector, id_tag: str, parent_id_tag: str | None, at: float) -> int | None:
        """The reservationId a transaction starting now uses, ending that reservation (§4.10, §5.13)."""
        return None

    def _transaction_ended(self, connector: Connector, at: float) -> None:
        """A transaction on the connector has stopped (a firmware installation may have waited for it, its
        TxProfiles end with it)."""

    def _remote_profile_refused(self, connector: Connector, profile: dict[str, Any] | None) -> bool:
        """Whether the chargingProfile of a RemoteStartTransaction makes it Rejected (§5.11)."""
        return False

    def _remote_profile_accepted(self, connector: Connector, id_tag: str, profile: dict[str, Any] | None) -> None:
        """A RemoteStartTransaction was Accepted: keep its chargingProfile for the transaction it starts (§5.11)."""

    def _change_refused(self, name: str, value: str) -> bool:
        """Whether a ChangeConfiguration the key's type allows is still Rejected: a SecurityProfile lower than
        the current one or without its prerequisites (whitepaper A05.FR.01-04)."""
        return False

    def _security_event(self, event_type: str, at: float, tech_info: str | None = None) -> None:
        """A security event of the whitepaper's §8 happened: logged, and sent when it is to be (A04)."""
