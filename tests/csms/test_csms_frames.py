"""Hostile frames on the websocket (OCPP-J 1.6 §4, RFC 6455, RFC 8259): every readable CALL gets exactly one
answer, what OCPP-J says to ignore is ignored, nothing valid as JSON drops the connection, and what the CSMS keeps
of it stays valid JSON in the API. After each frame the station's next CALL is still answered."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from conftest import OpenStation
from csms_kit import Api, StationSocket
from websockets.exceptions import ConnectionClosed

from csms.app import CsmsServer

STATUS = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}


async def still_answers(station: StationSocket) -> None:
    assert "currentTime" in await station.result("Heartbeat", {})


def strict_json(text: str) -> Any:
    def refuse(name: str) -> None:
        raise ValueError(f"{name} in the API's JSON")

    return json.loads(text, parse_constant=refuse)


async def exchanges_json(api: Api) -> list[Any]:
    async with api.session.get("/api/exchanges?station_id=CP_1") as response:
        assert response.status == 200
        data = strict_json(await response.text())
    assert isinstance(data, list)
    return data


async def answer_to(station: StationSocket, text: str) -> list[Any]:
    await station.send_raw(text)
    frame = await station.recv()
    assert frame[0] in (3, 4), frame
    return frame


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('[2,"deep","DataTransfer",{"vendorId":"x","data":' + "[" * 976 + "]" * 976 + "}]", "FormationViolation"),
        (
            '[2,"big","StatusNotification",{"connectorId":'
            + "9" * 5000
            + ',"errorCode":"NoError","status":"Available"}]',
            "FormationViolation",
        ),
        (
            '[2,"nan","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-01-01T00:00:00Z",'
            '"sampledValue":[{"value":"1"}]}],"transactionId":NaN}]',
            "FormationViolation",
        ),
        (
            '[2,"i64","StatusNotification",{"connectorId":9223372036854775808,"errorCode":"NoError","status":"Available"}]',
            "PropertyConstraintViolation",
        ),
        ('[2,"inf","DataTransfer",{"vendorId":"x","data":"y","messageId":"z"}]', None),
        (
            '[2,"sur","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available","info":"\\ud800"}]',
            "PropertyConstraintViolation",
        ),
        ('[2,"tag","Authorize",{"idTag":"\\udc00A"}]', "PropertyConstraintViolation"),
        (
            '[2,"e400","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-01-01T00:00:00Z",'
            '"sampledValue":[{"value":"1"}]}],"transactionId":1e400}]',
            "TypeConstraintViolation",
        ),
    ],
    ids=["976-deep", "5000-digits", "NaN", "2^63", "control", "lone-surrogate", "surrogate-idTag", "1e400"],
)
async def test_a_readable_call_gets_one_answer_and_the_connection_lives(
    api: Api, open_station: OpenStation, text: str, code: str | None
) -> None:
    station = await open_station(boot=True)
    frame = await answer_to(station, text)
    unique_id = json.loads(text[: text.index('","') + 1] + "]")[1]
    assert frame[1] == unique_id
    if code is None:
        assert frame[0] == 3
    else:
        assert frame[0] == 4 and frame[2] == code and isinstance(frame[4], dict), frame
    await station.expect_silence()
    await still_answers(station)
    logged = [e for e in await exchanges_json(api) if e["unique_id"] == unique_id]
    assert len(logged) == 1 and logged[0]["outcome"] == ("result" if code is None else "error")


async def test_a_stop_with_a_lone_surrogate_is_answered_and_changes_nothing(
    api: Api, open_station: OpenStation
) -> None:
    """The issue's StopTransaction: committed, never answered, not logged. Now refused before any write."""
    await api.post("/api/tokens", {"id_tag": "TAG_1", "status": "Accepted"})
    station = await open_station(boot=True)
    start = {"connectorId": 1, "idTag": "TAG_1", "meterStart": 0, "timestamp": "2026-01-01T00:00:00Z"}
    transaction_id = (await station.result("StartTransaction", start))["transactionId"]
    stop = {"transactionId": transaction_id, "idTag": "\ud800", "meterStop": 9, "timestamp": "2026-01-01T01:00:00Z"}
    frame = await answer_to(station, json.dumps([2, "stop-1", "StopTransaction", stop]))
    assert frame[:3] == [4, "stop-1", "PropertyConstraintViolation"]
    [transaction] = (await api.get("/api/transactions")).body
    assert transaction["stopped_at"] is None
    await station.result("StopTransaction", {**stop, "idTag": "TAG_1"})
    assert [e["unique_id"] for e in await exchanges_json(api)].count("stop-1") == 1


@pytest.mark.parametrize(
    "text",
    [
        '[5,"x",{}]',
        '[0,"x","Heartbeat",{}]',
        '["2","x","Heartbeat",{}]',
        '[3,"x"]',
        '[3,"x",[]]',
        '[4,"x","GenericError"]',
        '[3,"never-sent",{}]',
        '[4,"never-sent","GenericError","",{}]',
        '{"not":"an array"}',
        "[]",
        "not json at all",
    ],
)
async def test_what_ocpp_j_says_to_ignore_is_not_answered(open_station: OpenStation, text: str) -> None:
    """OCPP-J 1.6 §4.1.3: an unknown MessageTypeId is ignored; a CALLERROR answers only a CALL (§4.2.3), so a
    malformed or unexpected CALLRESULT/CALLERROR, or a frame without a readable CALL id, gets nothing."""
    station = await open_station(boot=True)
    await station.send_raw(text)
    await station.expect_silence()
    await still_answers(station)


async def test_two_calls_back_to_back_are_both_answered_in_order(open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    await station.send_raw('[2,"a","Heartbeat",{}]')
    await station.send_raw('[2,"b","Heartbeat",{}]')
    assert [(await station.recv())[:2] for _ in range(2)] == [[3, "a"], [3, "b"]]


async def test_a_binary_frame_is_ignored(open_station: OpenStation) -> None:
    """OCPP-J carries JSON text (RFC 6455 §5.6 text frames); a binary frame is not an OCPP message."""
    station = await open_station(boot=True)
    await station.ws.send(b'[2,"bin","Heartbeat",{}]')
    await station.expect_silence()
    await still_answers(station)


async def test_invalid_utf8_closes_with_1007(csms: CsmsServer, open_station: OpenStation) -> None:
    """RFC 6455 §8.1: an endpoint that finds a text frame is not UTF-8 fails the connection (close 1007)."""
    station = await open_station(boot=True)
    await station.ws.send(b'[2,"u","Heartbeat",{"x":"\xc3\x28"}]', text=True)
    with pytest.raises(ConnectionClosed) as closed:
        await station.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007


async def test_a_frame_over_the_size_limit_closes_with_1009(open_station: OpenStation) -> None:
    """RFC 6455 §7.4.1: 1009, a message too big to process (the CSMS takes up to 4 MiB)."""
    station = await open_station(boot=True)
    await station.ws.send('[2,"huge","DataTransfer",{"vendorId":"x","data":"' + "a" * (4 * 1024 * 1024) + '"}]')
    with pytest.raises(ConnectionClosed) as closed:
        await station.recv(timeout_s=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_a_large_frame_under_the_limit_is_answered(open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    frame = await answer_to(station, '[2,"large","DataTransfer",{"vendorId":"x","data":"' + "a" * 1_000_000 + '"}]')
    assert frame[:2] == [3, "large"]


async def raw_handshake(csms: CsmsServer, path: str, header_lines: list[str]) -> tuple[int, list[str]]:
    """The status and the Sec-WebSocket-Protocol lines of the answer to a handshake written byte for byte (a
    websockets client would refuse an answer to protocols it did not offer itself)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", csms.port)
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{csms.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: " + base64.b64encode(b"0123456789abcdef").decode(),
        "Sec-WebSocket-Version: 13",
        *header_lines,
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).decode().split("\r\n")
    writer.close()
    protocols = [line.split(":", 1)[1].strip() for line in head if line.lower().startswith("sec-websocket-protocol:")]
    return int(head[0].split()[1]), protocols


async def test_subprotocols_on_two_header_lines_are_one_list(csms: CsmsServer, api: Api) -> None:
    """RFC 6455 §11.3.4: several Sec-WebSocket-Protocol lines are one list; ocpp1.6 on the second is chosen."""
    await api.provision("CP_1")
    two_lines = ["Sec-WebSocket-Protocol: ocpp0.1", "Sec-WebSocket-Protocol: ocpp1.6"]
    assert await raw_handshake(csms, "/ocpp/CP_1", two_lines) == (101, ["ocpp1.6"])
    assert await raw_handshake(csms, "/ocpp/CP_1", ["Sec-WebSocket-Protocol: ocpp0.1, ocpp1.6"]) == (101, ["ocpp1.6"])
    assert await raw_handshake(csms, "/ocpp/CP_1", ["Sec-WebSocket-Protocol: ocpp0.1"]) == (101, [])


async def test_an_api_body_that_is_not_utf8_is_a_400(api: Api) -> None:
    async with api.session.post(
        "/api/tokens", data=b'{"id_tag": "\xff\xfe"}', headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"].startswith("The request body is not UTF-8")


async def test_a_deeply_nested_request_is_logged_as_text_and_the_api_still_reads(
    api: Api, open_station: OpenStation
) -> None:
    """Found by the fuzz test: a 900-deep request stored as JSON could not be read back (RecursionError), and
    every /api/exchanges listing that included it was a 500."""
    station = await open_station(boot=True)
    text = '[2,"nest","DataTransfer",{"vendorId":"v","data":' + "[" * 900 + "]" * 900 + "}]"
    frame = await answer_to(station, text)
    assert frame[:2] == [4, "nest"]
    [logged] = [e for e in await exchanges_json(api) if e["unique_id"] == "nest"]
    assert logged["request"] == {"raw": text}
