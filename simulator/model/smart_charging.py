"""Smart Charging profile (OCPP 1.6 §3.13, §5.16 SetChargingProfile, §5.5 ClearChargingProfile, §5.7
GetCompositeSchedule, §5.11 RemoteStartTransaction with a chargingProfile, §9.4).

Profiles are stored per connector with their purpose and stack level; a TxProfile belongs to the transaction
running when it was set (or the one its RemoteStartTransaction started, TC_059) and goes when that ends
(§3.13.1). The schedule itself is computed in :mod:`simulator.model.composite`.

The energy meter follows the limits: a connector with a transaction charges at the lower of the hardware's
``power_w`` and its composite limit, and a ChargePointMaxProfile, which limits the whole charge point (§3.13.1),
is shared evenly among the connectors with a transaction. MeterValues therefore show the limited power and energy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ocppj.frames import ErrorCode
from ocppj.timefmt import format_time
from simulator.model.auth import IdTagInfo, same_tag
from simulator.model.base import ACCEPTED, REJECTED, Handler, status_reply
from simulator.model.calls import CallRefused
from simulator.model.composite import (
    CHARGE_POINT_MAX,
    TX_DEFAULT,
    TX_PROFILE,
    ChargingProfile,
    Limit,
    ProfileStack,
    composite_schedule,
)
from simulator.model.config import SMART_CHARGING
from simulator.model.connector import Connector, Transaction
from simulator.model.machine import StationMachine

_UNIT_NAMES = {"A": "Current", "W": "Power"}  # §9.4.2 ChargingScheduleAllowedChargingRateUnit values


@dataclass(eq=False)
class InstalledProfile:
    connector_id: int
    profile: ChargingProfile
    transaction: Transaction | None = None  # a TxProfile's transaction (§3.13.1)


class SmartChargingCalls(StationMachine):
    def _smart_charging_handlers(self) -> dict[str, Handler]:
        return {
            "SetChargingProfile": self._on_set_charging_profile,
            "ClearChargingProfile": self._on_clear_charging_profile,
            "GetCompositeSchedule": self._on_get_composite_schedule,
        }

    # ------------------------------------------------------------------ the stored profiles

    def _installed(self) -> list[InstalledProfile]:
        """The installed profiles, without the TxProfiles of transactions that have ended (§3.13.1: a TxProfile
        applies to one transaction only); any way a transaction ends (stop, power loss, reboot) removes them."""
        self._charging_profiles = [
            p for p in self._charging_profiles if p.transaction is None or not p.transaction.ended
        ]
        return self._charging_profiles

    def _install(self, entry: InstalledProfile) -> None:
        """§5.16: a profile with the same chargingProfileId, or the same purpose and stackLevel on the same
        connector, is replaced."""
        self._charging_profiles = [p for p in self._installed() if not self._replaced_by(p, entry)]
        self._charging_profiles.append(entry)

    @staticmethod
    def _replaced_by(old: InstalledProfile, new: InstalledProfile) -> bool:
        if old.profile.profile_id == new.profile.profile_id:
            return True
        return (
            old.connector_id == new.connector_id
            and old.profile.purpose == new.profile.purpose
            and old.profile.stack_level == new.profile.stack_level
        )

    def _profile_problem(self, connector_id: int, profile: ChargingProfile, *, for_remote_start: bool) -> str | None:
        """Why the station refuses the profile (§5.16, §9.4), or None. A TxProfile needs the connector's
        running transaction, and its transactionId, when given, must be that one (TC_058_1, TC_058_2); a
        TxProfile cannot go to connector 0 nor a ChargePointMaxProfile to another connector (§3.13.1)."""
        if not 0 <= connector_id <= self._spec.connectors:
            return f"unknown connector {connector_id}"
        purpose = profile.purpose
        if for_remote_start:
            if purpose != TX_PROFILE:
                return "a RemoteStartTransaction profile must be a TxProfile (§5.11)"
            if profile.transaction_id is not None:
                return "a RemoteStartTransaction profile cannot name a transaction: it has none yet"
        elif purpose == TX_PROFILE:
            tx = self._connectors[connector_id].transaction if connector_id else None
            if connector_id == 0:
                return "a TxProfile cannot be set on connector 0"
            if tx is None:
                return f"no transaction on connector {connector_id}"
            if profile.transaction_id is not None and profile.transaction_id != tx.transaction_id:
                return f"transaction {profile.transaction_id} is not the one on connector {connector_id}"
        elif purpose == CHARGE_POINT_MAX and connector_id != 0:
            return "a ChargePointMaxProfile applies to connector 0 only"
        if not 0 <= profile.stack_level <= self._config.get_int("ChargeProfileMaxStackLevel"):
            return f"stackLevel {profile.stack_level} is beyond ChargeProfileMaxStackLevel"
        if _UNIT_NAMES[profile.schedule.unit] not in self._config.get_list("ChargingScheduleAllowedChargingRateUnit"):
            return f"chargingRateUnit {profile.schedule.unit} is not allowed"
        if len(profile.schedule.periods) > self._config.get_int("ChargingScheduleMaxPeriods"):
            return "more periods than ChargingScheduleMaxPeriods"
        problem = profile.problem()
        if problem is not None:
            return problem
        entry = InstalledProfile(connector_id, profile)
        kept = [p for p in self._installed() if not self._replaced_by(p, entry)]
        if len(kept) + 1 > self._config.get_int("MaxChargingProfilesInstalled"):
            return "MaxChargingProfilesInstalled reached"
        return None

    def _stack(self, connector_id: int, at: float) -> ProfileStack:
        """The profiles that bear on a connector now; connector 0 means the station as a whole (its
        TxDefaultProfiles capped by the ChargePointMaxProfile)."""
        profiles = self._installed()

        def of(connector: int, purpose: str) -> list[ChargingProfile]:
            return [p.profile for p in profiles if p.connector_id == connector and p.profile.purpose == purpose]

        station_max = of(0, CHARGE_POINT_MAX)
        if connector_id == 0:
            return ProfileStack(connector_default=of(0, TX_DEFAULT), station_max=station_max, anchor=at)
        tx = self._connectors[connector_id].transaction
        tx_profiles = [
            p.profile for p in profiles if p.transaction is not None and tx is not None and p.transaction is tx
        ]
        return ProfileStack(
            tx=tx_profiles,
            connector_default=of(connector_id, TX_DEFAULT),
            station_default=of(0, TX_DEFAULT),
            station_max=station_max,
            anchor=at if tx is None else tx.started_at,
        )

    # ------------------------------------------------------------------ CSMS calls

    def _on_set_charging_profile(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """§5.16: NotSupported without the profile, Rejected for a profile the station cannot take (see
        ``_profile_problem``), else Accepted and in force at once (TC_056, TC_057, TC_082)."""
        connector_id: int = payload["connectorId"]
        profile = ChargingProfile.from_payload(payload["csChargingProfiles"])
        supported = self._config.supports(SMART_CHARGING)
        problem = self._profile_problem(connector_id, profile, for_remote_start=False) if supported else None
        decided = "NotSupported" if not supported else ACCEPTED if problem is None else REJECTED
        reply = status_reply(answer, decided)
        if supported and problem is None and reply.get("status") == ACCEPTED:
            tx = self._connectors[connector_id].transaction if profile.purpose == TX_PROFILE else None
            self._install(InstalledProfile(connector_id, profile, tx))
            self._apply_limits(now)
        return reply

    def _on_clear_charging_profile(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """§5.5: by ``id`` alone when given, else every profile matching all the criteria given (connectorId,
        chargingProfilePurpose, stackLevel), every profile for an empty request (TC_067); Unknown when none
        matched."""
        supported = self._config.supports(SMART_CHARGING)
        if not supported and answer is None:
            raise CallRefused(ErrorCode.NOT_SUPPORTED.value, "the SmartCharging profile is not supported")
        matched = [p for p in self._installed() if _matches(p, payload)] if supported else []
        reply = status_reply(answer, ACCEPTED if matched else "Unknown")
        if matched and reply.get("status") == ACCEPTED:
            self._charging_profiles = [p for p in self._charging_profiles if p not in matched]
            self._apply_limits(now)
        return reply

    def _on_get_composite_schedule(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """§5.7 (TC_066): the schedule the connector will follow from now (the whole station for connector 0)
        for ``duration`` seconds, periods relative to scheduleStart; Rejected for an unknown connector or a
        duration that is not positive. Where no profile limits, the hardware's maximum stands."""
        if answer is not None:
            return answer
        if not self._config.supports(SMART_CHARGING):
            raise CallRefused(ErrorCode.NOT_SUPPORTED.value, "the SmartCharging profile is not supported")
        connector_id: int = payload["connectorId"]
        duration: int = payload["duration"]
        if not 0 <= connector_id <= self._spec.connectors or duration <= 0:
            return {"status": REJECTED}
        start = float(math.floor(now))
        hardware_w = self._spec.power_w * (self._spec.connectors if connector_id == 0 else 1)
        composite = composite_schedule(
            self._stack(connector_id, start),
            start=start,
            duration_s=duration,
            unit=payload.get("chargingRateUnit"),
            fallback=Limit(hardware_w, "W"),
        )
        periods = []
        for period in composite.periods:
            item: dict[str, Any] = {"startPeriod": period.start_s, "limit": period.limit}
            if period.phases is not None:
                item["numberPhases"] = period.phases
            periods.append(item)
        schedule: dict[str, Any] = {
            "duration": composite.duration_s,
            "chargingRateUnit": composite.unit,
            "chargingSchedulePeriod": periods,
        }
        if composite.min_rate is not None:
            schedule["minChargingRate"] = composite.min_rate
        return {
            "status": ACCEPTED,
            "connectorId": connector_id,
            "scheduleStart": format_time(start),
            "chargingSchedule": schedule,
        }

    # ------------------------------------------------------------------ RemoteStartTransaction (§5.11)

    def _remote_profile_refused(self, connector: Connector, profile: dict[str, Any] | None) -> bool:
        """A chargingProfile that is not a TxProfile, names a transaction, or would be refused by
        SetChargingProfile makes the RemoteStart Rejected (TC_060). A station without Smart Charging does not
        read it."""
        if profile is None or not self._config.supports(SMART_CHARGING):
            return False
        parsed = ChargingProfile.from_payload(profile)
        return self._profile_problem(connector.connector_id, parsed, for_remote_start=True) is not None

    def _remote_profile_accepted(self, connector: Connector, id_tag: str, profile: dict[str, Any] | None) -> None:
        self._remote_profiles.pop(connector.connector_id, None)
        if profile is None or self._remote_profile_refused(connector, profile):
            return
        if self._config.supports(SMART_CHARGING):
            self._remote_profiles[connector.connector_id] = (id_tag, ChargingProfile.from_payload(profile))

    def _sync(self, connector: Connector, at: float) -> None:
        """A RemoteStart's chargingProfile waits with its identification (an Authorize in flight, the connector
        Preparing); once the connector is back to nothing (no identification, cable or transaction: a
        ConnectionTimeOut, a refusal) it is dropped."""
        super()._sync(connector, at)
        idle = connector.transaction is None and connector.authorization is None and connector.pending is None
        if idle and not connector.plugged:
            self._remote_profiles.pop(connector.connector_id, None)

    def _start_transaction(self, connector: Connector, id_tag: str, parent_id_tag: str | None, at: float) -> None:
        """The transaction a RemoteStart with a chargingProfile started gets it as its TxProfile (TC_059);
        Relative schedules start now."""
        super()._start_transaction(connector, id_tag, parent_id_tag, at)
        pending = self._remote_profiles.pop(connector.connector_id, None)
        tx = connector.transaction
        if pending is not None and tx is not None and same_tag(pending[0], id_tag):
            self._install(InstalledProfile(connector.connector_id, pending[1], tx))
        self._apply_limits(at)

    def _adopt(self, request: dict[str, Any], tx_id: int, info: IdTagInfo, at: float) -> None:
        super()._adopt(request, tx_id, info, at)
        self._apply_limits(at)

    def _transaction_ended(self, connector: Connector, at: float) -> None:
        super()._transaction_ended(connector, at)
        self._apply_limits(at)

    # ------------------------------------------------------------------ the meter follows the limits

    def _apply_limits(self, at: float) -> None:
        """Set every connector's power to its limit now and note when a limit next changes. Without profiles
        the power stays the hardware's (``set_power`` ignores a rate that does not change)."""
        busy = [c for c in self._connectors[1:] if c.transaction is not None]
        changes: list[float] = []
        for connector in busy:
            stack = self._stack(connector.connector_id, at)
            watts = self._spec.power_w
            limit = stack.limit_at(at)
            if limit is not None:
                watts = min(watts, limit.watts())
            cap = stack.cap_at(at)
            if cap is not None and len(busy) > 1:
                watts = min(watts, cap.watts() / len(busy))
            connector.meter.set_power(watts, at)
            following = stack.next_change(at)
            if following is not None:
                changes.append(following)
        for connector in self._connectors[1:]:
            if connector.transaction is None:
                connector.meter.set_power(self._spec.power_w, at)
        self._limits_change_at = min(changes) if changes else None

    def _timers(self) -> list[tuple[float, Callable[[float], None]]]:
        timers = super()._timers()
        if self._limits_change_at is not None:
            timers.append((self._limits_change_at, self._apply_limits))
        return timers


def _matches(installed: InstalledProfile, criteria: dict[str, Any]) -> bool:
    profile = installed.profile
    if "id" in criteria:
        return bool(profile.profile_id == criteria["id"])
    wanted = (
        ("connectorId", installed.connector_id),
        ("chargingProfilePurpose", profile.purpose),
        ("stackLevel", profile.stack_level),
    )
    return all(criteria[key] == value for key, value in wanted if key in criteria)
