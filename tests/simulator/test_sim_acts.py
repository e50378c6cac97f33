"""Scenario-facing surface: invalid acts, default payloads, explicit sends, runtime contract."""

from __future__ import annotations

from typing import Any

import pytest
from sim_kit import T0, Hold, Sim, booted, charging, check_request

from ocppj.timefmt import format_time
from simulator.model import ChargePoint, OutgoingCall, StationSpec


@pytest.mark.parametrize(
    ("act", "message"),
    [
        (lambda cp: cp.plug(0, T0), "unknown connector 0: this station has connectors 1..2"),
        (lambda cp: cp.plug(3, T0), "unknown connector 3"),
        (lambda cp: cp.unplug(1, T0), "connector 1 is not plugged in"),
        (lambda cp: cp.present_token(1, "", T0), "present_token needs a non-empty id tag"),
        (lambda cp: cp.present_token(1, "X" * 21, T0), "longer than 20 characters"),
        (lambda cp: cp.present_token(9, "VALID", T0), "unknown connector 9"),
        (lambda cp: cp.fault(1, "Smoke", T0), "unknown error code 'Smoke'"),
        (lambda cp: cp.fault(1, "NoError", T0), "unknown error code 'NoError'"),
        (lambda cp: cp.fault(3, "GroundFailure", T0), r"unknown connector 3: .*\(0 = the whole station\)"),
        (lambda cp: cp.clear_fault(1, T0), "connector 1 is not faulted"),
        (lambda cp: cp.go_online(T0), "already online"),
        (lambda cp: cp.connector_status(5), "unknown connector 5"),
        (lambda cp: cp.transaction_id(-1), "unknown connector -1"),
        (lambda cp: cp.plug(True, T0), "connector id must be an integer"),
        (lambda cp: cp.tick(T0 - 1), "time went backwards"),
    ],
)
def test_invalid_acts_raise_value_error(act: Any, message: str) -> None:
    cp = ChargePoint(StationSpec(station_id="CP", connectors=2), now=T0)
    with pytest.raises(ValueError, match=message) as error:
        act(cp)
    assert "\n" not in str(error.value)


def test_plugging_twice_and_faulting_twice_are_errors() -> None:
    sim = booted()
    sim.plug(1)
    with pytest.raises(ValueError, match="connector 1 is already plugged in"):
        sim.plug(1)
    sim.fault(1, "GroundFailure")
    with pytest.raises(ValueError, match=r"connector 1 is already faulted \(GroundFailure\)"):
        sim.fault(1, "OtherError")


def test_invalid_act_changes_nothing() -> None:
    sim = booted()
    with pytest.raises(ValueError):
        sim.token("")
    assert sim.flow() == []
    assert sim.cp.connector_status(1) == "Available"


@pytest.mark.parametrize(
    "action",
    [
        "BootNotification",
        "Heartbeat",
        "Authorize",
        "StatusNotification",
        "StartTransaction",
        "StopTransaction",
        "MeterValues",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
    ],
)
def test_default_payloads_match_the_schema(action: str) -> None:
    sim = charging()
    sim.advance(60)
    payload = sim.cp.default_payload(action, connector_id=1, id_tag="VALID", now=sim.now)
    check_request(action, payload)
    idle = booted().cp.default_payload(action, connector_id=1, id_tag="VALID", now=T0)
    check_request(action, idle)


def test_default_payload_values() -> None:
    sim = charging()
    sim.advance(60)
    now = sim.now
    cp = sim.cp
    assert cp.default_payload("Authorize", connector_id=1, id_tag="T1", now=now) == {"idTag": "T1"}
    assert cp.default_payload("StatusNotification", connector_id=1, id_tag=None, now=now) == {
        "connectorId": 1,
        "errorCode": "NoError",
        "status": "Charging",
        "timestamp": format_time(now),
    }
    assert cp.default_payload("StartTransaction", connector_id=1, id_tag="T1", now=now) == {
        "connectorId": 1,
        "idTag": "T1",
        "meterStart": 123,
        "timestamp": format_time(now),
    }
    assert cp.default_payload("StopTransaction", connector_id=1, id_tag=None, now=now) == {
        "transactionId": 100,
        "meterStop": 123,
        "timestamp": format_time(now),
        "reason": "Local",
    }
    meter = cp.default_payload("MeterValues", connector_id=1, id_tag=None, now=now)
    assert meter["transactionId"] == 100
    assert meter["meterValue"][0]["sampledValue"][0]["value"] == "123"
    idle = booted()
    stop = idle.cp.default_payload("StopTransaction", connector_id=1, id_tag="T1", now=T0)
    assert stop["transactionId"] == 0 and stop["idTag"] == "T1"
    assert "transactionId" not in idle.cp.default_payload("MeterValues", connector_id=0, id_tag=None, now=T0)


@pytest.mark.parametrize(
    ("action", "connector_id", "id_tag", "message"),
    [
        ("Reset", 1, None, "no default payload for 'Reset'"),
        ("Nonsense", 1, None, "no default payload"),
        ("Authorize", 1, None, "Authorize needs an id tag"),
        ("StartTransaction", 1, None, "StartTransaction needs an id tag"),
        ("StartTransaction", 0, "T1", "unknown connector 0"),
        ("StatusNotification", 4, None, "unknown connector 4"),
    ],
)
def test_default_payload_errors(action: str, connector_id: int, id_tag: str | None, message: str) -> None:
    cp = ChargePoint(StationSpec(station_id="CP"), now=T0)
    with pytest.raises(ValueError, match=message):
        cp.default_payload(action, connector_id=connector_id, id_tag=id_tag, now=T0)


def test_enqueue_goes_before_station_messages_and_returns_the_sent_object() -> None:
    sim = booted()
    sim.queue_reply("Heartbeat", Hold())
    sim.advance(300)
    sim.plug(1)  # StatusNotification queued behind the held heartbeat
    first = sim.cp.enqueue("DataTransfer", {"vendorId": "ocpp-harness", "messageId": "a"})
    second = sim.cp.enqueue("DataTransfer", {"vendorId": "ocpp-harness", "messageId": "b"})
    assert isinstance(first, OutgoingCall) and not first.transactional
    sim.release()
    sent = sim.take()
    assert [s.action for s in sent] == ["Heartbeat", "DataTransfer", "DataTransfer", "StatusNotification"]
    assert sent[1].call is first and sent[2].call is second


def test_enqueue_unknown_action_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown OCPP 1.6 action 'Bogus'"):
        booted().cp.enqueue("Bogus", {})


def test_enqueued_transactional_call_is_flagged() -> None:
    sim = booted()
    call = sim.cp.enqueue(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": 5,
            "meterValue": [{"timestamp": format_time(T0), "sampledValue": [{"value": "1"}]}],
        },
    )
    assert call.transactional


def test_explicit_start_is_adopted_and_can_be_stopped_remotely() -> None:
    """A scenario that starts a transaction with ``send: StartTransaction`` can stop it with RemoteStop."""
    sim = booted()
    payload = sim.cp.default_payload("StartTransaction", connector_id=1, id_tag="VALID", now=sim.now)
    call = sim.cp.enqueue("StartTransaction", payload)
    assert call.transactional
    sim.pump()
    assert sim.flow() == ["StartTransaction", "StatusNotification:1:Charging"]
    assert sim.cp.transaction_id(1) == 100
    assert sim.call("RemoteStopTransaction", {"transactionId": 100}) == {"status": "Accepted"}
    assert sim.flow() == ["StopTransaction:Remote", "StatusNotification:1:Finishing"]


def test_explicit_start_not_accepted_is_not_adopted() -> None:
    sim = booted()
    sim.cp.enqueue(
        "StartTransaction", sim.cp.default_payload("StartTransaction", connector_id=1, id_tag="UNKNOWN", now=sim.now)
    )
    sim.pump()
    assert sim.flow() == ["StartTransaction"]
    assert sim.cp.transaction_id(1) is None


def test_explicit_stop_ends_the_transaction() -> None:
    sim = charging()
    sim.cp.enqueue(
        "StopTransaction", sim.cp.default_payload("StopTransaction", connector_id=1, id_tag="VALID", now=sim.now)
    )
    sim.pump()
    assert sim.flow() == ["StopTransaction:Local", "StatusNotification:1:Finishing"]
    assert sim.cp.transaction_id(1) is None


def test_explicit_authorize_fills_the_cache() -> None:
    sim = booted(config={"LocalPreAuthorize": "true"})
    sim.cp.enqueue("Authorize", {"idTag": "VALID"})
    sim.pump()
    sim.take()
    sim.plug(1)
    sim.token("VALID")
    assert sim.flow() == ["StatusNotification:1:Preparing", "StartTransaction", "StatusNotification:1:Charging"]


def test_explicit_calls_may_be_sent_while_pending() -> None:
    """A scenario may deliberately break §4.2 (negative test): its explicit calls follow the first boot."""
    sim = Sim(auto_connect=False)
    sim.csms.boot_status = "Pending"
    sim.connect()
    sim.cp.enqueue("Heartbeat", {})
    sim.pump()
    assert sim.flow() == ["BootNotification", "Heartbeat"]


def test_explicit_non_transactional_call_failing_is_recorded() -> None:
    from sim_kit import Error

    sim = booted()
    sim.queue_reply("DataTransfer", Error("NotSupported", "no"))
    sim.cp.enqueue("DataTransfer", {"vendorId": "x"})
    sim.pump()
    assert [(d.action, d.reason) for d in sim.cp.dropped_messages] == [("DataTransfer", "CALLERROR NotSupported: no")]


def test_explicit_calls_survive_a_disconnect() -> None:
    sim = booted()
    sim.go_offline()
    call = sim.cp.enqueue("Heartbeat", {})
    sim.go_online()
    assert [s.call for s in sim.take()] == [call]


def test_next_call_returns_each_call_once_and_nothing_while_one_is_in_flight() -> None:
    cp = ChargePoint(StationSpec(station_id="CP"), now=T0)
    cp.connected(T0)
    boot = cp.next_call(T0)
    assert boot is not None and boot.action == "BootNotification"
    assert cp.next_call(T0) is None
    cp.call_result(boot, {"status": "Accepted", "currentTime": format_time(T0), "interval": 60}, T0)
    cp.call_result(boot, {"status": "Rejected", "currentTime": format_time(T0), "interval": 60}, T0)  # stale
    assert cp.registration == "Accepted"
    first = cp.next_call(T0)
    assert first is not None and first.payload["connectorId"] == 0
    assert cp.next_call(T0) is None


def test_next_call_is_none_when_disconnected_or_not_wanted() -> None:
    cp = ChargePoint(StationSpec(station_id="CP"), now=T0)
    assert cp.next_call(T0) is None
    cp.go_offline(T0)
    cp.connected(T0)  # a runtime that raced the act
    assert cp.next_call(T0) is None
    assert cp.next_deadline() is None


def test_unusable_start_answer_is_retried() -> None:
    """A CSMS under test may answer anything; an unusable answer counts as a failed attempt (§4.8)."""
    sim = booted(config={"TransactionMessageRetryInterval": "7"})
    sim.queue_reply("StartTransaction", Hold())
    sim.plug(1)
    sim.token("VALID")
    held = sim.held
    assert held is not None and held.action == "StartTransaction"
    sim.held = None
    sim.cp.call_result(held.call, {"transactionId": "abc"}, sim.now)
    sim.pump()
    sim.advance(7)
    assert [s.at - T0 for s in sim.take() if s.action == "StartTransaction"] == [0, 7]
    assert sim.cp.transaction_id(1) == 100


def test_unusable_authorize_answer_falls_back_to_local_rules() -> None:
    sim = booted()
    sim.queue_reply("Authorize", Hold())
    sim.token("VALID")
    held = sim.held
    assert held is not None
    sim.held = None
    sim.cp.call_result(held.call, {"idTagInfo": {"status": "Unknown"}}, sim.now)
    sim.pump()
    assert sim.cp.connector_status(1) == "Available"
    assert "unusable Authorize answer" in sim.cp.dropped_messages[0].reason
