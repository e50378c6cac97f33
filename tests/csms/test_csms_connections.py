"""Connections nobody can knock over the CSMS with (csms.gate, csms.app): a connection that says nothing is dropped
after the handshake timeout, at most max_connections are held (503 beyond), a websocket that stops answering pings
is closed as half-open, a CALL to a station that does not read ends at the call timeout, and SIGTERM closes every
station with 1001."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from csms_kit import Api, open_socket
from websockets.exceptions import ConnectionClosed

from csms.app import CsmsServer
from csms.commands import CallTimedOut, Outbox
from csms.gate import DEFAULT_MAX_CONNECTIONS, default_max_connections, raise_descriptor_limit
from csms.store import Store

BOUND_S = 10.0  # the longest a test waits for the CSMS to act; the CSMS's own timeouts are far shorter
ROOT = Path(__file__).resolve().parents[2]

Server = Callable[..., Awaitable[CsmsServer]]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with asyncio.timeout(60):
        servers: list[CsmsServer] = []

        async def start(**options: Any) -> CsmsServer:
            csms = CsmsServer(db_path=tmp_path / f"c{len(servers)}.sqlite3", call_timeout_s=1.0, **options)
            await csms.__aenter__()
            servers.append(csms)
            return csms

        try:
            yield start
        finally:
            for csms in servers:
                await csms.__aexit__(None, None, None)


async def provision(csms: CsmsServer, station_id: str = "CP_1") -> Api:
    session = aiohttp.ClientSession(base_url=csms.api_url, headers=csms.api_headers)
    api = Api(session)
    await api.provision(station_id)
    return api


async def closed_by_peer(reader: asyncio.StreamReader) -> bool:
    """Whether the CSMS closes the connection within the bound (whatever it sends first)."""
    try:
        async with asyncio.timeout(BOUND_S):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def handshake(csms: CsmsServer, station_id: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /ocpp/{station_id} HTTP/1.1\r\nHost: 127.0.0.1:{csms.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
    ).encode()


async def raw_websocket(
    csms: CsmsServer, station_id: str = "CP_1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A station that completes the handshake itself and then sends nothing, not even a pong."""
    reader, writer = await asyncio.open_connection("127.0.0.1", csms.port)
    writer.write(handshake(csms, station_id))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), BOUND_S)
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def deaf_websocket(csms: CsmsServer, station_id: str = "CP_1") -> socket.socket:
    """A station that completes the handshake and never reads again, with a receive window of a few KiB."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", csms.port))
    await loop.sock_sendall(sock, handshake(csms, station_id))
    head = b""
    async with asyncio.timeout(BOUND_S):
        while b"\r\n\r\n" not in head:
            head += await loop.sock_recv(sock, 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def test_a_connection_that_sends_nothing_is_dropped(server: Server) -> None:
    csms = await server(handshake_timeout_s=0.3)
    reader, writer = await asyncio.open_connection("127.0.0.1", csms.port)
    assert await closed_by_peer(reader)
    writer.close()


async def test_headers_sent_a_byte_at_a_time_are_dropped(server: Server) -> None:
    csms = await server(handshake_timeout_s=0.3)
    reader, writer = await asyncio.open_connection("127.0.0.1", csms.port)

    async def trickle() -> None:
        for byte in b"GET /ocpp/CP_1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000:
            writer.write(bytes([byte]))
            await asyncio.sleep(0.05)

    async with asyncio.TaskGroup() as group:
        slow = group.create_task(trickle())
        assert await closed_by_peer(reader)
        slow.cancel()
    writer.close()


async def test_beyond_max_connections_a_connection_is_told_to_retry_and_stations_get_in_again(server: Server) -> None:
    csms = await server(handshake_timeout_s=0.5, max_connections=3)
    api = await provision(csms)  # its own keep-alive connection counts too; it is closed before the flood
    await api.session.close()
    await asyncio.sleep(0.1)
    idle = [await asyncio.open_connection("127.0.0.1", csms.port) for _ in range(3)]
    reader, writer = await asyncio.open_connection("127.0.0.1", csms.port)
    answer = await asyncio.wait_for(reader.read(), BOUND_S)
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 10\r\n"), answer
    writer.close()
    for idle_reader, _ in idle:
        assert await closed_by_peer(idle_reader)
    ws = await open_socket(f"{csms.ws_url}/CP_1")
    assert ws.subprotocol == "ocpp1.6"
    await ws.close()


async def test_a_websocket_that_answers_no_ping_is_closed(server: Server) -> None:
    """RFC 6455 §5.5.2: a peer answers a ping with a pong; one that does not is half-open."""
    csms = await server(ping_interval_s=0.2)
    await (await provision(csms)).session.close()
    reader, writer = await raw_websocket(csms)
    assert await closed_by_peer(reader)
    writer.close()


async def test_a_websocket_that_answers_pings_stays_open_while_idle(server: Server) -> None:
    csms = await server(ping_interval_s=0.2)
    await (await provision(csms)).session.close()
    ws = await open_socket(f"{csms.ws_url}/CP_1")  # answers pings by itself
    await asyncio.sleep(1.0)
    await ws.send(json.dumps([2, "h", "Heartbeat", {}]))
    assert json.loads(await asyncio.wait_for(ws.recv(), BOUND_S))[:2] == [3, "h"]
    await ws.close()


async def test_a_call_to_a_station_that_does_not_read_ends_at_the_call_timeout(server: Server) -> None:
    """The issue: the send waited on the socket before the call timeout started, so the API request hung."""
    csms = await server(ping_interval_s=None)
    api = await provision(csms)
    deaf = await deaf_websocket(csms)
    try:
        data = "x" * 900_000
        statuses = []
        async with asyncio.timeout(60):  # a hang guard: each call ends at the 1 s call timeout
            while len(statuses) < 12 and 404 not in statuses:
                reply = await api.post("/api/octt/1.6/CP_1/data-transfer", {"vendorId": "v", "data": data})
                statuses.append(reply.status)
        # 504 while the socket still took frames, then the CSMS found the station deaf and dropped it (404)
        assert set(statuses) <= {502, 504, 404} and statuses[-1] == 404, statuses
    finally:
        deaf.close()
        await api.session.close()


async def test_the_outbox_timeout_covers_the_send(tmp_path: Path) -> None:
    async def never(text: str) -> None:
        await asyncio.Event().wait()

    store = await Store.open(tmp_path / "o.sqlite3")
    try:
        outbox = Outbox(station_id="CP_1", send=never, store=store, call_timeout_s=0.2, clock=lambda: 0.0)
        async with asyncio.timeout(BOUND_S):
            with pytest.raises(CallTimedOut):
                await outbox.call("ClearCache", {})
        [exchange] = await store.list_exchanges()
        assert exchange.outcome == "timeout"
    finally:
        await store.close()


def test_sigterm_closes_every_station_with_1001(tmp_path: Path) -> None:
    env = {**os.environ, "OCPP_HARNESS_CSMS_TOKEN": "sigterm-token-1234"}
    cli = [sys.executable, "-m", "harness.cli", "csms", "--port", "0", "--db", str(tmp_path / "s.sqlite3")]
    process = subprocess.Popen(cli, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert process.stdout is not None
        found = re.match(r"CSMS listening on (ws://\S+) \(API (http://\S+)\)", process.stdout.readline())
        assert found

        async def station() -> int | None:
            async with aiohttp.ClientSession(
                base_url=found.group(2), headers={"Authorization": "Bearer sigterm-token-1234"}
            ) as session:
                await Api(session).provision("CP_1")
            ws = await open_socket(f"{found.group(1)}/CP_1")
            await ws.send(json.dumps([2, "b", "Heartbeat", {}]))
            await ws.recv()
            process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), BOUND_S)
            return None if closed.value.rcvd is None else closed.value.rcvd.code

        assert asyncio.run(station()) == 1001
        assert process.wait(BOUND_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_soft_descriptor_limit_is_raised_to_the_hard_one_and_bounds_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fleet is held to the file-descriptor limit, not to a soft limit of 1,024 (csms.gate)."""
    limits = {"now": (1024, 20_000)}
    monkeypatch.setattr(resource, "getrlimit", lambda _: limits["now"])
    monkeypatch.setattr(resource, "setrlimit", lambda _, value: limits.update(now=value))
    assert default_max_connections() == 1024 - 64
    assert raise_descriptor_limit() == 20_000 and limits["now"] == (20_000, 20_000)
    assert default_max_connections() == DEFAULT_MAX_CONNECTIONS == 10_000
    limits["now"] = (4096, 4096)  # nothing to raise
    assert raise_descriptor_limit() == 4096 and default_max_connections() == 4096 - 64
