"""The websocket endpoint: OCPP-J 1.6 §3 (URL, subprotocol), Basic authentication, RPC framing (§4)."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path

import pytest
from conftest import OpenStation
from csms_kit import Api, basic_auth, open_socket
from websockets.exceptions import ConnectionClosed, InvalidStatus

from csms.app import CsmsServer
from csms.credentials import hash_password, verify_password


async def test_ocpp16_offered_is_echoed_exactly(csms: CsmsServer, api: Api) -> None:
    """OCPP-J 1.6 §3.2 / TC_088_CSMS: exactly one value, ``ocpp1.6``, even when more are offered."""
    await api.provision("CP_1")
    for offered in (["ocpp1.6"], ["ocpp2.0.1", "ocpp1.6", "ocpp1.5"]):
        ws = await open_socket(f"{csms.ws_url}/CP_1", subprotocols=offered)
        try:
            assert ws.subprotocol == "ocpp1.6"
            assert ws.response is not None
            assert ws.response.headers.get_all("Sec-WebSocket-Protocol") == ["ocpp1.6"]
        finally:
            await ws.close()


@pytest.mark.parametrize("offered", [["ocpp0.1"], None], ids=["only-ocpp0.1", "none-offered"])
async def test_without_acceptable_subprotocol_handshake_completes_then_closes(
    csms: CsmsServer, api: Api, offered: list[str] | None
) -> None:
    """OCPP-J 1.6 §3.2: complete the handshake without the header, then close immediately (TC_088_CSMS)."""
    await api.provision("CP_1")
    ws = await open_socket(f"{csms.ws_url}/CP_1", subprotocols=offered)
    assert ws.response is not None
    assert "Sec-WebSocket-Protocol" not in ws.response.headers
    assert ws.subprotocol is None
    with pytest.raises(ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002


async def test_unknown_station_gets_404_before_upgrade(csms: CsmsServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await open_socket(f"{csms.ws_url}/NOT_PROVISIONED")
    assert refused.value.response.status_code == 404


async def test_station_id_is_percent_decoded(api: Api, open_station: OpenStation) -> None:
    """OCPP-J 1.6 §3.1.1: the id is percent-encoded in the URL."""
    await api.provision("CP 1/A")
    station = await open_station("CP 1/A", provision=False, path="CP%201%2FA")
    await station.boot()
    reply = await api.get("/api/stations/CP%201%2FA")
    assert reply.status == 200 and reply.body["connected"] is True and reply.body["boot_count"] == 1


async def test_basic_auth_is_required_and_checked_before_upgrade(
    csms: CsmsServer, api: Api, open_station: OpenStation, caplog: pytest.LogCaptureFixture
) -> None:
    """Security whitepaper A00.FR.202-205: username = station id, refusal is HTTP 401 without upgrade;
    A01.FR.09: the password never reaches the log."""
    caplog.set_level(logging.DEBUG, logger="csms")
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    await api.provision("CP_1")
    reply = await api.post(
        "/api/octt/set-basic-auth-password", {"station_id": "CP_1", "password": "OCA_OCTT_admin_test"}
    )
    assert reply.status == 200 and reply.body == {"station_id": "CP_1", "basic_auth": True}
    for headers in (
        None,
        basic_auth("CP_1", "wrong-password-123"),
        basic_auth("CP_2", "OCA_OCTT_admin_test"),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Bearer OCA_OCTT_admin_test"},
    ):
        with pytest.raises(InvalidStatus) as refused:
            await open_socket(f"{csms.ws_url}/CP_1", headers=headers)
        assert refused.value.response.status_code == 401
        assert refused.value.response.headers["WWW-Authenticate"].startswith("Basic")
    station = await open_station("CP_1", provision=False, headers=basic_auth("CP_1", "OCA_OCTT_admin_test"))
    assert (await station.boot())["status"] == "Accepted"
    server_log = [r.getMessage() for r in caplog.records if r.name.startswith(("csms", "aiohttp"))]
    assert any("Basic authentication failed" in message for message in server_log)
    assert not any("OCA_OCTT_admin_test" in m or "wrong-password-123" in m for m in server_log)


async def test_only_a_salted_hash_of_the_password_is_stored(csms: CsmsServer, api: Api) -> None:
    """A01.FR.08: no plain password in the database."""
    await api.provision("CP_1")
    await api.post("/api/octt/set-basic-auth-password", {"station_id": "CP_1", "password": "OCA_OCTT_admin_test"})
    station = await csms.store.get_station("CP_1")
    assert station is not None and station.password_hash is not None
    assert "OCA_OCTT_admin_test" not in station.password_hash
    assert verify_password("OCA_OCTT_admin_test", station.password_hash)
    assert not verify_password("OCA_OCTT_admin_tesT", station.password_hash)
    assert hash_password("same") != hash_password("same")


async def test_a_new_connection_replaces_the_old_one(api: Api, open_station: OpenStation) -> None:
    first = await open_station("CP_1", boot=True)
    second = await open_station("CP_1", provision=False)
    with pytest.raises(ConnectionClosed):
        await first.recv()
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(api.trigger("CP_1", "clear-cache"))
        call = await second.expect_call("ClearCache")
        await second.answer(call, {"status": "Accepted"})
    assert pending.result().status == 200


async def test_malformed_frames(open_station: OpenStation) -> None:
    """OCPP-J 1.6 §4.2.3: FormationViolation with the id when it can be read; silence when it cannot, and for an
    unknown MessageTypeId (§4.1.3: ignored)."""
    station = await open_station(boot=True)
    await station.send_raw("this is not json")
    await station.send_raw("[2]")
    await station.send_raw('{"not": "an array"}')
    await station.send_raw('[7, "bad-3", "Heartbeat", {}]')
    # Nothing came back for the frames above: the next frame answers this Heartbeat.
    assert "currentTime" in await station.result("Heartbeat", {})
    for text in (
        '[2, "bad-1", "Heartbeat"]',
        '[2, "bad-2", "Heartbeat", []]',
    ):
        await station.send_raw(text)
        frame = await station.recv()
        unique_id = json.loads(text)[1]
        assert frame[:3] == [4, unique_id, "FormationViolation"], frame
        assert isinstance(frame[3], str) and frame[4] == {}


async def test_unknown_and_unsupported_actions(open_station: OpenStation) -> None:
    """NotImplemented for an action 1.6 does not know, NotSupported for one the CSMS does not take from a
    station (OCPP-J 1.6 §4.2.3)."""
    station = await open_station(boot=True)
    frame = await station.error("FlyToTheMoon", {})
    assert frame[2] == "NotImplemented"
    frame = await station.error("Reset", {"type": "Hard"})
    assert frame[2] == "NotSupported"


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("Authorize", {}, "OccurenceConstraintViolation"),
        ("Authorize", {"idTag": 42}, "TypeConstraintViolation"),
        ("Authorize", {"idTag": "X" * 21}, "PropertyConstraintViolation"),
        ("Authorize", {"idTag": "A", "extra": 1}, "FormationViolation"),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Bogus"},
            "PropertyConstraintViolation",
        ),
        (
            "StartTransaction",
            {"connectorId": 1, "idTag": "A", "meterStart": 0, "timestamp": "2024-01-01T00:00:00"},
            "PropertyConstraintViolation",
        ),
    ],
)
async def test_schema_invalid_request_gets_the_schema_code(
    open_station: OpenStation, action: str, payload: dict[str, object], code: str
) -> None:
    station = await open_station(boot=True)
    frame = await station.error(action, payload)
    assert frame[2] == code
    assert frame[3] and isinstance(frame[4], dict) and frame[4]["violations"]


async def test_stray_answers_are_ignored(open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    await station.send_raw('[3, "never-sent", {}]')
    await station.send_raw('[4, "never-sent", "GenericError", "", {}]')
    assert "currentTime" in await station.result("Heartbeat", {})


async def test_exchanges_are_persisted(api: Api, open_station: OpenStation, tmp_path: Path) -> None:
    station = await open_station(boot=True)
    await station.result("Heartbeat", {})
    reply = await api.get("/api/exchanges?station_id=CP_1")
    assert [(e["direction"], e["action"], e["outcome"]) for e in reply.body] == [
        ("station_to_csms", "BootNotification", "result"),
        ("station_to_csms", "Heartbeat", "result"),
    ]
    assert reply.body[0]["request"]["chargePointVendor"] == "VendorX"
    assert (await api.get("/api/exchanges?limit=0")).status == 400
    db = sqlite3.connect(tmp_path / "csms.sqlite3")  # a plain SQLite file anyone can inspect
    try:
        assert db.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0] == 2
    finally:
        db.close()
