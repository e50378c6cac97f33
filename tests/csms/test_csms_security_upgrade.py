"""Raising a station's security profile (security whitepaper A05, A00.FR.005; TC_083_CSMS): ChangeConfiguration
(SecurityProfile, current + 1) then Reset(Hard), only with the prerequisites in place and never downwards; with the
station's Accepted answer the CSMS refuses connections of the old profile. And what the CSMS keeps of security
across a restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import CALL_TIMEOUT_S, StartSecure
from csms_kit import Api, StationSocket, answered
from csms_security_kit import PASSWORD, SecureRig, key_pem, new_csr

from csms.app import CsmsServer
from csms.pki import CertFiles, PkiFiles
from csms.tls import TlsSettings


@pytest.fixture
async def rig(start_secure: StartSecure) -> SecureRig:
    rig = await start_secure()
    await rig.provision(password=PASSWORD, profile=1)
    return rig


async def upgrade(rig: SecureRig, station: StationSocket, answer: str = "Accepted") -> tuple[Any, list[list[Any]]]:
    """The upgrade route with the station answering ``answer`` to ChangeConfiguration, and Accepted to Reset."""
    calls = []
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(rig.api.post("/api/stations/CP_1/security-profile/upgrade"))
        change = await station.expect_call("ChangeConfiguration")
        calls.append(change)
        await station.answer(change, {"status": answer})
        if answer == "Accepted":
            reset = await station.expect_call("Reset")
            calls.append(reset)
            await station.answer(reset, {"status": "Accepted"})
    return pending.result(), calls


async def test_profile_1_to_2_then_plain_ws_is_refused(rig: SecureRig) -> None:
    """TC_083: SecurityProfile = one level higher, Reset Hard; after it, the old profile's connection (ws + Basic)
    is refused (SV steps 11-12) and the new one (wss + Basic) is accepted (steps 13-14)."""
    station = await rig.booted(tls=False, password=PASSWORD)
    reply, (change, reset) = await upgrade(rig, station)
    assert reply.status == 200
    assert change[3] == {"key": "SecurityProfile", "value": "2"} and reset[3] == {"type": "Hard"}
    assert reply.body["security_profile"] == 2 and reply.body["reset"] == {"status": "Accepted"}
    await station.ws.close()
    assert await rig.refusal(tls=False, password=PASSWORD) == 403
    await rig.booted(tls=True, password=PASSWORD)
    assert (await rig.security())["security_profile"] == 2


async def test_a_refused_change_keeps_the_profile_and_sends_no_reset(rig: SecureRig) -> None:
    station = await rig.booted(tls=False, password=PASSWORD)
    reply, calls = await upgrade(rig, station, answer="Rejected")
    assert reply.status == 409 and "stays on security profile 1" in reply.body["error"]
    assert [call[2] for call in calls] == ["ChangeConfiguration"]
    assert ("csms_to_station", "Reset", "result") not in await rig.api.exchanges("CP_1")
    await rig.booted(tls=False, password=PASSWORD)


async def test_profile_3_needs_a_certificate_the_station_accepted(rig: SecureRig, tmp_path: Path) -> None:
    """Reference §5.12: TC_074 before TC_083. Without an issued certificate nothing is sent; with one the station
    moves to 3, and its SP2 credentials are refused from then on (reference §5.1)."""
    await rig.api.put("/api/stations/CP_1/security-profile", {"security_profile": 2})
    station = await rig.booted(tls=True, password=PASSWORD)
    reply = await rig.api.post("/api/stations/CP_1/security-profile/upgrade")
    assert reply.status == 409 and "no valid client certificate" in reply.body["error"]
    assert await rig.api.exchanges("CP_1") == [("station_to_csms", "BootNotification", "result")]
    csr, key = new_csr("CP_1")
    await station.result("SignCertificate", {"csr": csr})
    signed = await station.expect_call("CertificateSigned")
    await station.answer(signed, {"status": "Accepted"})
    await station.result("Heartbeat", {})  # the answer is recorded before the next CALL is processed
    reply, (change, _) = await upgrade(rig, station)
    assert reply.status == 200 and change[3]["value"] == "3"
    await station.ws.close()
    assert await rig.refusal(tls=True, password=PASSWORD) == 403
    files = CertFiles(tmp_path / "new.pem", tmp_path / "new.key")
    files.certificate.write_text(signed[3]["certificateChain"], encoding="ascii")
    files.private_key.write_bytes(key_pem(key))
    await rig.booted(tls=True, certificate=files)


async def test_never_down_and_never_past_3(rig: SecureRig) -> None:
    """A00.FR.005: no request goes out for a lower or equal profile."""
    await rig.booted(tls=False, password=PASSWORD)
    for wanted in (0, 1):
        reply = await rig.api.post("/api/stations/CP_1/security-profile/upgrade", {"security_profile": wanted})
        assert reply.status == 409 and "never lowered over OCPP (A00.FR.005)" in reply.body["error"]
    await rig.csms.store.security.set_profile("CP_1", 3, now_s=1.0)
    reply = await rig.api.post("/api/stations/CP_1/security-profile/upgrade")
    assert reply.status == 409 and "the highest" in reply.body["error"]
    assert await rig.api.exchanges("CP_1") == [("station_to_csms", "BootNotification", "result")]


async def test_an_accepted_downgrade_through_the_raw_contract_is_not_taken(rig: SecureRig) -> None:
    """A00.FR.005: a station that accepts a lower SecurityProfile does not lower the CSMS's record."""
    await rig.api.put("/api/stations/CP_1/security-profile", {"security_profile": 2})
    station = await rig.booted(tls=True, password=PASSWORD)
    key = {"key": "SecurityProfile", "value": "1"}
    reply, _ = await answered(
        rig.api.trigger("CP_1", "change-configuration", key), station, "ChangeConfiguration", {"status": "Accepted"}
    )
    assert reply.status == 200
    assert (await rig.security())["security_profile"] == 2
    assert await rig.refusal(tls=False, password=PASSWORD) == 403


async def test_a_profile_without_a_password_is_upgraded_from_1(start_secure: StartSecure) -> None:
    """Profile 0 with a Basic password is profile 1 in effect: its upgrade asks for 2."""
    rig = await start_secure()
    await rig.provision(password=PASSWORD)
    assert (await rig.security())["required_profile"] == 1
    station = await rig.booted(tls=False, password=PASSWORD)
    reply, (change, _) = await upgrade(rig, station)
    assert reply.status == 200 and change[3]["value"] == "2"


# -- persistence ---------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running(db_path: Path, test_pki: PkiFiles) -> AsyncIterator[SecureRig]:
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(
            CsmsServer(db_path=db_path, call_timeout_s=CALL_TIMEOUT_S, tls=TlsSettings.from_pki(test_pki))
        )
        api = Api(
            await stack.enter_async_context(aiohttp.ClientSession(base_url=server.api_url, headers=server.api_headers))
        )
        yield SecureRig(server, api, test_pki, stack)


async def test_security_survives_a_restart(tmp_path: Path, test_pki: PkiFiles) -> None:
    """Profile, password, issued and installed certificates and the security log are in the database."""
    db_path = tmp_path / "csms.sqlite3"
    async with running(db_path, test_pki) as rig:
        await rig.provision(password=PASSWORD, profile=2)
        station = await rig.booted(tls=True, password=PASSWORD)
        await station.result("SignCertificate", {"csr": new_csr("CP_1")[0]})
        signed = await station.expect_call("CertificateSigned")
        await station.answer(signed, {"status": "Accepted"})
        request = rig.api.post("/api/stations/CP_1/certificates", {"type": "CentralSystemRootCertificate"})
        await answered(request, station, "InstallCertificate", {"status": "Accepted"})
        event = {"type": "StartupOfTheDevice", "timestamp": "2026-01-01T00:00:00Z"}
        await station.result("SecurityEventNotification", event)
        await rig.refusal(tls=False, password=PASSWORD)
        before = (await rig.security(), (await rig.api.get("/api/stations/CP_1/certificates")).body, await rig.events())
    async with running(db_path, test_pki) as rig:
        after = (await rig.security(), (await rig.api.get("/api/stations/CP_1/certificates")).body, await rig.events())
        assert after == before
        assert before[0]["security_profile"] == 2
        assert [c["status"] for c in before[1]["issued"]] == ["accepted"] and len(before[1]["installed"]) == 1
        assert [e["type"] for e in before[2]] == ["StartupOfTheDevice", "SecurityProfileMismatch"]
        assert await rig.refusal(tls=False, password=PASSWORD) == 403
        await rig.booted(tls=True, password=PASSWORD)
