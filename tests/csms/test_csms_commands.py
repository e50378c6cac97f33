"""CSMS->station CALLs through the API: the trigger contract, serialisation (OCPP-J 1.6 §4.1.1), refusals."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from conftest import CALL_TIMEOUT_S, OpenStation
from csms_kit import Api

from csms.commands import ACTION_BY_KEBAB, CSMS_INITIATED, kebab_case
from ocppj.schemas import CHARGE_POINT_ACTIONS, actions


def test_every_csms_initiated_action_has_a_kebab_name() -> None:
    assert (actions() - CHARGE_POINT_ACTIONS) | {"DataTransfer"} == CSMS_INITIATED
    assert "DataTransfer" in CSMS_INITIATED
    assert set(ACTION_BY_KEBAB.values()) == CSMS_INITIATED
    for name in (
        "remote-start-transaction",
        "remote-stop-transaction",
        "reset",
        "change-configuration",
        "get-configuration",
        "unlock-connector",
        "change-availability",
        "clear-cache",
        "data-transfer",
        "trigger-message",
        "reserve-now",
        "cancel-reservation",
        "set-charging-profile",
        "clear-charging-profile",
        "get-composite-schedule",
        "update-firmware",
        "get-diagnostics",
        "send-local-list",
        "get-local-list-version",
        "extended-trigger-message",
        "signed-update-firmware",
        "get-log",
        "install-certificate",
        "get-installed-certificate-ids",
        "delete-certificate",
        "certificate-signed",
    ):
        assert name in ACTION_BY_KEBAB, name
    assert kebab_case("GetInstalledCertificateIds") == "get-installed-certificate-ids"


async def test_actions_route_lists_them(api: Api) -> None:
    reply = await api.get("/api/actions")
    assert reply.status == 200
    assert {entry["action"] for entry in reply.body} == CSMS_INITIATED


async def test_trigger_round_trip(api: Api, open_station: OpenStation) -> None:
    """The HTTP answer carries the station's CALLRESULT payload; the CALL has a fresh UUID
    (OCPP-J 1.6 §4.1.4)."""
    station = await open_station(boot=True)
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(api.trigger("CP_1", "reset", {"type": "Hard"}))
        call = await station.expect_call("Reset")
        assert call[3] == {"type": "Hard"}
        uuid.UUID(call[1])
        await station.answer(call, {"status": "Accepted"})
    reply = pending.result()
    assert reply.status == 200 and reply.body == {"status": "Accepted"}
    assert reply.headers["X-OCPP-Message-Id"] == call[1]
    exchanges = (await api.get("/api/exchanges?station_id=CP_1")).body
    assert exchanges[-1]["direction"] == "csms_to_station"
    assert (exchanges[-1]["action"], exchanges[-1]["request"], exchanges[-1]["response"]) == (
        "Reset",
        {"type": "Hard"},
        {"status": "Accepted"},
    )


async def test_camel_case_route_and_empty_body(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(api.post("/api/stations/CP_1/calls/GetConfiguration", raw=""))
        call = await station.expect_call("GetConfiguration")
        assert call[3] == {}  # TC_019_1_CSMS: no key at all
        await station.answer(call, {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False}]})
    assert pending.result().body["configurationKey"][0]["key"] == "HeartbeatInterval"


@pytest.mark.parametrize(
    ("name", "payload", "answer"),
    [
        ("remote-stop-transaction", {"transactionId": 999_999}, {"status": "Rejected"}),  # TC_028
        ("remote-start-transaction", {"connectorId": 99, "idTag": "ANY_TAG"}, {"status": "Rejected"}),  # TC_026
        ("change-availability", {"connectorId": 99, "type": "Inoperative"}, {"status": "Rejected"}),
        ("data-transfer", {"vendorId": "no.such.vendor", "messageId": "x"}, {"status": "UnknownVendorId"}),
        ("get-configuration", {"key": ["SupportedFeatureProfiles"]}, {"unknownKey": []}),  # TC_019_2
        ("reset", {"type": "Soft"}, {"status": "Rejected"}),  # TC_014
        ("unlock-connector", {"connectorId": 99}, {"status": "NotSupported"}),  # TC_031
        (
            "change-configuration",
            {"key": "NoSuchKeyAnywhere", "value": "x"},
            {"status": "NotSupported"},
        ),  # TC_040_1
        ("change-configuration", {"key": "MeterValueSampleInterval", "value": "-1"}, {"status": "Rejected"}),
        (
            "trigger-message",
            {"requestedMessage": "MeterValues", "connectorId": 3},
            {"status": "Rejected"},
        ),  # TC_055
        ("cancel-reservation", {"reservationId": 424242}, {"status": "Rejected"}),  # TC_052
        ("clear-charging-profile", {}, {"status": "Unknown"}),  # TC_067: every field omitted
        (
            "reserve-now",
            {"connectorId": 0, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "A", "reservationId": 1},
            {"status": "Accepted"},
        ),  # TC_049
    ],
)
async def test_arbitrary_schema_valid_values_are_sent_unchanged(
    api: Api, open_station: OpenStation, name: str, payload: dict[str, Any], answer: dict[str, Any]
) -> None:
    """Reference §5.7: the CSMS never second-guesses a schema-valid value."""
    station = await open_station(boot=True)
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(api.trigger("CP_1", name, payload))
        call = await station.expect_call(ACTION_BY_KEBAB[name])
        assert call[3] == payload
        await station.answer(call, answer)
    assert pending.result().status == 200 and pending.result().body == answer


async def test_callerror_from_station_is_502(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(
            api.trigger("CP_1", "update-firmware", {"location": "ftp://x", "retrieveDate": "2030-01-01T00:00:00Z"})
        )
        call = await station.expect_call("UpdateFirmware")
        await station.answer_error(call, "NotSupported", "use SignedUpdateFirmware", {"hint": "L01.FR.20"})
    reply = pending.result()
    assert reply.status == 502
    assert reply.body == {
        "error": "CALLERROR",
        "errorCode": "NotSupported",
        "errorDescription": "use SignedUpdateFirmware",
        "errorDetails": {"hint": "L01.FR.20"},
    }


async def test_refusals_before_anything_is_sent(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    reply = await api.trigger("CP_1", "reset", {"type": "Sideways"})
    assert reply.status == 400 and "type" in reply.body["error"] and reply.body["violations"]
    reply = await api.trigger("CP_1", "reset", {})
    assert reply.status == 400
    reply = await api.post("/api/octt/1.6/CP_1/reset", raw="{not json")
    assert reply.status == 400 and "JSON" in reply.body["error"]
    reply = await api.post("/api/octt/1.6/CP_1/reset", raw="[1, 2]")
    assert reply.status == 400
    reply = await api.trigger("CP_1", "boot-notification", {})
    assert reply.status == 404 and len(reply.body["error"]) < 200
    reply = await api.post("/api/stations/CP_1/calls/Heartbeat", {})
    assert reply.status == 404
    reply = await api.trigger("NOT_THERE", "clear-cache")
    assert reply.status == 404 and "provisioned" in reply.body["error"]
    await api.provision("CP_2")
    reply = await api.trigger("CP_2", "clear-cache")
    assert reply.status == 404 and "connected" in reply.body["error"]
    await station.expect_silence()


async def test_timeout_is_504_and_the_late_answer_is_ignored(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(api.trigger("CP_1", "clear-cache"))
        call = await station.expect_call("ClearCache")
    reply = pending.result()
    assert reply.status == 504 and f"{CALL_TIMEOUT_S:g} s" in reply.body["error"]
    await station.answer(call, {"status": "Accepted"})
    assert "currentTime" in await station.result("Heartbeat", {})
    assert (await api.get("/api/exchanges?station_id=CP_1")).body[1]["outcome"] == "timeout"


async def test_disconnect_during_a_call_is_502(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(api.trigger("CP_1", "clear-cache"))
        await station.expect_call("ClearCache")
        await station.ws.close()
    reply = pending.result()
    assert reply.status == 502 and "disconnected" in reply.body["error"]


async def test_one_outstanding_call_per_station(api: Api, open_station: OpenStation) -> None:
    """OCPP-J 1.6 §4.1.1: the second CALL goes out only after the first is answered."""
    station = await open_station(boot=True)
    async with asyncio.TaskGroup() as group:
        first = group.create_task(api.trigger("CP_1", "get-local-list-version"))
        call_1 = await station.expect_call("GetLocalListVersion")
        second = group.create_task(api.trigger("CP_1", "clear-cache"))
        await station.expect_silence()
        await station.answer(call_1, {"listVersion": -1})
        call_2 = await station.expect_call("ClearCache")
        await station.answer(call_2, {"status": "Accepted"})
    assert first.result().body == {"listVersion": -1}
    assert second.result().body == {"status": "Accepted"}
    assert call_1[1] != call_2[1]


async def test_no_unsolicited_calls(api: Api, open_station: OpenStation) -> None:
    """Reference §5.6: nothing on connect or boot, nothing after a ChangeConfiguration."""
    station = await open_station()
    await station.expect_silence()
    await station.boot()
    await station.result("StatusNotification", {"connectorId": 0, "errorCode": "NoError", "status": "Available"})
    await station.expect_silence()
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(
            api.trigger("CP_1", "change-configuration", {"key": "MeterValueSampleInterval", "value": "60"})
        )
        call = await station.expect_call("ChangeConfiguration")
        await station.answer(call, {"status": "Accepted"})
    assert pending.result().body == {"status": "Accepted"}
    await station.expect_silence()


async def test_invalid_station_answer_is_kept_and_flagged(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(api.trigger("CP_1", "reset", {"type": "Soft"}))
        call = await station.expect_call("Reset")
        await station.answer(call, {"status": "Maybe"})
    reply = pending.result()
    assert reply.status == 200 and reply.body == {"status": "Maybe"}
    assert reply.headers["X-OCPP-Schema-Violations"] == "1"
    exchange = (await api.get("/api/exchanges?station_id=CP_1")).body[-1]
    assert exchange["outcome"] == "result" and exchange["schema_violations"]


async def test_registration_state_limits_what_is_sent(api: Api, open_station: OpenStation) -> None:
    """OCPP 1.6 §4.2: Pending -> no remote start/stop (other requests are fine); Rejected -> nothing."""
    await api.provision("CP_1", {"status": "Pending"})
    station = await open_station(provision=False)
    assert (await station.boot())["status"] == "Pending"
    reply = await api.trigger("CP_1", "remote-start-transaction", {"idTag": "A", "connectorId": 1})
    assert reply.status == 409 and "Pending" in reply.body["error"]
    reply = await api.trigger("CP_1", "remote-stop-transaction", {"transactionId": 1})
    assert reply.status == 409
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(api.trigger("CP_1", "get-configuration", {"key": ["HeartbeatInterval"]}))
        call = await station.expect_call("GetConfiguration")
        await station.answer(call, {"configurationKey": [], "unknownKey": ["HeartbeatInterval"]})
    assert pending.result().status == 200
    await api.put("/api/stations/CP_1/boot-answer", {"status": "Rejected"})
    assert (await station.boot())["status"] == "Rejected"
    reply = await api.trigger("CP_1", "get-configuration")
    assert reply.status == 409 and "Rejected" in reply.body["error"]
    await station.expect_silence()
