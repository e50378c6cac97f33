"""The CSMS's file server (OCPP 1.6 §5.6, §5.19; TC_044, TC_045): firmware images for any name, diagnostics uploads
by PUT or multipart POST, bounded, with safe names, attributed to their station and job, listed in the API."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from conftest import OpenStation
from csms_kit import Api, answered, multipart

from csms.app import CsmsServer
from csms.files import MAX_UPLOAD_BYTES, firmware_image
from simulator.model import TransferJob
from simulator.transfers import perform

FIRMWARE_URL = "/files/firmware/ocpp-harness-firmware-1.1.0.bin"  # harness.config.BUNDLED_FIRMWARE_PATH
TOO_BIG = {"error": f"An upload may be at most {MAX_UPLOAD_BYTES} bytes."}


async def test_any_firmware_name_is_served_with_its_length_and_checksum(api: Api) -> None:
    reply = await api.raw("GET", FIRMWARE_URL)
    assert reply.status == 200 and reply.body == firmware_image("ocpp-harness-firmware-1.1.0.bin")
    assert reply.headers["Content-Type"] == "application/octet-stream"
    assert reply.headers["Content-Length"] == str(len(reply.body))
    assert reply.headers["ETag"] == f'"{hashlib.sha256(reply.body).hexdigest()}"'
    again = await api.raw("GET", FIRMWARE_URL)
    assert again.body == reply.body
    other = await api.raw("GET", "/files/firmware/fw%202.0.bin")
    assert other.status == 200 and other.body == firmware_image("fw 2.0.bin") != reply.body
    assert other.headers["Content-Disposition"] == 'attachment; filename="fw_2.0.bin"'


async def test_head_gives_the_length_without_the_body(api: Api) -> None:
    reply = await api.raw("HEAD", FIRMWARE_URL)
    assert reply.status == 200 and reply.body == b""
    assert reply.headers["Content-Length"] == str(len(firmware_image("ocpp-harness-firmware-1.1.0.bin")))


async def test_a_too_long_firmware_name_is_refused(api: Api) -> None:
    reply = await api.raw("GET", "/files/firmware/" + "x" * 256)
    assert reply.status == 400 and reply.json() == {"error": "The file name must be at most 255 characters long."}


async def test_the_simulated_station_downloads_and_uploads(csms: CsmsServer, api: Api) -> None:
    """What the harness's station does with ``test_data.firmware_url`` and ``diagnostics_location``."""
    download = TransferJob(1, "download", csms.api_url + FIRMWARE_URL, 10.0, max_bytes=1 << 20)
    outcome = await perform(download)
    image = firmware_image("ocpp-harness-firmware-1.1.0.bin")
    assert outcome.ok and outcome.detail == f"{len(image)} bytes, sha256 {hashlib.sha256(image).hexdigest()}"
    upload = TransferJob(
        2,
        "upload",
        csms.api_url + "/files/diagnostics/CP_9-diagnostics-20240101T000000Z.txt",
        10.0,
        body=b"diagnostics of CP_9\n",
        content_type="text/plain; charset=utf-8",
    )
    assert (await perform(upload)).ok
    (listed,) = (await api.get("/api/diagnostics")).body
    assert (listed["file_name"], listed["size"], listed["content_type"]) == (
        "CP_9-diagnostics-20240101T000000Z.txt",
        20,
        "text/plain; charset=utf-8",
    )


async def test_a_put_upload_is_kept_and_listed(api: Api, open_station: OpenStation) -> None:
    """TC_045_1: the file lands under the name the GetDiagnostics answer gave, with the job it belongs to."""
    station = await open_station(boot=True)
    name = "CP_1-diagnostics-20240101T000000Z.txt"
    await answered(api.post("/api/stations/CP_1/diagnostics", {}), station, "GetDiagnostics", {"fileName": name})
    content = b"line 1\nline 2\n"
    reply = await api.raw("PUT", f"/files/diagnostics/{name}", data=content, headers={"Content-Type": "text/plain"})
    assert reply.status == 201
    upload = reply.json()
    assert upload["file_name"] == name and upload["sha256"] == hashlib.sha256(content).hexdigest()
    assert reply.headers["Location"] == f"/api/diagnostics/{upload['id']}/content"
    (job,) = (await api.get("/api/stations/CP_1/diagnostics")).body["jobs"]
    assert (upload["station_id"], upload["job_id"]) == ("CP_1", job["id"])
    assert [u["id"] for u in job["uploads"]] == [upload["id"]]
    assert (await api.get("/api/diagnostics")).body == [upload]
    stored = await api.raw("GET", reply.headers["Location"])
    assert stored.status == 200 and stored.body == content
    assert stored.headers["Content-Type"] == "text/plain"
    assert stored.headers["Content-Disposition"] == f'attachment; filename="{name}"'


async def test_the_station_of_an_upload_is_read_from_its_name(api: Api) -> None:
    """Without a job naming the file, the provisioned station whose id starts the name, the longest such."""
    for station_id in ("CP", "CP_1", "CP 2"):
        await api.provision(station_id)
    names = {
        "CP_1-diagnostics.txt": "CP_1",
        "CP-diagnostics.txt": "CP",
        "CP_2.log": "CP 2",  # as the station would name it, its id made file-safe
        "CP_12-diagnostics.txt": None,  # not CP's: only "-" or "." end an id
        "CP_1.2024.log": "CP_1",
        "unknown.txt": None,
    }
    for name in names:
        assert (await api.raw("PUT", f"/files/diagnostics/{name}", data=b"x")).status == 201
    listed = (await api.get("/api/diagnostics")).body
    assert {u["file_name"]: u["station_id"] for u in listed} == names
    assert all(u["job_id"] is None for u in listed)
    only = (await api.get("/api/diagnostics?station_id=CP")).body
    assert [u["file_name"] for u in only] == ["CP-diagnostics.txt"]


async def test_a_multipart_post_upload(api: Api) -> None:
    """What many chargers do: POST to the location with one file field; the field's filename names the file."""
    body, headers = multipart(("comment", b"not a file", None), ("file", b"zipped diagnostics", "../CP_7 diag.zip"))
    reply = await api.raw("POST", "/files/diagnostics/", data=body, headers=headers)
    assert reply.status == 201
    upload = reply.json()
    assert (upload["file_name"], upload["size"], upload["content_type"]) == (
        "CP_7_diag.zip",
        18,
        "application/octet-stream",
    )
    stored = await api.raw("GET", f"/api/diagnostics/{upload['id']}/content")
    assert stored.body == b"zipped diagnostics"
    form = aiohttp.FormData()  # aiohttp's client percent-encodes the filename
    form.add_field("file", b"percent", filename="../CP_8 diag.zip", content_type="application/zip")
    reply = await api.raw("POST", "/files/diagnostics/", data=form)
    assert reply.status == 201 and reply.json()["file_name"] == "CP_8_diag.zip"
    body, headers = multipart(("file", b"named by the URL", "ignored.txt"))
    reply = await api.raw("POST", "/files/diagnostics/chosen.txt", data=body, headers=headers)
    assert reply.status == 201 and reply.json()["file_name"] == "chosen.txt"
    reply = await api.raw("POST", "/files/diagnostics/plain.txt", data=b"a raw body")
    assert reply.status == 201 and reply.json()["size"] == 10


@pytest.mark.parametrize(
    ("parts", "error"),
    [
        ([("comment", b"no file", None)], "The multipart/form-data body has no file field."),
        (
            [("a", b"1", "a.txt"), ("b", b"2", "b.txt")],
            "The multipart/form-data body must carry one file field, not several.",
        ),
        ([("a", b"1", "...")], "The file name '...' has nothing a file can be named after."),
    ],
)
async def test_multipart_refusals(api: Api, parts: list[tuple[str, bytes, str | None]], error: str) -> None:
    body, headers = multipart(*parts)
    reply = await api.raw("POST", "/files/diagnostics/", data=body, headers=headers)
    assert (reply.status, reply.json()) == (400, {"error": error})
    assert (await api.get("/api/diagnostics")).body == []


async def test_upload_refusals(api: Api) -> None:
    reply = await api.raw("PUT", "/files/diagnostics/", data=b"x")
    assert (reply.status, reply.json()) == (400, {"error": "A PUT names its file: PUT /files/diagnostics/{name}."})
    reply = await api.raw("POST", "/files/diagnostics/", data=b"x")
    assert (reply.status, reply.json()) == (
        400,
        {"error": "A POST without a file name in its URL needs a multipart/form-data body."},
    )
    reply = await api.raw("PUT", "/files/diagnostics/...", data=b"x")
    assert (reply.status, reply.json()) == (
        400,
        {"error": "The file name '...' has nothing a file can be named after."},
    )
    body, headers = multipart(("file", b"x", "a.txt"))
    headers["Content-Type"] = "multipart/form-data"
    reply = await api.raw("POST", "/files/diagnostics/", data=body, headers=headers)
    assert (reply.status, reply.json()) == (400, {"error": "The multipart/form-data body has no boundary."})
    body, headers = multipart(("file", b"x", "a.txt"))
    reply = await api.raw("POST", "/files/diagnostics/", data=body[: body.rindex(b"--") - 20], headers=headers)
    assert reply.status == 400 and reply.json()["error"].startswith("The multipart/form-data body is malformed: ")
    reply = await api.raw("PUT", "/files/diagnostics/" + "x" * 256, data=b"x")
    assert (reply.status, reply.json()) == (400, {"error": "The file name must be at most 255 characters long."})
    reply = await api.raw("GET", "/api/diagnostics/7/content")
    assert (reply.status, reply.json()) == (404, {"error": "There is no diagnostics upload '7'."})
    reply = await api.raw("GET", "/api/diagnostics/x/content")
    assert (reply.status, reply.json()) == (404, {"error": "There is no diagnostics upload 'x'."})
    assert (await api.get("/api/diagnostics")).body == []


async def test_an_upload_beyond_the_limit_is_413(api: Api) -> None:
    reply = await api.raw("PUT", "/files/diagnostics/big.bin", data=b"x" * (MAX_UPLOAD_BYTES + 1))
    assert (reply.status, reply.json()) == (413, TOO_BIG)

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(MAX_UPLOAD_BYTES // (1 << 20) + 1):
            yield b"y" * (1 << 20)

    reply = await api.raw("PUT", "/files/diagnostics/big.bin", data=chunked())  # no Content-Length
    assert (reply.status, reply.json()) == (413, TOO_BIG)
    form = aiohttp.FormData()
    form.add_field("file", b"z" * (MAX_UPLOAD_BYTES + 1), filename="big.bin")
    reply = await api.raw("POST", "/files/diagnostics/", data=form)
    assert reply.status == 413
    assert (await api.get("/api/diagnostics")).body == []
    exact = await api.raw("PUT", "/files/diagnostics/exact.bin", data=b"x" * MAX_UPLOAD_BYTES)
    assert exact.status == 201 and exact.json()["size"] == MAX_UPLOAD_BYTES


async def test_file_routes_answer_errors_in_json(api: Api) -> None:
    reply = await api.raw("DELETE", FIRMWARE_URL)
    assert reply.status == 405 and reply.json() == {"error": f"Method Not Allowed: DELETE {FIRMWARE_URL}."}
