"""Test helpers for the bundled CSMS: a scripted charge point over a real websocket and a JSON API client.

Everything runs over loopback against a server on an ephemeral port, so the tests exercise the same bytes a
conformance run does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from multidict import CIMultiDict
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

RECV_TIMEOUT_S = 2.0
SILENCE_S = 0.3

BOOT_PAYLOAD: dict[str, Any] = {
    "chargePointVendor": "VendorX",
    "chargePointModel": "ModelY",
    "chargePointSerialNumber": "SN-1",
    "firmwareVersion": "1.0.0",
}


def basic_auth(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


async def open_socket(
    url: str,
    *,
    subprotocols: Sequence[str] | None = ("ocpp1.6",),
    headers: dict[str, str] | None = None,
) -> ClientConnection:
    return await connect(
        url,
        subprotocols=None if subprotocols is None else [Subprotocol(p) for p in subprotocols],
        additional_headers=headers,
        proxy=None,
        open_timeout=RECV_TIMEOUT_S,
        close_timeout=1.0,
        ping_interval=None,
    )


class StationSocket:
    """The charge point side: sends CALLs, answers the CSMS's CALLs, and notices what it was not expecting."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._counter = 0

    async def send_raw(self, text: str) -> None:
        await self.ws.send(text)

    async def recv(self, timeout_s: float = RECV_TIMEOUT_S) -> list[Any]:
        text = await asyncio.wait_for(self.ws.recv(), timeout_s)
        frame = json.loads(text)
        assert isinstance(frame, list), text
        return frame

    async def send_call(self, action: str, payload: dict[str, Any]) -> str:
        """Send a CALL without waiting for its answer; returns its message id."""
        self._counter += 1
        unique_id = f"cp-{self._counter}"
        await self.ws.send(json.dumps([2, unique_id, action, payload]))
        return unique_id

    async def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        """Send a CALL and return the frame answering it (CALLRESULT or CALLERROR)."""
        unique_id = await self.send_call(action, payload)
        frame = await self.recv()
        assert frame[0] in (3, 4) and frame[1] == unique_id, frame
        return frame

    async def result(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        frame = await self.call(action, payload)
        assert frame[0] == 3, f"expected a CALLRESULT, got {frame}"
        result = frame[2]
        assert isinstance(result, dict)
        return result

    async def error(self, action: str, payload: dict[str, Any]) -> list[Any]:
        frame = await self.call(action, payload)
        assert frame[0] == 4, f"expected a CALLERROR, got {frame}"
        assert isinstance(frame[3], str) and isinstance(frame[4], dict), frame
        return frame

    async def boot(self) -> dict[str, Any]:
        return await self.result("BootNotification", BOOT_PAYLOAD)

    async def expect_call(self, action: str, timeout_s: float = RECV_TIMEOUT_S) -> list[Any]:
        frame = await self.recv(timeout_s)
        assert frame[0] == 2 and frame[2] == action, f"expected a {action} CALL, got {frame}"
        return frame

    async def answer(self, call: list[Any], payload: dict[str, Any]) -> None:
        await self.ws.send(json.dumps([3, call[1], payload]))

    async def answer_error(self, call: list[Any], code: str, description: str, details: dict[str, Any]) -> None:
        await self.ws.send(json.dumps([4, call[1], code, description, details]))

    async def expect_silence(self, for_s: float = SILENCE_S) -> None:
        """OCTT quirk (reference §5.6): the CSMS must not send anything it was not asked to."""
        try:
            text = await asyncio.wait_for(self.ws.recv(), for_s)
        except TimeoutError:
            return
        raise AssertionError(f"the CSMS sent an unsolicited frame: {text!r}")


class Stations:
    """Opens scripted charge points against one CSMS and closes them with ``stack``."""

    def __init__(self, ws_url: str, api: Api, stack: contextlib.AsyncExitStack) -> None:
        self._ws_url = ws_url
        self._api = api
        self._stack = stack

    async def open(
        self,
        station_id: str = "CP_1",
        *,
        provision: bool = True,
        boot: bool = False,
        path: str | None = None,
        subprotocols: Sequence[str] | None = ("ocpp1.6",),
        headers: dict[str, str] | None = None,
    ) -> StationSocket:
        """Provision (unless told not to), connect offering ``ocpp1.6``, and optionally boot (Accepted)."""
        if provision:
            await self._api.provision(station_id)
        ws = await open_socket(f"{self._ws_url}/{path or station_id}", subprotocols=subprotocols, headers=headers)
        self._stack.push_async_callback(ws.close)
        station = StationSocket(ws)
        if boot:
            assert (await station.boot())["status"] == "Accepted"
        return station


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RawReply:
    status: int
    body: bytes
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)

    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """The CSMS HTTP API; every answer must be JSON."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def request(self, method: str, path: str, body: Any = None, *, raw: str | None = None) -> Reply:
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        async with self.session.request(
            method, path, data=data, headers={"Content-Type": "application/json"}
        ) as response:
            assert response.content_type == "application/json", await response.text()
            return Reply(response.status, await response.json(), dict(response.headers))

    async def get(self, path: str) -> Reply:
        return await self.request("GET", path)

    async def post(self, path: str, body: Any = None, *, raw: str | None = None) -> Reply:
        return await self.request("POST", path, body, raw=raw)

    async def put(self, path: str, body: Any = None) -> Reply:
        return await self.request("PUT", path, body)

    async def delete(self, path: str) -> Reply:
        return await self.request("DELETE", path)

    async def raw(self, method: str, path: str, *, data: Any = None, headers: dict[str, str] | None = None) -> RawReply:
        """Any request, any answer: the file routes speak bytes."""
        async with self.session.request(method, path, data=data, headers=headers) as response:
            return RawReply(response.status, await response.read(), CIMultiDict(response.headers))

    async def provision(self, station_id: str, boot: dict[str, Any] | None = None) -> Reply:
        body: dict[str, Any] = {"id": station_id}
        if boot is not None:
            body["boot"] = boot
        reply = await self.post("/api/stations", body)
        assert reply.status in (200, 201), reply
        return reply

    async def trigger(self, station_id: str, action: str, payload: dict[str, Any] | None = None) -> Reply:
        return await self.post(f"/api/octt/1.6/{station_id}/{action}", {} if payload is None else payload)

    async def exchanges(self, station_id: str) -> list[tuple[str, str, str]]:
        """(direction, action, outcome) of the station's exchanges, in the order the CSMS logged them."""
        reply = await self.get(f"/api/exchanges?station_id={station_id}")
        return [(e["direction"], e["action"], e["outcome"]) for e in reply.body]

    async def wait_disconnected(self, station_id: str) -> None:
        """Until the CSMS has seen the station's socket close (the API says so)."""
        for _ in range(200):
            if not (await self.get(f"/api/stations/{station_id}")).body["connected"]:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"the CSMS still shows {station_id} connected")


async def answered(
    request: Coroutine[Any, Any, Reply],
    station: StationSocket,
    action: str,
    answer: dict[str, Any] | None = None,
    *,
    error: tuple[str, str] | None = None,
) -> tuple[Reply, list[Any]]:
    """Make an API request that has the CSMS send ``action``, answer it with ``answer`` (or the CALLERROR
    ``error``: code, description) and return the API's reply and the CALL as the station saw it."""
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(request)
        call = await station.expect_call(action)
        if error is not None:
            await station.answer_error(call, error[0], error[1], {})
        else:
            await station.answer(call, {} if answer is None else answer)
    return pending.result(), call


MULTIPART_BOUNDARY = "----charger-upload-7d3a"


def multipart(*parts: tuple[str, bytes, str | None]) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body as ``curl -F`` and charger firmware write it: (field name, content, filename or
    None), the filename verbatim (aiohttp's own client would percent-encode it)."""
    body = b""
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"' + ("" if filename is None else f'; filename="{filename}"')
        body += f"--{MULTIPART_BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"\r\n" + content + b"\r\n"
    body += f"--{MULTIPART_BOUNDARY}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={MULTIPART_BOUNDARY}"}
