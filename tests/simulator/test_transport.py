"""The one websocket transport (simulator.transport) against servers on 127.0.0.1: subprotocol, Basic
authentication, 503 with Retry-After, refused connections, wss with server verification and client
certificates (a self-signed PKI made here), the closing handshake, back-off and the one CALL in flight."""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tls_kit import Pki, make_pki
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.typing import Subprotocol

from simulator.transport import (
    Backoff,
    CallSlot,
    ConnectFailure,
    LinkSettings,
    basic_auth_header,
    client_ssl_context,
    open_link,
    station_url,
)


class Echo:
    """Echoes text frames; remembers the handshake headers, the client certificate's subject and the close code
    it received; answers the first ``refuse`` handshakes with ``status``."""

    def __init__(self, *, refuse: int = 0, status: int = 503) -> None:
        self.refuse = refuse
        self.status = status
        self.handshakes = 0
        self.headers: list[Headers] = []
        self.peer_subjects: list[Any] = []
        self.close_codes: list[int | None] = []

    def process_request(self, connection: ServerConnection, request: Any) -> Response | None:
        self.handshakes += 1
        self.headers.append(request.headers)
        if self.handshakes <= self.refuse:
            return Response(self.status, "refused", Headers({"Retry-After": "0.1"}), b"not now\n")
        return None

    async def handler(self, connection: ServerConnection) -> None:
        ssl_object = connection.transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.peer_subjects.append(ssl_object.getpeercert())
        async for text in connection:
            if text == "close please":
                await connection.close(code=4000, reason="asked to")
            else:
                await connection.send(text)
        self.close_codes.append(connection.close_code)


async def _serve(echo: Echo, *, ssl_context: ssl.SSLContext | None = None) -> Server:
    return await serve(
        echo.handler,
        "127.0.0.1",
        0,
        subprotocols=[Subprotocol("ocpp1.6")],
        process_request=echo.process_request,
        ssl=ssl_context,
    )


def _port(server: Server) -> int:
    return int(next(iter(server.sockets)).getsockname()[1])


@pytest.fixture
async def echo(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Echo, Server]]:
    fake = Echo(**getattr(request, "param", {}))
    server = await _serve(fake)
    try:
        yield fake, server
    finally:
        server.close()
        await server.wait_closed()


def test_the_station_url_percent_encodes_the_id() -> None:
    assert station_url("ws://h/ocpp/", "CP 1/a") == "ws://h/ocpp/CP%201%2Fa"


async def test_a_link_offers_ocpp16_and_carries_text_both_ways(echo: tuple[Echo, Server]) -> None:
    fake, server = echo
    link = await open_link(LinkSettings(url=f"ws://127.0.0.1:{_port(server)}/ocpp/CP_1"))
    assert link.subprotocol == "ocpp1.6"
    assert fake.headers[0]["Sec-WebSocket-Protocol"] == "ocpp1.6"
    assert "Sec-WebSocket-Extensions" not in fake.headers[0]  # no permessage-deflate unless asked for
    assert await link.send('[2,"1","Heartbeat",{}]')
    assert await link.receive() == '[2,"1","Heartbeat",{}]'
    await link.close()
    assert await link.receive() is None
    assert not await link.send("late")


async def test_a_close_by_the_csms_ends_receive_with_its_code(echo: tuple[Echo, Server]) -> None:
    _, server = echo
    link = await open_link(LinkSettings(url=f"ws://127.0.0.1:{_port(server)}/ocpp/CP_1"))
    await link.send("close please")
    assert await link.receive() is None
    assert link.close_detail == "close code 4000 asked to"


async def test_basic_auth_goes_in_the_handshake(echo: tuple[Echo, Server]) -> None:
    fake, server = echo
    headers = basic_auth_header("CP_1", "s3cret:pass")
    link = await open_link(LinkSettings(url=f"ws://127.0.0.1:{_port(server)}/ocpp/CP_1", headers=headers))
    await link.close()
    assert fake.headers[0]["Authorization"] == "Basic Q1BfMTpzM2NyZXQ6cGFzcw=="


@pytest.mark.parametrize("echo", [{"refuse": 2}], indirect=True)
async def test_a_503_is_retried_after_retry_after(echo: tuple[Echo, Server]) -> None:
    fake, server = echo
    link = await open_link(LinkSettings(url=f"ws://127.0.0.1:{_port(server)}/ocpp/CP_1", connect_timeout_s=10))
    await link.close()
    assert fake.handshakes == 3


@pytest.mark.parametrize("echo", [{"refuse": 5, "status": 401}], indirect=True)
async def test_other_http_answers_are_the_csms_decision(echo: tuple[Echo, Server]) -> None:
    fake, server = echo
    with pytest.raises(ConnectFailure) as failure:
        await open_link(LinkSettings(url=f"ws://127.0.0.1:{_port(server)}/ocpp/CP_1", connect_timeout_s=10))
    assert (failure.value.kind, failure.value.status) == ("http", 401)
    assert failure.value.detail == "HTTP 401 during the websocket handshake"
    assert fake.handshakes == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_refused_connection_is_retried_until_the_csms_listens() -> None:
    port = _free_port()
    fake = Echo()
    attempt = asyncio.ensure_future(
        open_link(LinkSettings(url=f"ws://127.0.0.1:{port}/ocpp/CP_1", connect_timeout_s=30))
    )
    await asyncio.sleep(0.3)
    assert not attempt.done()
    server = await serve(fake.handler, "127.0.0.1", port, subprotocols=[Subprotocol("ocpp1.6")])
    try:
        link = await attempt
        await link.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_a_refused_connection_fails_at_the_connect_timeout() -> None:
    with pytest.raises(ConnectFailure) as failure:
        await open_link(LinkSettings(url=f"ws://127.0.0.1:{_free_port()}/ocpp/CP_1", connect_timeout_s=0.3))
    assert failure.value.kind == "refused"


async def test_a_bad_url_is_not_retried() -> None:
    with pytest.raises(ConnectFailure) as failure:
        await open_link(LinkSettings(url="http://127.0.0.1:1/ocpp/CP_1"))
    assert failure.value.kind == "url"


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path, client_id="CP_1")


def _server_context(pki: Pki, *, client_certificates: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if client_certificates:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca_cert)
    return context


async def test_wss_verifies_the_csms_certificate(pki: Pki) -> None:
    fake = Echo()
    server = await _serve(fake, ssl_context=_server_context(pki, client_certificates=False))
    url = f"wss://127.0.0.1:{_port(server)}/ocpp/CP_1"
    try:
        link = await open_link(LinkSettings(url=url, ssl_context=client_ssl_context(ca_file=str(pki.ca_cert))))
        assert await link.send("over TLS")
        assert await link.receive() == "over TLS"
        await link.close()
        with pytest.raises(ConnectFailure) as failure:  # the system trust store does not know the test CA
            await open_link(LinkSettings(url=url, ssl_context=client_ssl_context(), connect_timeout_s=2))
        assert failure.value.kind == "tls"
    finally:
        server.close()
        await server.wait_closed()


async def test_wss_presents_the_client_certificate_of_security_profile_3(pki: Pki) -> None:
    fake = Echo()
    server = await _serve(fake, ssl_context=_server_context(pki, client_certificates=True))
    url = f"wss://127.0.0.1:{_port(server)}/ocpp/CP_1"
    try:
        context = client_ssl_context(
            ca_file=str(pki.ca_cert), cert_file=str(pki.client_cert), key_file=str(pki.client_key)
        )
        link = await open_link(LinkSettings(url=url, ssl_context=context))
        assert await link.send("mutual")
        assert await link.receive() == "mutual"
        await link.close()
        subject = dict(item[0] for item in fake.peer_subjects[0]["subject"])
        assert subject["commonName"] == "CP_1"
        with pytest.raises(ConnectFailure):  # no client certificate: the CSMS ends the handshake
            await open_link(
                LinkSettings(url=url, ssl_context=client_ssl_context(ca_file=str(pki.ca_cert)), connect_timeout_s=1)
            )
    finally:
        server.close()
        await server.wait_closed()


def test_backoff_grows_to_its_ceiling_with_seeded_jitter_and_resets() -> None:
    waits = [Backoff(initial_s=1, max_s=8, rng=random.Random(7)) for _ in range(2)]
    first = [waits[0].next_s() for _ in range(6)]
    assert first == [waits[1].next_s() for _ in range(6)]  # same seed, same waits
    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(ceiling / 2 <= wait <= ceiling for wait, ceiling in zip(first, ceilings, strict=True))
    waits[0].reset()
    assert waits[0].next_s() <= 1


def test_one_call_in_flight_and_answers_by_message_id() -> None:
    slot = CallSlot()
    slot.start("id-1", "Heartbeat", timeout_s=30)
    with pytest.raises(RuntimeError):
        slot.start("id-2", "Heartbeat", timeout_s=30)
    assert slot.answered("id-0") is None  # an answer to a CALL the station no longer waits for
    elapsed = slot.answered("id-1")
    assert elapsed is not None and elapsed >= 0
    assert not slot.busy and slot.answered("id-1") is None
    slot.start("id-3", "Authorize", timeout_s=0)
    assert slot.expired()
