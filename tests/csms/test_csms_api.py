"""Provisioning and inspection API, error shape, server lifecycle and ``serve()``."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from conftest import OpenStation
from csms_kit import Api

from csms.app import CsmsServer, serve


async def test_provision_station_creates_then_updates(api: Api) -> None:
    reply = await api.post("/api/stations", {"id": "CP_1"})
    assert reply.status == 201
    assert reply.body["id"] == "CP_1" and reply.body["connected"] is False
    assert reply.body["boot"] == {"status": "Accepted", "interval_s": None, "accept_after_boots": None}
    reply = await api.post(
        "/api/stations",
        {"id": "CP_1", "boot": {"status": "Pending", "interval_s": 5, "accept_after_boots": 1}},
    )
    assert reply.status == 200
    assert reply.body["boot"] == {"status": "Pending", "interval_s": 5, "accept_after_boots": 1}
    assert reply.body["boots_until_accepted"] == 1
    reply = await api.post("/api/stations", {"id": "CP_1"})
    assert reply.status == 200 and reply.body["boot"]["status"] == "Pending"  # no boot given: unchanged
    await api.provision("CP_2")
    assert [s["id"] for s in (await api.get("/api/stations")).body] == ["CP_1", "CP_2"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"id": ""},
        {"id": 7},
        {"id": "CP_1", "colour": "blue"},
        {"id": "CP_1", "boot": {"status": "Maybe"}},
        {"id": "CP_1", "boot": {"status": "Pending", "interval_s": -1}},
        {"id": "CP_1", "boot": {"status": "Pending", "interval_s": 1.5}},
        {"id": "CP_1", "boot": {"status": "Pending", "accept_after_boots": True}},
        {"id": "CP_1", "boot": "Accepted"},
        [1, 2],
    ],
)
async def test_provision_station_rejects_bad_bodies(api: Api, body: object) -> None:
    reply = await api.post("/api/stations", body)
    assert reply.status == 400 and isinstance(reply.body["error"], str) and reply.body["error"]


async def test_errors_are_json_sentences(api: Api) -> None:
    reply = await api.post("/api/stations", raw="{")
    assert reply.status == 400 and "JSON" in reply.body["error"]
    reply = await api.post("/api/stations", raw="")
    assert reply.status == 400
    reply = await api.post("/api/stations", raw='{"id": NaN}')
    assert reply.status == 400
    reply = await api.get("/api/stations/NOPE")
    assert reply.status == 404 and "NOPE" in reply.body["error"]
    reply = await api.get("/api/nothing-here")
    assert reply.status == 404 and reply.body["error"]
    reply = await api.request("DELETE", "/api/stations")
    assert reply.status == 405 and reply.body["error"]


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("GET", "reservations"),
        ("POST", "reservations"),
        ("DELETE", "reservations/1"),
        ("GET", "local-list"),
        ("POST", "local-list"),
        ("GET", "charging-profiles"),
        ("DELETE", "charging-profiles"),
        ("POST", "charging-limit"),
        ("GET", "composite-schedule"),
        ("POST", "composite-schedule"),
        ("GET", "firmware"),
        ("POST", "firmware"),
        ("GET", "diagnostics"),
        ("POST", "diagnostics"),
        ("POST", "trigger"),
    ],
)
async def test_profile_routes_of_an_unknown_station_are_404(api: Api, method: str, route: str) -> None:
    """Before its body is looked at: the station is what the route is about."""
    reply = await api.request(method, f"/api/stations/NOPE/{route}", {"colour": "blue"})
    assert (reply.status, reply.body) == (404, {"error": "Station 'NOPE' is not provisioned."})


async def test_set_basic_auth_password_validation(api: Api) -> None:
    reply = await api.post("/api/octt/set-basic-auth-password", {"station_id": "NOPE", "password": "0123456789abcdef"})
    assert reply.status == 404
    await api.provision("CP_1")
    reply = await api.post("/api/octt/set-basic-auth-password", {"station_id": "CP_1", "password": ""})
    assert reply.status == 400
    reply = await api.post("/api/octt/set-basic-auth-password", {"station_id": "CP_1"})
    assert reply.status == 400
    assert (await api.get("/api/stations/CP_1")).body["basic_auth"] is False


async def test_station_view_shows_connection(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    view = (await api.get("/api/stations/CP_1")).body
    assert view["connected"] is True and view["registration_status"] == "Accepted"
    await station.ws.close()
    for _ in range(50):
        if not (await api.get("/api/stations/CP_1")).body["connected"]:
            break
        await asyncio.sleep(0.01)
    assert (await api.get("/api/stations/CP_1")).body["connected"] is False


async def test_urls_and_lifecycle(tmp_path: Path) -> None:
    server = CsmsServer(db_path=tmp_path / "a.sqlite3")
    with pytest.raises(RuntimeError):
        _ = server.port
    async with server:
        assert server.port > 0
        assert server.ws_url == f"ws://127.0.0.1:{server.port}/ocpp"
        assert server.api_url == f"http://127.0.0.1:{server.port}"
    with pytest.raises(ValueError):
        CsmsServer(db_path=tmp_path / "b.sqlite3", heartbeat_interval_s=0)


async def test_serve_prints_its_urls_and_runs_until_cancelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = asyncio.create_task(serve(host="127.0.0.1", port=0, db_path=tmp_path / "serve.sqlite3"))
    try:
        out = ""
        for _ in range(200):
            out += capsys.readouterr().out
            if out.count("\n") >= 2:
                break
            await asyncio.sleep(0.01)
        match = re.fullmatch(
            r"CSMS listening on ws://127\.0\.0\.1:(\d+)/ocpp \(API http://127\.0\.0\.1:(\d+)\)\n"
            r"API token \(Authorization: Bearer\): [A-Za-z0-9_-]{40,}\n",
            out,
        )
        assert match and match.group(1) == match.group(2), out
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
