"""Who may use the CSMS (csms.access): the API needs the bearer token, browsers are kept out (foreign Origin,
text/plain bodies, a rebound Host), stations keep their own routes, and a bind beyond loopback is warned about."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from csms_kit import Api, open_socket
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from csms.access import exposure_warning, is_loopback
from csms.app import CsmsServer

# One request per kind of route that changes what a station may do, plus a path no route has: the token is
# checked before routing, so no /api path is reachable without it.
STATE_CHANGES = [
    ("POST", "/api/stations", {"id": "CP_X"}),
    ("PUT", "/api/stations/CP_1/boot-answer", {"status": "Pending"}),
    ("POST", "/api/stations/CP_1/accept", None),
    ("POST", "/api/tokens", {"id_tag": "EVIL", "status": "Accepted"}),
    ("POST", "/api/octt/create-token", {"token_id": "EVIL", "status": "Accepted"}),
    ("POST", "/api/octt/set-basic-auth-password", {"station_id": "CP_1", "password": "taken-over-1234"}),
    ("POST", "/api/octt/1.6/CP_1/reset", {"type": "Hard"}),
    ("POST", "/api/stations/CP_1/calls/Reset", {"type": "Hard"}),
    ("GET", "/api/exchanges", None),
    ("GET", "/api/no-such-route", None),
]


@pytest.fixture
async def anonymous(csms: CsmsServer) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession(base_url=csms.api_url) as session:
        yield Api(session)


@pytest.mark.parametrize(("method", "path", "body"), STATE_CHANGES, ids=[f"{m} {p}" for m, p, _ in STATE_CHANGES])
async def test_the_api_refuses_a_request_without_the_token(
    api: Api, anonymous: Api, method: str, path: str, body: object
) -> None:
    await api.provision("CP_1")
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic Q1BfMTp4"}):
        async with anonymous.session.request(method, path, json=body, headers=headers) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer ")
            assert (await response.json())["error"].startswith("The API needs 'Authorization: Bearer <token>'")
    assert (await api.get("/api/stations/CP_1")).body["basic_auth"] is False
    assert "EVIL" not in [t["id_tag"] for t in (await api.get("/api/tokens")).body]


async def test_the_token_is_never_logged(csms: CsmsServer, api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await api.provision("CP_1")
    await api.get("/api/stations")
    assert csms.api_token not in caplog.text


async def test_a_body_that_is_not_json_is_refused_even_with_the_token(csms: CsmsServer, api: Api) -> None:
    """A web page can POST text/plain cross-origin without a preflight; the API takes JSON only."""
    async with api.session.post(
        "/api/octt/create-token",
        data='{"token_id": "EVIL", "status": "Accepted"}',
        headers={"Content-Type": "text/plain"},
    ) as response:
        assert response.status == 415
        assert "application/json" in (await response.json())["error"]
    assert (await api.get("/api/tokens")).body == []


async def test_a_foreign_origin_is_refused_on_every_route(csms: CsmsServer, api: Api) -> None:
    await api.provision("CP_1")
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{csms.port + 1}"):
        headers = {"Origin": origin}
        async with api.session.post("/api/octt/create-token", json={"token_id": "T"}, headers=headers) as response:
            assert response.status == 403, origin
            assert "web origin" in (await response.json())["error"]
        async with api.session.put("/files/diagnostics/a.txt", data=b"x", headers=headers) as response:
            assert response.status == 403
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"{csms.ws_url}/CP_1", subprotocols=[Subprotocol("ocpp1.6")], origin=Origin(origin))
        assert refused.value.response.status_code == 403
    same = {"Origin": csms.api_url}
    async with api.session.post("/api/octt/create-token", json={"token_id": "T"}, headers=same) as response:
        assert response.status == 201


async def test_a_host_that_is_not_loopback_is_refused_on_a_loopback_bind(csms: CsmsServer, api: Api) -> None:
    """DNS rebinding: a page at evil.example resolved to 127.0.0.1 sends Host: evil.example."""
    async with api.session.get("/api/stations", headers={"Host": f"evil.example:{csms.port}"}) as response:
        assert response.status == 421
    for host in (f"localhost:{csms.port}", f"127.0.0.1:{csms.port}", "127.0.0.2"):
        async with api.session.get("/api/stations", headers={"Host": host}) as response:
            assert response.status == 200, host


async def test_station_routes_take_no_api_token(csms: CsmsServer, api: Api, anonymous: Api) -> None:
    await api.provision("CP_1")
    firmware = await anonymous.raw("GET", "/files/firmware/fw.bin")
    assert firmware.status == 200 and firmware.body
    upload = await anonymous.raw("PUT", "/files/diagnostics/CP_1-diag.txt", data=b"log")
    assert upload.status == 201
    ws = await open_socket(f"{csms.ws_url}/CP_1")
    assert ws.subprotocol == "ocpp1.6"
    await ws.close()


def test_a_bind_beyond_loopback_is_warned_about() -> None:
    for host in ("127.0.0.1", "::1", "localhost", "127.3.2.1"):
        assert is_loopback(host) and exposure_warning(host) is None
    for host in ("0.0.0.0", "::", "", "192.0.2.7", "csms.example.com"):
        warning = exposure_warning(host)
        assert warning is not None and warning.startswith("WARNING: the CSMS listens on") and "TLS" in warning


async def test_a_given_token_is_the_one_required(tmp_path: Path) -> None:
    async with (
        CsmsServer(db_path=tmp_path / "t.sqlite3", api_token="chosen-token-1234") as server,
        aiohttp.ClientSession(base_url=server.api_url) as session,
    ):
        assert server.api_headers == {"Authorization": "Bearer chosen-token-1234"}
        async with session.get("/api/stations", headers={"Authorization": "Bearer chosen-token-1234"}) as response:
            assert response.status == 200
