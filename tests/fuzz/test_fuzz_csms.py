"""Property-based fuzz of the bundled CSMS's frame handling (tests/fuzz/fuzz_kit.py): a bounded number of frames
here; ``bench/fuzz_csms.py`` sends 10,000 and prints the counts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings

from csms.app import CsmsServer
from tests.fuzz.fuzz_kit import Probe, frames
from tests.integration.support import BackgroundLoop

EXAMPLES = 150


@dataclass
class Rig:
    loop: BackgroundLoop
    csms: CsmsServer
    probe: Probe


async def provision(csms: CsmsServer, station_id: str) -> None:
    async with (
        aiohttp.ClientSession(base_url=csms.api_url, headers=csms.api_headers) as session,
        session.post("/api/stations", json={"id": station_id}) as response,
    ):
        assert response.status in (200, 201)


async def start(db_path: Path) -> tuple[CsmsServer, Probe]:
    csms = CsmsServer(db_path=db_path, call_timeout_s=2.0)
    await csms.__aenter__()
    await provision(csms, "FUZZ_CP")
    return csms, await Probe.open(csms.ws_url, "FUZZ_CP")


async def stop(rig: Rig) -> None:
    await rig.probe.close()
    await rig.csms.__aexit__(None, None, None)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    loop = BackgroundLoop()
    csms, probe = loop.run(start(tmp_path_factory.mktemp("fuzz") / "csms.sqlite3"))
    running = Rig(loop, csms, probe)
    yield running
    loop.run(stop(running))
    loop.close()


@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=frames)
def test_every_frame_is_answered_as_ocpp_j_says_and_the_connection_lives(rig: Rig, text: str) -> None:
    rig.loop.run(rig.probe.check(text))


def test_what_the_csms_kept_of_the_fuzz_is_valid_json(rig: Rig) -> None:
    """RFC 8259 §6: no NaN or Infinity in the API, whatever the frames held."""

    async def exchanges() -> str:
        async with (
            aiohttp.ClientSession(base_url=rig.csms.api_url, headers=rig.csms.api_headers) as session,
            session.get("/api/exchanges?station_id=FUZZ_CP&limit=1000") as response,
        ):
            assert response.status == 200, await response.text()
            return await response.text()

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the API's JSON")

    assert isinstance(json.loads(rig.loop.run(exchanges()), parse_constant=refuse), list)
    assert sum(rig.probe.counts.values()) > 0
