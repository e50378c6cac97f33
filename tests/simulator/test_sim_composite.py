"""The composite schedule (OCPP 1.6 §3.13, §7.8-§7.13), one worked example per rule.

Times are seconds from T0 (2026-01-01T00:00:00Z, a Thursday); limits are in A unless said otherwise; the expected
composite is written as (startPeriod, limit) pairs relative to the request's start. FALLBACK is the hardware's
maximum, 22080 W = 32 A at 3 x 230 V.
"""

from __future__ import annotations

from typing import Any

import pytest
from sim_kit import T0

from ocppj.timefmt import format_time
from simulator.model.composite import (
    ChargingProfile,
    ChargingSchedule,
    Limit,
    ProfileStack,
    SchedulePeriod,
    composite_schedule,
    from_watts,
    limit_at,
    next_change,
    round_limit,
    to_watts,
)

FALLBACK = Limit(22080.0, "W")


def profile(
    purpose: str = "TxDefaultProfile",
    *,
    periods: list[tuple[int, float]] | list[tuple[int, float, int]],
    stack: int = 0,
    kind: str = "Absolute",
    start: float | None = 0.0,
    duration: int | None = None,
    unit: str = "A",
    recurrency: str | None = None,
    valid_from: float | None = None,
    valid_to: float | None = None,
    min_rate: float | None = None,
    profile_id: int = 1,
) -> ChargingProfile:
    """A profile with times given as offsets from T0."""
    return ChargingProfile(
        profile_id=profile_id,
        stack_level=stack,
        purpose=purpose,
        kind=kind,
        schedule=ChargingSchedule(
            unit=unit,
            periods=tuple(SchedulePeriod(*p) for p in periods),
            duration_s=duration,
            start=None if start is None else T0 + start,
            min_rate=min_rate,
        ),
        recurrency=recurrency,
        valid_from=None if valid_from is None else T0 + valid_from,
        valid_to=None if valid_to is None else T0 + valid_to,
    )


def composite(
    stack: ProfileStack, *, start: float = 0, duration: int = 7200, unit: str | None = "A"
) -> list[tuple[int, float]]:
    result = composite_schedule(stack, start=T0 + start, duration_s=duration, unit=unit, fallback=FALLBACK)
    return [(p.start_s, p.limit) for p in result.periods]


# ------------------------------------------------------------------ one profile


def test_absolute_periods_relative_to_the_request() -> None:
    """TxDefault, Absolute from T0: 16 A, 10 A from 3600. Asked at 0 for 7200 s: (0, 16), (3600, 10); asked at
    1800 for 3600 s: (0, 16), (1800, 10)."""
    stack = ProfileStack(connector_default=[profile(periods=[(0, 16), (3600, 10)])])
    assert composite(stack) == [(0, 16), (3600, 10)]
    assert composite(stack, start=1800, duration=3600) == [(0, 16), (1800, 10)]


def test_absolute_schedule_not_started_yet() -> None:
    """Absolute from 600: 10 A. Asked at 0: the hardware's 32 A until 600."""
    stack = ProfileStack(connector_default=[profile(start=600, periods=[(0, 10)])])
    assert composite(stack, duration=1200) == [(0, 32), (600, 10)]


def test_schedule_duration_ends_it() -> None:
    """Absolute from 0, duration 1800: 6 A. Asked for 3600 s: (0, 6), then the hardware's 32 A at 1800."""
    stack = ProfileStack(connector_default=[profile(periods=[(0, 6)], duration=1800)])
    assert composite(stack, duration=3600) == [(0, 6), (1800, 32)]


def test_valid_from_and_valid_to() -> None:
    """16 A, valid from 600 to 1200 only: (0, 32), (600, 16), (1200, 32)."""
    stack = ProfileStack(connector_default=[profile(periods=[(0, 16)], valid_from=600, valid_to=1200)])
    assert composite(stack, duration=1800) == [(0, 32), (600, 16), (1200, 32)]


def test_relative_schedule_starts_with_the_transaction() -> None:
    """Relative TxProfile 6 A, 10 A from 900; the transaction started 600 s before the request: (0, 6), (300, 10).
    Without a transaction (anchor = the request): (0, 6), (900, 10)."""
    relative = profile("TxProfile", kind="Relative", start=None, periods=[(0, 6), (900, 10)])
    assert composite(ProfileStack(tx=[relative], anchor=T0 - 600), duration=1800) == [(0, 6), (300, 10)]
    assert composite(ProfileStack(tx=[relative], anchor=T0), duration=1800) == [(0, 6), (900, 10)]


def test_relative_schedule_ignores_start_schedule() -> None:
    relative = profile("TxProfile", kind="Relative", start=5000, periods=[(0, 6)])
    assert composite(ProfileStack(tx=[relative], anchor=T0), duration=60) == [(0, 6)]


def test_recurring_daily() -> None:
    """Daily from 01:00 the day before, duration 3 h: 8 A, 16 A from 2 h. Asked at 00:00 for 24 h: the hardware
    until 01:00, 8 A, 16 A at 03:00, the hardware again at 04:00."""
    daily = profile(
        kind="Recurring", recurrency="Daily", start=-86400 + 3600, duration=10800, periods=[(0, 8), (7200, 16)]
    )
    assert composite(ProfileStack(connector_default=[daily]), duration=86400) == [
        (0, 32),
        (3600, 8),
        (10800, 16),
        (14400, 32),
    ]


def test_recurring_daily_without_duration_fills_the_day() -> None:
    """Daily from 22:00 the day before, no duration: 6 A, 12 A from 8 h (06:00). Asked at 00:00 for 36 h."""
    daily = profile(kind="Recurring", recurrency="Daily", start=-7200, periods=[(0, 6), (28800, 12)])
    assert composite(ProfileStack(connector_default=[daily]), duration=129600) == [
        (0, 6),
        (21600, 12),  # 06:00
        (79200, 6),  # 22:00, the next cycle
        (108000, 12),  # 06:00 the next day
    ]


def test_recurring_duration_longer_than_the_day_is_cut_at_the_next_cycle() -> None:
    daily = profile(kind="Recurring", recurrency="Daily", start=0, duration=200000, periods=[(0, 6), (82800, 12)])
    assert composite(ProfileStack(connector_default=[daily]), start=82800, duration=7200) == [(0, 12), (3600, 6)]


def test_recurring_is_a_pattern_before_its_start_schedule_too() -> None:
    daily = profile(kind="Recurring", recurrency="Daily", start=2 * 86400, duration=3600, periods=[(0, 8)])
    assert composite(ProfileStack(connector_default=[daily]), duration=7200) == [(0, 8), (3600, 32)]


def test_recurring_weekly() -> None:
    """Weekly from Thursday 00:00 a week before T0, duration 1 h: 10 A. Asked at T0 (a Thursday) for 8 days."""
    weekly = profile(kind="Recurring", recurrency="Weekly", start=-7 * 86400, duration=3600, periods=[(0, 10)])
    assert composite(ProfileStack(connector_default=[weekly]), duration=8 * 86400) == [
        (0, 10),
        (3600, 32),
        (7 * 86400, 10),
        (7 * 86400 + 3600, 32),
    ]


# ------------------------------------------------------------------ stacking and purposes


def test_highest_stack_level_wins_while_valid() -> None:
    """TxDefault level 0: 16 A always; level 1: 6 A from 600 to 1200. (0, 16), (600, 6), (1200, 16)."""
    base = profile(periods=[(0, 16)], profile_id=1)
    peak = profile(periods=[(0, 6)], stack=1, valid_from=600, valid_to=1200, profile_id=2)
    assert composite(ProfileStack(connector_default=[peak, base]), duration=1800) == [(0, 16), (600, 6), (1200, 16)]


def test_higher_stack_level_wins_even_with_a_higher_limit() -> None:
    """Level 0: 6 A; level 3: 20 A until 900. (0, 20), (900, 6): stacking is not a minimum."""
    low = profile(periods=[(0, 6)], profile_id=1)
    high = profile(periods=[(0, 20)], stack=3, duration=900, profile_id=2)
    assert composite(ProfileStack(connector_default=[low, high]), duration=1800) == [(0, 20), (900, 6)]


def test_tx_profile_overrides_tx_default() -> None:
    """TxDefault level 5: 10 A; TxProfile level 0: 20 A until 600. (0, 20), (600, 10)."""
    default = profile(periods=[(0, 10)], stack=5, profile_id=1)
    tx = profile("TxProfile", periods=[(0, 20)], duration=600, profile_id=2)
    assert composite(ProfileStack(tx=[tx], connector_default=[default]), duration=1200) == [(0, 20), (600, 10)]


def test_connector_tx_default_overrides_the_station_one() -> None:
    """Connector 0 TxDefault level 9: 8 A; the connector's TxDefault level 0: 12 A from 300 to 900."""
    station = profile(periods=[(0, 8)], stack=9, profile_id=1)
    own = profile(periods=[(0, 12)], valid_from=300, valid_to=900, profile_id=2)
    stack = ProfileStack(connector_default=[own], station_default=[station])
    assert composite(stack, duration=1200) == [(0, 8), (300, 12), (900, 8)]


def test_charge_point_max_caps_the_result() -> None:
    """TxProfile 16 A, 10 A from 1200; ChargePointMax 12 A: (0, 12), (1200, 10)."""
    tx = profile("TxProfile", periods=[(0, 16), (1200, 10)], profile_id=1)
    cap = profile("ChargePointMaxProfile", periods=[(0, 12)], profile_id=2)
    assert composite(ProfileStack(tx=[tx], station_max=[cap]), duration=2400) == [(0, 12), (1200, 10)]


def test_charge_point_max_alone_limits() -> None:
    cap = profile("ChargePointMaxProfile", periods=[(0, 12)], valid_to=600)
    assert composite(ProfileStack(station_max=[cap]), duration=1200) == [(0, 12), (600, 32)]


def test_charge_point_max_highest_stack_level_wins() -> None:
    loose = profile("ChargePointMaxProfile", periods=[(0, 10)], profile_id=1)
    tight = profile("ChargePointMaxProfile", periods=[(0, 20)], stack=1, duration=600, profile_id=2)
    tx = profile("TxProfile", periods=[(0, 16)], profile_id=3)
    assert composite(ProfileStack(tx=[tx], station_max=[loose, tight]), duration=1200) == [(0, 16), (600, 10)]


def test_equal_consecutive_periods_merge() -> None:
    """Level 1 gives 16 A from 600 to 1200, level 0 16 A always: one period."""
    base = profile(periods=[(0, 16)], profile_id=1)
    same = profile(periods=[(0, 16)], stack=1, valid_from=600, valid_to=1200, profile_id=2)
    assert composite(ProfileStack(connector_default=[base, same]), duration=1800) == [(0, 16)]


def test_window_cuts_periods() -> None:
    stack = ProfileStack(connector_default=[profile(periods=[(0, 16), (3600, 10)])])
    assert composite(stack, duration=600) == [(0, 16)]


# ------------------------------------------------------------------ units


def test_watts_to_amperes() -> None:
    """11040 W at 3 x 230 V is 16 A; 11000 W is 15.94 A, reported as 15.9 A (down, a limit is a maximum)."""
    stack = ProfileStack(connector_default=[profile(unit="W", periods=[(0, 11040), (600, 11000)])])
    assert composite(stack, duration=1200) == [(0, 16), (600, 15.9)]


def test_amperes_to_watts_with_number_phases() -> None:
    """16 A on one phase is 3680 W; 16 A with numberPhases absent (3) is 11040 W."""
    stack = ProfileStack(connector_default=[profile(periods=[(0, 16, 1), (600, 16)])])
    assert composite(stack, duration=1200, unit="W") == [(0, 3680), (600, 11040)]


def test_limits_in_different_units_compare_as_power() -> None:
    """TxProfile 16 A (11040 W) capped by ChargePointMax 7000 W: 7000 W, 10.1 A."""
    tx = profile("TxProfile", periods=[(0, 16)], profile_id=1)
    cap = profile("ChargePointMaxProfile", unit="W", periods=[(0, 7000)], profile_id=2)
    assert composite(ProfileStack(tx=[tx], station_max=[cap]), duration=60, unit="W") == [(0, 7000)]
    assert composite(ProfileStack(tx=[tx], station_max=[cap]), duration=60, unit="A") == [(0, 10.1)]


def test_without_a_requested_unit_the_limit_in_force_chooses() -> None:
    stack = ProfileStack(connector_default=[profile(unit="W", periods=[(0, 6000)])])
    result = composite_schedule(stack, start=T0, duration_s=60, unit=None, fallback=FALLBACK)
    assert (result.unit, [(p.start_s, p.limit) for p in result.periods]) == ("W", [(0, 6000)])


def test_number_phases_are_reported() -> None:
    stack = ProfileStack(connector_default=[profile(periods=[(0, 16, 1)])])
    result = composite_schedule(stack, start=T0, duration_s=60, unit="A", fallback=FALLBACK)
    assert result.periods[0].phases == 1


def test_min_charging_rate() -> None:
    """minChargingRate 6 A of the schedule in force, 4140 W in watts; none when no schedule has one."""
    stack = ProfileStack(connector_default=[profile(periods=[(0, 16)], min_rate=6.0)])
    assert composite_schedule(stack, start=T0, duration_s=60, unit="A", fallback=FALLBACK).min_rate == 6.0
    assert composite_schedule(stack, start=T0, duration_s=60, unit="W", fallback=FALLBACK).min_rate == 4140.0
    plain = ProfileStack(connector_default=[profile(periods=[(0, 16)])])
    assert composite_schedule(plain, start=T0, duration_s=60, unit="A", fallback=FALLBACK).min_rate is None


def test_conversions() -> None:
    assert to_watts(10, "A", None) == 6900
    assert to_watts(10, "A", 2) == 4600
    assert to_watts(5000, "W", 1) == 5000
    assert from_watts(6900, "A", None) == 10
    assert from_watts(6900, "W", 1) == 6900
    assert round_limit(15.94) == 15.9
    assert round_limit(16.0) == 16.0
    assert round_limit(6.3) == 6.3  # no float noise pushes a value a step down


def test_sub_second_boundaries_collapse_into_whole_seconds() -> None:
    """A request at T0 + 0.4: the period starting at T0 + 0.5 starts at second 1. Two limits beginning within
    one second (10 A at 0.2, 12 A at 0.7): the later one stands for that second."""
    stack = ProfileStack(connector_default=[profile(start=0.5, periods=[(0, 10)])])
    result = composite_schedule(stack, start=T0 + 0.4, duration_s=60, unit="A", fallback=FALLBACK)
    assert [(p.start_s, p.limit) for p in result.periods] == [(0, 32), (1, 10)]
    low = profile(start=0.2, periods=[(0, 10)], profile_id=1)
    high = profile(start=0.7, periods=[(0, 12)], stack=1, profile_id=2)
    assert composite(ProfileStack(connector_default=[low, high]), duration=60) == [(0, 32), (1, 12)]


# ------------------------------------------------------------------ single profiles: limit_at and next_change


def test_limit_at_and_next_change() -> None:
    p = profile(periods=[(0, 16), (600, 10)], duration=1200, valid_to=3000)
    assert limit_at(p, T0 - 1, anchor=T0) is None
    assert limit_at(p, T0, anchor=T0) == Limit(16, "A")
    assert limit_at(p, T0 + 600, anchor=T0) == Limit(10, "A")
    assert limit_at(p, T0 + 1200, anchor=T0) is None
    assert next_change(p, T0 - 10, anchor=T0) == T0
    assert next_change(p, T0, anchor=T0) == T0 + 600
    assert next_change(p, T0 + 600, anchor=T0) == T0 + 1200
    assert next_change(p, T0 + 1200, anchor=T0) == T0 + 3000
    assert next_change(p, T0 + 3000, anchor=T0) is None


def test_first_period_after_the_start_gives_nothing_before_it() -> None:
    p = ChargingProfile(1, 0, "TxDefaultProfile", "Absolute", ChargingSchedule("A", (SchedulePeriod(60, 8),), start=T0))
    assert limit_at(p, T0 + 30, anchor=T0) is None
    assert limit_at(p, T0 + 60, anchor=T0) == Limit(8, "A")


# ------------------------------------------------------------------ parsing and validity


def payload(**changes: Any) -> dict[str, Any]:
    schedule: dict[str, Any] = {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.0}],
        "startSchedule": format_time(T0),
        "duration": 3600,
        "minChargingRate": 4.0,
    }
    data: dict[str, Any] = {
        "chargingProfileId": 5,
        "stackLevel": 2,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "validFrom": format_time(T0),
        "validTo": format_time(T0 + 7200),
        "chargingSchedule": schedule,
    }
    schedule.update(changes.pop("schedule", {}))
    data.update(changes)
    return data


def test_from_payload() -> None:
    parsed = ChargingProfile.from_payload(payload(transactionId=9))
    assert parsed == ChargingProfile(
        profile_id=5,
        stack_level=2,
        purpose="TxDefaultProfile",
        kind="Absolute",
        schedule=ChargingSchedule("A", (SchedulePeriod(0, 6.0),), 3600, T0, 4.0),
        valid_from=T0,
        valid_to=T0 + 7200,
        transaction_id=9,
    )
    assert parsed.problem() is None


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"schedule": {"chargingSchedulePeriod": []}}, "at least one period"),
        ({"schedule": {"chargingSchedulePeriod": [{"startPeriod": 10, "limit": 6}]}}, "start at 0"),
        (
            {"schedule": {"chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}, {"startPeriod": 0, "limit": 8}]}},
            "increase",
        ),
        ({"schedule": {"chargingSchedulePeriod": [{"startPeriod": 0, "limit": -1}]}}, "negative"),
        ({"schedule": {"chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6, "numberPhases": 4}]}}, "numberPhases"),
        ({"schedule": {"duration": 0}}, "duration"),
        ({"schedule": {"minChargingRate": -1}}, "minChargingRate"),
        ({"schedule": {"startSchedule": None}}, "needs startSchedule"),
        ({"chargingProfileKind": "Recurring"}, "recurrencyKind"),
        ({"validTo": format_time(T0)}, "validTo must be after validFrom"),
    ],
)
def test_invalid_profiles(changes: dict[str, Any], problem: str) -> None:
    data = payload(**changes)
    if data["chargingSchedule"].get("startSchedule", "") is None:
        del data["chargingSchedule"]["startSchedule"]
    found = ChargingProfile.from_payload(data).problem()
    assert found is not None and problem in found


def test_relative_profile_needs_no_start_schedule() -> None:
    data = payload(chargingProfileKind="Relative")
    del data["chargingSchedule"]["startSchedule"]
    assert ChargingProfile.from_payload(data).problem() is None
