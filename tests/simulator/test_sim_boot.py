"""Registration (OCPP 1.6 §4.2, TC_001) and heartbeats (§4.6) of the station model."""

from __future__ import annotations

import pytest
from sim_kit import T0, Error, Hold, Sim, Timeout, booted

from ocppj.timefmt import format_time
from simulator.model import BOOT_RETRY_INTERVAL_S


def test_boot_accepted_reports_every_connector_including_zero() -> None:
    """TC_001: BootNotification, then StatusNotification(Available) for connector 0 and each connector."""
    sim = Sim(connectors=2)
    sent = sim.take()
    assert [s.action for s in sent] == ["BootNotification"] + ["StatusNotification"] * 3
    assert sent[0].payload == {
        "chargePointVendor": "ocpp-harness",
        "chargePointModel": "Simulator",
        "firmwareVersion": "1.0.0",
    }
    assert [s.payload for s in sent[1:]] == [
        {"connectorId": i, "errorCode": "NoError", "status": "Available", "timestamp": format_time(T0)}
        for i in range(3)
    ]
    assert sim.cp.registration == "Accepted"
    assert sim.cp.configuration()["HeartbeatInterval"] == "300"


def test_boot_payload_carries_the_spec() -> None:
    sim = Sim(vendor="ACME", model="Wallbox 7", serial_number="SN-0042", firmware_version="4.2.1")
    boot = sim.take()[0]
    assert boot.payload == {
        "chargePointVendor": "ACME",
        "chargePointModel": "Wallbox 7",
        "chargePointSerialNumber": "SN-0042",
        "firmwareVersion": "4.2.1",
    }
    assert not boot.call.transactional


def test_station_starts_unregistered_and_wanting_a_connection() -> None:
    sim = Sim(auto_connect=False)
    assert sim.cp.registration is None
    assert sim.cp.wants_connection()
    assert sim.cp.next_call(T0) is None  # not connected
    assert sim.cp.connector_status(1) == "Available"


def test_nothing_but_boot_before_registration_even_explicit_calls() -> None:
    """§4.2: BootNotification is the first CALL; a scenario's explicit call waits behind it."""
    sim = Sim(auto_connect=False)
    heartbeat = sim.cp.enqueue("Heartbeat", {})
    sim.connect()
    sent = sim.take()
    assert [s.action for s in sent[:2]] == ["BootNotification", "Heartbeat"]
    assert sent[1].call is heartbeat


def test_boot_interval_sets_heartbeat_interval() -> None:
    sim = Sim(auto_connect=False)
    sim.csms.boot_interval = 42
    sim.connect()
    assert sim.cp.configuration()["HeartbeatInterval"] == "42"


def test_boot_accepted_with_interval_zero_keeps_configured_heartbeat() -> None:
    sim = Sim(auto_connect=False, config={"HeartbeatInterval": "120"})
    sim.csms.boot_interval = 0
    sim.connect()
    assert sim.cp.configuration()["HeartbeatInterval"] == "120"


def test_pending_is_silent_then_retries_after_interval() -> None:
    """§4.2 Pending: nothing but answers to the CSMS until ``interval`` has passed, then BootNotification again."""
    sim = Sim(auto_connect=False)
    sim.csms.boot_status, sim.csms.boot_interval = "Pending", 30
    sim.connect()
    assert sim.flow() == ["BootNotification"]
    assert sim.cp.registration == "Pending"
    sim.plug(1)
    sim.advance(29.9)
    assert sim.flow() == []
    assert sim.cp.next_deadline() == pytest.approx(T0 + 30)
    sim.csms.boot_status = "Accepted"
    sim.advance(0.1)
    assert sim.flow() == [
        "BootNotification",
        "StatusNotification:0:Available",
        "StatusNotification:1:Preparing",
    ]
    assert sim.take() == []


def test_pending_answers_configuration_calls() -> None:
    """TC_002_CS: during Pending the CSMS may read and change the configuration."""
    sim = Sim(auto_connect=False)
    sim.csms.boot_status = "Pending"
    sim.connect()
    keys = sim.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
    assert keys["configurationKey"][0]["key"] == "HeartbeatInterval"
    assert sim.call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "30"}) == {"status": "Accepted"}
    assert sim.flow() == ["BootNotification"]


def test_pending_refuses_remote_start_and_stop() -> None:
    """§4.2: RemoteStartTransaction/RemoteStopTransaction are not allowed while Pending."""
    sim = Sim(auto_connect=False)
    sim.csms.boot_status = "Pending"
    sim.connect()
    assert sim.call("RemoteStartTransaction", {"idTag": "VALID", "connectorId": 1}) == {"status": "Rejected"}
    assert sim.call("RemoteStopTransaction", {"transactionId": 1}) == {"status": "Rejected"}
    assert sim.flow() == ["BootNotification"]


def test_pending_sends_triggered_messages() -> None:
    """§4.2: while Pending the station sends only what TriggerMessage asks for."""
    sim = Sim(auto_connect=False)
    sim.csms.boot_status = "Pending"
    sim.connect()
    sim.take()
    assert sim.call("TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}) == {
        "status": "Accepted"
    }
    assert sim.flow() == ["StatusNotification:1:Available"]


def test_pending_trigger_boot_brings_retry_forward() -> None:
    sim = Sim(auto_connect=False)
    sim.csms.boot_status, sim.csms.boot_interval = "Pending", 600
    sim.connect()
    sim.take()
    sim.csms.boot_status = "Accepted"
    sim.call("TriggerMessage", {"requestedMessage": "BootNotification"})
    assert sim.flow()[0] == "BootNotification"
    assert sim.cp.registration == "Accepted"


def test_pending_with_interval_zero_retries_after_default() -> None:
    sim = Sim(auto_connect=False)
    sim.csms.boot_status, sim.csms.boot_interval = "Pending", 0
    sim.connect()
    sim.take()
    sim.advance(BOOT_RETRY_INTERVAL_S - 1)
    assert sim.flow() == []
    sim.advance(1)
    assert sim.flow() == ["BootNotification"]


def test_rejected_sends_nothing_until_interval() -> None:
    """§4.2 Rejected (TC_001_CS): no message at all until the interval expired, then BootNotification."""
    sim = Sim(auto_connect=False)
    sim.csms.boot_status, sim.csms.boot_interval = "Rejected", 20
    sim.connect()
    assert sim.flow() == ["BootNotification"]
    assert sim.cp.registration == "Rejected"
    sim.plug(1)
    sim.token("VALID")
    assert sim.call("TriggerMessage", {"requestedMessage": "Heartbeat"}) == {"status": "Rejected"}
    sim.advance(19)
    assert sim.flow() == []
    sim.csms.boot_status = "Accepted"
    sim.advance(1)
    assert sim.flow()[:3] == ["BootNotification", "StatusNotification:0:Available", "StatusNotification:1:Preparing"]


@pytest.mark.parametrize("failure", [Error("InternalError"), Timeout()], ids=["callerror", "timeout"])
def test_boot_failure_retries_after_default_interval(failure: Error | Timeout) -> None:
    sim = Sim(auto_connect=False)
    sim.queue_reply("BootNotification", failure)
    sim.connect()
    assert sim.flow() == ["BootNotification"]
    assert sim.cp.registration is None
    sim.advance(BOOT_RETRY_INTERVAL_S - 0.5)
    assert sim.flow() == []
    sim.advance(0.5)
    assert sim.flow()[0] == "BootNotification"
    assert sim.cp.registration == "Accepted"


def test_boot_in_flight_lost_with_connection_is_sent_again_on_reconnect() -> None:
    sim = Sim(auto_connect=False)
    sim.queue_reply("BootNotification", Hold())
    sim.connect()
    sim.drop_link()
    sim.connect()
    assert sim.flow() == [
        "BootNotification",
        "BootNotification",
        "StatusNotification:0:Available",
        "StatusNotification:1:Available",
    ]


def test_unusable_boot_answer_counts_as_failure() -> None:
    sim = Sim(auto_connect=False)
    sim.link = True
    sim.cp.connected(sim.now)
    call = sim.cp.next_call(sim.now)
    assert call is not None
    sim.cp.call_result(call, {"status": "Maybe"}, sim.now)
    assert sim.cp.registration is None
    assert sim.cp.next_deadline() == pytest.approx(T0 + BOOT_RETRY_INTERVAL_S)


def test_heartbeat_every_interval_when_idle() -> None:
    sim = booted()
    sim.advance(299)
    assert sim.flow() == []
    sim.advance(1)
    sent = sim.take()
    assert [(s.action, s.at) for s in sent] == [("Heartbeat", T0 + 300)]
    assert sent[0].payload == {}
    sim.advance(300)
    assert [s.at for s in sim.take()] == [T0 + 600]


def test_heartbeat_timer_restarts_with_any_call() -> None:
    """§4.6: any CALL may stand in for a heartbeat; the station counts from the last CALL sent."""
    sim = booted()
    sim.advance(200)
    sim.plug(1)
    assert sim.flow() == ["StatusNotification:1:Preparing"]
    sim.advance(299)
    assert sim.flow() == []
    sim.advance(1)
    assert [(s.action, s.at) for s in sim.take()] == [("Heartbeat", T0 + 500)]


def test_heartbeat_interval_change_rearms_timer() -> None:
    sim = booted()
    sim.advance(100)
    sim.call("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "10"})
    sim.advance(10)
    assert [(s.action, s.at) for s in sim.take()] == [("Heartbeat", T0 + 110)]


def test_heartbeat_interval_zero_disables_heartbeats() -> None:
    sim = booted()
    sim.call("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "0"})
    sim.advance(10_000)
    assert sim.flow() == []
    assert sim.cp.next_deadline() is None


def test_no_heartbeat_while_offline() -> None:
    sim = booted()
    sim.go_offline()
    assert not sim.cp.wants_connection()
    sim.advance(3600)
    assert sim.flow() == []
    sim.go_online()
    assert sim.flow() == []
    sim.advance(300)
    assert sim.flow() == ["Heartbeat"]


def test_heartbeat_waits_for_call_in_flight() -> None:
    sim = booted()
    sim.queue_reply("StatusNotification", Hold())
    sim.plug(1)
    sim.advance(1000)
    assert sim.flow() == ["StatusNotification:1:Preparing"]
    sim.release()
    assert [(s.action, s.at) for s in sim.take()] == [("Heartbeat", T0 + 1000)]  # overdue: sent at once
    sim.advance(300)
    assert sim.flow() == ["Heartbeat"]
