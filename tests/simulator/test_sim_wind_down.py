"""The end of a test case at the station: wind_down leaves it idle (OCTT D24 §1.2 preconditions) and settled
says when everything it had to say is said; link_up tells the runtime a dropped link must be closed first."""

from __future__ import annotations

from sim_kit import Hold, booted, charging


def test_wind_down_stops_a_running_transaction_and_frees_the_connector() -> None:
    sim = charging()
    assert not sim.cp.settled()
    sim.act(sim.cp.wind_down)
    assert sim.flow() == ["StopTransaction:Local", "StatusNotification:1:Finishing", "StatusNotification:1:Available"]
    assert sim.cp.settled()
    assert sim.cp.connector_status(1) == "Available" and sim.cp.transaction_id(1) is None


def test_wind_down_clears_faults_drops_identifications_and_unplugs() -> None:
    sim = booted(connectors=2)
    sim.fault(2, "GroundFailure")
    sim.token("VALID", 1)
    sim.take()
    assert sim.cp.connector_status(1) == "Preparing"
    sim.act(sim.cp.wind_down)
    assert sorted(sim.flow()) == ["StatusNotification:1:Available", "StatusNotification:2:Available"]
    sim.advance(600)  # no ConnectionTimeOut left behind, nothing starts later: heartbeats only
    assert set(sim.flow()) == {"Heartbeat"} and sim.cp.settled()


def test_wind_down_brings_an_offline_station_back_and_delivers_its_queue() -> None:
    sim = charging()
    sim.go_offline()
    assert not sim.cp.wants_connection()
    sim.act(sim.cp.wind_down)
    assert sim.cp.wants_connection()
    assert sim.flow() == ["StopTransaction:Local", "StatusNotification:1:Available"]
    assert sim.cp.settled()


def test_settled_waits_for_the_call_in_flight() -> None:
    sim = booted()
    sim.queue_reply("StopTransaction", Hold())
    sim.plug()
    sim.token()
    sim.take()
    sim.act(sim.cp.wind_down)
    assert not sim.cp.settled()  # the StopTransaction is unanswered
    sim.release()
    assert sim.cp.settled()


def test_link_up_turns_false_at_a_network_loss_even_when_the_network_is_back() -> None:
    sim = booted()
    assert sim.cp.link_up
    sim.cp.go_offline(sim.now)
    sim.cp.go_online(sim.now)
    assert sim.cp.wants_connection() and not sim.cp.link_up
