"""Fixtures: a bundled CSMS on an ephemeral loopback port with a fresh SQLite file per test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from csms_kit import Api, Stations, StationSocket

from csms.app import CsmsServer

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
    async with aiohttp.ClientSession(base_url=csms.api_url) as session:
        yield Api(session)


@pytest.fixture
async def open_station(csms: CsmsServer, api: Api) -> AsyncIterator[OpenStation]:
    """``await open_station("CP_1")``: provision (unless told not to), connect offering ``ocpp1.6``, and
    optionally boot."""
    async with contextlib.AsyncExitStack() as stack:
        yield Stations(csms.ws_url, api, stack).open
