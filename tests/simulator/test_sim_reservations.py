"""Reservation (OCPP 1.6 §3.9, §5.1, §5.13, §9.3; TC_046-TC_053)."""

from __future__ import annotations

from typing import Any

import pytest
from sim_kit import T0, Sim, booted, charging

from ocppj.timefmt import format_time

WITHOUT_RESERVATION = {
    "SupportedFeatureProfiles": "Core,FirmwareManagement,LocalAuthListManagement,SmartCharging,RemoteTrigger"
}


def reserve(
    sim: Sim,
    connector_id: int = 1,
    *,
    reservation_id: int = 7,
    id_tag: str = "VALID",
    expires_in: float = 600,
    parent: str | None = None,
    answer: dict[str, Any] | None = None,
) -> str:
    payload: dict[str, Any] = {
        "connectorId": connector_id,
        "expiryDate": format_time(sim.now + expires_in),
        "idTag": id_tag,
        "reservationId": reservation_id,
    }
    if parent is not None:
        payload["parentIdTag"] = parent
    return str(sim.call("ReserveNow", payload, answer=answer)["status"])


def cancel(sim: Sim, reservation_id: int) -> str:
    return str(sim.call("CancelReservation", {"reservationId": reservation_id})["status"])


# ------------------------------------------------------------------ ReserveNow answers


def test_tc_046_reserved_connector_starts_with_the_reservation_id() -> None:
    sim = booted()
    assert reserve(sim) == "Accepted"
    assert sim.flow() == ["StatusNotification:1:Reserved"]
    sim.token("VALID")
    assert sim.flow() == ["Authorize", "StatusNotification:1:Preparing"]
    sim.plug(1)
    sent = sim.take()
    assert [s.action for s in sent] == ["StartTransaction", "StatusNotification"]
    assert sent[0].payload["reservationId"] == 7
    assert sim.cp.connector_status(1) == "Charging"
    sim.token("VALID")
    sim.unplug(1)
    assert sim.flow() == ["StopTransaction:Local", "StatusNotification:1:Finishing", "StatusNotification:1:Available"]
    assert cancel(sim, 7) == "Rejected"  # used up by the transaction


def test_reserved_tag_plugging_first() -> None:
    sim = booted()
    reserve(sim)
    sim.take()
    sim.plug(1)
    assert sim.flow() == ["StatusNotification:1:Preparing"]
    sim.token("VALID")
    sent = sim.take()
    assert [s.action for s in sent] == ["Authorize", "StartTransaction", "StatusNotification"]
    assert sent[1].payload["reservationId"] == 7


def test_tc_047_reservation_expires() -> None:
    sim = booted()
    reserve(sim, expires_in=120)
    assert sim.flow() == ["StatusNotification:1:Reserved"]
    sim.advance(119)
    assert sim.flow() == []
    sim.advance(1)
    sent = sim.take()
    assert [(s.payload["status"], s.at) for s in sent] == [("Available", T0 + 120)]
    sim.plug(1)
    sim.token("OTHER")
    assert "reservationId" not in sim.take()[1].payload


def test_tc_048_1_faulted_connector() -> None:
    sim = booted()
    sim.fault(1, "GroundFailure")
    assert reserve(sim) == "Faulted"
    sim.clear_fault(1)
    sim.take()
    assert sim.flow() == []


def test_faulted_station_refuses_every_reservation() -> None:
    sim = booted(connectors=2)
    sim.fault(0, "OtherError")
    assert reserve(sim, 1) == "Faulted"
    assert reserve(sim, 0) == "Faulted"


@pytest.mark.parametrize("state", ["plugged", "authorized", "charging", "finishing"])
def test_tc_048_2_busy_connector_is_occupied(state: str) -> None:
    sim = booted()
    if state == "plugged":
        sim.plug(1)
    elif state == "authorized":
        sim.token("VALID")
    else:
        sim.plug(1)
        sim.token("VALID")
        if state == "finishing":
            sim.token("VALID")
    sim.take()
    assert reserve(sim) == "Occupied"
    assert sim.flow() == []


def test_connector_reserved_by_another_reservation_is_occupied() -> None:
    sim = booted()
    reserve(sim, reservation_id=1)
    assert reserve(sim, reservation_id=2, id_tag="OTHER") == "Occupied"
    assert reserve(sim, reservation_id=3, id_tag="VALID") == "Occupied"


def test_tc_048_3_unavailable_connector() -> None:
    sim = booted()
    sim.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    assert reserve(sim) == "Unavailable"


@pytest.mark.parametrize(
    ("config", "connector_id", "expires_in"),
    [
        (WITHOUT_RESERVATION, 1, 600),
        ({}, 2, 600),
        ({}, -1, 600),
        ({"ReserveConnectorZeroSupported": "false"}, 0, 600),
        ({}, 1, 0),
        ({}, 1, -5),
    ],
    ids=["not-supported", "unknown-connector", "negative-connector", "no-connector-zero", "expires-now", "expired"],
)
def test_tc_048_4_rejected(config: dict[str, str], connector_id: int, expires_in: float) -> None:
    sim = booted(config=config)
    assert reserve(sim, connector_id, expires_in=expires_in) == "Rejected"
    assert sim.flow() == []


def test_same_reservation_id_replaces_the_reservation() -> None:
    sim = booted(connectors=2)
    reserve(sim, 1, expires_in=60)
    assert reserve(sim, 2, expires_in=600) == "Accepted"
    assert sim.flow() == [
        "StatusNotification:1:Reserved",
        "StatusNotification:1:Available",
        "StatusNotification:2:Reserved",
    ]
    sim.advance(60)
    assert sim.flow() == []
    assert reserve(sim, 2, id_tag="OTHER", expires_in=600) == "Accepted"  # same id, same connector, new tag
    sim.token("VALID", 2)
    assert sim.cp.connector_status(2) == "Reserved"


def test_answer_overrides() -> None:
    sim = booted()
    assert reserve(sim, answer={"status": "Rejected"}) == "Rejected"
    assert sim.flow() == []
    sim.plug(1)
    sim.take()
    assert reserve(sim, answer={"status": "Accepted"}) == "Accepted"  # kept, though the connector is in use
    sim.unplug(1)
    assert sim.flow() == ["StatusNotification:1:Reserved"]
    assert reserve(sim, 2, reservation_id=8, answer={"status": "Accepted"}) == "Accepted"  # no such connector
    assert sim.call("CancelReservation", {"reservationId": 8}) == {"status": "Rejected"}
    assert sim.call("CancelReservation", {"reservationId": 7}, answer={"status": "Rejected"}) == {"status": "Rejected"}
    assert sim.cp.connector_status(1) == "Reserved"


# ------------------------------------------------------------------ CancelReservation


def test_tc_051_cancel_reservation() -> None:
    sim = booted()
    reserve(sim)
    assert cancel(sim, 7) == "Accepted"
    assert sim.flow() == ["StatusNotification:1:Reserved", "StatusNotification:1:Available"]
    sim.advance(600)
    assert [f for f in sim.flow() if f != "Heartbeat"] == []


def test_tc_052_cancel_unknown_reservation_is_rejected() -> None:
    sim = booted()
    reserve(sim)
    sim.take()
    assert cancel(sim, 8) == "Rejected"
    assert sim.cp.connector_status(1) == "Reserved"


def test_cancel_without_the_profile_is_rejected() -> None:
    assert cancel(booted(config=WITHOUT_RESERVATION), 1) == "Rejected"


# ------------------------------------------------------------------ who may use a reserved connector


def test_other_tag_cannot_use_a_reserved_connector() -> None:
    sim = booted()
    reserve(sim)
    sim.take()
    sim.plug(1)
    sim.token("OTHER")
    assert sim.flow() == ["StatusNotification:1:Preparing", "Authorize"]
    assert sim.cp.connector_status(1) == "Preparing"
    sim.unplug(1)
    assert sim.flow() == ["StatusNotification:1:Reserved"]


def test_tc_053_group_tag_uses_a_reservation_with_parent_id_tag() -> None:
    sim = booted()
    assert reserve(sim, id_tag="GROUP_A", parent="FLEET") == "Accepted"
    sim.take()
    sim.plug(1)
    sim.token("GROUP_B")
    sent = sim.take()
    assert [s.action for s in sent] == ["StatusNotification", "Authorize", "StartTransaction", "StatusNotification"]
    assert sent[2].payload == {
        "connectorId": 1,
        "idTag": "GROUP_B",
        "meterStart": 0,
        "reservationId": 7,
        "timestamp": format_time(sim.now),
    }
    sim.token("GROUP_A")  # another tag of the group stops it (TC_053 step "Authorize another idTag")
    assert sim.flow() == ["Authorize", "StopTransaction:Local", "StatusNotification:1:Finishing"]


def test_tag_of_another_group_cannot_use_the_reservation() -> None:
    sim = booted()
    sim.csms.tags["STRANGER"] = {"status": "Accepted", "parentIdTag": "OTHERS"}
    reserve(sim, id_tag="GROUP_A", parent="FLEET")
    sim.plug(1)
    sim.token("STRANGER")
    assert sim.cp.transaction_id(1) is None


def test_offline_reserved_connector_uses_the_cache_for_the_group() -> None:
    sim = booted()
    sim.token("GROUP_B")  # the cache learns GROUP_B's parent
    sim.advance(60)
    reserve(sim, id_tag="GROUP_A", parent="FLEET")
    sim.take()
    sim.go_offline()
    sim.plug(1)
    sim.token("OTHER")  # not cached, not the reserved tag: refused
    assert sim.cp.connector_status(1) == "Preparing"
    sim.token("GROUP_B")
    assert sim.cp.connector_status(1) == "Charging"
    sim.go_online()
    sent = sim.take()
    assert [s.action for s in sent] == ["StartTransaction", "StatusNotification"]
    assert sent[0].payload["reservationId"] == 7


def test_remote_start_on_a_reserved_connector() -> None:
    sim = booted()
    reserve(sim)
    sim.take()
    assert sim.call("RemoteStartTransaction", {"idTag": "OTHER", "connectorId": 1}) == {"status": "Rejected"}
    assert sim.call("RemoteStartTransaction", {"idTag": "VALID", "connectorId": 1}) == {"status": "Accepted"}
    sim.plug(1)
    sent = sim.take()
    assert [s.action for s in sent] == ["Authorize", "StatusNotification", "StartTransaction", "StatusNotification"]
    assert sent[2].payload["reservationId"] == 7


def test_remote_start_on_a_group_reservation_is_decided_by_authorize() -> None:
    sim = booted()
    reserve(sim, id_tag="GROUP_A", parent="FLEET")
    sim.take()
    assert sim.call("RemoteStartTransaction", {"idTag": "OTHER", "connectorId": 1}) == {"status": "Accepted"}
    assert sim.flow() == ["Authorize"]  # OTHER has no parentIdTag: not admitted
    assert sim.cp.connector_status(1) == "Reserved"
    assert sim.call("RemoteStartTransaction", {"idTag": "GROUP_B", "connectorId": 1}) == {"status": "Accepted"}
    assert sim.flow() == ["Authorize", "StatusNotification:1:Preparing"]


def test_remote_start_with_a_cached_foreign_group_is_rejected() -> None:
    sim = booted()
    sim.csms.tags["STRANGER"] = {"status": "Accepted", "parentIdTag": "OTHERS"}
    sim.token("STRANGER")
    sim.advance(60)
    reserve(sim, id_tag="GROUP_A", parent="FLEET")
    assert sim.call("RemoteStartTransaction", {"idTag": "STRANGER", "connectorId": 1}) == {"status": "Rejected"}


def test_remote_start_without_connector_takes_the_one_reserved_for_the_tag() -> None:
    sim = booted(connectors=2)
    reserve(sim, 1, id_tag="OTHER")
    reserve(sim, 2, reservation_id=8)
    sim.take()
    sim.call("RemoteStartTransaction", {"idTag": "VALID"})
    assert sim.flow() == ["Authorize", "StatusNotification:2:Preparing"]


def test_remote_start_without_authorize_on_a_reservation() -> None:
    sim = booted(config={"AuthorizeRemoteTxRequests": "false"})
    reserve(sim)
    sim.plug(1)
    sim.take()
    sim.call("RemoteStartTransaction", {"idTag": "VALID", "connectorId": 1})
    assert sim.take()[0].payload["reservationId"] == 7


def test_scenario_start_transaction_uses_up_the_reservation() -> None:
    sim = booted()
    reserve(sim)
    sim.take()
    payload = sim.cp.default_payload("StartTransaction", connector_id=1, id_tag="VALID", now=sim.now)
    assert payload["reservationId"] == 7
    assert "reservationId" not in sim.cp.default_payload(
        "StartTransaction", connector_id=1, id_tag="OTHER", now=sim.now
    )
    sim.cp.enqueue("StartTransaction", payload)
    sim.pump()
    assert sim.flow() == ["StartTransaction", "StatusNotification:1:Charging"]
    assert cancel(sim, 7) == "Rejected"


def test_reservations_for_another_connector_are_not_used() -> None:
    sim = booted(connectors=2)
    reserve(sim, 2)
    sim.take()
    sim.plug(1)
    sim.token("VALID")
    assert "reservationId" not in sim.take()[2].payload
    assert sim.cp.connector_status(2) == "Reserved"


# ------------------------------------------------------------------ connector 0: any one connector


def test_tc_049_reserve_the_charge_point() -> None:
    sim = booted()
    assert reserve(sim, 0) == "Accepted"
    assert sim.flow() == ["StatusNotification:1:Reserved"]
    sim.plug(1)
    sim.token("VALID")
    sent = sim.take()
    assert sent[2].action == "StartTransaction" and sent[2].payload["reservationId"] == 7


def test_connector_zero_holds_the_last_free_connector() -> None:
    sim = booted(connectors=2)
    assert reserve(sim, 0) == "Accepted"
    assert sim.flow() == []  # two free connectors for one reservation: none held yet
    sim.plug(1)
    assert sim.flow() == ["StatusNotification:1:Preparing", "StatusNotification:2:Reserved"]
    sim.token("OTHER", 2)
    assert sim.cp.transaction_id(2) is None
    sim.unplug(1)
    assert sim.flow() == ["Authorize", "StatusNotification:1:Available", "StatusNotification:2:Available"]


def test_connector_zero_reserved_tag_may_use_any_connector() -> None:
    sim = booted(connectors=2)
    reserve(sim, 0)
    sim.plug(2)
    assert sim.flow() == ["StatusNotification:2:Preparing", "StatusNotification:1:Reserved"]
    sim.token("VALID", 2)
    sent = sim.take()
    assert [s.action for s in sent] == ["Authorize", "StartTransaction", "StatusNotification", "StatusNotification"]
    assert sent[1].payload["reservationId"] == 7
    assert sim.flow() == []
    assert sim.cp.connector_status(1) == "Available"
    assert [s.payload["connectorId"] for s in sent[2:]] == [1, 2]


def test_connector_zero_when_no_connector_is_free() -> None:
    sim = charging()
    assert reserve(sim, 0) == "Occupied"
    sim = booted(connectors=2)
    assert reserve(sim, 0, reservation_id=1) == "Accepted"
    assert reserve(sim, 0, reservation_id=2, id_tag="OTHER") == "Accepted"
    assert sim.flow() == ["StatusNotification:1:Reserved", "StatusNotification:2:Reserved"]
    assert reserve(sim, 0, reservation_id=3, id_tag="THIRD") == "Occupied"
    assert reserve(sim, 1, reservation_id=4, id_tag="THIRD") == "Occupied"  # needed for the connector-0 ones


def test_specific_reservation_must_leave_a_connector_for_connector_zero() -> None:
    sim = booted(connectors=2)
    reserve(sim, 0, reservation_id=1)
    assert reserve(sim, 1, reservation_id=2, id_tag="OTHER") == "Accepted"
    assert sim.flow() == ["StatusNotification:1:Reserved", "StatusNotification:2:Reserved"]
    assert reserve(sim, 2, reservation_id=3, id_tag="THIRD") == "Occupied"


@pytest.mark.parametrize(("kind", "expected"), [("fault", "Faulted"), ("inoperative", "Unavailable")])
def test_connector_zero_when_every_connector_is_out_of_order(kind: str, expected: str) -> None:
    sim = booted(connectors=2)
    for connector_id in (1, 2):
        if kind == "fault":
            sim.fault(connector_id, "OtherError")
        else:
            sim.call("ChangeAvailability", {"connectorId": connector_id, "type": "Inoperative"})
    assert reserve(sim, 0) == expected


def test_connector_zero_on_an_inoperative_station_is_unavailable() -> None:
    sim = booted()
    sim.call("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})
    assert reserve(sim, 0) == "Unavailable"


def test_connector_zero_reservation_expires() -> None:
    sim = booted()
    reserve(sim, 0, expires_in=30)
    sim.advance(30)
    assert sim.flow() == ["StatusNotification:1:Reserved", "StatusNotification:1:Available"]


# ------------------------------------------------------------------ interplay


def test_reserved_status_reported_after_reconnect() -> None:
    sim = booted()
    sim.go_offline()
    reserve(sim)
    sim.go_online()
    assert sim.flow() == ["StatusNotification:1:Reserved"]


def test_reserved_connector_made_inoperative_and_back() -> None:
    sim = booted()
    reserve(sim)
    sim.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    sim.call("ChangeAvailability", {"connectorId": 1, "type": "Operative"})
    assert sim.flow() == [
        "StatusNotification:1:Reserved",
        "StatusNotification:1:Unavailable",
        "StatusNotification:1:Reserved",
    ]


def test_reservation_survives_a_reboot() -> None:
    sim = booted()
    reserve(sim)
    sim.call("Reset", {"type": "Soft"})
    sim.advance(10)
    assert [f for f in sim.flow() if f.startswith("StatusNotification:1")][-1] == "StatusNotification:1:Reserved"
