"""Fixtures: a bundled CSMS on an ephemeral loopback port with a fresh SQLite file per test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from csms_kit import Api, Stations, StationSocket
from csms_security_kit import SecureRig

from csms.app import CsmsServer
from csms.pki import PkiFiles
from csms.tls import ClientCertificatePolicy, TlsSettings

CALL_TIMEOUT_S = 1.0
HEARTBEAT_INTERVAL_S = 60

OpenStation = Callable[..., Awaitable[StationSocket]]


@pytest.fixture
async def csms(tmp_path: Path) -> AsyncIterator[CsmsServer]:
    async with CsmsServer(
        db_path=tmp_path / "csms.sqlite3",
        call_timeout_s=CALL_TIMEOUT_S,
        heartbeat_interval_s=HEARTBEAT_INTERVAL_S,
    ) as server:
        yield server


@pytest.fixture
async def api(csms: CsmsServer) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession(base_url=csms.api_url, headers=csms.api_headers) as session:
        yield Api(session)


@pytest.fixture
async def open_station(csms: CsmsServer, api: Api) -> AsyncIterator[OpenStation]:
    """``await open_station("CP_1")``: provision (unless told not to), connect offering ``ocpp1.6``, and
    optionally boot."""
    async with contextlib.AsyncExitStack() as stack:
        yield Stations(csms.ws_url, api, stack).open


@dataclass
class Rig:
    """A CSMS started by :func:`start_csms`, its API and its stations."""

    csms: CsmsServer
    api: Api
    open_station: OpenStation


StartCsms = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def start_csms(tmp_path: Path) -> AsyncIterator[StartCsms]:
    """``await start_csms(strict=True, call_timeout_s=0.5)``: a CSMS in either mode, with its own database."""
    async with contextlib.AsyncExitStack() as stack:
        started = 0

        async def start(
            *,
            strict: bool,
            call_timeout_s: float = CALL_TIMEOUT_S,
            reconnect_grace_s: float | None = None,
        ) -> Rig:
            nonlocal started
            started += 1
            server = await stack.enter_async_context(
                CsmsServer(
                    db_path=tmp_path / f"csms-{started}.sqlite3",
                    call_timeout_s=call_timeout_s,
                    heartbeat_interval_s=HEARTBEAT_INTERVAL_S,
                    strict=strict,
                    reconnect_grace_s=reconnect_grace_s,
                )
            )
            api = Api(
                await stack.enter_async_context(
                    aiohttp.ClientSession(base_url=server.api_url, headers=server.api_headers)
                )
            )
            return Rig(server, api, Stations(server.ws_url, api, stack).open)

        yield start


StartSecure = Callable[..., Awaitable[SecureRig]]


@pytest.fixture
async def start_secure(tmp_path: Path, test_pki: PkiFiles) -> AsyncIterator[StartSecure]:
    """``await start_secure()``: a CSMS with a TLS listener and CA from the session's test PKI (security profiles
    2 and 3), with its own database."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            *,
            strict: bool = False,
            policy: ClientCertificatePolicy | None = None,
            call_timeout_s: float = CALL_TIMEOUT_S,
        ) -> SecureRig:
            server = await stack.enter_async_context(
                CsmsServer(
                    db_path=tmp_path / "secure-csms.sqlite3",
                    call_timeout_s=call_timeout_s,
                    heartbeat_interval_s=HEARTBEAT_INTERVAL_S,
                    strict=strict,
                    tls=TlsSettings.from_pki(test_pki, policy=policy),
                )
            )
            api = Api(
                await stack.enter_async_context(
                    aiohttp.ClientSession(base_url=server.api_url, headers=server.api_headers)
                )
            )
            return SecureRig(server, api, test_pki, stack)

        yield start
