"""Fleet statistics (mergeable histograms), the seeded drivers of a load run (sans-I/O, fake time), and a small
fleet against the bundled CSMS on 127.0.0.1."""

from __future__ import annotations

import math
import random
import time
from dataclasses import replace
from pathlib import Path

import pytest

from csms.app import CsmsServer
from csms.store import Token
from harness.timing import nearest_rank
from simulator.behaviour import BehaviourSettings, Draws, Drivers
from simulator.fleet import Fleet, FleetSettings, Progress
from simulator.model import ChargePoint, StationSpec
from simulator.station import RuntimeSettings
from simulator.stats import FleetStats, LatencyHistogram


def test_histogram_percentiles_are_the_nearest_rank_within_one_percent() -> None:
    rng = random.Random(3)
    samples = [rng.lognormvariate(-5, 1) for _ in range(5000)]
    histogram = LatencyHistogram()
    for value in samples:
        histogram.record(value)
    ordered = sorted(samples)
    for percent in (50, 95, 99):
        exact = nearest_rank(ordered, percent)
        assert math.isclose(histogram.percentile_s(percent), exact, rel_tol=0.011)
    assert histogram.percentile_s(100) == max(samples)
    assert histogram.percentile_s(0) == min(samples)
    assert histogram.summary()["count"] == 5000


def test_histograms_merge_as_if_recorded_in_one() -> None:
    one, two, both = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for index in range(1, 200):
        value = index / 1000
        (one if index % 2 else two).record(value)
        both.record(value)
    one.merge(two)
    assert one.summary() == both.summary()
    assert LatencyHistogram.from_json(one.as_json()).summary() == both.summary()


def test_fleet_stats_merge_counts_and_transactions() -> None:
    first, second = FleetStats(), FleetStats()
    first.exchange("A", "Heartbeat", "CALLRESULT", 0.001)
    second.exchange("B", "Heartbeat", "timeout", None)
    first.transaction("A", 1, stopped=False)
    second.transaction("A", 1, stopped=True)
    second.connection("B", "failed refused")
    first.merge(second)
    assert first.outcomes == {"Heartbeat": {"CALLRESULT": 1, "timeout": 1}}
    assert first.errors() == {"timeout": 1}
    assert first.transactions == {("A", 1): True}
    assert first.connections == {"failed refused": 1}
    assert first.calls() == 2


def test_draws_repeat_with_their_seed() -> None:
    assert [Draws(1, 2, 3).random() for _ in range(3)] == [Draws(1, 2, 3).random() for _ in range(3)]
    assert Draws(1, 2, 3).random() != Draws(1, 2, 4).random()
    values = [Draws(7, i).random() for i in range(2000)]
    assert all(0 <= v < 1 for v in values) and 0.45 < sum(values) / len(values) < 0.55


def _drive(seed: int, *, until_s: float) -> list[tuple[float, str]]:
    """A station answered instantly by a compliant CSMS, under its drivers, in fake time: what it sent."""
    now = 1_767_225_600.0
    station = ChargePoint(StationSpec(station_id="S", connectors=2), now=now)
    drivers = Drivers(
        BehaviourSettings(sessions_per_hour=60, session_s=120, faults_per_hour=6, offline_per_hour=6),
        seed=seed,
        station_index=4,
        connectors=2,
        token_for=lambda c: f"T4-{c}",
        now=now,
    )
    answers = {
        "BootNotification": {"status": "Accepted", "currentTime": "2026-01-01T00:00:00Z", "interval": 300},
        "Authorize": {"idTagInfo": {"status": "Accepted"}},
        "StartTransaction": {"idTagInfo": {"status": "Accepted"}, "transactionId": 1},
    }
    sent: list[tuple[float, str]] = []
    end = now + until_s
    while now < end:
        if station.wants_connection() and not station.link_up:
            station.connected(now)
        while (call := station.next_call(now)) is not None:
            sent.append((round(now - 1_767_225_600.0, 6), call.action))
            station.call_result(call, answers.get(call.action, {}), now)
        at = [t for t in (station.next_deadline(), drivers.next_at()) if t is not None]
        now = max(now + 0.001, min(at)) if at else end
        if drivers.next_at() is not None and drivers.next_at() <= now:  # type: ignore[operator]
            drivers.act(station, now)
    return sent


def test_the_drivers_repeat_a_run_with_the_same_seed() -> None:
    first = _drive(11, until_s=3600)
    assert first == _drive(11, until_s=3600)
    assert first != _drive(12, until_s=3600)
    actions = {action for _, action in first}
    assert {"Authorize", "StartTransaction", "StopTransaction", "StatusNotification"} <= actions


async def test_a_fleet_ramps_up_runs_sessions_and_stops_cleanly(tmp_path: Path) -> None:
    settings = FleetSettings(
        endpoint_url="",
        stations=4,
        connectors=2,
        ramp_s=0.2,
        seed=5,
        config=(("MeterValueSampleInterval", "1"),),
        runtime=RuntimeSettings(reconnect_initial_s=0.1),
        behaviour=BehaviourSettings(
            sessions_per_hour=36000, session_s=1.0, token_delay_s=(0.05, 0.1), unplug_delay_s=(0.05, 0.1)
        ),
    )
    progress: list[Progress] = []
    async with CsmsServer(db_path=tmp_path / "csms.sqlite3") as csms:
        settings = replace(settings, endpoint_url=csms.ws_url)
        for index in settings.indexes():
            await csms.store.provision_station(settings.station_id(index), boot=None, now_s=time.time())
            for connector in (1, 2):
                await csms.store.put_token(Token(settings.token_id(index, connector), "Accepted", None, None))
        fleet = Fleet(settings)
        stats = await fleet.run(duration_s=2, on_progress=progress.append, progress_every_s=0.5)
        recorded = {(tx.station_id, tx.id): tx.stopped_at is not None for tx in await csms.store.list_transactions()}
    assert stats.outcomes["BootNotification"] == {"CALLRESULT": 4}
    assert stats.transactions and stats.transactions == recorded  # every acknowledged one, and stopped
    assert all(stats.transactions.values())
    assert progress and progress[-1].started == 4
    assert len(stats.processes) == 1 and stats.processes[0].lag.count > 0
    assert [station.state for station in fleet.stations] == ["stopped"] * 4


def test_fleet_settings_name_stations_and_tokens_and_refuse_long_tokens() -> None:
    settings = FleetSettings(endpoint_url="ws://h/ocpp", stations=3, first_index=10, id_prefix="X-", connectors=2)
    assert [settings.station_id(i) for i in settings.indexes()] == ["X-00010", "X-00011", "X-00012"]
    assert settings.token_id(11, 2) == "T11-2"
    assert settings.sliced(11, 2).indexes() == range(11, 13)
    with pytest.raises(ValueError, match="20 characters"):
        Fleet(FleetSettings(endpoint_url="ws://h/ocpp", token_prefix="A-VERY-LONG-PREFIX-"))
