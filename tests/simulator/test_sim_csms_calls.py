"""Answers to CSMS-initiated Core messages (OCPP 1.6 §5) and the flows they start."""

from __future__ import annotations

from typing import Any

import pytest
from sim_kit import T0, booted, charging, check_response

from simulator.model import REBOOT_DELAY_S, RESET_GRACE_S, CallRefused


def test_tc_010_remote_start_cable_plugged_in_first() -> None:
    sim = booted()
    sim.plug(1)
    assert sim.flow() == ["StatusNotification:1:Preparing"]
    assert sim.call("RemoteStartTransaction", {"idTag": "VALID", "connectorId": 1}) == {"status": "Accepted"}
    sent = sim.take()
    assert [s.action for s in sent] == ["Authorize", "StartTransaction", "StatusNotification"]
    assert sent[1].payload["idTag"] == "VALID"
    assert sim.cp.transaction_id(1) == 100


def test_tc_011_1_remote_start_first() -> None:
    sim = booted()
    sim.call("RemoteStartTransaction", {"idTag": "VALID", "connectorId": 1})
    assert sim.flow() == ["Authorize", "StatusNotification:1:Preparing"]
    sim.plug(1)
    assert sim.flow() == ["StartTransaction", "StatusNotification:1:Charging"]


def test_tc_011_2_remote_start_times_out() -> None:
    sim = booted(config={"ConnectionTimeOut": "45"})
    sim.call("RemoteStartTransaction", {"idTag": "VALID", "connectorId": 1})
    assert sim.flow() == ["Authorize", "StatusNotification:1:Preparing"]
    sim.advance(45)
    sent = sim.take()
    assert [(s.action, s.at) for s in sent] == [("StatusNotification", T0 + 45)]
    assert sent[0].payload["status"] == "Available"


def test_remote_start_without_authorize_when_not_required() -> None:
    sim = booted(config={"AuthorizeRemoteTxRequests": "false"})
    sim.plug(1)
    sim.call("RemoteStartTransaction", {"idTag": "VALID", "connectorId": 1})
    assert sim.flow() == ["StatusNotification:1:Preparing", "StartTransaction", "StatusNotification:1:Charging"]


def test_remote_start_authorize_rejected_starts_nothing() -> None:
    sim = booted()
    assert sim.call("RemoteStartTransaction", {"idTag": "UNKNOWN", "connectorId": 1}) == {"status": "Accepted"}
    assert sim.flow() == ["Authorize"]
    assert sim.cp.connector_status(1) == "Available"


def test_remote_start_without_connector_takes_first_available() -> None:
    sim = charging(connectors=3)
    sim.call("RemoteStartTransaction", {"idTag": "OTHER"})
    assert sim.flow() == ["Authorize", "StatusNotification:2:Preparing"]


def test_remote_start_without_connector_prefers_the_plugged_one() -> None:
    sim = booted(connectors=3)
    sim.plug(3)
    sim.take()
    sim.call("RemoteStartTransaction", {"idTag": "VALID"})
    assert sim.flow() == ["Authorize", "StartTransaction", "StatusNotification:3:Charging"]


def test_remote_start_without_connector_and_none_free_is_rejected() -> None:
    sim = charging()
    assert sim.call("RemoteStartTransaction", {"idTag": "OTHER"}) == {"status": "Rejected"}


@pytest.mark.parametrize("connector_id", [0, 2, 7])
def test_remote_start_unknown_connector_is_rejected(connector_id: int) -> None:
    sim = booted()
    assert sim.call("RemoteStartTransaction", {"idTag": "VALID", "connectorId": connector_id}) == {"status": "Rejected"}
    assert sim.flow() == []


def test_tc_026_remote_start_on_busy_connector_is_rejected() -> None:
    sim = charging()
    assert sim.call("RemoteStartTransaction", {"idTag": "OTHER", "connectorId": 1}) == {"status": "Rejected"}
    assert sim.flow() == []


@pytest.mark.parametrize("state", ["authorized", "faulted", "unavailable", "finishing"])
def test_remote_start_on_unusable_connector_is_rejected(state: str) -> None:
    sim = booted()
    if state == "authorized":
        sim.token("VALID")
    elif state == "faulted":
        sim.fault(1, "GroundFailure")
    elif state == "unavailable":
        sim.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    else:
        sim.plug(1)
        sim.token("VALID")
        sim.token("VALID")
    sim.take()
    assert sim.call("RemoteStartTransaction", {"idTag": "OTHER", "connectorId": 1}) == {"status": "Rejected"}
    assert sim.flow() == []


def test_remote_start_answer_override_rejected_starts_nothing() -> None:
    sim = booted()
    reply = sim.call("RemoteStartTransaction", {"idTag": "VALID", "connectorId": 1}, answer={"status": "Rejected"})
    assert reply == {"status": "Rejected"}
    assert sim.flow() == []


def test_remote_start_answer_override_accepted_on_busy_connector_does_nothing_more() -> None:
    sim = charging()
    reply = sim.call("RemoteStartTransaction", {"idTag": "OTHER", "connectorId": 1}, answer={"status": "Accepted"})
    assert reply == {"status": "Accepted"}
    assert sim.flow() == []


def test_tc_012_remote_stop() -> None:
    sim = charging()
    sim.advance(60)
    sim.take()
    assert sim.call("RemoteStopTransaction", {"transactionId": 100}) == {"status": "Accepted"}
    sent = sim.take()
    assert [s.action for s in sent] == ["StopTransaction", "StatusNotification"]
    assert sent[0].payload == {
        "transactionId": 100,
        "meterStop": 123,
        "timestamp": sent[0].payload["timestamp"],
        "reason": "Remote",
    }
    assert sent[1].payload["status"] == "Finishing"
    sim.unplug(1)
    assert sim.flow() == ["StatusNotification:1:Available"]


def test_tc_028_remote_stop_unknown_transaction_is_rejected() -> None:
    sim = charging()
    assert sim.call("RemoteStopTransaction", {"transactionId": 4711}) == {"status": "Rejected"}
    assert sim.flow() == []
    assert sim.cp.transaction_id(1) == 100


def test_remote_stop_answer_override_rejected_keeps_charging() -> None:
    sim = charging()
    assert sim.call("RemoteStopTransaction", {"transactionId": 100}, answer={"status": "Rejected"}) == {
        "status": "Rejected"
    }
    assert sim.flow() == []


@pytest.mark.parametrize("kind", ["Hard", "Soft"])
def test_tc_013_tc_014_reset_without_transaction(kind: str) -> None:
    sim = booted()
    assert sim.call("Reset", {"type": kind}) == {"status": "Accepted"}
    assert sim.cp.wants_connection()  # Reset.conf goes out first
    sim.advance(RESET_GRACE_S)
    assert not sim.cp.wants_connection()
    assert not sim.link
    assert sim.cp.registration is None
    sim.advance(REBOOT_DELAY_S)
    assert sim.connections == 2
    assert sim.flow() == ["BootNotification", "StatusNotification:0:Available", "StatusNotification:1:Available"]


@pytest.mark.parametrize(("kind", "reason"), [("Hard", "HardReset"), ("Soft", "SoftReset")])
def test_reset_with_transaction_stops_it_before_going_down(kind: str, reason: str) -> None:
    """TC_015_CS / TC_016_CS: StopTransaction with reason Hard/SoftReset, then the reboot."""
    sim = charging()
    sim.advance(30)
    sim.take()
    sim.call("Reset", {"type": kind})
    assert sim.flow() == [f"StopTransaction:{reason}", "StatusNotification:1:Finishing"]
    sim.advance(RESET_GRACE_S + REBOOT_DELAY_S)
    assert sim.flow() == ["BootNotification", "StatusNotification:0:Available", "StatusNotification:1:Finishing"]
    sim.unplug(1)
    assert sim.flow() == ["StatusNotification:1:Available"]


def test_reset_waits_for_stop_to_be_delivered() -> None:
    from sim_kit import Hold

    sim = charging()
    sim.queue_reply("StopTransaction", Hold())
    sim.call("Reset", {"type": "Soft"})
    sim.advance(10)
    assert sim.cp.wants_connection()
    sim.release()
    assert not sim.cp.wants_connection()


def test_reset_offline_stop_is_delivered_after_reboot() -> None:
    sim = charging()
    sim.go_offline()
    sim.cp.handle_call("Reset", {"type": "Hard"}, sim.now)
    sim.advance(RESET_GRACE_S + REBOOT_DELAY_S)
    sim.go_online()
    assert sim.flow() == [
        "BootNotification",
        "StopTransaction:HardReset",
        "StatusNotification:0:Available",
        "StatusNotification:1:Finishing",
    ]


def test_reset_answer_override_rejected_does_not_reboot() -> None:
    sim = booted()
    assert sim.call("Reset", {"type": "Hard"}, answer={"status": "Rejected"}) == {"status": "Rejected"}
    sim.advance(60)
    assert sim.connections == 1


def test_tokens_are_ignored_while_a_reset_is_pending() -> None:
    sim = booted()
    sim.call("Reset", {"type": "Soft"})
    sim.token("VALID")
    assert sim.flow() == []


def test_tc_017_1_unlock_without_transaction() -> None:
    sim = booted()
    assert sim.call("UnlockConnector", {"connectorId": 1}) == {"status": "Unlocked"}
    assert sim.flow() == []


def test_tc_017_2_unlock_fixed_cable_not_supported() -> None:
    sim = booted(fixed_cable=True)
    assert sim.call("UnlockConnector", {"connectorId": 1}) == {"status": "NotSupported"}


def test_tc_018_1_unlock_with_transaction_stops_it() -> None:
    sim = charging()
    assert sim.call("UnlockConnector", {"connectorId": 1}) == {"status": "Unlocked"}
    assert sim.flow() == ["StopTransaction:UnlockCommand", "StatusNotification:1:Finishing"]
    sim.unplug(1)
    assert sim.flow() == ["StatusNotification:1:Available"]


def test_tc_030_unlock_failure_through_answer() -> None:
    sim = charging()
    assert sim.call("UnlockConnector", {"connectorId": 1}, answer={"status": "UnlockFailed"}) == {
        "status": "UnlockFailed"
    }
    assert sim.flow() == []
    assert sim.cp.transaction_id(1) == 100


@pytest.mark.parametrize("connector_id", [0, 2])
def test_tc_031_unlock_unknown_connector(connector_id: int) -> None:
    sim = booted()
    assert sim.call("UnlockConnector", {"connectorId": connector_id}) == {"status": "NotSupported"}


def test_change_availability_connector() -> None:
    """§5.2 / TC_048_3: Inoperative -> Unavailable; Operative -> back."""
    sim = booted()
    assert sim.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}) == {"status": "Accepted"}
    assert sim.flow() == ["StatusNotification:1:Unavailable"]
    sim.plug(1)
    sim.token("VALID")
    assert sim.flow() == []
    assert sim.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}) == {"status": "Accepted"}
    assert sim.flow() == []
    assert sim.call("ChangeAvailability", {"connectorId": 1, "type": "Operative"}) == {"status": "Accepted"}
    assert sim.flow() == ["StatusNotification:1:Preparing"]


def test_change_availability_whole_station() -> None:
    sim = booted(connectors=2)
    assert sim.call("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}) == {"status": "Accepted"}
    assert sim.flow() == [
        "StatusNotification:0:Unavailable",
        "StatusNotification:1:Unavailable",
        "StatusNotification:2:Unavailable",
    ]
    assert sim.call("ChangeAvailability", {"connectorId": 0, "type": "Operative"}) == {"status": "Accepted"}
    assert sim.flow() == [
        "StatusNotification:0:Available",
        "StatusNotification:1:Available",
        "StatusNotification:2:Available",
    ]


def test_change_availability_during_transaction_is_scheduled() -> None:
    sim = charging()
    assert sim.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}) == {"status": "Scheduled"}
    assert sim.flow() == []
    sim.token("VALID")
    assert sim.flow() == ["StopTransaction:Local", "StatusNotification:1:Finishing"]
    sim.unplug(1)
    assert sim.flow() == ["StatusNotification:1:Unavailable"]


def test_change_availability_station_scheduled_when_any_connector_busy() -> None:
    sim = charging(connectors=2)
    assert sim.call("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}) == {"status": "Scheduled"}
    assert sim.flow() == ["StatusNotification:0:Unavailable", "StatusNotification:2:Unavailable"]


def test_change_availability_unknown_connector_is_rejected() -> None:
    sim = booted()
    assert sim.call("ChangeAvailability", {"connectorId": 3, "type": "Inoperative"}) == {"status": "Rejected"}


def test_change_availability_answer_override_rejected() -> None:
    sim = booted()
    reply = sim.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}, answer={"status": "Rejected"})
    assert reply == {"status": "Rejected"}
    assert sim.cp.connector_status(1) == "Available"


def test_tc_061_clear_cache() -> None:
    sim = booted(config={"LocalPreAuthorize": "true"})
    sim.token("VALID")
    sim.advance(120)
    sim.take()
    assert sim.call("ClearCache", {}) == {"status": "Accepted"}
    sim.token("VALID")
    assert sim.flow()[0] == "Authorize"


def test_clear_cache_answer_override_rejected_keeps_cache() -> None:
    sim = booted(config={"LocalPreAuthorize": "true"})
    sim.token("VALID")
    sim.advance(120)
    sim.take()
    sim.call("ClearCache", {}, answer={"status": "Rejected"})
    sim.token("VALID")
    assert sim.flow() == ["StatusNotification:1:Preparing"]


def test_data_transfer_from_csms() -> None:
    sim = booted(vendor="ACME")
    assert sim.call("DataTransfer", {"vendorId": "ACME", "messageId": "ping"}) == {"status": "Accepted"}
    assert sim.call("DataTransfer", {"vendorId": "Other"}) == {"status": "UnknownVendorId"}


def test_tc_064_data_transfer_to_csms() -> None:
    sim = booted()
    payload = sim.cp.default_payload("DataTransfer", connector_id=0, id_tag=None, now=sim.now)
    assert payload == {"vendorId": "ocpp-harness"}
    call = sim.cp.enqueue("DataTransfer", payload)
    sim.pump()
    assert [s.call for s in sim.take()] == [call]


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("BootNotification", {"chargePointVendor": "x", "chargePointModel": "y"}),
        ("SecurityEventNotification", {"type": "TamperDetectionActivated", "timestamp": "2026-01-01T00:00:00Z"}),
    ],
)
def test_other_actions_are_not_supported(action: str, payload: dict[str, object]) -> None:
    sim = booted()
    refused = sim.refused(action, dict(payload))
    assert refused.error_code == "NotSupported"


def test_unknown_action_is_not_implemented() -> None:
    refused = booted().refused("Frobnicate", {})
    assert refused.error_code == "NotImplemented"
    assert isinstance(refused, CallRefused) and "Frobnicate" in refused.description


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({}, "OccurenceConstraintViolation"),
        ({"type": "Warm"}, "PropertyConstraintViolation"),
        ({"type": 1}, "TypeConstraintViolation"),
        ({"type": "Hard", "extra": 1}, "FormationViolation"),
    ],
)
def test_malformed_request_is_refused_with_the_schema_code(payload: dict[str, object], code: str) -> None:
    sim = booted()
    assert sim.refused("Reset", dict(payload)).error_code == code
    sim.advance(10)
    assert sim.connections == 1


def test_answer_override_is_returned_as_given_even_for_unsupported_actions() -> None:
    sim = booted()
    answer = {"status": "Accepted"}
    assert sim.cp.handle_call("ReserveNow", {"bogus": True}, sim.now, answer=answer) == answer


def test_every_model_answer_matches_its_schema() -> None:
    """A sweep over the model's own answers (the kit also checks each one)."""
    sim = charging(connectors=2)
    sweep: list[tuple[str, dict[str, Any]]] = [
        ("GetConfiguration", {}),
        ("GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]}),
        ("ChangeConfiguration", {"key": "Nope", "value": "1"}),
        ("ClearCache", {}),
        ("DataTransfer", {"vendorId": "x"}),
        ("TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1}),
        ("UnlockConnector", {"connectorId": 2}),
        ("ChangeAvailability", {"connectorId": 2, "type": "Operative"}),
        ("RemoteStopTransaction", {"transactionId": 100}),
    ]
    for action, payload in sweep:
        check_response(action, sim.call(action, payload))
