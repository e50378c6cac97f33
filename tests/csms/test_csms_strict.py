"""Strict mode (``CsmsServer(strict=True)``, ``ocpp-harness csms --strict``): each rule a strict third-party CSMS
may apply under OCPP 1.6. A test run in both modes asserts what each mode does, so every strict expectation is
shown to fail against the lenient CSMS. Order is asserted through the exchange log and the frames on the wire,
never through wall time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import HEARTBEAT_INTERVAL_S, Rig, StartCsms
from csms_kit import Api, Reply, StationSocket, open_socket
from websockets.exceptions import ConnectionClosed, InvalidStatus

from csms.app import CsmsServer, serve
from csms.policy import STRICT_RECONNECT_GRACE_S, Policy, TriggeredMessages, retry_after_s, unregistered_refusal
from harness.cli import main as cli_main
from ocppj.frames import encode_error, encode_result
from ocppj.timefmt import format_time

MODES = pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
SHORT_CALL_TIMEOUT_S = 0.5
STATUS_AVAILABLE = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
CONFIGURATION = {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "60"}]}

CSMS_TO_STATION = "csms_to_station"
STATION_TO_CSMS = "station_to_csms"


def start_payload(id_tag: str, connector_id: int = 1) -> dict[str, Any]:
    return {"connectorId": connector_id, "idTag": id_tag, "meterStart": 0, "timestamp": format_time(time.time())}


async def pending_station(rig: Rig, boot: dict[str, Any]) -> StationSocket:
    """A station whose first boot is answered Pending; in strict mode the CSMS's GetConfiguration that follows
    is answered (OCPP 1.6 §4.2)."""
    await rig.api.provision("CP_1", boot)
    station = await rig.open_station(provision=False)
    assert (await station.boot())["status"] == "Pending"
    if rig.csms.policy.strict:
        call = await station.expect_call("GetConfiguration")
        assert call[3] == {}
        await station.answer(call, CONFIGURATION)
    return station


@contextlib.asynccontextmanager
async def clear_cache_in_flight(rig: Rig) -> AsyncIterator[tuple[StationSocket, list[Any], asyncio.Task[Reply]]]:
    """A booted CP_1 that has received the CSMS's ClearCache and not answered it yet; the API call is done when
    the block ends."""
    station = await rig.open_station(boot=True)
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(rig.api.trigger("CP_1", "clear-cache"))
        yield station, await station.expect_call("ClearCache"), pending


async def first_call_after(station: StationSocket, api: Api, name: str, answer: dict[str, Any]) -> str:
    """Trigger ``name`` through the API and return the action of the first CALL the station then receives,
    answering it: an order-based way to see that the CSMS sent nothing else first."""
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(api.trigger("CP_1", name))
        call = await station.recv()
        assert call[0] == 2, call
        await station.answer(call, answer)
    assert pending.result().status == 200
    action = call[2]
    assert isinstance(action, str)
    return action


# -- the mode itself ------------------------------------------------------------------------------------------------


def test_policy_defaults() -> None:
    assert Policy.for_mode(strict=False) == Policy(strict=False, reconnect_grace_s=0.0)
    assert STRICT_RECONNECT_GRACE_S == 0.5
    assert Policy.for_mode(strict=True) == Policy(strict=True, reconnect_grace_s=0.5)
    assert Policy.for_mode(strict=True, reconnect_grace_s=0).reconnect_grace_s == 0
    with pytest.raises(ValueError):
        Policy.for_mode(strict=True, reconnect_grace_s=-1)


@MODES
async def test_the_mode_is_shown_in_the_api_and_the_log(
    start_csms: StartCsms, strict: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="csms")
    rig = await start_csms(strict=strict)
    reply = await rig.api.get("/api/settings")
    assert reply.status == 200
    assert reply.body == {
        "strict": strict,
        "reconnect_grace_s": 0.5 if strict else 0.0,
        "call_timeout_s": 1.0,
        "heartbeat_interval_s": HEARTBEAT_INTERVAL_S,
    }
    mode = "strict" if strict else "lenient"
    assert any(r.getMessage().endswith(f"in {mode} mode") for r in caplog.records if r.name == "csms.app")


async def test_serve_says_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with asyncio.TaskGroup() as group:
        task = group.create_task(serve(host="127.0.0.1", port=0, db_path=tmp_path / "s.sqlite3", strict=True))
        for _ in range(200):
            if line := capsys.readouterr().out:
                break
            await asyncio.sleep(0.01)
        task.cancel()
    first = line.splitlines()[0]
    assert re.fullmatch(r"CSMS listening on ws://127\.0\.0\.1:\d+/ocpp \(API http://\S+\) in strict mode", first), line


@pytest.mark.parametrize(("flags", "strict"), [([], False), (["--strict"], True)])
def test_cli_strict_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, flags: list[str], strict: bool) -> None:
    """``ocpp-harness csms --strict`` asks :func:`csms.app.serve` for the strict CSMS."""
    asked: dict[str, Any] = {}

    async def record(**arguments: Any) -> None:
        asked.update(arguments)

    monkeypatch.setattr("csms.app.serve", record)
    assert cli_main(["csms", "--port", "0", "--db", str(tmp_path / "c.sqlite3"), *flags]) == 0
    assert asked["strict"] is strict


# -- ConcurrentTx (OCPP 1.6 §7.2, §4.1, §4.10) ----------------------------------------------------------------------


@MODES
async def test_a_tag_in_a_transaction_is_concurrent_tx_on_any_station(start_csms: StartCsms, strict: bool) -> None:
    rig = await start_csms(strict=strict)
    await rig.api.post("/api/octt/create-token", {"token_id": "TAG_A", "status": "Accepted"})
    await rig.api.post("/api/octt/create-token", {"token_id": "TAG_B", "status": "Blocked"})
    cp_1 = await rig.open_station("CP_1", boot=True)
    cp_2 = await rig.open_station("CP_2", boot=True)
    held = "ConcurrentTx" if strict else "Accepted"
    first = await cp_1.result("StartTransaction", start_payload("TAG_A"))
    assert first["idTagInfo"]["status"] == "Accepted"
    assert (await cp_2.result("Authorize", {"idTag": "TAG_A"}))["idTagInfo"]["status"] == held
    assert (await cp_1.result("Authorize", {"idTag": "tag_a"}))["idTagInfo"]["status"] == held  # CiString20
    second = await cp_2.result("StartTransaction", start_payload("TAG_A", connector_id=2))
    assert second["idTagInfo"]["status"] == held
    assert type(second["transactionId"]) is int and second["transactionId"] > first["transactionId"]
    rows = {row["id"]: row for row in (await rig.api.get("/api/transactions")).body}
    assert rows[second["transactionId"]]["auth_status"] == held
    # A refused tag keeps its own status, and does not come to hold anything.
    await cp_1.result("StartTransaction", start_payload("TAG_B", connector_id=2))
    assert (await cp_2.result("Authorize", {"idTag": "TAG_B"}))["idTagInfo"]["status"] == "Blocked"
    # Stopping the transaction that holds the tag releases it; the ConcurrentTx one never held it.
    stop = {"transactionId": first["transactionId"], "meterStop": 10, "timestamp": format_time(time.time())}
    assert await cp_1.result("StopTransaction", {**stop, "idTag": "TAG_A"}) == {"idTagInfo": {"status": "Accepted"}}
    assert (await cp_2.result("Authorize", {"idTag": "TAG_A"}))["idTagInfo"]["status"] == "Accepted"


@MODES
async def test_two_stations_starting_with_one_tag_at_once(start_csms: StartCsms, strict: bool) -> None:
    """The ConcurrentTx decision and the new transaction are one step: of two simultaneous starts one wins."""
    rig = await start_csms(strict=strict)
    await rig.api.post("/api/octt/create-token", {"token_id": "TAG_C", "status": "Accepted"})
    stations = [await rig.open_station(station_id, boot=True) for station_id in ("CP_1", "CP_2")]
    for station in stations:
        await station.send_call("StartTransaction", start_payload("TAG_C"))
    statuses = sorted([(await station.recv())[2]["idTagInfo"]["status"] for station in stations])
    assert statuses == (["Accepted", "ConcurrentTx"] if strict else ["Accepted", "Accepted"])


# -- one connection per station id; a pause before the same id reconnects -------------------------------------------


def test_reconnect_wait_and_retry_after() -> None:
    policy = Policy.for_mode(strict=True, reconnect_grace_s=2.0)
    assert policy.reconnect_wait_s(None, now_s=100.0) == 0
    assert policy.reconnect_wait_s(99.0, now_s=100.0) == 1.0
    assert policy.reconnect_wait_s(90.0, now_s=100.0) == 0
    assert [retry_after_s(wait) for wait in (0.01, 0.5, 1.0, 1.2, 29.5)] == [1, 1, 1, 2, 30]


@MODES
async def test_a_second_connection_is_refused_while_the_first_is_open(start_csms: StartCsms, strict: bool) -> None:
    rig = await start_csms(strict=strict)
    first = await rig.open_station(boot=True)
    if strict:
        with pytest.raises(InvalidStatus) as refused:
            await rig.open_station(provision=False)
        assert refused.value.response.status_code == 409
        assert "currentTime" in await first.result("Heartbeat", {})
    else:
        await rig.open_station(provision=False)  # the newest wins
        with pytest.raises(ConnectionClosed):
            await first.recv()


@MODES
async def test_a_reconnect_within_the_grace_is_refused_with_503(
    start_csms: StartCsms, strict: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A grace far longer than the test makes "within" certain without timing anything."""
    caplog.set_level(logging.INFO, logger="csms")
    rig = await start_csms(strict=strict, reconnect_grace_s=30 if strict else None)
    first = await rig.open_station(boot=True)
    await first.ws.close()
    await rig.api.wait_disconnected("CP_1")
    if strict:
        with pytest.raises(InvalidStatus) as refused:
            await rig.open_station(provision=False)
        assert refused.value.response.status_code == 503
        assert 1 <= int(refused.value.response.headers["Retry-After"]) <= 30
        assert any("reconnect grace" in r.getMessage() for r in caplog.records if r.name == "csms.app")
    else:
        assert "currentTime" in await (await rig.open_station(provision=False)).result("Heartbeat", {})


async def test_a_reconnect_after_the_grace_is_accepted(start_csms: StartCsms) -> None:
    rig = await start_csms(strict=True, reconnect_grace_s=0.05)
    first = await rig.open_station(boot=True)
    await first.ws.close()
    await rig.api.wait_disconnected("CP_1")
    for _ in range(100):
        try:
            station = await rig.open_station(provision=False)
        except InvalidStatus as refused:
            assert refused.response.status_code == 503
            await asyncio.sleep(0.02)
        else:
            assert "currentTime" in await station.result("Heartbeat", {})
            return
    raise AssertionError("the reconnect was refused long after its grace")


async def test_a_connection_without_ocpp_does_not_start_a_grace(start_csms: StartCsms) -> None:
    """OCPP-J 1.6 §3.2: a handshake without ``ocpp1.6`` is closed at once; it held no OCPP session to wind
    down, so a proper connection may follow straight away."""
    rig = await start_csms(strict=True, reconnect_grace_s=30)
    await rig.api.provision("CP_1")
    wrong = await rig.open_station(provision=False, subprotocols=["ocpp0.1"])
    with pytest.raises(ConnectionClosed):
        await wrong.recv()
    await rig.open_station(provision=False, boot=True)


# -- one exchange in flight per station id, across connections (OCPP-J 1.6 §4.1.1) ----------------------------------


@MODES
async def test_station_calls_wait_for_the_csms_call_in_flight(start_csms: StartCsms, strict: bool) -> None:
    """CALLs sent while the CSMS's ClearCache is unanswered: strict mode answers them after it, in order."""
    rig = await start_csms(strict=strict)
    async with clear_cache_in_flight(rig) as (station, call, pending):
        sent = [
            await station.send_call("Heartbeat", {}),
            await station.send_call("StatusNotification", STATUS_AVAILABLE),
            await station.send_call("Authorize", {"idTag": "ANY"}),
        ]
        await station.send_raw('[2, "broken-1", "Heartbeat"]')  # answered in its turn too
        await station.answer(call, {"status": "Accepted"})
        answers = [await station.recv() for _ in range(4)]
    assert pending.result().body == {"status": "Accepted"}
    assert [(frame[0], frame[1]) for frame in answers] == [(3, unique_id) for unique_id in sent] + [(4, "broken-1")]
    station_calls = [
        (STATION_TO_CSMS, "Heartbeat", "result"),
        (STATION_TO_CSMS, "StatusNotification", "result"),
        (STATION_TO_CSMS, "Authorize", "result"),
        (STATION_TO_CSMS, "", "error"),
    ]
    clear_cache = [(CSMS_TO_STATION, "ClearCache", "result")]
    boot = [(STATION_TO_CSMS, "BootNotification", "result")]
    expected = boot + (clear_cache + station_calls if strict else station_calls + clear_cache)
    assert await rig.api.exchanges("CP_1") == expected


@MODES
async def test_station_calls_wait_until_the_csms_call_times_out(start_csms: StartCsms, strict: bool) -> None:
    rig = await start_csms(strict=strict)
    async with clear_cache_in_flight(rig) as (station, _, pending):
        assert "currentTime" in await station.result("Heartbeat", {})
    assert pending.result().status == 504
    heartbeat = [(STATION_TO_CSMS, "Heartbeat", "result")]
    timed_out = [(CSMS_TO_STATION, "ClearCache", "timeout")]
    expected = timed_out + heartbeat if strict else heartbeat + timed_out
    assert (await rig.api.exchanges("CP_1"))[1:] == expected


@MODES
async def test_the_csms_call_outlives_its_connection(start_csms: StartCsms, strict: bool) -> None:
    """A station closes its socket without answering; the BootNotification of its next connection waits until
    the CALL has timed out in strict mode. Lenient mode fails the CALL at once."""
    rig = await start_csms(strict=strict, call_timeout_s=SHORT_CALL_TIMEOUT_S, reconnect_grace_s=0)
    async with clear_cache_in_flight(rig) as (first, _, pending):
        await first.ws.close()
        await rig.api.wait_disconnected("CP_1")
        second = await rig.open_station(provision=False)
        assert (await second.boot())["status"] == "Accepted"
    exchanges = await rig.api.exchanges("CP_1")
    if strict:
        assert pending.result().status == 504
        assert exchanges == [
            (STATION_TO_CSMS, "BootNotification", "result"),
            (CSMS_TO_STATION, "ClearCache", "timeout"),
            (STATION_TO_CSMS, "BootNotification", "result"),
        ]
    else:
        assert pending.result().status == 502
        assert (CSMS_TO_STATION, "ClearCache", "disconnected") in exchanges


async def test_shutting_down_fails_the_call_in_flight(tmp_path: Path) -> None:
    """A strict CSMS that stops does not wait for the timeout of a CALL in flight: the API caller hears that
    the station is gone (502), not that it timed out."""
    server = CsmsServer(db_path=tmp_path / "x.sqlite3", strict=True, call_timeout_s=3600)
    await server.__aenter__()
    async with aiohttp.ClientSession(base_url=server.api_url, headers=server.api_headers) as session:
        api = Api(session)
        await api.provision("CP_1")
        station = StationSocket(await open_socket(f"{server.ws_url}/CP_1"))
        try:
            await station.boot()
            async with asyncio.TaskGroup() as group:
                pending = group.create_task(api.trigger("CP_1", "clear-cache"))
                await station.expect_call("ClearCache")
                await server.__aexit__(None, None, None)
        finally:
            await station.ws.close()
    assert pending.result().status == 502


# -- CALLs before registration (OCPP 1.6 §4.2) ----------------------------------------------------------------------


@MODES
async def test_calls_before_a_boot_are_security_errors(start_csms: StartCsms, strict: bool) -> None:
    rig = await start_csms(strict=strict)
    station = await rig.open_station()
    frame = await station.call("Heartbeat", {})
    if strict:
        assert frame[2] == "SecurityError" and "OCPP 1.6 §4.2" in frame[3] and frame[4] == {}
        assert (await rig.api.exchanges("CP_1"))[-1] == (STATION_TO_CSMS, "Heartbeat", "error")
    else:
        assert frame[0] == 3
    await station.boot()
    assert "currentTime" in await station.result("Heartbeat", {})


@MODES
@pytest.mark.parametrize("boot_status", ["Pending", "Rejected"])
async def test_calls_while_not_accepted_are_security_errors(
    start_csms: StartCsms, strict: bool, boot_status: str
) -> None:
    rig = await start_csms(strict=strict)
    if boot_status == "Pending":
        station = await pending_station(rig, {"status": "Pending", "interval_s": 300})
    else:
        await rig.api.provision("CP_1", {"status": "Rejected", "interval_s": 300})
        station = await rig.open_station(provision=False)
        assert (await station.boot())["status"] == "Rejected"
    frame = await station.call("StatusNotification", STATUS_AVAILABLE)
    if strict:
        assert frame[2] == "SecurityError" and boot_status in frame[3] and "§4.2" in frame[3]
    else:
        assert frame == [3, frame[1], {}]
    assert (await station.boot())["status"] == boot_status  # a BootNotification is always processed


@MODES
async def test_a_triggered_message_is_taken_once_while_pending(start_csms: StartCsms, strict: bool) -> None:
    """OCPP 1.6 §4.2: a Pending station sends what the CSMS asked for with TriggerMessage, and only that."""
    rig = await start_csms(strict=strict)
    station = await pending_station(rig, {"status": "Pending", "interval_s": 300})
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(
            rig.api.trigger("CP_1", "trigger-message", {"requestedMessage": "StatusNotification", "connectorId": 1})
        )
        await station.answer(await station.expect_call("TriggerMessage"), {"status": "Accepted"})
    assert pending.result().body == {"status": "Accepted"}
    assert await station.result("StatusNotification", STATUS_AVAILABLE) == {}
    second = await station.call("StatusNotification", STATUS_AVAILABLE)
    assert second[0] == (4 if strict else 3)
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(rig.api.trigger("CP_1", "trigger-message", {"requestedMessage": "Heartbeat"}))
        await station.answer(await station.expect_call("TriggerMessage"), {"status": "Rejected"})
    assert (await station.call("Heartbeat", {}))[0] == (4 if strict else 3)


def test_triggered_messages_are_counted_per_accepted_trigger() -> None:
    triggered = TriggeredMessages()
    accepted = encode_result("1", {"status": "Accepted"})
    triggered.observe("TriggerMessage", {"requestedMessage": "MeterValues"}, accepted)
    triggered.observe("TriggerMessage", {"requestedMessage": "Heartbeat"}, encode_result("2", {"status": "Rejected"}))
    triggered.observe("ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"}, accepted)
    triggered.observe("TriggerMessage", {"requestedMessage": "StatusNotification"}, encode_error("3", "NotSupported"))
    triggered.observe("GetConfiguration", {}, encode_result("4", {}))
    assert [triggered.consume(a) for a in ("MeterValues", "MeterValues", "Heartbeat", "StatusNotification")] == [
        True,
        False,
        False,
        False,
    ]
    assert triggered.consume("SignCertificate")
    triggered.observe("TriggerMessage", {"requestedMessage": "MeterValues"}, accepted)
    triggered.clear()
    assert not triggered.consume("MeterValues")
    assert unregistered_refusal("BootNotification", None) is None
    assert unregistered_refusal("Heartbeat", "Accepted") is None
    assert "has not registered" in (unregistered_refusal("Heartbeat", None) or "")


# -- CALLs to a Pending station (OCPP 1.6 §4.2, §5.17) --------------------------------------------------------------


@MODES
async def test_a_pending_station_is_queried_then_triggered_to_boot(start_csms: StartCsms, strict: bool) -> None:
    """accept_after_boots=1: the next boot will be Accepted, so strict mode asks for it at once."""
    rig = await start_csms(strict=strict)
    station = await pending_station(rig, {"status": "Pending", "interval_s": 300, "accept_after_boots": 1})
    if strict:
        call = await station.expect_call("TriggerMessage")
        assert call[3] == {"requestedMessage": "BootNotification"}
        await station.answer(call, {"status": "Accepted"})
        assert (await station.boot())["status"] == "Accepted"
    # Whatever the mode, an Accepted station is sent nothing unasked (reference §5.6).
    assert await first_call_after(station, rig.api, "get-local-list-version", {"listVersion": 0}) == (
        "GetLocalListVersion"
    )
    sent = [action for direction, action, _ in await rig.api.exchanges("CP_1") if direction == CSMS_TO_STATION]
    assert sent == (["GetConfiguration", "TriggerMessage"] if strict else []) + ["GetLocalListVersion"]


async def test_pending_until_the_boot_count_is_used_up(start_csms: StartCsms) -> None:
    """accept_after_boots=2: after the first Pending the next boot is Pending too, so no trigger yet."""
    rig = await start_csms(strict=True)
    station = await pending_station(rig, {"status": "Pending", "interval_s": 300, "accept_after_boots": 2})
    assert await first_call_after(station, rig.api, "get-local-list-version", {"listVersion": 0}) == (
        "GetLocalListVersion"
    )
    assert (await station.boot())["status"] == "Pending"
    await station.answer(await station.expect_call("GetConfiguration"), CONFIGURATION)
    call = await station.expect_call("TriggerMessage")
    await station.answer(call, {"status": "Accepted"})
    assert (await station.boot())["status"] == "Accepted"
    await station.expect_silence()


@MODES
async def test_a_pending_station_is_triggered_once_an_operator_accepts_it(start_csms: StartCsms, strict: bool) -> None:
    rig = await start_csms(strict=strict)
    station = await pending_station(rig, {"status": "Pending", "interval_s": 300})
    assert await first_call_after(station, rig.api, "get-local-list-version", {"listVersion": 0}) == (
        "GetLocalListVersion"
    )
    assert (await rig.api.post("/api/stations/CP_1/accept")).status == 200
    if strict:
        call = await station.expect_call("TriggerMessage")
        assert call[3] == {"requestedMessage": "BootNotification"}
        await station.answer(call, {"status": "Accepted"})
        assert (await station.boot())["status"] == "Accepted"
    else:
        assert await first_call_after(station, rig.api, "clear-cache", {"status": "Accepted"}) == "ClearCache"


async def test_a_rejected_or_accepted_station_is_sent_nothing(start_csms: StartCsms) -> None:
    """OCPP 1.6 §4.2: nothing to a Rejected station; reference §5.6: nothing unasked to an Accepted one."""
    rig = await start_csms(strict=True)
    await rig.api.provision("CP_1", {"status": "Rejected", "interval_s": 300})
    rejected = await rig.open_station(provision=False)
    assert (await rejected.boot())["status"] == "Rejected"
    assert (await rig.api.post("/api/stations/CP_1/accept")).status == 200  # its next boot would be Accepted
    await rejected.expect_silence()
    accepted = await rig.open_station("CP_2", boot=True)
    await accepted.expect_silence()


async def test_a_refused_trigger_leaves_the_station_to_retry(start_csms: StartCsms) -> None:
    rig = await start_csms(strict=True)
    station = await pending_station(rig, {"status": "Pending", "interval_s": 300, "accept_after_boots": 1})
    await station.answer(await station.expect_call("TriggerMessage"), {"status": "Rejected"})
    await station.expect_silence()
    assert (await station.boot())["status"] == "Accepted"


async def test_the_follow_up_task_ends_with_its_connection(start_csms: StartCsms) -> None:
    """Structured concurrency: the task that follows a Pending boot up belongs to the connection. Closed while
    it waits, it is cancelled; closed while its CALL is on the wire, it ends when the CALL times out."""
    rig = await start_csms(strict=True, call_timeout_s=SHORT_CALL_TIMEOUT_S, reconnect_grace_s=0)
    station = await pending_station(rig, {"status": "Pending", "interval_s": 300})
    assert follow_up_tasks("CP_1")
    await station.ws.close()
    await until_no_follow_up_task("CP_1")
    station = await rig.open_station(provision=False)
    assert (await station.boot())["status"] == "Pending"
    await station.expect_call("GetConfiguration")
    await station.ws.close()
    await until_no_follow_up_task("CP_1")
    assert (await rig.api.exchanges("CP_1"))[-1] == (CSMS_TO_STATION, "GetConfiguration", "timeout")


def follow_up_tasks(station_id: str) -> list[asyncio.Task[Any]]:
    return [task for task in asyncio.all_tasks() if task.get_name() == f"pending {station_id}" and not task.done()]


async def until_no_follow_up_task(station_id: str) -> None:
    for _ in range(300):
        if not follow_up_tasks(station_id):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the task following up the Pending boot outlived its connection")
