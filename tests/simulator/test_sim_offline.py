"""Offline behaviour and transaction-message delivery (OCPP 1.6 §4.8), power loss (TC_032_1)."""

from __future__ import annotations

import pytest
from sim_kit import T0, Error, Hold, Timeout, booted, charging

from ocppj.timefmt import format_time
from simulator.model import REBOOT_DELAY_S


def test_tc_037_1_offline_start_with_cached_tag() -> None:
    sim = booted()
    sim.token("VALID")  # cache: VALID Accepted
    sim.advance(60)
    sim.go_offline()
    sim.take()
    sim.plug(1)
    sim.token("VALID")
    assert sim.cp.connector_status(1) == "Charging"
    assert sim.cp.transaction_id(1) is None
    assert sim.flow() == []
    started = sim.now
    sim.advance(300)
    sim.go_online()
    sent = sim.take()
    assert [s.action for s in sent] == ["StartTransaction", "StatusNotification"]
    assert sent[0].payload["timestamp"] == format_time(started)  # the original time (§4.8)
    assert sent[1].payload["status"] == "Charging"
    assert sent[1].payload["timestamp"] == format_time(started)
    assert sim.cp.transaction_id(1) == 100


def test_offline_unknown_tag_needs_allow_offline_tx_for_unknown_id() -> None:
    sim = booted()
    sim.go_offline()
    sim.plug(1)
    sim.token("STRANGER")
    assert sim.cp.connector_status(1) == "Preparing"
    sim.unplug(1)
    sim.token("STRANGER")
    assert sim.cp.connector_status(1) == "Available"
    sim.go_online()
    assert sim.flow() == []


def test_offline_unknown_tag_allowed() -> None:
    sim = booted(config={"AllowOfflineTxForUnknownId": "true"})
    sim.go_offline()
    sim.plug(1)
    sim.token("STRANGER")
    assert sim.cp.connector_status(1) == "Charging"


def test_offline_cached_blocked_tag_is_refused_even_if_unknown_allowed() -> None:
    sim = booted(config={"AllowOfflineTxForUnknownId": "true"})
    sim.token("BLOCKED")
    sim.go_offline()
    sim.plug(1)
    sim.token("BLOCKED")
    assert sim.cp.connector_status(1) == "Preparing"


def test_offline_cache_ignored_without_local_authorize_offline() -> None:
    sim = booted(config={"LocalAuthorizeOffline": "false"})
    sim.token("VALID")
    sim.advance(120)
    sim.go_offline()
    sim.plug(1)
    sim.token("VALID")
    assert sim.cp.connector_status(1) == "Preparing"


def test_tc_037_3_offline_start_invalid_tag_stop_on_invalid_id() -> None:
    sim = booted(config={"AllowOfflineTxForUnknownId": "true"})
    sim.go_offline()
    sim.plug(1)
    sim.token("STRANGER")
    sim.advance(120)
    sim.go_online()
    sent = sim.take()
    assert [(s.action, s.payload.get("status") or s.payload.get("reason")) for s in sent] == [
        ("StartTransaction", None),
        ("StatusNotification", "Charging"),
        ("StopTransaction", "DeAuthorized"),
        ("StatusNotification", "Finishing"),
    ]
    assert sent[2].payload["transactionId"] == 100
    assert sent[2].payload["meterStop"] == 246


def test_tc_037_2_offline_start_invalid_tag_keeps_transaction_suspended() -> None:
    sim = booted(config={"AllowOfflineTxForUnknownId": "true", "StopTransactionOnInvalidId": "false"})
    sim.go_offline()
    sim.plug(1)
    sim.token("STRANGER")
    sim.go_online()
    assert sim.flow() == ["StartTransaction", "StatusNotification:1:Charging", "StatusNotification:1:SuspendedEVSE"]
    assert sim.cp.transaction_id(1) == 100


def test_tc_039_offline_transaction_stop_gets_the_id_filled_in() -> None:
    sim = booted(config={"AllowOfflineTxForUnknownId": "true"})
    sim.go_offline()
    sim.plug(1)
    sim.token("OTHER")
    start_at = sim.now
    sim.advance(600)
    sim.token("OTHER")
    sim.unplug(1)
    stop_at = sim.now
    sim.advance(600)
    sim.go_online()
    sent = sim.take()
    assert [s.action for s in sent] == ["StartTransaction", "StopTransaction"]
    assert sent[0].payload["timestamp"] == format_time(start_at)
    assert sent[1].payload == {
        "transactionId": 100,
        "idTag": "OTHER",
        "meterStop": 1233,
        "timestamp": format_time(stop_at),
        "reason": "Local",
    }


def test_offline_queue_keeps_generation_order_across_connectors() -> None:
    sim = booted(connectors=2, config={"AllowOfflineTxForUnknownId": "true", "MeterValueSampleInterval": "100"})
    sim.csms.tags.update(A1={"status": "Accepted"}, B2={"status": "Accepted"})
    sim.go_offline()
    sim.plug(1)
    sim.token("A1", 1)
    sim.advance(50)
    sim.plug(2)
    sim.token("B2", 2)
    sim.advance(60)  # sample on connector 1 at +100
    sim.token("A1", 1)
    sim.advance(50)  # sample on connector 2 at +150
    sim.go_online()
    sent = sim.take()
    transactional = [
        (s.action, s.payload.get("connectorId"), s.payload.get("transactionId")) for s in sent if s.call.transactional
    ]
    assert transactional == [
        ("StartTransaction", 1, None),
        ("StartTransaction", 2, None),
        ("MeterValues", 1, 100),
        ("StopTransaction", None, 100),
        ("MeterValues", 2, 101),
    ]
    times = [
        s.payload.get("timestamp") or s.payload["meterValue"][0]["timestamp"] for s in sent if s.call.transactional
    ]
    assert times == [format_time(T0 + t) for t in (0, 50, 100, 110, 150)]


def test_reconnect_reports_only_changed_connectors() -> None:
    sim = booted(connectors=2)
    sim.go_offline()
    sim.plug(1)
    sim.advance(5)
    sim.plug(2)
    sim.unplug(2)
    sim.advance(5)
    sim.go_online()
    sent = sim.take()
    assert [(s.payload["connectorId"], s.payload["status"], s.payload["timestamp"]) for s in sent] == [
        (1, "Preparing", format_time(T0))
    ]


def test_transactional_call_in_flight_is_resent_after_reconnect() -> None:
    sim = booted()
    sim.plug(1)
    sim.queue_reply("StartTransaction", Hold())
    sim.token("VALID")
    held = sim.held
    assert held is not None and held.action == "StartTransaction"
    sim.drop_link()
    sim.cp.call_result(held.call, {"transactionId": 1, "idTagInfo": {"status": "Accepted"}}, sim.now)  # stale
    assert sim.cp.transaction_id(1) is None
    sim.connect()
    sent = sim.take()
    assert [s.action for s in sent].count("StartTransaction") == 2
    assert sent[-2].payload == held.payload and sent[-2].call is not held.call
    assert sim.cp.transaction_id(1) == 100
    assert sim.cp.dropped_messages == ()


def test_non_transactional_call_in_flight_is_dropped() -> None:
    sim = booted()
    sim.queue_reply("Heartbeat", Hold())
    sim.advance(300)
    sim.drop_link()
    sim.connect()
    dropped = sim.cp.dropped_messages
    assert [(d.action, d.reason) for d in dropped] == [("Heartbeat", "connection closed")]
    assert sim.flow() == ["Heartbeat"]


def test_authorize_lost_with_connection_falls_back_to_offline_rules() -> None:
    sim = booted(config={"AllowOfflineTxForUnknownId": "true"})
    sim.plug(1)
    sim.queue_reply("Authorize", Hold())
    sim.token("OTHER")
    sim.go_offline()
    assert sim.cp.connector_status(1) == "Charging"
    assert [d.action for d in sim.cp.dropped_messages] == ["Authorize"]


def test_start_transaction_retried_with_back_off() -> None:
    """§4.8: TransactionMessageRetryInterval * attempts between tries; charging goes on meanwhile."""
    sim = booted(config={"TransactionMessageRetryInterval": "10"})
    sim.queue_reply("StartTransaction", Error("InternalError"), Timeout())
    sim.plug(1)
    sim.token("VALID")
    sim.advance(100)
    sent = [(s.action, s.at - T0) for s in sim.take()]
    assert sent == [
        ("StatusNotification", 0),
        ("Authorize", 0),
        ("StartTransaction", 0),
        ("StatusNotification", 0),  # Charging: the station charges as if offline
        ("StartTransaction", 10),
        ("StartTransaction", 30),
    ]
    assert sim.cp.transaction_id(1) == 100
    assert sim.cp.dropped_messages == ()


def test_transaction_message_dropped_after_attempts() -> None:
    sim = charging(config={"TransactionMessageAttempts": "2", "TransactionMessageRetryInterval": "5"})
    sim.queue_reply("StopTransaction", Error("InternalError", "db down"), Error("GenericError"))
    sim.token("VALID")
    sim.advance(60)
    assert [(s.action, s.at - T0) for s in sim.take() if s.action == "StopTransaction"] == [
        ("StopTransaction", 0),
        ("StopTransaction", 5),
    ]
    dropped = sim.cp.dropped_messages
    assert len(dropped) == 1
    assert dropped[0].action == "StopTransaction"
    assert dropped[0].payload["transactionId"] == 100
    assert dropped[0].reason == "CALLERROR GenericError; gave up after 2 attempts"
    assert dropped[0].at == T0 + 5


def test_dropped_start_drops_its_dependents_and_does_not_block_the_queue() -> None:
    sim = booted(config={"TransactionMessageAttempts": "1", "MeterValueSampleInterval": "30"})
    sim.queue_reply("StartTransaction", Error("InternalError"))
    sim.plug(1)
    sim.token("VALID")
    sim.advance(30)
    sim.token("VALID")
    sim.advance(300)
    actions = sim.flow()
    assert actions.count("StartTransaction") == 1
    assert "StopTransaction:Local" not in actions and "MeterValues" not in actions
    assert actions[-1] == "Heartbeat"
    assert [(d.action, d.reason.split(";")[0].split(",")[0]) for d in sim.cp.dropped_messages] == [
        ("StartTransaction", "CALLERROR InternalError"),
        ("MeterValues", "its StartTransaction was dropped"),
        ("StopTransaction", "its StartTransaction was dropped"),
    ]


def test_heartbeat_passes_a_transaction_message_waiting_for_retry() -> None:
    sim = charging(config={"TransactionMessageRetryInterval": "1000"})
    sim.queue_reply("StopTransaction", Error("InternalError"))
    sim.token("VALID")
    sim.advance(1000)
    assert [(s.action, s.at - T0) for s in sim.take()] == [
        ("StopTransaction", 0),
        ("StatusNotification", 0),
        ("Heartbeat", 300),
        ("Heartbeat", 600),
        ("Heartbeat", 900),
        ("StopTransaction", 1000),
    ]


def test_meter_values_while_offline_are_queued() -> None:
    """TC_036_CS: sampled values of a running transaction are transaction messages and wait offline."""
    sim = charging(config={"MeterValueSampleInterval": "60"})
    sim.go_offline()
    sim.advance(180)
    sim.go_online()
    sent = [s for s in sim.take() if s.action == "MeterValues"]
    assert [s.payload["meterValue"][0]["timestamp"] for s in sent] == [format_time(T0 + t) for t in (60, 120, 180)]
    assert all(s.payload["transactionId"] == 100 for s in sent)


def test_go_offline_twice_and_online_twice_are_errors() -> None:
    sim = booted()
    with pytest.raises(ValueError, match="already online"):
        sim.go_online()
    sim.go_offline()
    with pytest.raises(ValueError, match="already offline"):
        sim.go_offline()


def test_results_after_go_offline_are_ignored() -> None:
    sim = booted()
    sim.queue_reply("StatusNotification", Hold())
    sim.plug(1)
    held = sim.held
    assert held is not None
    sim.go_offline()
    sim.cp.call_error(held.call, "InternalError", "", sim.now)
    sim.cp.call_timeout(held.call, sim.now)
    sim.go_online()
    assert sim.flow() == ["StatusNotification:1:Preparing", "StatusNotification:1:Preparing"]


def test_tc_032_1_power_loss_stops_transaction_after_reboot() -> None:
    sim = charging()
    sim.advance(600)
    sim.take()
    sim.power_cycle()
    lost_at = sim.now
    assert not sim.cp.wants_connection()
    assert sim.cp.registration is None
    sim.advance(REBOOT_DELAY_S)
    sent = sim.take()
    assert [(s.action, s.payload.get("status") or s.payload.get("reason")) for s in sent] == [
        ("BootNotification", None),
        ("StatusNotification", "Available"),
        ("StatusNotification", "Finishing"),
        ("StopTransaction", "PowerLoss"),
    ]
    assert sent[3].payload == {
        "transactionId": 100,
        "meterStop": 1233,
        "timestamp": format_time(lost_at),
        "reason": "PowerLoss",
    }
    sim.unplug(1)
    assert sim.flow() == ["StatusNotification:1:Available"]


def test_power_loss_while_offline_keeps_the_queue() -> None:
    sim = booted(config={"AllowOfflineTxForUnknownId": "true"})
    sim.go_offline()
    sim.plug(1)
    sim.token("OTHER")
    sim.advance(60)
    sim.power_cycle()
    sim.advance(REBOOT_DELAY_S)
    sim.go_online()
    sent = sim.take()
    assert [(s.action, s.payload.get("status") or s.payload.get("reason")) for s in sent] == [
        ("BootNotification", None),
        ("StartTransaction", None),
        ("StatusNotification", "Available"),
        ("StatusNotification", "Finishing"),
        ("StopTransaction", "PowerLoss"),
    ]
    assert sent[4].payload["transactionId"] == 100


def test_power_cycle_loses_volatile_state() -> None:
    sim = booted()
    sim.cp.enqueue("Heartbeat", {})
    sim.go_offline()
    sim.token("VALID")
    sim.power_cycle()
    sim.advance(REBOOT_DELAY_S)
    sim.go_online()
    assert sim.flow() == ["BootNotification", "StatusNotification:0:Available", "StatusNotification:1:Available"]
    assert [(d.action, d.reason) for d in sim.cp.dropped_messages] == [("Heartbeat", "power loss")]


def test_tc_034_unavailable_survives_power_loss() -> None:
    sim = booted()
    sim.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    sim.power_cycle()
    sim.advance(REBOOT_DELAY_S)
    assert sim.flow()[-1] == "StatusNotification:1:Unavailable"


def test_power_cycle_during_reboot_extends_it() -> None:
    sim = booted()
    sim.power_cycle()
    sim.advance(1)
    sim.power_cycle()
    sim.advance(REBOOT_DELAY_S - 0.5)
    assert not sim.cp.wants_connection()
    sim.advance(0.5)
    assert sim.cp.wants_connection()
    assert sim.flow()[-3:] == ["BootNotification", "StatusNotification:0:Available", "StatusNotification:1:Available"]


def test_acts_while_rebooting() -> None:
    sim = booted()
    sim.power_cycle()
    sim.plug(1)
    sim.token("VALID")  # the reader is off
    sim.advance(REBOOT_DELAY_S)
    assert sim.flow() == ["BootNotification", "StatusNotification:0:Available", "StatusNotification:1:Preparing"]


def test_offline_queue_after_reconnect_is_retried_in_order_with_original_timestamps() -> None:
    """§4.8 as a whole: messages queued offline go out in order after reconnecting; a refused one is retried
    TransactionMessageRetryInterval * attempts later, TransactionMessageAttempts times in all, with its original
    timestamp, and nothing transaction-related overtakes it."""
    sim = booted(config={"TransactionMessageAttempts": "3", "TransactionMessageRetryInterval": "7"})
    sim.token("VALID")  # cache: VALID Accepted
    sim.advance(60)  # ConnectionTimeOut: that identification lapses
    sim.go_offline()
    sim.take()
    sim.plug(1)
    sim.token("VALID")
    started = sim.now
    sim.advance(30)
    sim.token("VALID")
    stopped = sim.now
    sim.advance(30)
    sim.queue_reply("StartTransaction", Error("InternalError"), Error("InternalError"))
    sim.go_online()
    sim.advance(60)
    sent = [s for s in sim.take() if s.call.transactional]
    assert [(s.action, s.at - stopped - 30) for s in sent] == [
        ("StartTransaction", 0),
        ("StartTransaction", 7),
        ("StartTransaction", 21),
        ("StopTransaction", 21),
    ]
    assert {s.payload["timestamp"] for s in sent[:3]} == {format_time(started)}
    assert sent[3].payload["timestamp"] == format_time(stopped)
    assert (sent[3].payload["transactionId"], sent[3].payload["reason"], sent[3].payload["meterStop"]) == (
        100,
        "Local",
        61,
    )
    assert sim.cp.dropped_messages == ()
