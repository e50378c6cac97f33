"""Firmware downloads and diagnostics uploads over HTTP (simulator.transfers), against a server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sim_kit import Sim, booted

from ocppj.timefmt import format_time
from simulator.model import TransferJob
from simulator.transfers import perform

IMAGE = bytes(range(256)) * 1000  # 256000 bytes


@dataclass
class Received:
    method: str
    path: str
    body: bytes
    content_type: str
    authorization: str | None


@dataclass
class FileServer:
    server: TestServer
    received: list[Received] = field(default_factory=list)

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


@pytest.fixture
async def files() -> AsyncIterator[FileServer]:
    holder: list[FileServer] = []

    async def image(request: web.Request) -> web.StreamResponse:
        return web.Response(body=IMAGE)

    async def streamed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no Content-Length announces the size
        await response.prepare(request)
        for _ in range(4):
            await response.write(IMAGE)
        await response.write_eof()
        return response

    async def moved(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/fw/image.bin")

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(30)
        return web.Response(body=b"late")

    async def store(request: web.Request) -> web.StreamResponse:
        holder[0].received.append(
            Received(
                request.method,
                request.path,
                await request.read(),
                request.headers.get("Content-Type", ""),
                request.headers.get("Authorization"),
            )
        )
        return web.Response(status=201)

    async def broken(request: web.Request) -> web.StreamResponse:
        await request.read()
        return web.Response(status=500, reason="Disk Full")

    app = web.Application()
    app.router.add_get("/fw/image.bin", image)
    app.router.add_get("/fw/streamed.bin", streamed)
    app.router.add_get("/fw/moved.bin", moved)
    app.router.add_get("/fw/slow.bin", slow)
    app.router.add_put("/upload/{name}", store)
    app.router.add_put("/broken/{name}", broken)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    holder.append(FileServer(server))
    try:
        yield holder[0]
    finally:
        await server.close()


def download(url: str, *, max_bytes: int = 10_000_000, timeout_s: float = 10.0) -> TransferJob:
    return TransferJob(1, "download", url, timeout_s, max_bytes=max_bytes)


def upload(url: str, body: bytes = b"log line\n") -> TransferJob:
    return TransferJob(2, "upload", url, 10.0, body=body, content_type="text/plain; charset=utf-8")


async def test_download(files: FileServer) -> None:
    outcome = await perform(download(files.url("/fw/image.bin")))
    assert outcome.ok
    assert outcome.detail == f"256000 bytes, sha256 {hashlib.sha256(IMAGE).hexdigest()}"
    assert outcome.sha256 == hashlib.sha256(IMAGE).digest()


async def test_download_follows_redirects_with_a_shared_session(files: FileServer) -> None:
    async with aiohttp.ClientSession() as session:
        outcome = await perform(download(files.url("/fw/moved.bin")), session=session)
        assert outcome.ok
        assert not session.closed  # the caller's session stays the caller's


async def test_download_not_found(files: FileServer) -> None:
    outcome = await perform(download(files.url("/fw/missing.bin")))
    assert (outcome.ok, outcome.detail) == (False, "HTTP 404 Not Found")


async def test_download_larger_than_allowed_by_its_length(files: FileServer) -> None:
    outcome = await perform(download(files.url("/fw/image.bin"), max_bytes=1000))
    assert (outcome.ok, outcome.detail) == (False, "256000 bytes is more than the 1000 allowed")


async def test_download_larger_than_allowed_while_streaming(files: FileServer) -> None:
    outcome = await perform(download(files.url("/fw/streamed.bin"), max_bytes=300_000))
    assert (outcome.ok, outcome.detail) == (False, "more than the 300000 bytes allowed")
    assert (await perform(download(files.url("/fw/streamed.bin")))).detail.startswith("1024000 bytes")


async def test_download_timeout(files: FileServer) -> None:
    outcome = await perform(download(files.url("/fw/slow.bin"), timeout_s=0.2))
    assert (outcome.ok, outcome.detail) == (False, "timed out after 0.2 s")


async def test_upload_is_a_put_of_the_file(files: FileServer) -> None:
    outcome = await perform(upload(files.url("/upload/cp.txt"), b"diagnostics\n"))
    assert (outcome.ok, outcome.detail) == (True, "12 bytes, HTTP 201")
    assert files.received == [Received("PUT", "/upload/cp.txt", b"diagnostics\n", "text/plain; charset=utf-8", None)]


async def test_upload_with_credentials_in_the_url(files: FileServer) -> None:
    url = files.url("/upload/cp.txt").replace("http://", "http://user:secret@")
    assert (await perform(upload(url))).ok
    assert files.received[0].authorization == "Basic dXNlcjpzZWNyZXQ="


async def test_upload_refused_by_the_server(files: FileServer) -> None:
    outcome = await perform(upload(files.url("/broken/cp.txt")))
    assert (outcome.ok, outcome.detail) == (False, "HTTP 500 Disk Full")


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("ftp://user:pw@127.0.0.1/diag/", "ftp:// transfers are not supported by this runtime (HTTP and HTTPS only)"),
        ("SFTP://127.0.0.1/diag/", "sftp:// transfers are not supported by this runtime (HTTP and HTTPS only)"),
        ("file:///etc/passwd", "unsupported location scheme 'file' (HTTP and HTTPS only)"),
    ],
)
async def test_locations_other_than_http_fail_with_the_reason(url: str, detail: str) -> None:
    assert await perform(upload(url)) == await perform(download(url))
    outcome = await perform(upload(url))
    assert (outcome.ok, outcome.detail) == (False, detail)


async def test_nobody_listening() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = await perform(download(f"http://127.0.0.1:{port}/fw.bin"))
    assert not outcome.ok
    assert outcome.detail.startswith("ClientConnectorError")


# ------------------------------------------------------------------ the model and the transfers together


async def run_transfers(sim: Sim) -> None:
    """What a runtime does: perform every job the station hands out and report it."""
    for job in sim.cp.take_transfers(sim.now):
        outcome = await perform(job)
        sim.cp.transfer_finished(job.job_id, ok=outcome.ok, detail=outcome.detail, now=sim.now)
        sim.follow()


async def test_tc_045_1_diagnostics_reach_the_server(files: FileServer) -> None:
    sim = booted()
    reply = sim.call("GetDiagnostics", {"location": files.url("/upload/")})
    await run_transfers(sim)
    statuses = [s.payload["status"] for s in sim.take() if s.action == "DiagnosticsStatusNotification"]
    assert statuses == ["Uploading", "Uploaded"]
    (received,) = files.received
    assert received.path == f"/upload/{reply['fileName']}"
    assert b"Diagnostics of charge point CP-1" in received.body


async def test_tc_045_2_diagnostics_refused_by_the_server(files: FileServer) -> None:
    sim = booted()
    sim.call("GetDiagnostics", {"location": files.url("/broken/"), "retries": 0})
    await run_transfers(sim)
    statuses = [s.payload["status"] for s in sim.take() if s.action == "DiagnosticsStatusNotification"]
    assert statuses == ["Uploading", "UploadFailed"]
    assert sim.cp.transfer_reports[-1].detail == "HTTP 500 Disk Full"


async def test_tc_044_firmware_downloaded_from_the_server(files: FileServer) -> None:
    sim = booted()
    sim.call("UpdateFirmware", {"location": files.url("/fw/image.bin"), "retrieveDate": format_time(sim.now)})
    await run_transfers(sim)
    statuses = [s.payload["status"] for s in sim.take() if s.action == "FirmwareStatusNotification"]
    assert statuses == ["Downloading", "Downloaded", "Installing"]
    assert sim.cp.transfer_reports[-1].detail.startswith("256000 bytes, sha256 ")
