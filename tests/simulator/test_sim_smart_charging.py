"""Smart Charging (OCPP 1.6 §3.13, §5.5, §5.7, §5.11, §5.16, §9.4; TC_056-TC_060, TC_066, TC_067, TC_072, TC_082).

The station's hardware delivers ``power_w``; at 3 x 230 V, 6 A is 4140 W and 10 A 6900 W. Limits here are whole
numbers: the station's answers are checked against the 1.6 schemas, whose ``multipleOf: 0.1`` the float-based
validator mis-judges for values such as 10.7.
"""

from __future__ import annotations

from typing import Any

import pytest
from sim_kit import T0, Sim, booted, charging

from ocppj.timefmt import format_time

WITHOUT_SMART_CHARGING = {
    "SupportedFeatureProfiles": "Core,FirmwareManagement,LocalAuthListManagement,Reservation,RemoteTrigger"
}
HARDWARE_W = 11040.0  # 16 A at 3 x 230 V


def cs_profile(
    purpose: str = "TxDefaultProfile",
    *,
    profile_id: int = 1,
    stack: int = 0,
    limits: tuple[float, ...] = (6.0,),
    every_s: int = 600,
    unit: str = "A",
    kind: str = "Absolute",
    start: float | None = T0,
    transaction_id: int | None = None,
    valid_from: float | None = None,
    valid_to: float | None = None,
    **schedule_fields: Any,
) -> dict[str, Any]:
    periods = [{"startPeriod": i * every_s, "limit": limit} for i, limit in enumerate(limits)]
    schedule: dict[str, Any] = {"chargingRateUnit": unit, "chargingSchedulePeriod": periods, **schedule_fields}
    if start is not None and kind != "Relative":
        schedule["startSchedule"] = format_time(start)
    profile: dict[str, Any] = {
        "chargingProfileId": profile_id,
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": schedule,
    }
    if transaction_id is not None:
        profile["transactionId"] = transaction_id
    if valid_from is not None:
        profile["validFrom"] = format_time(valid_from)
    if valid_to is not None:
        profile["validTo"] = format_time(valid_to)
    return profile


def set_profile(sim: Sim, connector_id: int, profile: dict[str, Any], answer: dict[str, Any] | None = None) -> str:
    payload = {"connectorId": connector_id, "csChargingProfiles": profile}
    return str(sim.call("SetChargingProfile", payload, answer=answer)["status"])


def clear(sim: Sim, **criteria: Any) -> str:
    return str(sim.call("ClearChargingProfile", criteria)["status"])


def schedule(sim: Sim, connector_id: int = 1, duration: int = 1800, unit: str | None = "A") -> list[tuple[int, float]]:
    payload: dict[str, Any] = {"connectorId": connector_id, "duration": duration}
    if unit is not None:
        payload["chargingRateUnit"] = unit
    reply = sim.call("GetCompositeSchedule", payload)
    assert reply["status"] == "Accepted"
    return [(p["startPeriod"], p["limit"]) for p in reply["chargingSchedule"]["chargingSchedulePeriod"]]


def station(**kwargs: Any) -> Sim:
    return booted(power_w=HARDWARE_W, **kwargs)


def charging_station(**kwargs: Any) -> Sim:
    return charging(power_w=HARDWARE_W, **kwargs)


# ------------------------------------------------------------------ SetChargingProfile


def test_tc_056_tx_default_profile() -> None:
    sim = station()
    profile = cs_profile(limits=(6.0, 10.0), valid_from=T0, valid_to=T0 + 3000, duration=1200)
    assert set_profile(sim, 1, profile) == "Accepted"
    assert schedule(sim, duration=3600) == [(0, 6), (600, 10), (1200, 16)]
    set_profile(sim, 1, cs_profile(profile_id=2, stack=1, limits=(8.0,), valid_from=T0 + 1800, valid_to=T0 + 2400))
    assert schedule(sim, duration=3600) == [(0, 6), (600, 10), (1200, 16), (1800, 8), (2400, 16)]


def test_tc_057_tx_profile_for_the_running_transaction() -> None:
    sim = charging_station()
    assert set_profile(sim, 1, cs_profile("TxProfile", transaction_id=100)) == "Accepted"
    assert schedule(sim) == [(0, 6)]


def test_tx_profile_without_transaction_id_takes_the_running_one() -> None:
    sim = charging_station()
    assert set_profile(sim, 1, cs_profile("TxProfile")) == "Accepted"
    assert schedule(sim) == [(0, 6)]


@pytest.mark.parametrize(
    ("setup", "connector_id", "profile"),
    [
        ("idle", 1, cs_profile("TxProfile")),  # TC_058_1: no transaction
        ("charging", 1, cs_profile("TxProfile", transaction_id=999)),  # TC_058_2: not this transaction
        ("charging", 0, cs_profile("TxProfile")),
        ("idle", 1, cs_profile("ChargePointMaxProfile")),
        ("idle", 2, cs_profile()),
        ("idle", -1, cs_profile()),
        ("idle", 1, cs_profile(stack=11)),
        ("idle", 1, cs_profile(stack=-1)),
        ("idle", 1, cs_profile(limits=(6.0,) * 25)),
        ("idle", 1, cs_profile(kind="Recurring")),  # no recurrencyKind
        ("idle", 1, cs_profile(start=None)),  # Absolute without startSchedule
    ],
    ids=[
        "tx-no-transaction",
        "tx-wrong-transaction",
        "tx-connector-0",
        "max-on-connector",
        "unknown-connector",
        "negative-connector",
        "stack-too-high",
        "stack-negative",
        "too-many-periods",
        "recurring-without-kind",
        "absolute-without-start",
    ],
)
def test_refused_profiles_are_rejected(setup: str, connector_id: int, profile: dict[str, Any]) -> None:
    sim = charging_station() if setup == "charging" else station()
    assert set_profile(sim, connector_id, profile) == "Rejected"
    assert clear(sim) == "Unknown"


def test_tx_profile_of_a_transaction_started_offline_has_no_transaction_id_yet() -> None:
    sim = station(config={"AllowOfflineTxForUnknownId": "true"})
    sim.go_offline()
    sim.plug(1)
    sim.token("VALID")
    assert sim.cp.connector_status(1) == "Charging"
    assert set_profile(sim, 1, cs_profile("TxProfile", transaction_id=100)) == "Rejected"
    assert set_profile(sim, 1, cs_profile("TxProfile")) == "Accepted"


def test_unit_must_be_allowed() -> None:
    sim = station(config={"ChargingScheduleAllowedChargingRateUnit": "Current"})
    assert set_profile(sim, 1, cs_profile(unit="W", limits=(6000.0,))) == "Rejected"
    assert set_profile(sim, 1, cs_profile(unit="A")) == "Accepted"
    sim = station(config={"ChargingScheduleAllowedChargingRateUnit": "Power"})
    assert set_profile(sim, 1, cs_profile(unit="A")) == "Rejected"


def test_max_charging_profiles_installed() -> None:
    sim = station(config={"MaxChargingProfilesInstalled": "2"})
    assert set_profile(sim, 1, cs_profile(profile_id=1, stack=0)) == "Accepted"
    assert set_profile(sim, 1, cs_profile(profile_id=2, stack=1)) == "Accepted"
    assert set_profile(sim, 1, cs_profile(profile_id=3, stack=2)) == "Rejected"
    assert set_profile(sim, 1, cs_profile(profile_id=2, stack=1, limits=(8.0,))) == "Accepted"  # a replacement
    assert schedule(sim) == [(0, 8)]


def test_same_id_replaces_even_on_another_connector() -> None:
    sim = station(connectors=2)
    set_profile(sim, 1, cs_profile(profile_id=4, limits=(6.0,)))
    set_profile(sim, 2, cs_profile(profile_id=4, limits=(8.0,)))
    assert schedule(sim, 1) == [(0, 16)]
    assert schedule(sim, 2) == [(0, 8)]


def test_same_purpose_and_stack_level_on_a_connector_replaces() -> None:
    sim = station()
    set_profile(sim, 1, cs_profile(profile_id=1, stack=3, limits=(6.0,)))
    set_profile(sim, 1, cs_profile(profile_id=2, stack=3, limits=(8.0,)))
    assert schedule(sim) == [(0, 8)]
    assert clear(sim, id=1) == "Unknown"


def test_without_the_profile() -> None:
    sim = station(config=WITHOUT_SMART_CHARGING)
    assert set_profile(sim, 1, cs_profile()) == "NotSupported"
    assert sim.refused("ClearChargingProfile", {}).error_code == "NotSupported"
    assert sim.refused("GetCompositeSchedule", {"connectorId": 1, "duration": 60}).error_code == "NotSupported"
    assert sim.call("ClearChargingProfile", {}, answer={"status": "Accepted"}) == {"status": "Accepted"}


def test_set_answer_overrides() -> None:
    sim = station()
    assert set_profile(sim, 1, cs_profile(), answer={"status": "Rejected"}) == "Rejected"
    assert set_profile(sim, 1, cs_profile("TxProfile"), answer={"status": "Accepted"}) == "Accepted"
    assert clear(sim) == "Unknown"  # nothing the station could install
    assert set_profile(sim, 1, cs_profile(), answer={"status": "Accepted"}) == "Accepted"
    assert schedule(sim) == [(0, 6)]


# ------------------------------------------------------------------ ClearChargingProfile


def test_tc_067_clear_by_id_by_criteria_and_all() -> None:
    sim = station()
    for n in range(3):
        assert set_profile(sim, 1, cs_profile(profile_id=10 + n, stack=2 + n, limits=(6.0 + n,))) == "Accepted"
    assert schedule(sim) == [(0, 8)]
    assert clear(sim, id=12) == "Accepted"
    assert schedule(sim) == [(0, 7)]
    assert clear(sim, connectorId=1, chargingProfilePurpose="TxDefaultProfile", stackLevel=3) == "Accepted"
    assert schedule(sim) == [(0, 6)]
    assert clear(sim) == "Accepted"
    assert schedule(sim) == [(0, 16)]
    assert clear(sim) == "Unknown"


def test_tc_067_2026_edition_profiles() -> None:
    """2026 edition: ChargePointMax on connector 0, TxDefault and TxProfile on connector 1 while charging."""
    sim = charging_station()
    assert set_profile(sim, 0, cs_profile("ChargePointMaxProfile", profile_id=1, limits=(10.0,))) == "Accepted"
    assert set_profile(sim, 1, cs_profile(profile_id=2, stack=1, limits=(8.0,))) == "Accepted"
    assert set_profile(sim, 1, cs_profile("TxProfile", profile_id=3, limits=(6.0,), transaction_id=100)) == "Accepted"
    assert schedule(sim) == [(0, 6)]
    assert clear(sim, id=3) == "Accepted"
    assert schedule(sim) == [(0, 8)]
    assert clear(sim, connectorId=1, chargingProfilePurpose="TxDefaultProfile", stackLevel=1) == "Accepted"
    assert schedule(sim) == [(0, 10)]
    assert clear(sim) == "Accepted"


@pytest.mark.parametrize(
    "criteria",
    [{"id": 99}, {"connectorId": 2}, {"chargingProfilePurpose": "TxProfile"}, {"stackLevel": 1}],
    ids=["id", "connector", "purpose", "stack-level"],
)
def test_clear_with_nothing_matching_is_unknown(criteria: dict[str, Any]) -> None:
    sim = station(connectors=2)
    set_profile(sim, 1, cs_profile())
    assert clear(sim, **criteria) == "Unknown"
    assert schedule(sim) == [(0, 6)]


def test_clear_by_id_ignores_the_other_criteria() -> None:
    sim = station()
    set_profile(sim, 1, cs_profile(profile_id=5))
    assert clear(sim, id=5, connectorId=0, stackLevel=9) == "Accepted"


def test_clear_answer_override_unknown_removes_nothing() -> None:
    sim = station()
    set_profile(sim, 1, cs_profile())
    assert sim.call("ClearChargingProfile", {}, answer={"status": "Unknown"}) == {"status": "Unknown"}
    assert schedule(sim) == [(0, 6)]


# ------------------------------------------------------------------ TxProfiles live with their transaction


def test_tx_profile_removed_when_the_transaction_stops() -> None:
    sim = charging_station()
    set_profile(sim, 1, cs_profile("TxProfile"))
    sim.token("VALID")
    assert clear(sim, chargingProfilePurpose="TxProfile") == "Unknown"
    sim.unplug(1)
    sim.plug(1)
    sim.token("VALID")
    assert schedule(sim) == [(0, 16)]


def test_tx_profile_removed_when_a_power_loss_ends_the_transaction() -> None:
    sim = charging_station()
    set_profile(sim, 1, cs_profile("TxProfile"))
    sim.power_cycle()
    sim.advance(10)
    assert clear(sim) == "Unknown"


def test_tx_default_profiles_stay_after_the_transaction() -> None:
    sim = charging_station()
    set_profile(sim, 1, cs_profile())
    sim.token("VALID")
    assert clear(sim) == "Accepted"


# ------------------------------------------------------------------ GetCompositeSchedule


def test_tc_066_composite_schedule_answer() -> None:
    sim = station()
    set_profile(sim, 1, cs_profile(limits=(6.0, 10.0), minChargingRate=2.0))
    sim.advance(0.6)
    assert sim.call("GetCompositeSchedule", {"connectorId": 1, "duration": 900, "chargingRateUnit": "W"}) == {
        "status": "Accepted",
        "connectorId": 1,
        "scheduleStart": format_time(T0),  # whole seconds
        "chargingSchedule": {
            "duration": 900,
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 4140.0}, {"startPeriod": 600, "limit": 6900.0}],
            "minChargingRate": 1380.0,
        },
    }


def test_composite_for_the_whole_station() -> None:
    """Connector 0: its TxDefault capped by the ChargePointMax; without profiles the station's hardware."""
    sim = station(connectors=2)
    assert schedule(sim, 0, unit="W") == [(0, 2 * HARDWARE_W)]
    set_profile(sim, 0, cs_profile(profile_id=1, limits=(20.0,)))
    set_profile(sim, 0, cs_profile("ChargePointMaxProfile", profile_id=2, limits=(12.0,), duration=600))
    set_profile(sim, 1, cs_profile(profile_id=3, limits=(8.0,)))
    assert schedule(sim, 0) == [(0, 12), (600, 20)]
    assert schedule(sim, 2) == [(0, 12), (600, 20)]  # connector 0's TxDefault applies to every connector
    assert schedule(sim, 1) == [(0, 8)]  # unless the connector has its own


def test_composite_without_unit_uses_the_limit_in_force() -> None:
    sim = station()
    set_profile(sim, 1, cs_profile(unit="W", limits=(5000.0,)))
    reply = sim.call("GetCompositeSchedule", {"connectorId": 1, "duration": 60})
    assert reply["chargingSchedule"]["chargingRateUnit"] == "W"


def test_composite_with_number_phases() -> None:
    sim = station()
    profile = cs_profile()
    profile["chargingSchedule"]["chargingSchedulePeriod"][0]["numberPhases"] = 1
    set_profile(sim, 1, profile)
    reply = sim.call("GetCompositeSchedule", {"connectorId": 1, "duration": 60, "chargingRateUnit": "W"})
    assert reply["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 1380.0, "numberPhases": 1}
    ]


@pytest.mark.parametrize(("connector_id", "duration"), [(2, 60), (-1, 60), (1, 0)])
def test_composite_rejected(connector_id: int, duration: int) -> None:
    reply = station().call("GetCompositeSchedule", {"connectorId": connector_id, "duration": duration})
    assert reply == {"status": "Rejected"}


def test_composite_answer_override() -> None:
    answer = {"status": "Rejected"}
    assert station().call("GetCompositeSchedule", {"connectorId": 1, "duration": 60}, answer=answer) == answer


def test_composite_relative_tx_default_starts_with_the_transaction() -> None:
    sim = station()
    set_profile(sim, 1, cs_profile(kind="Relative", limits=(6.0, 10.0)))
    assert schedule(sim, duration=900) == [(0, 6), (600, 10)]
    sim.plug(1)
    sim.token("VALID")
    sim.advance(300)
    assert schedule(sim, duration=900) == [(0, 6), (300, 10)]


# ------------------------------------------------------------------ RemoteStartTransaction with a profile (§5.11)


def remote_start(sim: Sim, profile: dict[str, Any] | None, connector_id: int = 1) -> str:
    payload: dict[str, Any] = {"idTag": "VALID", "connectorId": connector_id}
    if profile is not None:
        payload["chargingProfile"] = profile
    return str(sim.call("RemoteStartTransaction", payload)["status"])


def test_tc_059_remote_start_with_a_tx_profile() -> None:
    sim = station()
    assert remote_start(sim, cs_profile("TxProfile", kind="Relative", limits=(6.0, 10.0))) == "Accepted"
    assert sim.flow() == ["Authorize", "StatusNotification:1:Preparing"]
    sim.advance(20)
    sim.plug(1)
    assert sim.flow() == ["StartTransaction", "StatusNotification:1:Charging"]
    assert schedule(sim, duration=900) == [(0, 6), (600, 10)]  # relative to the transaction's start
    sim.advance(600)
    assert sim.cp.meter_wh(1, sim.now) == 690  # 4140 W for 600 s


def test_remote_start_with_a_profile_on_a_plugged_connector() -> None:
    sim = station(config={"AuthorizeRemoteTxRequests": "false"})
    sim.plug(1)
    assert remote_start(sim, cs_profile("TxProfile", kind="Relative")) == "Accepted"
    assert schedule(sim) == [(0, 6)]


@pytest.mark.parametrize(
    "profile",
    [
        cs_profile("TxDefaultProfile", kind="Relative"),
        cs_profile("ChargePointMaxProfile", kind="Relative"),
        cs_profile("TxProfile", kind="Relative", transaction_id=5),
        cs_profile("TxProfile", kind="Relative", stack=99),
        cs_profile("TxProfile", kind="Relative", limits=()),
    ],
    ids=["tx-default", "charge-point-max", "transaction-id", "stack-too-high", "no-periods"],
)
def test_tc_060_remote_start_with_an_unusable_profile_is_rejected(profile: dict[str, Any]) -> None:
    sim = station()
    assert remote_start(sim, profile) == "Rejected"
    assert sim.flow() == []


def test_remote_start_profile_ignored_without_smart_charging() -> None:
    sim = station(config=WITHOUT_SMART_CHARGING)
    assert remote_start(sim, cs_profile("TxDefaultProfile", kind="Relative")) == "Accepted"


def test_remote_start_profile_dropped_when_the_identification_times_out() -> None:
    sim = station(config={"ConnectionTimeOut": "30"})
    remote_start(sim, cs_profile("TxProfile", kind="Relative"))
    sim.advance(30)
    sim.plug(1)
    sim.token("VALID")
    assert sim.cp.transaction_id(1) == 100
    assert schedule(sim) == [(0, 16)]


def test_remote_start_profile_only_for_its_own_tag() -> None:
    sim = station(config={"AuthorizeRemoteTxRequests": "false"})
    remote_start(sim, cs_profile("TxProfile", kind="Relative"))
    sim.cp.present_token(1, "OTHER", sim.now)  # ignored: an identification is under way
    sim.plug(1)
    assert schedule(sim) == [(0, 6)]


def test_imposed_accepted_remote_start_with_a_refused_profile_starts_without_it() -> None:
    sim = station(config={"AuthorizeRemoteTxRequests": "false"})
    sim.plug(1)
    payload = {"idTag": "VALID", "connectorId": 1, "chargingProfile": cs_profile("TxDefaultProfile")}
    assert sim.call("RemoteStartTransaction", payload, answer={"status": "Accepted"}) == {"status": "Accepted"}
    assert sim.cp.connector_status(1) == "Charging"
    assert schedule(sim) == [(0, 16)]


# ------------------------------------------------------------------ the meter follows the limits


def test_meter_follows_a_tx_profile() -> None:
    sim = charging_station(config={"MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import"})
    set_profile(sim, 1, cs_profile("TxProfile", limits=(6.0,)))
    sim.advance(3600)
    assert sim.cp.meter_wh(1, sim.now) == 4140
    sim.call("TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1})
    values = sim.take()[-1].payload["meterValue"][0]["sampledValue"]
    assert [v["value"] for v in values] == ["4140", "4140"]


def test_meter_follows_period_boundaries() -> None:
    """6 A for 600 s then 10 A: 690 Wh + 1150 Wh after 1200 s, and the hardware's 16 A once it ends."""
    sim = charging_station()
    set_profile(sim, 1, cs_profile("TxProfile", limits=(6.0, 10.0), duration=1200))
    sim.advance(1200)
    assert sim.cp.meter_wh(1, sim.now) == 690 + 1150
    sim.advance(3600)
    assert sim.cp.meter_wh(1, sim.now) == 690 + 1150 + 11040


def test_limits_above_the_hardware_do_not_raise_the_power() -> None:
    sim = charging_station()
    set_profile(sim, 1, cs_profile("TxProfile", limits=(32.0,)))
    sim.advance(3600)
    assert sim.cp.meter_wh(1, sim.now) == 11040


def test_clearing_restores_the_hardware_power() -> None:
    sim = charging_station()
    set_profile(sim, 1, cs_profile(limits=(6.0,)))
    sim.advance(1800)
    clear(sim)
    sim.advance(1800)
    assert sim.cp.meter_wh(1, sim.now) == 2070 + 5520


def test_charge_point_max_is_shared_among_transactions() -> None:
    sim = station(connectors=2)
    set_profile(sim, 0, cs_profile("ChargePointMaxProfile", limits=(12.0,)))
    for connector_id in (1, 2):
        sim.plug(connector_id)
        sim.token("VALID" if connector_id == 1 else "OTHER", connector_id)
    sim.advance(3600)
    assert (sim.cp.meter_wh(1, sim.now), sim.cp.meter_wh(2, sim.now)) == (4140, 4140)
    sim.token("OTHER", 2)  # one stops: the other may take the whole cap
    sim.advance(3600)
    assert sim.cp.meter_wh(1, sim.now) == 4140 + 8280


def test_tx_default_applies_to_a_scenario_started_transaction() -> None:
    sim = station()
    set_profile(sim, 1, cs_profile(limits=(6.0,)))
    payload = sim.cp.default_payload("StartTransaction", connector_id=1, id_tag="VALID", now=sim.now)
    sim.cp.enqueue("StartTransaction", payload)
    sim.pump()
    sim.advance(3600)
    assert sim.cp.meter_wh(1, sim.now) == 4140


def test_tc_072_stacked_profiles_drive_the_meter() -> None:
    """TxDefault level 0: 10 A; level 1: 6 A for the first 1200 s of the hour; a TxProfile 16 A for 600 s."""
    sim = charging_station()
    set_profile(sim, 1, cs_profile(profile_id=1, limits=(10.0,)))
    set_profile(sim, 1, cs_profile(profile_id=2, stack=1, limits=(6.0,), duration=1200))
    set_profile(sim, 1, cs_profile("TxProfile", profile_id=3, limits=(16.0,), duration=600))
    assert schedule(sim, duration=3600) == [(0, 16), (600, 6), (1200, 10)]
    sim.advance(3600)
    assert sim.cp.meter_wh(1, sim.now) == 1840 + 690 + 6900 * 2400 // 3600
