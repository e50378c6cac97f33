"""Charging profiles and the composite schedule (OCPP 1.6 §3.13, §5.7, §7.8-§7.13), as pure functions of time.

A profile gives, at each moment, either a limit or nothing (it is not valid then, its schedule has not started
or has ended; §7 ChargingProfile, ChargingSchedule):

* validFrom/validTo bound when the profile applies at all;
* the schedule starts at startSchedule (Absolute), at a start the charge point chooses (Relative: the start of
  the transaction, or the moment of the request when there is none) or at startSchedule repeated every day or
  week (Recurring, §7 ChargingProfileKindType); a recurring schedule is anchored at startSchedule in both
  directions of time, so it is a daily or weekly pattern;
* it ends ``duration`` seconds after its start (a recurring one at the latest when the next cycle begins), and
  without a duration its last period lasts for ever (or until the next cycle);
* a period's limit holds from its startPeriod until the next period's (§7 ChargingSchedulePeriod).

Profiles combine per OCPP 1.6 §3.13.2 (stacking) and §3.13.3 (combining purposes): within one purpose the valid
profile with the highest stackLevel wins at each moment; a TxProfile overrides the TxDefaultProfiles, and a
TxDefaultProfile of the connector overrides one of connector 0 (which applies to every connector); a
ChargePointMaxProfile caps the result (the lower of the two wins). Comparing or converting limits in different
units assumes ``P = VOLTAGE_V * I * n`` with 230 V per phase and n the period's numberPhases, 3 when absent
(§7 ChargingSchedulePeriod: 3 is assumed unless another number is given).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ocppj.timefmt import parse_time

VOLTAGE_V = 230.0
DEFAULT_PHASES = 3
RECURRENCE_S = {"Daily": 86_400, "Weekly": 7 * 86_400}

CHARGE_POINT_MAX = "ChargePointMaxProfile"
TX_DEFAULT = "TxDefaultProfile"
TX_PROFILE = "TxProfile"


def to_watts(value: float, unit: str, phases: int | None) -> float:
    return value if unit == "W" else value * VOLTAGE_V * (phases or DEFAULT_PHASES)


def from_watts(watts: float, unit: str, phases: int | None) -> float:
    return watts if unit == "W" else watts / (VOLTAGE_V * (phases or DEFAULT_PHASES))


@dataclass(frozen=True)
class SchedulePeriod:
    start_s: int
    limit: float
    phases: int | None = None


@dataclass(frozen=True)
class ChargingSchedule:
    unit: str  # "A" or "W" (§7 ChargingRateUnitType)
    periods: tuple[SchedulePeriod, ...]
    duration_s: int | None = None
    start: float | None = None
    min_rate: float | None = None


@dataclass(frozen=True)
class ChargingProfile:
    profile_id: int
    stack_level: int
    purpose: str
    kind: str
    schedule: ChargingSchedule
    recurrency: str | None = None
    valid_from: float | None = None
    valid_to: float | None = None
    transaction_id: int | None = None

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> ChargingProfile:
        """A csChargingProfiles / chargingProfile object that already passed its 1.6 schema."""
        schedule = data["chargingSchedule"]
        periods = tuple(
            SchedulePeriod(int(p["startPeriod"]), float(p["limit"]), p.get("numberPhases"))
            for p in schedule["chargingSchedulePeriod"]
        )
        start = schedule.get("startSchedule")
        valid_from = data.get("validFrom")
        valid_to = data.get("validTo")
        min_rate = schedule.get("minChargingRate")
        return cls(
            profile_id=data["chargingProfileId"],
            stack_level=data["stackLevel"],
            purpose=data["chargingProfilePurpose"],
            kind=data["chargingProfileKind"],
            schedule=ChargingSchedule(
                unit=schedule["chargingRateUnit"],
                periods=periods,
                duration_s=schedule.get("duration"),
                start=None if start is None else parse_time(start),
                min_rate=None if min_rate is None else float(min_rate),
            ),
            recurrency=data.get("recurrencyKind"),
            valid_from=None if valid_from is None else parse_time(valid_from),
            valid_to=None if valid_to is None else parse_time(valid_to),
            transaction_id=data.get("transactionId"),
        )

    def problem(self) -> str | None:
        """Why the profile cannot be used whatever the station, or None (§7.8-§7.13)."""
        periods = self.schedule.periods
        if not periods:
            return "a schedule needs at least one period"
        if periods[0].start_s != 0:
            return "the first period must start at 0"
        if any(b.start_s <= a.start_s for a, b in zip(periods, periods[1:], strict=False)):
            return "period starts must increase"
        if any(p.limit < 0 for p in periods):
            return "a limit cannot be negative"
        if any(p.phases is not None and not 1 <= p.phases <= 3 for p in periods):
            return "numberPhases must be 1, 2 or 3"
        if self.schedule.duration_s is not None and self.schedule.duration_s <= 0:
            return "duration must be positive"
        if self.schedule.min_rate is not None and self.schedule.min_rate < 0:
            return "minChargingRate cannot be negative"
        if self.kind in ("Absolute", "Recurring") and self.schedule.start is None:
            return f"an {self.kind} profile needs startSchedule"
        if self.kind == "Recurring" and self.recurrency not in RECURRENCE_S:
            return "a Recurring profile needs recurrencyKind"
        if self.valid_from is not None and self.valid_to is not None and self.valid_to <= self.valid_from:
            return "validTo must be after validFrom"
        return None


@dataclass(frozen=True)
class Limit:
    """A limit in force: its value in the schedule's unit, the phases it assumes, the schedule's
    minChargingRate."""

    value: float
    unit: str
    phases: int | None = None
    min_rate: float | None = None

    def watts(self) -> float:
        return to_watts(self.value, self.unit, self.phases)

    def in_unit(self, unit: str) -> float:
        return self.value if unit == self.unit else from_watts(self.watts(), unit, self.phases)

    def min_rate_in(self, unit: str) -> float | None:
        if self.min_rate is None:
            return None
        if unit == self.unit:
            return self.min_rate
        return from_watts(to_watts(self.min_rate, self.unit, self.phases), unit, self.phases)


def _cycle(profile: ChargingProfile, t: float, anchor: float) -> tuple[float, float | None, float | None]:
    """Start and end (None: open) of the schedule cycle that covers or follows ``t``, and the start of the
    next cycle (None but for a Recurring profile)."""
    schedule = profile.schedule
    if profile.kind == "Recurring" and schedule.start is not None and profile.recurrency in RECURRENCE_S:
        every = RECURRENCE_S[profile.recurrency]
        origin = schedule.start + math.floor((t - schedule.start) / every) * every
        length = every if schedule.duration_s is None else min(schedule.duration_s, every)
        return origin, origin + length, origin + every
    origin = schedule.start if profile.kind == "Absolute" and schedule.start is not None else anchor
    return origin, None if schedule.duration_s is None else origin + schedule.duration_s, None


def limit_at(profile: ChargingProfile, t: float, *, anchor: float) -> Limit | None:
    """The profile's limit at ``t``, None when it gives none then; ``anchor`` is where a Relative schedule
    starts."""
    if profile.valid_from is not None and t < profile.valid_from:
        return None
    if profile.valid_to is not None and t >= profile.valid_to:
        return None
    origin, end, _ = _cycle(profile, t, anchor)
    if t < origin or (end is not None and t >= end):
        return None
    period = None
    for candidate in profile.schedule.periods:
        if origin + candidate.start_s <= t:
            period = candidate
    if period is None:
        return None
    return Limit(period.limit, profile.schedule.unit, period.phases, profile.schedule.min_rate)


def next_change(profile: ChargingProfile, after: float, *, anchor: float) -> float | None:
    """The first moment after ``after`` at which the profile's limit may change (None: never)."""
    origin, end, following = _cycle(profile, after, anchor)
    candidates = [profile.valid_from, profile.valid_to, end, following]
    candidates.extend(origin + period.start_s for period in profile.schedule.periods)
    later = [c for c in candidates if c is not None and c > after]
    return min(later) if later else None


def _top(profiles: Iterable[ChargingProfile], t: float, anchor: float) -> Limit | None:
    """The limit of the valid profile with the highest stackLevel (§3.13.2)."""
    best: Limit | None = None
    best_level = -1
    for profile in profiles:
        limit = limit_at(profile, t, anchor=anchor)
        if limit is not None and profile.stack_level > best_level:
            best, best_level = limit, profile.stack_level
    return best


@dataclass(frozen=True)
class ProfileStack:
    """The profiles that bear on one connector (or, with only the connector-0 ones, on the station)."""

    tx: Sequence[ChargingProfile] = ()
    connector_default: Sequence[ChargingProfile] = ()
    station_default: Sequence[ChargingProfile] = ()
    station_max: Sequence[ChargingProfile] = ()
    anchor: float = 0.0  # start of Relative schedules: the transaction's start, else the request's time

    def limit_at(self, t: float) -> Limit | None:
        """The limit in force at ``t``: TxProfile, else the connector's TxDefaultProfile, else connector 0's,
        capped by the ChargePointMaxProfile; None when no profile gives one."""
        charging = _top(self.tx, t, self.anchor)
        if charging is None:
            charging = _top(self.connector_default, t, self.anchor)
        if charging is None:
            charging = _top(self.station_default, t, self.anchor)
        cap = _top(self.station_max, t, self.anchor)
        if charging is None or cap is None:
            return charging if cap is None else cap
        return cap if cap.watts() < charging.watts() else charging

    def cap_at(self, t: float) -> Limit | None:
        return _top(self.station_max, t, self.anchor)

    def next_change(self, after: float) -> float | None:
        profiles = (*self.tx, *self.connector_default, *self.station_default, *self.station_max)
        times = [c for c in (next_change(p, after, anchor=self.anchor) for p in profiles) if c is not None]
        return min(times) if times else None


@dataclass(frozen=True)
class CompositePeriod:
    start_s: int
    limit: float
    phases: int | None = None


@dataclass(frozen=True)
class CompositeSchedule:
    unit: str
    duration_s: int
    periods: tuple[CompositePeriod, ...]
    min_rate: float | None = None


def round_limit(value: float) -> float:
    """Down to the 0.1 resolution of a schedule's limit (the schemas' ``multipleOf: 0.1``); down, because a
    limit is a maximum."""
    return math.floor(value * 10 + 1e-6) / 10


def composite_schedule(
    stack: ProfileStack, *, start: float, duration_s: int, unit: str | None, fallback: Limit
) -> CompositeSchedule:
    """The composite schedule from ``start`` for ``duration_s`` seconds (§3.13.3, §5.7), in ``unit`` or, when
    none is asked for, in the unit of the limit in force at ``start``. Where no profile gives a limit the
    ``fallback`` (the hardware's maximum) stands. Periods start at whole seconds from ``start``; consecutive
    equal ones are merged; minChargingRate is the highest of the schedules in force over the window."""
    end = start + duration_s
    segments: list[tuple[float, Limit]] = []
    t = start
    while t < end:
        limit = stack.limit_at(t)
        segments.append((t, fallback if limit is None else limit))
        following = stack.next_change(t)
        t = end if following is None else min(following, end)
    chosen = unit if unit is not None else segments[0][1].unit
    periods: list[CompositePeriod] = []
    for at, limit in segments:
        offset = math.ceil(at - start - 1e-9)
        period = CompositePeriod(offset, round_limit(limit.in_unit(chosen)), limit.phases)
        if periods and periods[-1].start_s == offset:
            periods.pop()  # a segment shorter than the second the periods resolve
        if periods and (periods[-1].limit, periods[-1].phases) == (period.limit, period.phases):
            continue
        periods.append(period)
    rates = [rate for _, limit in segments if (rate := limit.min_rate_in(chosen)) is not None]
    return CompositeSchedule(chosen, duration_s, tuple(periods), round_limit(max(rates)) if rates else None)
