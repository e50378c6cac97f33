"""The asyncio runtime of one station (simulator.station) over a real websocket on 127.0.0.1: boot, physical
acts sent at once, CSMS calls answered, timeouts, reconnection after the CSMS closed, and the clean stop with
its report of what could not be delivered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from runtime_kit import FakeCsms, fake_csms, until

from csms.app import CsmsServer
from csms.store import Token
from simulator.model import StationSpec
from simulator.station import Clock, RuntimeSettings, Station
from simulator.stats import FleetStats
from simulator.transport import LinkSettings, station_url

FAST = RuntimeSettings(response_timeout_s=0.5, reconnect_initial_s=0.05, reconnect_max_s=0.2, drain_timeout_s=5)


def _station(fake: FakeCsms, stats: FleetStats, *, settings: RuntimeSettings = FAST, connectors: int = 1) -> Station:
    return Station(
        StationSpec(station_id="CP 1", connectors=connectors),
        link=LinkSettings(url=station_url(fake.url, "CP 1")),
        clock=Clock(),
        settings=settings,
        observer=stats,
    )


@asynccontextmanager
async def booted_station(stats: FleetStats, **fake_options: Any) -> AsyncIterator[tuple[FakeCsms, Station]]:
    """A station running against a fake CSMS, booted and reported; stopped cleanly at the end."""
    async with fake_csms(**fake_options) as fake, asyncio.TaskGroup() as group:
        station = _station(fake, stats)
        group.create_task(station.run())
        await until(lambda: fake.actions().count("StatusNotification") >= 2, what="the boot report")
        yield fake, station
        station.stop()


async def test_a_station_boots_and_a_physical_act_goes_out_at_once() -> None:
    stats = FleetStats()
    async with booted_station(stats) as (fake, station):
        assert fake.paths == ["/ocpp/CP%201"]
        assert fake.actions()[0] == "BootNotification"
        station.act("plug", connector_id=1)
        station.act("present_token", connector_id=1, id_tag="TAG_1")
        await until(lambda: "StartTransaction" in fake.actions(), what="StartTransaction")
        await until(lambda: station.model.transaction_id(1) == 42, what="the transaction id")
        status = station.status()
        assert status.state == "connected" and status.connectors == (("Charging", 42),)
    # the clean stop: the running transaction stopped (reason Local) and delivered before the close
    stop = next(frame for frame in fake.received if frame[0] == 2 and frame[2] == "StopTransaction")
    assert stop[3]["transactionId"] == 42 and stop[3]["reason"] == "Local"
    assert stats.transactions == {("CP 1", 42): True}
    assert stats.outcomes["StartTransaction"] == {"CALLRESULT": 1}
    assert stats.latency["Authorize"].count == 1
    assert stats.connections == {"opened": 1, "closed by the station": 1}
    assert stats.undelivered == {}
    assert station.state == "stopped"


async def test_a_csms_call_is_answered_by_the_model() -> None:
    stats = FleetStats()
    async with booted_station(stats) as (fake, station):
        await fake.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
        await fake.call("NoSuchAction", {})
        await until(lambda: len(fake.answers) == 2, what="two answers")
    assert fake.answers[0][0] == 3
    assert fake.answers[0][2]["configurationKey"] == [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
    assert fake.answers[1][0] == 4 and fake.answers[1][2] == "NotImplemented"
    assert stats.csms_calls == {"GetConfiguration CALLRESULT": 1, "NoSuchAction CALLERROR NotImplemented": 1}


async def test_an_unanswered_call_times_out_and_the_station_goes_on() -> None:
    stats = FleetStats()
    async with booted_station(stats, hold={"Authorize"}) as (fake, station):
        station.act("present_token", connector_id=1, id_tag="TAG_1")
        await until(lambda: stats.outcomes.get("Authorize", {}).get("timeout") == 1, what="the timeout")
        await fake.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
        await until(lambda: len(fake.answers) == 1, what="the answer after the timeout")
    assert "Authorize" not in stats.latency  # no answer, no response time


async def test_the_station_reconnects_after_the_csms_closed_the_connection() -> None:
    stats = FleetStats()
    async with fake_csms(close_after=1) as fake, asyncio.TaskGroup() as group:
        station = _station(fake, stats)
        group.create_task(station.run())
        await until(lambda: fake.connections == 2, what="the second connection")
        await until(lambda: stats.connections.get("opened") == 2, what="the station to take it as open")
        station.stop()
    assert stats.connections["closed by the CSMS"] == 1
    # after a mere reconnect the station reports what changed; it does not boot again (OCPP 1.6 §4.8)
    assert fake.actions().count("BootNotification") == 1


async def test_a_stop_while_offline_reports_what_could_not_be_delivered() -> None:
    stats = FleetStats()
    async with booted_station(stats) as (fake, station):
        station.act("plug", connector_id=1)
        station.act("present_token", connector_id=1, id_tag="TAG_1")
        await until(lambda: station.model.transaction_id(1) == 42, what="the transaction")
        station.act("go_offline")
        await until(lambda: station.state == "offline", what="the station to go offline")
    assert stats.undelivered == {"StopTransaction": 1}
    assert stats.transactions == {("CP 1", 42): False}
    assert "StopTransaction" not in fake.actions()


async def test_a_refused_station_counts_its_failed_attempts(tmp_path: Path) -> None:
    stats = FleetStats()
    async with CsmsServer(db_path=tmp_path / "csms.sqlite3") as csms, asyncio.TaskGroup() as group:
        station = Station(
            StationSpec(station_id="UNKNOWN"),
            link=LinkSettings(url=station_url(csms.ws_url, "UNKNOWN")),
            clock=Clock(),
            settings=FAST,
            observer=stats,
        )
        group.create_task(station.run())
        await until(lambda: stats.connections.get("failed http", 0) >= 2, what="two refused attempts")
        assert station.last_event == "connection failed: HTTP 404 during the websocket handshake"
        station.stop()


async def test_a_session_against_the_bundled_csms_is_recorded_there(tmp_path: Path) -> None:
    stats = FleetStats()
    async with CsmsServer(db_path=tmp_path / "csms.sqlite3") as csms:
        await csms.store.provision_station("CP_9", boot=None, now_s=time.time())
        await csms.store.put_token(Token("TAG_9", "Accepted", None, None))
        async with asyncio.TaskGroup() as group:
            station = Station(
                StationSpec(station_id="CP_9", connectors=2),
                link=LinkSettings(url=station_url(csms.ws_url, "CP_9")),
                clock=Clock(),
                settings=RuntimeSettings(heartbeat_interval_s=30, validate_answers=True),
                observer=stats,
            )
            group.create_task(station.run())
            await until(lambda: station.model.registration == "Accepted", what="the registration")
            station.act("present_token", connector_id=2, id_tag="TAG_9")
            station.act("plug", connector_id=2)
            await until(lambda: station.model.transaction_id(2) is not None, what="the transaction")
            station.stop()
        transactions = await csms.store.list_transactions("CP_9")
    assert [(tx.connector_id, tx.id_tag, tx.stop_reason) for tx in transactions] == [(2, "TAG_9", "Local")]
    assert stats.transactions == {("CP_9", transactions[0].id): True}
    assert station.model.configuration()["HeartbeatInterval"] == "30"
    assert all(set(counts) == {"CALLRESULT"} for counts in stats.outcomes.values()), stats.outcomes
