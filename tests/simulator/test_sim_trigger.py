"""TriggerMessage (OCPP 1.6 §5.17; TC_054, TC_055)."""

from __future__ import annotations

import pytest
from sim_kit import T0, booted, charging

from ocppj.timefmt import format_time


def test_tc_054_trigger_sequence() -> None:
    sim = booted(meter_start_wh=250)
    assert sim.call("TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1}) == {"status": "Accepted"}
    sent = sim.take()
    assert [s.action for s in sent] == ["MeterValues"]
    assert sent[0].payload == {
        "connectorId": 1,
        "meterValue": [
            {
                "timestamp": format_time(T0),
                "sampledValue": [
                    {"value": "250", "context": "Trigger", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
                ],
            }
        ],
    }
    assert not sent[0].call.transactional
    sim.call("TriggerMessage", {"requestedMessage": "Heartbeat"})
    assert sim.flow() == ["Heartbeat"]
    sim.call("TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1})
    assert sim.flow() == ["StatusNotification:1:Available"]
    sim.call("TriggerMessage", {"requestedMessage": "DiagnosticsStatusNotification"})
    sent = sim.take()
    assert [(s.action, s.payload) for s in sent] == [("DiagnosticsStatusNotification", {"status": "Idle"})]
    sim.call("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"})
    sent = sim.take()
    assert [(s.action, s.payload) for s in sent] == [("FirmwareStatusNotification", {"status": "Idle"})]


def test_triggered_meter_values_in_a_transaction() -> None:
    sim = charging()
    sim.advance(36)
    sim.take()
    sim.call("TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1})
    sent = sim.take()
    assert sent[0].payload["transactionId"] == 100
    assert sent[0].payload["meterValue"][0]["sampledValue"][0]["value"] == "74"
    assert sent[0].call.transactional


def test_triggered_meter_values_for_the_whole_station() -> None:
    sim = booted(connectors=2)
    sim.call("TriggerMessage", {"requestedMessage": "MeterValues"})
    assert [s.payload["connectorId"] for s in sim.take()] == [1, 2]
    sim.call("TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 0})
    assert [s.payload["connectorId"] for s in sim.take()] == [0]


def test_triggered_status_for_every_connector() -> None:
    sim = booted(connectors=2)
    sim.plug(2)
    sim.take()
    sim.call("TriggerMessage", {"requestedMessage": "StatusNotification"})
    assert sim.flow() == [
        "StatusNotification:0:Available",
        "StatusNotification:1:Available",
        "StatusNotification:2:Preparing",
    ]


def test_triggered_boot_notification_when_registered() -> None:
    sim = booted()
    sim.csms.boot_interval = 90
    sim.call("TriggerMessage", {"requestedMessage": "BootNotification"})
    assert sim.flow() == ["BootNotification"]
    assert sim.cp.registration == "Accepted"
    assert sim.cp.configuration()["HeartbeatInterval"] == "90"


@pytest.mark.parametrize("connector_id", [2, 5])
def test_tc_055_connector_beyond_number_of_connectors_is_rejected(connector_id: int) -> None:
    sim = booted()
    payload = {"requestedMessage": "MeterValues", "connectorId": connector_id}
    assert sim.call("TriggerMessage", payload) == {"status": "Rejected"}
    assert sim.flow() == []


def test_trigger_answer_override() -> None:
    sim = booted()
    payload = {"requestedMessage": "Heartbeat"}
    assert sim.call("TriggerMessage", payload, answer={"status": "Rejected"}) == {"status": "Rejected"}
    assert sim.flow() == []
    assert sim.call("TriggerMessage", payload, answer={"status": "NotImplemented"}) == {"status": "NotImplemented"}
    assert sim.flow() == []


def test_triggered_message_comes_after_queued_ones() -> None:
    sim = booted()
    sim.cp.enqueue("DataTransfer", {"vendorId": "ocpp-harness"})
    sim.call("TriggerMessage", {"requestedMessage": "Heartbeat"})
    assert sim.flow() == ["DataTransfer", "Heartbeat"]


def test_triggered_boot_answered_pending_then_accepted_reports_changes() -> None:
    """Re-registration without a reboot: changes made while Pending are reported once Accepted again."""
    sim = booted()
    sim.csms.boot_status, sim.csms.boot_interval = "Pending", 30
    sim.call("TriggerMessage", {"requestedMessage": "BootNotification"})
    assert sim.flow() == ["BootNotification"]
    assert sim.cp.registration == "Pending"
    sim.plug(1)
    assert sim.flow() == []
    sim.csms.boot_status = "Accepted"
    sim.advance(30)
    assert sim.flow() == ["BootNotification", "StatusNotification:1:Preparing"]
