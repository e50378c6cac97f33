"""What the CSMS answers to each charge-point CALL (OCPP 1.6 §4; reference §5.3-§5.5)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from conftest import HEARTBEAT_INTERVAL_S, OpenStation
from csms_kit import BOOT_PAYLOAD, Api, StationSocket, open_socket

from csms.app import CsmsServer
from ocppj.schemas import validate
from ocppj.timefmt import format_time, parse_time

Z_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def assert_conforms(action: str, payload: dict[str, object]) -> None:
    assert validate(action, payload, response=True) == []


async def test_boot_accepted_with_integer_interval_and_utc_time(open_station: OpenStation, api: Api) -> None:
    """TC_001_CSMS: Accepted, RFC 3339 currentTime (UTC, Z), integer interval > 0."""
    station = await open_station()
    before = time.time()
    answer = await station.boot()
    assert_conforms("BootNotification", answer)
    assert answer["status"] == "Accepted"
    assert type(answer["interval"]) is int and answer["interval"] == HEARTBEAT_INTERVAL_S
    assert Z_TIME.match(answer["currentTime"])
    assert before - 1 <= parse_time(answer["currentTime"]) <= time.time() + 1
    heartbeat = await station.result("Heartbeat", {})
    assert Z_TIME.match(heartbeat["currentTime"])
    view = (await api.get("/api/stations/CP_1")).body
    assert view["registration_status"] == "Accepted" and view["boot_count"] == 1
    assert (view["vendor"], view["model"], view["serial_number"], view["firmware_version"]) == (
        "VendorX",
        "ModelY",
        "SN-1",
        "1.0.0",
    )
    assert view["last_heartbeat_at"] is not None


async def test_boot_pending_then_accepted_after_n_boots(open_station: OpenStation, api: Api) -> None:
    """OCPP 1.6 §4.2: Pending carries the retry interval; after N Pending answers the station is Accepted."""
    await api.provision("CP_1", {"status": "Pending", "interval_s": 7, "accept_after_boots": 2})
    station = await open_station(provision=False)
    for _ in range(2):
        answer = await station.boot()
        assert_conforms("BootNotification", answer)
        assert (answer["status"], answer["interval"]) == ("Pending", 7)
    answer = await station.boot()
    assert answer["status"] == "Accepted" and answer["interval"] == 7  # the configured interval is explicit
    view = (await api.get("/api/stations/CP_1")).body
    assert view["registration_status"] == "Accepted" and view["boot_count"] == 3


async def test_boot_pending_until_accepted_through_the_api(open_station: OpenStation, api: Api) -> None:
    reply = await api.put("/api/stations/CP_1/boot-answer", {"status": "Pending"})
    assert reply.status == 404
    await api.provision("CP_1")
    reply = await api.put("/api/stations/CP_1/boot-answer", {"status": "Pending"})
    assert reply.status == 200 and reply.body["boot"]["status"] == "Pending"
    station = await open_station(provision=False)
    for _ in range(2):
        answer = await station.boot()
        assert (answer["status"], answer["interval"]) == ("Pending", 10)  # default retry interval
    reply = await api.post("/api/stations/CP_1/accept")
    assert reply.status == 200 and reply.body["boot"]["status"] == "Accepted"
    answer = await station.boot()
    assert (answer["status"], answer["interval"]) == ("Accepted", HEARTBEAT_INTERVAL_S)
    assert (await api.post("/api/stations/NOPE/accept")).status == 404


async def test_boot_rejected_until_changed(open_station: OpenStation, api: Api) -> None:
    await api.provision("CP_1", {"status": "Rejected", "interval_s": 30})
    station = await open_station(provision=False)
    for _ in range(3):
        answer = await station.boot()
        assert_conforms("BootNotification", answer)
        assert (answer["status"], answer["interval"]) == ("Rejected", 30)
    await api.put("/api/stations/CP_1/boot-answer", {"status": "Accepted"})
    assert (await station.boot())["status"] == "Accepted"


async def test_authorize_statuses(open_station: OpenStation, api: Api) -> None:
    """TC_023_1/2/3_CSMS, TC_053_CSMS: Invalid for unknown, Blocked, Expired (expiry passed), Accepted with
    parentIdTag; never a CALLERROR (reference §5.2)."""
    future = format_time(time.time() + 3600)
    for body in (
        {"token_id": "VALID", "status": "Accepted"},
        {"token_id": "BLOCKED", "status": "Blocked"},
        {"token_id": "EXPIRED", "status": "Expired"},
    ):
        assert (await api.post("/api/octt/create-token", body)).status == 201
    reply = await api.post(
        "/api/tokens",
        {"id_tag": "CHILD", "status": "Accepted", "expiry_date": future, "parent_id_tag": "GROUP-1"},
    )
    assert reply.status == 201 and reply.body["parent_id_tag"] == "GROUP-1"
    station = await open_station(boot=True)

    async def info(id_tag: str) -> dict[str, object]:
        answer = await station.result("Authorize", {"idTag": id_tag})
        assert_conforms("Authorize", answer)
        result = answer["idTagInfo"]
        assert isinstance(result, dict)
        return result

    assert await info("UNKNOWN") == {"status": "Invalid"}
    assert await info("BLOCKED") == {"status": "Blocked"}
    assert (await info("EXPIRED"))["status"] == "Expired"
    assert await info("VALID") == {"status": "Accepted"}
    assert await info("valid") == {"status": "Accepted"}  # IdToken is case-insensitive (CiString20Type)
    child = await info("CHILD")
    assert child["status"] == "Accepted" and child["parentIdTag"] == "GROUP-1"
    assert parse_time(str(child["expiryDate"])) == pytest.approx(parse_time(future), abs=0.01)


async def test_token_api(api: Api) -> None:
    reply = await api.post("/api/octt/create-token", {"token_id": "EXPIRED", "status": "Expired"})
    assert reply.status == 201
    assert reply.body["effective_status"] == "Expired"
    assert parse_time(reply.body["expiry_date"]) < time.time()
    reply = await api.post("/api/octt/create-token", {"token_id": "EXPIRED", "status": "Accepted"})
    assert reply.status == 200 and reply.body["effective_status"] == "Accepted"
    for bad in (
        {"token_id": "", "status": "Accepted"},
        {"token_id": "X" * 21, "status": "Accepted"},
        {"token_id": "A", "status": "Unknown"},
        {"token_id": "A", "status": "Expired", "expiry_date": format_time(time.time() + 60)},
        {"token_id": "A", "expiry_date": "2024-01-01T00:00:00"},
        {"token_id": "A", "colour": "blue"},
    ):
        reply = await api.post("/api/octt/create-token", bad)
        assert reply.status == 400 and isinstance(reply.body["error"], str), bad
    tokens = (await api.get("/api/tokens")).body
    assert [t["id_tag"] for t in tokens] == ["EXPIRED"]


async def test_start_transaction_ids_are_positive_unique_integers_even_for_invalid_tags(
    open_station: OpenStation, api: Api
) -> None:
    """TC_037_3_CSMS: an Invalid tag still gets an integer transactionId; past timestamps and reservationId
    are accepted (TC_037_1, TC_039, TC_046)."""
    await api.post("/api/octt/create-token", {"token_id": "VALID", "status": "Accepted"})
    station = await open_station(boot=True)
    past = "2020-05-01T10:00:00Z"
    first = await station.result(
        "StartTransaction",
        {"connectorId": 1, "idTag": "NOBODY", "meterStart": 100, "timestamp": past},
    )
    assert_conforms("StartTransaction", first)
    assert first["idTagInfo"] == {"status": "Invalid"}
    second = await station.result(
        "StartTransaction",
        {"connectorId": 2, "idTag": "VALID", "meterStart": 5, "timestamp": past, "reservationId": 42},
    )
    assert second["idTagInfo"]["status"] == "Accepted"
    ids = [first["transactionId"], second["transactionId"]]
    assert all(type(i) is int and i > 0 for i in ids) and ids[0] != ids[1]
    transactions = (await api.get("/api/transactions?station_id=CP_1")).body
    assert [(t["id"], t["connector_id"], t["id_tag"], t["reservation_id"], t["started_at"]) for t in transactions] == [
        (ids[0], 1, "NOBODY", None, past),
        (ids[1], 2, "VALID", 42, past),
    ]
    assert transactions[0]["auth_status"] == "Invalid"


async def test_stop_transaction_known_and_unknown(open_station: OpenStation, api: Api) -> None:
    """TC_032_1/TC_037_3: any transactionId is answered; transactionData and MeterValues are kept."""
    await api.post("/api/octt/create-token", {"token_id": "VALID", "status": "Accepted"})
    station = await open_station(boot=True)
    start = await station.result(
        "StartTransaction",
        {"connectorId": 1, "idTag": "VALID", "meterStart": 0, "timestamp": format_time(time.time())},
    )
    tx = start["transactionId"]
    sample = {"timestamp": format_time(time.time()), "sampledValue": [{"value": "10"}]}
    assert await station.result("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [sample]}) == {}
    assert await station.result("MeterValues", {"connectorId": 0, "meterValue": [sample]}) == {}
    stop = await station.result(
        "StopTransaction",
        {
            "transactionId": tx,
            "idTag": "VALID",
            "meterStop": 1500,
            "timestamp": format_time(time.time()),
            "reason": "EVDisconnected",
            "transactionData": [sample, sample],
        },
    )
    assert_conforms("StopTransaction", stop)
    assert stop == {"idTagInfo": {"status": "Accepted"}}
    unknown = await station.result(
        "StopTransaction",
        {"transactionId": 987654, "meterStop": 7, "timestamp": "2021-01-01T00:00:00Z", "reason": "PowerLoss"},
    )
    assert unknown == {}
    (row,) = (await api.get("/api/transactions")).body
    assert (row["meter_stop"], row["stop_reason"], row["meter_value_count"]) == (1500, "EVDisconnected", 3)
    stops = (await api.get("/api/transactions/unknown-stops")).body
    assert [(s["transaction_id"], s["meter_stop"], s["stop_reason"]) for s in stops] == [(987654, 7, "PowerLoss")]


async def test_two_transactions_on_two_connectors_are_kept_apart(open_station: OpenStation, api: Api) -> None:
    """MC_001_CSMS: two transactions at once on one station, stopped in the opposite order; each stop lands
    on its own transaction and answers for its own idTag (OCPP 1.6 §4.10, §4.11)."""
    await api.post("/api/octt/create-token", {"token_id": "TAG_A", "status": "Accepted"})
    await api.post("/api/octt/create-token", {"token_id": "TAG_B", "status": "Blocked"})
    station = await open_station(boot=True)
    now = format_time(time.time())
    a = await station.result(
        "StartTransaction", {"connectorId": 1, "idTag": "TAG_A", "meterStart": 0, "timestamp": now}
    )
    b = await station.result(
        "StartTransaction", {"connectorId": 2, "idTag": "TAG_B", "meterStart": 9, "timestamp": now}
    )
    assert a["transactionId"] != b["transactionId"]
    stop_b = {"transactionId": b["transactionId"], "idTag": "TAG_B", "meterStop": 20, "timestamp": now}
    assert await station.result("StopTransaction", {**stop_b, "reason": "Local"}) == {
        "idTagInfo": {"status": "Blocked"}
    }
    rows = {row["id"]: row for row in (await api.get("/api/transactions")).body}
    assert rows[a["transactionId"]]["stopped_at"] is None
    assert (rows[b["transactionId"]]["connector_id"], rows[b["transactionId"]]["meter_stop"]) == (2, 20)
    stop_a = {"transactionId": a["transactionId"], "idTag": "TAG_A", "meterStop": 5, "timestamp": now}
    assert await station.result("StopTransaction", stop_a) == {"idTagInfo": {"status": "Accepted"}}
    rows = {row["id"]: row for row in (await api.get("/api/transactions")).body}
    assert [(rows[t]["connector_id"], rows[t]["id_tag"], rows[t]["meter_stop"]) for t in sorted(rows)] == [
        (1, "TAG_A", 5),
        (2, "TAG_B", 20),
    ]


async def test_status_notifications_in_any_order(open_station: OpenStation, api: Api) -> None:
    """D24 §1.2: Charging may come before StartTransaction; connector 0 is kept too."""
    station = await open_station(boot=True)
    for connector, status in ((0, "Available"), (1, "Preparing"), (1, "Charging"), (2, "Faulted")):
        payload = {"connectorId": connector, "errorCode": "NoError", "status": status}
        if status == "Faulted":
            payload["errorCode"] = "ConnectorLockFailure"
        assert await station.result("StatusNotification", payload) == {}
    start = await station.result(
        "StartTransaction",
        {"connectorId": 1, "idTag": "X", "meterStart": 0, "timestamp": "2024-01-01T00:00:00Z"},
    )
    assert start["transactionId"] > 0
    connectors = (await api.get("/api/stations/CP_1")).body["connectors"]
    assert [(c["connector_id"], c["status"], c["error_code"]) for c in connectors] == [
        (0, "Available", "NoError"),
        (1, "Charging", "NoError"),
        (2, "Faulted", "ConnectorLockFailure"),
    ]


async def test_notifications_get_empty_answers(open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    for action, payload in (
        ("DiagnosticsStatusNotification", {"status": "Idle"}),
        ("FirmwareStatusNotification", {"status": "Idle"}),
        (
            "SecurityEventNotification",
            {"type": "SomeVendorSpecificEvent", "timestamp": "2024-01-01T00:00:00Z"},
        ),
        ("LogStatusNotification", {"status": "Idle"}),
        ("SignedFirmwareStatusNotification", {"status": "Idle"}),
    ):
        assert await station.result(action, payload) == {}, action


async def test_data_transfer_unknown_vendor(open_station: OpenStation) -> None:
    """TC_064_CSMS."""
    station = await open_station(boot=True)
    answer = await station.result("DataTransfer", {"vendorId": "com.example.unknown", "messageId": "x", "data": "y"})
    assert answer == {"status": "UnknownVendorId"}


async def test_transaction_ids_survive_a_restart(tmp_path: Path) -> None:
    """TC_032_1_CSMS: a stop after a reboot (of either side) still finds its transaction; ids are never
    reused."""
    db_path = tmp_path / "restart.sqlite3"
    ids = []
    for _ in range(2):
        async with CsmsServer(db_path=db_path) as server:
            await server.store.provision_station("CP_1", boot=None, now_s=time.time())
            ws = await open_socket(f"{server.ws_url}/CP_1")
            station = StationSocket(ws)
            try:
                await station.result("BootNotification", BOOT_PAYLOAD)
                started_at = f"2024-01-01T0{len(ids)}:30:00Z"  # a new session each time (a resend keeps its id)
                start = await station.result(
                    "StartTransaction", {"connectorId": 1, "idTag": "A", "meterStart": 0, "timestamp": started_at}
                )
                ids.append(start["transactionId"])
                if len(ids) == 2:
                    stop = {"transactionId": ids[0], "meterStop": 9, "timestamp": "2024-01-01T01:00:00Z"}
                    assert await station.result("StopTransaction", stop) == {}
            finally:
                await ws.close()
        assert server.port > 0
    assert ids[1] > ids[0]
    async with CsmsServer(db_path=db_path) as server:
        (first, _second) = await server.store.list_transactions("CP_1")
        assert first.meter_stop == 9
        assert await server.store.list_unknown_stops() == []
