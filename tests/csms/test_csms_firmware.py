"""Firmware Management (OCPP 1.6 §4.4, §4.5, §5.6, §5.19; TC_044_1/2/3, TC_045_1/2) and Remote Trigger (§5.17;
TC_054, TC_055): the CSMS's firmware and diagnostics jobs with every status notification in order, the operator
routes that start them, and the trigger route."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from conftest import OpenStation, StartCsms
from csms_kit import Api, StationSocket, answered

from csms.app import CsmsServer
from ocppj.timefmt import parse_time

FIRMWARE = "/api/stations/CP_1/firmware"
DIAGNOSTICS = "/api/stations/CP_1/diagnostics"
MODES = pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
MESSAGES = (
    "'message' must be one of BootNotification, DiagnosticsStatusNotification, FirmwareStatusNotification,"
    " Heartbeat, MeterValues, StatusNotification."
)
UPDATE = {"location": "https://fw.example.com/fw-2.0.bin", "retrieveDate": "2024-01-01T00:00:00Z"}


async def jobs(api: Api, path: str = FIRMWARE) -> dict[str, Any]:
    reply = await api.get(path)
    assert reply.status == 200
    body = reply.body
    assert isinstance(body, dict)
    return body


def statuses(job: dict[str, Any]) -> list[str]:
    return [n["status"] for n in job["notifications"]]


async def notify(station: StationSocket, action: str, *names: str) -> None:
    for name in names:
        assert await station.result(action, {"status": name}) == {}


async def test_a_firmware_job_collects_its_notifications_in_order(api: Api, open_station: OpenStation) -> None:
    """TC_044_1: Downloading, Downloaded, Installing, a reboot, Installed; the mid-flow boot is Accepted."""
    station = await open_station(boot=True)
    reply, call = await answered(api.trigger("CP_1", "update-firmware", UPDATE), station, "UpdateFirmware", {})
    assert reply.status == 200 and reply.body == {}
    await notify(station, "FirmwareStatusNotification", "Downloading", "Downloaded", "Installing")
    assert (await jobs(api))["jobs"][0]["state"] == "in_progress"
    assert (await station.boot())["status"] == "Accepted"
    await notify(station, "FirmwareStatusNotification", "Installed")
    view = await jobs(api)
    (job,) = view["jobs"]
    assert (job["kind"], job["state"], job["status"], job["request"], job["answer"]) == (
        "firmware",
        "succeeded",
        "Installed",
        UPDATE,
        {},
    )
    assert job["message_id"] == call[1] and job["superseded_by"] is None
    assert statuses(job) == ["Downloading", "Downloaded", "Installing", "Installed"]
    times = [parse_time(n["received_at"]) for n in job["notifications"]]
    assert times == sorted(times) and parse_time(job["answered_at"]) <= times[0]
    assert view["notifications_outside_jobs"] == []


@pytest.mark.parametrize(
    ("flow", "state"),
    [
        (["Downloading", "DownloadFailed"], "failed"),  # TC_044_2
        (["Downloading", "Downloaded", "Installing", "InstallationFailed"], "failed"),  # TC_044_3
        (["Downloading"], "in_progress"),
    ],
)
async def test_firmware_job_outcomes(api: Api, open_station: OpenStation, flow: list[str], state: str) -> None:
    station = await open_station(boot=True)
    await answered(api.trigger("CP_1", "update-firmware", UPDATE), station, "UpdateFirmware", {})
    await notify(station, "FirmwareStatusNotification", *flow)
    (job,) = (await jobs(api))["jobs"]
    assert (job["state"], statuses(job)) == (state, flow)


async def test_notifications_without_an_open_job_are_kept_apart(api: Api, open_station: OpenStation) -> None:
    """TC_054: FirmwareStatusNotification(Idle) after a TriggerMessage, with no update under way; one after a job
    ended is not the job's."""
    station = await open_station(boot=True)
    await notify(station, "FirmwareStatusNotification", "Idle")
    await answered(api.trigger("CP_1", "update-firmware", UPDATE), station, "UpdateFirmware", {})
    await notify(station, "FirmwareStatusNotification", "Downloading", "DownloadFailed", "Idle")
    view = await jobs(api)
    assert statuses(view["jobs"][0]) == ["Downloading", "DownloadFailed"]
    assert [n["status"] for n in view["notifications_outside_jobs"]] == ["Idle", "Idle"]
    assert (await jobs(api, DIAGNOSTICS)) == {"station_id": "CP_1", "jobs": [], "notifications_outside_jobs": []}


async def test_a_new_update_supersedes_an_unfinished_one(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    await answered(api.trigger("CP_1", "update-firmware", UPDATE), station, "UpdateFirmware", {})
    await notify(station, "FirmwareStatusNotification", "Downloading")
    second = {**UPDATE, "location": "https://fw.example.com/fw-3.0.bin"}
    await answered(api.trigger("CP_1", "update-firmware", second), station, "UpdateFirmware", {})
    await notify(station, "FirmwareStatusNotification", "Downloading", "Downloaded")
    first_job, second_job = (await jobs(api))["jobs"]
    assert (first_job["state"], first_job["superseded_by"], statuses(first_job)) == (
        "superseded",
        second_job["id"],
        ["Downloading"],
    )
    assert (second_job["state"], statuses(second_job)) == ("in_progress", ["Downloading", "Downloaded"])


async def test_a_refused_update_is_no_job(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    reply, _ = await answered(
        api.trigger("CP_1", "update-firmware", UPDATE), station, "UpdateFirmware", error=("NotSupported", "")
    )
    assert reply.status == 502
    assert (await jobs(api))["jobs"] == []


@MODES
async def test_a_notification_right_after_the_answer_belongs_to_the_job(start_csms: StartCsms, strict: bool) -> None:
    """The answer is recorded before the station's next message is processed, in either mode: a station that
    says Downloading in the same breath as its UpdateFirmware answer reports on that job."""
    rig = await start_csms(strict=strict)
    station = await rig.open_station(boot=True)
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(rig.api.trigger("CP_1", "update-firmware", UPDATE))
        call = await station.expect_call("UpdateFirmware")
        await station.answer(call, {})
        await station.send_call("FirmwareStatusNotification", {"status": "Downloading"})
        assert (await station.recv())[0] == 3
    assert pending.result().status == 200
    view = await jobs(rig.api)
    assert [statuses(job) for job in view["jobs"]] == [["Downloading"]]
    assert view["notifications_outside_jobs"] == []


async def test_operator_firmware_update_defaults_to_the_csms_image(
    csms: CsmsServer, api: Api, open_station: OpenStation
) -> None:
    """TC_044: the location is this CSMS's file server unless given; retrieveDate is now unless given."""
    station = await open_station(boot=True)
    before = time.time()
    reply, call = await answered(api.post(FIRMWARE, raw=""), station, "UpdateFirmware", {})
    assert reply.status == 200 and reply.body == {}
    payload = call[3]
    assert payload["location"] == f"{csms.api_url}/files/firmware/ocpp-harness-firmware-1.1.0.bin"
    assert before - 1 <= parse_time(payload["retrieveDate"]) <= time.time() + 1
    assert set(payload) == {"location", "retrieveDate"}
    (job,) = (await jobs(api))["jobs"]
    assert reply.headers["X-Job-Id"] == str(job["id"]) and job["request"] == payload
    body = {
        "location": "ftp://user:pw@fw.example.com/fw.bin",
        "retrieve_date": "2030-01-01T10:00:00+02:00",
        "retries": 3,
        "retry_interval_s": 60,
    }
    _, call = await answered(api.post(FIRMWARE, body), station, "UpdateFirmware", {})
    assert call[3] == {
        "location": "ftp://user:pw@fw.example.com/fw.bin",
        "retrieveDate": "2030-01-01T08:00:00.000Z",
        "retries": 3,
        "retryInterval": 60,
    }


async def test_operator_diagnostics_default_to_the_csms_upload_location(
    csms: CsmsServer, api: Api, open_station: OpenStation
) -> None:
    """TC_045_1: GetDiagnostics with a location the station can upload to; the answer's fileName is kept."""
    station = await open_station(boot=True)
    answer = {"fileName": "CP_1-diagnostics-20240101T000000Z.txt"}
    reply, call = await answered(api.post(DIAGNOSTICS, {}), station, "GetDiagnostics", answer)
    assert reply.status == 200 and reply.body == answer
    assert call[3] == {"location": f"{csms.api_url}/files/diagnostics/"}
    await notify(station, "DiagnosticsStatusNotification", "Uploading", "Uploaded")
    (job,) = (await jobs(api, DIAGNOSTICS))["jobs"]
    assert reply.headers["X-Job-Id"] == str(job["id"])
    assert (job["kind"], job["file_name"], job["state"], statuses(job)) == (
        "diagnostics",
        answer["fileName"],
        "succeeded",
        ["Uploading", "Uploaded"],
    )
    body = {
        "location": "https://logs.example.com/up/",
        "start_time": "2024-01-01T00:00:00Z",
        "stop_time": "2024-01-02T00:00:00Z",
        "retries": 0,
    }
    _, call = await answered(api.post(DIAGNOSTICS, body), station, "GetDiagnostics", {})
    assert call[3] == {
        "location": "https://logs.example.com/up/",
        "startTime": "2024-01-01T00:00:00.000Z",
        "stopTime": "2024-01-02T00:00:00.000Z",
        "retries": 0,
    }
    second = (await jobs(api, DIAGNOSTICS))["jobs"][1]
    assert (second["file_name"], second["state"]) == (None, "nothing_to_upload")  # §5.6: no fileName


async def test_an_upload_that_overtakes_the_answer_naming_it_is_the_jobs(
    csms: CsmsServer, api: Api, open_station: OpenStation
) -> None:
    """The upload goes over HTTP, the GetDiagnostics answer over the websocket: when the file is taken before the
    answer is recorded, recording the answer claims it, as it claims an upload that comes after."""
    station = await open_station(boot=True)
    name = "CP_1-diagnostics-20240102T000000Z.txt"
    pending = asyncio.create_task(api.post(DIAGNOSTICS, {}))
    call = await station.expect_call("GetDiagnostics")
    upload = await api.raw("PUT", f"/files/diagnostics/{name}", data=b"early\n")
    assert upload.status == 201 and upload.json()["job_id"] is None  # no answer yet: no job to belong to
    await station.answer(call, {"fileName": name})
    assert (await pending).status == 200
    (job,) = (await jobs(api, DIAGNOSTICS))["jobs"]
    assert [(u["file_name"], u["station_id"]) for u in job["uploads"]] == [(name, "CP_1")]
    (listed,) = (await api.get("/api/diagnostics")).body
    assert listed["job_id"] == job["id"]


async def test_a_failed_upload_is_a_failed_job(api: Api, open_station: OpenStation) -> None:
    """TC_045_2."""
    station = await open_station(boot=True)
    await answered(api.post(DIAGNOSTICS, {}), station, "GetDiagnostics", {"fileName": "x.txt"})
    await notify(station, "DiagnosticsStatusNotification", "Uploading", "UploadFailed")
    (job,) = (await jobs(api, DIAGNOSTICS))["jobs"]
    assert (job["state"], job["status"]) == ("failed", "UploadFailed")


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        (FIRMWARE, {"location": "fw.bin"}, "'location' must be an absolute URI such as ftp://host/path, got 'fw.bin'."),
        (FIRMWARE, {"location": ""}, "'location' must be a non-empty string."),
        (
            FIRMWARE,
            {"retrieve_date": "tomorrow"},
            "'retrieve_date' must be an RFC 3339 date-time with a time zone, got 'tomorrow'.",
        ),
        (FIRMWARE, {"retries": -1}, "'retries' must be an integer >= 0."),
        (FIRMWARE, {"retry_interval_s": 1.5}, "'retry_interval_s' must be an integer >= 0."),
        (FIRMWARE, {"url": "x"}, "Unknown firmware update field(s): url."),
        (FIRMWARE, [1], "The request body must be a JSON object."),
        (
            DIAGNOSTICS,
            {"start_time": "2024-01-02T00:00:00Z", "stop_time": "2024-01-01T00:00:00Z"},
            "'stop_time' must not lie before 'start_time'.",
        ),
        (
            DIAGNOSTICS,
            {"location": "/files/diagnostics/"},
            "'location' must be an absolute URI such as ftp://host/path, got '/files/diagnostics/'.",
        ),
        (DIAGNOSTICS, {"since": "x"}, "Unknown diagnostics field(s): since."),
    ],
)
async def test_operator_transfer_refusals(
    api: Api, open_station: OpenStation, path: str, body: Any, error: str
) -> None:
    station = await open_station(boot=True)
    reply = await api.post(path, body)
    assert (reply.status, reply.body) == (400, {"error": error})
    await station.expect_silence(0.05)


@pytest.mark.parametrize(
    ("body", "payload"),
    [
        ({"message": "MeterValues", "connector_id": 1}, {"requestedMessage": "MeterValues", "connectorId": 1}),
        ({"message": "Heartbeat"}, {"requestedMessage": "Heartbeat"}),
        (
            {"message": "StatusNotification", "connector_id": 0},
            {"requestedMessage": "StatusNotification", "connectorId": 0},
        ),
        ({"message": "DiagnosticsStatusNotification"}, {"requestedMessage": "DiagnosticsStatusNotification"}),
        ({"message": "FirmwareStatusNotification"}, {"requestedMessage": "FirmwareStatusNotification"}),
        ({"message": "MeterValues", "connector_id": 99}, {"requestedMessage": "MeterValues", "connectorId": 99}),
    ],
)
async def test_operator_trigger(
    api: Api, open_station: OpenStation, body: dict[str, Any], payload: dict[str, Any]
) -> None:
    """TC_054: each requestedMessage, with the connector asked for; TC_055: any connector, the station decides."""
    station = await open_station(boot=True)
    reply, call = await answered(
        api.post("/api/stations/CP_1/trigger", body), station, "TriggerMessage", {"status": "Rejected"}
    )
    assert (reply.status, reply.body, call[3]) == (200, {"status": "Rejected"}, payload)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, MESSAGES),
        ({"message": "Authorize"}, MESSAGES),
        ({"message": "Heartbeat", "connector_id": -1}, "'connector_id' must be an integer >= 0."),
        ({"message": "Heartbeat", "connector": 1}, "Unknown trigger field(s): connector."),
    ],
)
async def test_operator_trigger_refusals(api: Api, open_station: OpenStation, body: dict[str, Any], error: str) -> None:
    station = await open_station(boot=True)
    reply = await api.post("/api/stations/CP_1/trigger", body)
    assert (reply.status, reply.body) == (400, {"error": error})
    await station.expect_silence(0.05)


async def test_operator_routes_relay_callerrors_and_timeouts(api: Api, open_station: OpenStation) -> None:
    """As the raw contract: a CALLERROR is 502 with its code, no answer in time 504; the ids the CSMS chose are
    given all the same."""
    await api.post("/api/tokens", {"id_tag": "TAG"})
    station = await open_station(boot=True)
    reply, _ = await answered(
        api.post("/api/stations/CP_1/trigger", {"message": "Heartbeat"}),
        station,
        "TriggerMessage",
        error=("NotImplemented", "no trigger"),
    )
    assert (reply.status, reply.body["error"], reply.body["errorCode"]) == (502, "CALLERROR", "NotImplemented")
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(
            api.post("/api/stations/CP_1/reservations", {"connector_id": 1, "id_tag": "TAG", "expires_in_s": 60})
        )
        call = await station.expect_call("ReserveNow")
    reply = pending.result()
    assert reply.status == 504 and reply.body == {"error": "Station 'CP_1' did not answer ReserveNow within 1 s."}
    assert reply.headers["X-Reservation-Id"] == str(call[3]["reservationId"])


async def test_a_firmware_update_is_refused_to_a_rejected_station(api: Api, open_station: OpenStation) -> None:
    await api.provision("CP_1", {"status": "Rejected"})
    station = await open_station(provision=False)
    await station.boot()
    reply = await api.post(FIRMWARE, {})
    assert reply.status == 409 and "Rejected" in reply.body["error"]
    await station.expect_silence()
