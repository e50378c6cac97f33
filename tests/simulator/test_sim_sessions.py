"""Local charging sessions: connector state machine (OCPP 1.6 §4.9), authorization (§3.5, §4.1), transactions
(§4.10, §4.11) and meter values (§3.16, §4.7)."""

from __future__ import annotations

import pytest
from sim_kit import T0, booted, charging

from ocppj.timefmt import format_time


def test_tc_003_plug_in_first() -> None:
    sim = booted()
    sim.plug(1)
    assert sim.flow() == ["StatusNotification:1:Preparing"]
    sim.token("VALID")
    sent = sim.take()
    assert [s.action for s in sent] == ["Authorize", "StartTransaction", "StatusNotification"]
    assert sent[0].payload == {"idTag": "VALID"}
    assert sent[1].payload == {"connectorId": 1, "idTag": "VALID", "meterStart": 0, "timestamp": format_time(T0)}
    assert sent[1].call.transactional
    assert sent[2].payload["status"] == "Charging"
    assert sim.cp.transaction_id(1) == 100
    assert sim.cp.connector_status(1) == "Charging"


def test_tc_004_1_identification_first() -> None:
    sim = booted()
    sim.token("VALID")
    assert sim.flow() == ["Authorize", "StatusNotification:1:Preparing"]
    assert sim.cp.transaction_id(1) is None
    sim.advance(5)
    sim.plug(1)
    sent = sim.take()
    assert [s.action for s in sent] == ["StartTransaction", "StatusNotification"]
    assert sent[0].payload["timestamp"] == format_time(T0 + 5)
    assert sim.cp.connector_status(1) == "Charging"


def test_tc_004_2_connection_timeout_returns_to_available() -> None:
    sim = booted(config={"ConnectionTimeOut": "30"})
    sim.token("VALID")
    assert sim.flow() == ["Authorize", "StatusNotification:1:Preparing"]
    sim.advance(29)
    assert sim.flow() == []
    sim.advance(31)
    sent = sim.take()
    assert [s.payload["status"] for s in sent if s.action == "StatusNotification"] == ["Available"]
    assert sent[0].payload["timestamp"] == format_time(T0 + 30)
    sim.plug(1)
    assert sim.flow() == ["StatusNotification:1:Preparing"]


def test_connection_timeout_zero_waits_for_the_cable() -> None:
    sim = booted(config={"ConnectionTimeOut": "0"})
    sim.token("VALID")
    sim.take()
    sim.advance(100_000)
    assert "StatusNotification:1:Available" not in sim.flow()
    sim.plug(1)
    assert sim.flow() == ["StartTransaction", "StatusNotification:1:Charging"]


def test_tc_005_1_ev_side_disconnect_stops_transaction() -> None:
    sim = charging()
    sim.advance(1800)
    sim.take()
    sim.unplug(1)
    sent = sim.take()
    assert [(s.action, s.payload.get("status") or s.payload.get("reason")) for s in sent] == [
        ("StatusNotification", "SuspendedEV"),
        ("StopTransaction", "EVDisconnected"),
        ("StatusNotification", "Finishing"),
        ("StatusNotification", "Available"),
    ]
    assert sent[1].payload == {
        "transactionId": 100,
        "meterStop": 3700,
        "timestamp": format_time(T0 + 1800),
        "reason": "EVDisconnected",
    }
    assert sim.cp.transaction_id(1) is None


def test_ev_side_disconnect_without_unlock_keeps_the_cable_locked_until_unlock_connector() -> None:
    """§9.1.27 UnlockConnectorOnEVSideDisconnect=false: the socket keeps the cable locked after the stop."""
    sim = charging(config={"UnlockConnectorOnEVSideDisconnect": "false"})
    sim.unplug(1)
    assert sim.flow() == [
        "StatusNotification:1:SuspendedEV",
        "StopTransaction:EVDisconnected",
        "StatusNotification:1:Finishing",
    ]
    sim.advance(600)
    assert [action for action in sim.flow() if action != "Heartbeat"] == []
    assert sim.cp.connector_status(1) == "Finishing"
    assert sim.call("UnlockConnector", {"connectorId": 1}) == {"status": "Unlocked"}
    assert sim.flow() == ["StatusNotification:1:Available"]


def test_ev_side_disconnect_of_a_fixed_cable_is_never_locked_at_the_station() -> None:
    sim = charging(config={"UnlockConnectorOnEVSideDisconnect": "false"}, fixed_cable=True)
    sim.unplug(1)
    assert sim.flow() == [
        "StatusNotification:1:SuspendedEV",
        "StopTransaction:EVDisconnected",
        "StatusNotification:1:Finishing",
        "StatusNotification:1:Available",
    ]


def test_tc_005_3_ev_side_disconnect_keeps_transaction() -> None:
    sim = charging(config={"StopTransactionOnEVSideDisconnect": "false"})
    sim.advance(360)
    sim.take()
    sim.unplug(1)
    assert sim.flow() == ["StatusNotification:1:SuspendedEV"]
    assert sim.cp.transaction_id(1) == 100
    assert sim.cp.meter_wh(1, sim.now) == 740
    sim.advance(3600)
    sim.take()
    assert sim.cp.meter_wh(1, sim.now) == 740  # no energy without the EV
    sim.plug(1)
    assert sim.flow() == ["StatusNotification:1:Charging"]


def test_tc_007_cached_id_skips_authorize() -> None:
    sim = booted(config={"LocalPreAuthorize": "true"})
    sim.token("VALID")  # fills the authorization cache
    sim.plug(1)
    sim.token("VALID")
    sim.unplug(1)
    sim.take()
    sim.plug(1)
    assert sim.flow() == ["StatusNotification:1:Preparing"]
    sim.token("VALID")
    assert sim.flow() == ["StartTransaction", "StatusNotification:1:Charging"]


def test_cache_is_not_used_online_without_local_pre_authorize() -> None:
    sim = booted()
    sim.token("VALID")
    sim.take()
    sim.advance(120)
    sim.take()
    sim.plug(1)
    sim.token("VALID")
    assert sim.flow() == [
        "StatusNotification:1:Preparing",
        "Authorize",
        "StartTransaction",
        "StatusNotification:1:Charging",
    ]


def test_cache_disabled_means_authorize_every_time() -> None:
    sim = booted(config={"LocalPreAuthorize": "true", "AuthorizationCacheEnabled": "false"})
    sim.token("VALID")
    sim.advance(120)
    sim.take()
    sim.token("VALID")
    assert sim.flow() == ["Authorize", "StatusNotification:1:Preparing"]


def test_cached_entry_past_expiry_is_authorized_again() -> None:
    sim = booted(config={"LocalPreAuthorize": "true", "ConnectionTimeOut": "10"})
    sim.csms.tags["VALID"] = {"status": "Accepted", "expiryDate": format_time(T0 + 60)}
    sim.token("VALID")
    sim.advance(100)
    sim.take()
    sim.token("VALID")
    assert sim.flow()[0] == "Authorize"


@pytest.mark.parametrize("tag", ["UNKNOWN", "BLOCKED", "EXPIRED"])
def test_tc_023_not_accepted_plugged_connector_stays_preparing(tag: str) -> None:
    sim = booted()
    sim.plug(1)
    sim.token(tag)
    assert sim.flow() == ["StatusNotification:1:Preparing", "Authorize"]
    assert sim.cp.connector_status(1) == "Preparing"
    assert sim.cp.transaction_id(1) is None


def test_tc_023_not_accepted_token_first_stays_available() -> None:
    sim = booted()
    sim.token("UNKNOWN")
    assert sim.flow() == ["Authorize"]
    assert sim.cp.connector_status(1) == "Available"


def test_tc_024_lock_failure_faults_the_connector() -> None:
    sim = booted()
    sim.token("VALID")
    assert sim.flow() == ["Authorize", "StatusNotification:1:Preparing"]
    sim.fault(1, "ConnectorLockFailure")
    sent = sim.take()
    assert [s.payload for s in sent] == [
        {"connectorId": 1, "errorCode": "ConnectorLockFailure", "status": "Faulted", "timestamp": format_time(T0)}
    ]
    sim.plug(1)
    assert sim.flow() == []  # no transaction on a faulted connector (TC_041_CS)
    sim.token("VALID")
    assert sim.flow() == []
    sim.clear_fault(1)
    assert sim.flow() == ["StatusNotification:1:Preparing"]


def test_fault_during_transaction_pauses_energy() -> None:
    sim = charging()
    sim.advance(360)
    sim.take()
    sim.fault(1, "HighTemperature")
    assert sim.flow() == ["StatusNotification:1:Faulted:HighTemperature"]
    sim.advance(3600)
    sim.take()
    assert sim.cp.meter_wh(1, sim.now) == 740
    sim.clear_fault(1)
    assert sim.flow() == ["StatusNotification:1:Charging"]
    assert sim.cp.transaction_id(1) == 100


def test_station_fault_on_connector_zero_blocks_new_sessions() -> None:
    sim = booted()
    sim.fault(0, "PowerSwitchFailure")
    assert sim.flow() == ["StatusNotification:0:Faulted:PowerSwitchFailure"]
    sim.plug(1)
    sim.token("VALID")
    assert sim.flow() == ["StatusNotification:1:Preparing"]
    sim.clear_fault(0)
    assert sim.flow() == ["StatusNotification:0:Available"]


def test_tc_068_stop_with_the_same_tag() -> None:
    sim = charging()
    sim.advance(60)
    sim.take()
    sim.token("VALID")
    sent = sim.take()
    assert [s.action for s in sent] == ["StopTransaction", "StatusNotification"]
    assert sent[0].payload == {
        "transactionId": 100,
        "idTag": "VALID",
        "meterStop": 123,
        "timestamp": format_time(T0 + 60),
        "reason": "Local",
    }
    assert sent[1].payload["status"] == "Finishing"
    sim.unplug(1)
    assert sim.flow() == ["StatusNotification:1:Available"]


def test_stop_tag_is_compared_without_case() -> None:
    """idTag is a CiString20 (OCPP 1.6 §7.27)."""
    sim = charging()
    sim.token("valid")
    assert sim.flow() == ["StopTransaction:Local", "StatusNotification:1:Finishing"]


def test_tc_069_stop_with_a_tag_of_the_same_group() -> None:
    sim = charging(tag="GROUP_A")
    sim.token("GROUP_B")
    sent = sim.take()
    assert [s.action for s in sent] == ["Authorize", "StopTransaction", "StatusNotification"]
    assert sent[1].payload["idTag"] == "GROUP_B"
    assert sent[1].payload["reason"] == "Local"


def test_group_stop_uses_the_cache_with_local_pre_authorize() -> None:
    sim = charging(tag="GROUP_A", connectors=2, config={"LocalPreAuthorize": "true"})
    sim.token("GROUP_B", 2)  # learn GROUP_B on the other connector
    sim.advance(120)
    sim.take()
    sim.token("GROUP_B", 1)
    assert sim.flow() == ["StopTransaction:Local", "StatusNotification:1:Finishing"]


def test_other_tag_cannot_stop_a_transaction_without_group() -> None:
    sim = charging()
    sim.token("OTHER")
    assert sim.flow() == []
    assert sim.cp.transaction_id(1) == 100


def test_tag_of_another_group_does_not_stop() -> None:
    sim = charging(tag="GROUP_A")
    sim.csms.tags["STRANGER"] = {"status": "Accepted", "parentIdTag": "ELSEWHERE"}
    sim.token("STRANGER")
    assert sim.flow() == ["Authorize"]
    assert sim.cp.transaction_id(1) == 100


def test_start_rejected_online_with_stop_on_invalid_id() -> None:
    """§4.10 with StopTransactionOnInvalidId true: StopTransaction reason DeAuthorized, Finishing."""
    sim = booted()
    sim.csms.start_tag_status["VALID"] = "Invalid"
    sim.plug(1)
    sim.token("VALID")
    sent = sim.take()
    assert [s.action for s in sent][1:] == ["Authorize", "StartTransaction", "StopTransaction", "StatusNotification"]
    stop = sent[3].payload
    assert stop["reason"] == "DeAuthorized" and stop["transactionId"] == 100 and "idTag" not in stop
    assert sent[4].payload["status"] == "Finishing"


def test_start_rejected_online_without_stop_on_invalid_id_suspends() -> None:
    """TC_037_2_CS behaviour online: the transaction goes on, energy suspended by the station."""
    sim = booted(config={"StopTransactionOnInvalidId": "false"})
    sim.csms.start_tag_status["VALID"] = "Blocked"
    sim.plug(1)
    sim.token("VALID")
    assert sim.flow()[-2:] == ["StartTransaction", "StatusNotification:1:SuspendedEVSE"]
    assert sim.cp.transaction_id(1) == 100
    sim.advance(3600)
    assert sim.cp.meter_wh(1, sim.now) == 0


def test_start_answer_fills_the_cache() -> None:
    sim = booted(config={"LocalPreAuthorize": "true"})
    sim.csms.tags["NEWTAG"] = {"status": "Accepted"}
    call = sim.cp.enqueue(
        "StartTransaction", sim.cp.default_payload("StartTransaction", connector_id=1, id_tag="NEWTAG", now=sim.now)
    )
    sim.pump()
    assert any(s.call is call for s in sim.take())
    sim.token("NEWTAG")  # stops the adopted transaction without asking the CSMS
    assert sim.flow() == ["StopTransaction:Local", "StatusNotification:1:Finishing"]


def test_meter_values_every_sample_interval() -> None:
    """§9.1.15 MeterValueSampleInterval; register = meter_start + power * time (TC_070_CS)."""
    sim = charging(config={"MeterValueSampleInterval": "60"}, meter_start_wh=1000)
    sim.advance(180)
    sent = [s for s in sim.take() if s.action == "MeterValues"]
    assert [s.at for s in sent] == [T0 + 60, T0 + 120, T0 + 180]
    assert all(s.call.transactional for s in sent)
    assert sent[0].payload == {
        "connectorId": 1,
        "transactionId": 100,
        "meterValue": [
            {
                "timestamp": format_time(T0 + 60),
                "sampledValue": [
                    {
                        "value": "1123",
                        "context": "Sample.Periodic",
                        "measurand": "Energy.Active.Import.Register",
                        "unit": "Wh",
                    }
                ],
            }
        ],
    }
    assert [s.payload["meterValue"][0]["sampledValue"][0]["value"] for s in sent] == ["1123", "1246", "1370"]


def test_meter_values_are_deterministic_however_coarse_the_ticks() -> None:
    """Samples fire at their own times even when the runtime ticks late."""
    sim = charging(config={"MeterValueSampleInterval": "60"})
    sim.cp.tick(sim.now + 185)
    sim.now += 185
    sim.pump()
    sent = [s.payload for s in sim.take() if s.action == "MeterValues"]
    assert [p["meterValue"][0]["timestamp"] for p in sent] == [format_time(T0 + 60 * i) for i in (1, 2, 3)]
    assert [p["meterValue"][0]["sampledValue"][0]["value"] for p in sent] == ["123", "246", "370"]


def test_meter_values_with_power_measurand() -> None:
    sim = charging(
        config={
            "MeterValueSampleInterval": "60",
            "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import",
        }
    )
    sim.advance(60)
    sampled = next(s for s in sim.take() if s.action == "MeterValues").payload["meterValue"][0]["sampledValue"]
    assert sampled[1] == {
        "value": "7400",
        "context": "Sample.Periodic",
        "measurand": "Power.Active.Import",
        "unit": "W",
    }


def test_sample_interval_change_rearms_sampling() -> None:
    sim = charging()
    sim.advance(100)
    sim.take()
    sim.call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "30"})
    sim.advance(60)
    assert [s.at for s in sim.take() if s.action == "MeterValues"] == [T0 + 130, T0 + 160]
    sim.call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "0"})
    sim.advance(600)
    assert [s for s in sim.take() if s.action == "MeterValues"] == []


def test_no_periodic_samples_after_stop() -> None:
    sim = charging(config={"MeterValueSampleInterval": "60"})
    sim.token("VALID")
    sim.advance(600)
    assert [s for s in sim.take() if s.action == "MeterValues"] == []


def test_clock_aligned_meter_values() -> None:
    """§9.1.3 ClockAlignedDataInterval: at multiples of the interval since midnight (TC_071_CS)."""
    sim = booted(config={"ClockAlignedDataInterval": "900"})
    sim.advance(900)
    idle = [s for s in sim.take() if s.action == "MeterValues"]
    assert len(idle) == 1 and "transactionId" not in idle[0].payload and not idle[0].call.transactional
    assert idle[0].payload["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Clock"
    assert idle[0].payload["meterValue"][0]["timestamp"] == format_time(T0 + 900)
    sim.plug(1)
    sim.token("VALID")
    sim.advance(900)
    in_tx = [s for s in sim.take() if s.action == "MeterValues"]
    assert len(in_tx) == 1 and in_tx[0].payload["transactionId"] == 100 and in_tx[0].call.transactional


def test_stop_meter_is_start_plus_energy_and_next_start_continues() -> None:
    sim = charging(meter_start_wh=500, power_w=3600.0)
    sim.advance(1800)
    sim.token("VALID")
    stop = next(s for s in sim.take() if s.action == "StopTransaction")
    assert stop.payload["meterStop"] == 2300
    sim.unplug(1)
    sim.plug(1)
    sim.token("VALID")
    start = next(s for s in sim.take() if s.action == "StartTransaction")
    assert start.payload["meterStart"] == 2300
    assert start.payload["idTag"] == "VALID"


def test_token_on_finishing_connector_starts_a_new_transaction() -> None:
    sim = charging()
    sim.token("VALID")
    sim.take()
    sim.token("OTHER")
    assert sim.flow() == [
        "Authorize",
        "StartTransaction",
        "StatusNotification:1:Preparing",
        "StatusNotification:1:Charging",
    ]
    assert sim.cp.transaction_id(1) == 101


def test_two_connectors_are_independent() -> None:
    sim = booted(connectors=2)
    sim.plug(1)
    sim.token("VALID", 1)
    sim.plug(2)
    sim.token("OTHER", 2)
    assert sim.flow() == [
        "StatusNotification:1:Preparing",
        "Authorize",
        "StartTransaction",
        "StatusNotification:1:Charging",
        "StatusNotification:2:Preparing",
        "Authorize",
        "StartTransaction",
        "StatusNotification:2:Charging",
    ]
    assert (sim.cp.transaction_id(1), sim.cp.transaction_id(2)) == (100, 101)
    sim.advance(360)
    assert sim.cp.meter_wh(0, sim.now) == 2 * 740


def test_second_token_while_authorizing_is_ignored() -> None:
    from sim_kit import Hold

    sim = booted()
    sim.queue_reply("Authorize", Hold())
    sim.token("VALID")
    sim.token("OTHER")
    sim.release()
    assert sim.flow() == ["Authorize", "StatusNotification:1:Preparing"]


def test_authorize_error_falls_back_to_local_rules() -> None:
    from sim_kit import Error

    sim = booted(config={"AllowOfflineTxForUnknownId": "true"})
    sim.queue_reply("Authorize", Error("InternalError"))
    sim.plug(1)
    sim.token("OTHER")
    assert sim.flow() == [
        "StatusNotification:1:Preparing",
        "Authorize",
        "StartTransaction",
        "StatusNotification:1:Charging",
    ]
    assert [d.action for d in sim.cp.dropped_messages] == ["Authorize"]
