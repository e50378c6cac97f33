"""Security profiles 1-3 on the bundled CSMS's two listeners (security whitepaper edition 3, §2; A00.FR.002): each
station is admitted only on a connection at least as strong as its profile, Basic credentials are checked before the
upgrade on ws and wss alike, and a profile-3 client certificate must chain to the CSMS's CA and name the station.
Real TLS on 127.0.0.1 with the session's test PKI; every refusal is also an event of the CSMS's security log."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import aiohttp
import pytest
from conftest import StartSecure
from csms_kit import Api
from csms_security_kit import PASSWORD, TLS_REFUSED, SecureRig, client_context, find

from csms import pki
from csms.app import CsmsServer
from csms.pki import PkiFiles
from csms.tls import ClientCertificatePolicy, TlsSettings
from harness.tls_check import SUITES, check_tls_endpoint


@pytest.fixture
async def rig(start_secure: StartSecure) -> SecureRig:
    return await start_secure()


async def test_profile_1_needs_basic_credentials_on_ws_and_on_wss(rig: SecureRig) -> None:
    """A00.FR.202-205: username = the station id, checked before the upgrade, 401 otherwise; profile 1 may also
    come over TLS, which is stronger (A00.FR.002 refuses only what is weaker)."""
    await rig.provision(password=PASSWORD, profile=1)
    for tls in (False, True):
        assert await rig.refusal(tls=tls) == 401
        assert await rig.refusal(tls=tls, password="wrong-password-1234") == 401
        assert await rig.refusal(tls=tls, password=PASSWORD, username="CP_2") == 401
        station = await rig.booted(tls=tls, password=PASSWORD)
        await station.ws.close()


async def test_profile_2_is_refused_on_plain_ws_even_with_its_password(
    rig: SecureRig, caplog: pytest.LogCaptureFixture
) -> None:
    """Reference §5.1 (SVQ 0eb814e0): plain ws for a profile-2 station is refused before the upgrade, with a line
    that says why; over TLS its Basic credentials are checked as on profile 1 (A00.FR.302-304)."""
    caplog.set_level(logging.INFO, logger="csms")
    await rig.provision(password=PASSWORD, profile=2)
    assert await rig.refusal(tls=False, password=PASSWORD) == 403
    assert any("security profile 2 needs TLS" in r.getMessage() for r in caplog.records)
    assert await rig.refusal(tls=True) == 401
    assert await rig.refusal(tls=True, password="wrong-password-1234") == 401
    await rig.booted(tls=True, password=PASSWORD)
    assert not any(PASSWORD in r.getMessage() or "wrong-password-1234" in r.getMessage() for r in caplog.records)
    events = await rig.events("CP_1")
    assert [e["type"] for e in events] == [
        "SecurityProfileMismatch",
        "FailedToAuthenticate",
        "FailedToAuthenticate",
    ]
    assert all(e["source"] == "csms" and e["station_id"] == "CP_1" for e in events)


async def test_profile_3_needs_a_client_certificate_of_the_station(rig: SecureRig) -> None:
    """A00.FR.401-407: a plain connection or SP2 credentials (wss + Basic on the profile-2 endpoint, reference
    §5.1) are refused before the upgrade, even with the station's certificate at hand (that endpoint asks for
    none); the station's own certificate on the mutual TLS endpoint opens the connection without Basic
    credentials."""
    await rig.provision(password=PASSWORD, profile=3)
    own = rig.pki.stations["CP_1"]
    assert await rig.refusal(tls=False, password=PASSWORD) == 403
    assert await rig.refusal(tls=True) == 403
    assert await rig.refusal(tls=True, password=PASSWORD) == 403
    assert await rig.refusal(tls=True, certificate=own, mtls=False) == 403
    assert await rig.refusal(tls=False, certificate=own) == 403
    await rig.booted(tls=True, certificate=own)
    security = await rig.security()
    assert security["security_profile"] == 3 and security["client_certificate"] is not None


async def test_the_mutual_tls_endpoint_ends_a_handshake_without_a_certificate(rig: SecureRig) -> None:
    """A00.FR.407 at the TLS level: the profile-3 endpoint requires the certificate in the handshake, and the CSMS
    logs it (A00.FR.408)."""
    await rig.provision(password=PASSWORD, profile=2)
    assert await rig.refusal(tls=True, password=PASSWORD, mtls=True) == TLS_REFUSED
    event = await rig.wait_for_event("InvalidChargePointCertificate")
    assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in event["tech_info"] and event["station_id"] is None
    await rig.booted(tls=True, password=PASSWORD, certificate=rig.pki.stations["CP_1"])  # stronger than 2: admitted


@pytest.mark.parametrize("bad", ["untrusted_station", "expired_station"])
async def test_a_client_certificate_that_does_not_verify_ends_the_handshake(rig: SecureRig, bad: str) -> None:
    """A00.FR.403/407: OpenSSL verifies a certificate that is sent against the CSMS's CA, so the connection ends
    in the handshake; A00.FR.408: the CSMS logs a security event, without a station id (it is in the URL, which
    the handshake never reached)."""
    await rig.provision(profile=3)
    assert await rig.refusal(tls=True, certificate=getattr(rig.pki.bad, bad)) == TLS_REFUSED
    event = await rig.wait_for_event("InvalidChargePointCertificate")
    assert event["station_id"] is None and event["source"] == "csms"
    reason = "unable to get local issuer certificate" if bad == "untrusted_station" else "certificate has expired"
    assert reason in event["tech_info"]


async def test_a_certificate_of_another_cn_is_refused_after_the_handshake(rig: SecureRig) -> None:
    """A00.FR.405: the chain verifies, the CN does not name the station: 403, and an event of the station."""
    await rig.provision(profile=3)
    assert await rig.refusal(tls=True, certificate=rig.pki.bad.wrong_cn_station) == 403
    (event,) = find(await rig.events("CP_1"), type="InvalidChargePointCertificate")
    assert "A00.FR.405" in event["tech_info"] and "WRONG_CN" in event["tech_info"]


async def test_the_cn_may_be_the_serial_number_the_station_booted_with(rig: SecureRig) -> None:
    """A00.FR.405 binds the certificate to the charge point's serial number: SN_7's certificate opens station
    CP_7 once CP_7 has said in its BootNotification that SN_7 is its serial number."""
    await rig.provision("CP_7", password=PASSWORD, profile=2)
    station = await rig.connect("CP_7", tls=True, password=PASSWORD)
    payload = {"chargePointVendor": "VendorX", "chargePointModel": "ModelY", "chargePointSerialNumber": "CP_1"}
    assert (await station.result("BootNotification", payload))["status"] == "Accepted"
    await station.ws.close()
    reply = await rig.api.put("/api/stations/CP_7/security-profile", {"security_profile": 3})
    assert reply.status == 200
    await rig.booted("CP_7", tls=True, certificate=rig.pki.stations["CP_1"])  # CN=CP_1, the serial number


async def test_the_cn_binding_is_a_policy(start_secure: StartSecure) -> None:
    """OCTT quirk (reference §0 item 7, §5.6): a lab whose certificates carry another CN turns the binding off;
    the O check (A00.FR.404) is on only with a CPO name to compare with."""
    rig = await start_secure(policy=ClientCertificatePolicy(bind_common_name=False, organization="Some Other CPO"))
    await rig.provision(profile=3)
    assert await rig.refusal(tls=True, certificate=rig.pki.bad.wrong_cn_station) == 403  # O is the test CPO's
    (event,) = find(await rig.events("CP_1"), type="InvalidChargePointCertificate")
    assert "A00.FR.404" in event["tech_info"]


async def test_without_the_cn_binding_any_certificate_of_the_ca_opens(start_secure: StartSecure) -> None:
    rig = await start_secure(policy=ClientCertificatePolicy(bind_common_name=False))
    await rig.provision(profile=3)
    await rig.booted(tls=True, certificate=rig.pki.bad.wrong_cn_station)


async def test_tls_1_1_is_refused_and_logged(rig: SecureRig) -> None:
    """A00.FR.312/416: TLS 1.2 or higher; the refusal is an InvalidTLSVersion event of the CSMS."""
    await rig.provision()
    legacy = client_context(rig.pki, maximum=ssl.TLSVersion.TLSv1_1)
    assert await rig.refusal(tls=True, context=legacy) == TLS_REFUSED
    event = await rig.wait_for_event("InvalidTLSVersion")
    assert "UNSUPPORTED_PROTOCOL" in event["tech_info"]
    await rig.booted(tls=True)  # the same station with TLS 1.2+ (profile 0: nothing more asked)


async def test_the_tls_listener_passes_the_checks_of_tc_086(rig: SecureRig) -> None:
    """TC_086_CSMS: TLS 1.2 accepted, 1.0/1.1 refused, the four suites of A00.FR.317 (RSA and ECDSA certificates
    both served), keys, serial numbers, CN = the host of the URL (A00.FR.510), validity, chain to the CA."""
    checks = await check_tls_endpoint(f"{rig.csms.wss_url}/CP_1", ca_file=rig.pki.ca.certificate)
    assert [c.name for c in checks if c.ok is not True] == []
    assert {f"cipher suite {suite.name}" for suite in SUITES} <= {c.name for c in checks}


async def test_the_mutual_tls_listener_passes_the_checks_of_tc_087(rig: SecureRig) -> None:
    """TC_087_CSMS: the station's certificate accepted, a client without one refused (A00.FR.401-403, 407), and
    the TC_086 properties."""
    checks = await check_tls_endpoint(
        f"{rig.csms.mtls_url}/CP_1", ca_file=rig.pki.ca.certificate, client_certificate=rig.pki.stations["CP_1"]
    )
    assert [c.name for c in checks if c.ok is not True] == []
    assert {"client certificate accepted", "client certificate required"} <= {c.name for c in checks}


async def test_the_urls_name_the_certificate_host_and_a_port_per_profile(rig: SecureRig) -> None:
    """A00.FR.006: a port per security profile; A00.FR.510: the host the server certificates name."""
    csms = rig.csms
    assert csms.wss_url == f"wss://localhost:{csms.tls_port}/ocpp"
    assert csms.mtls_url == f"wss://localhost:{csms.mtls_port}/ocpp"
    assert len({csms.port, csms.tls_port, csms.mtls_port}) == 3
    assert csms.endpoint_urls == {0: csms.ws_url, 1: csms.ws_url, 2: csms.wss_url, 3: csms.mtls_url}


async def test_without_a_ca_for_client_certificates_there_is_no_profile_3(tmp_path: Path, test_pki: PkiFiles) -> None:
    tls = TlsSettings.from_files(
        certificates=[test_pki.csms_rsa.certificate, test_pki.csms_ecdsa.certificate],
        keys=[test_pki.csms_rsa.private_key, test_pki.csms_ecdsa.private_key],
    )
    async with (
        CsmsServer(db_path=tmp_path / "c.sqlite3", tls=tls) as csms,
        aiohttp.ClientSession(base_url=csms.api_url, headers=csms.api_headers) as session,
    ):
        api = Api(session)
        assert set(csms.endpoint_urls) == {0, 1, 2}
        await api.provision("CP_1")
        reply = await api.put("/api/stations/CP_1/security-profile", {"security_profile": 3})
        assert reply.status == 409 and "needs a CA for client certificates" in reply.body["error"]


async def test_a_certificate_the_csms_issued_to_another_station_is_refused(rig: SecureRig) -> None:
    """A00.FR.427: one certificate per station. A certificate on record as issued to CP_2 does not open CP_1, even
    with the CN binding off."""
    await rig.provision(profile=3)
    await rig.provision("CP_2")
    own = rig.pki.stations["CP_1"]
    certificate = own.certificate.read_text(encoding="ascii")
    serial = format(pki.load_certificate(certificate).serial_number, "X")
    await rig.csms.store.security.certificate_issued(
        "CP_2", serial_number=serial, subject="CN=CP_1", certificate=certificate, expires_at_s=4e9, now_s=1.0
    )
    assert await rig.refusal(tls=True, certificate=own) == 403
    (event,) = find(await rig.events("CP_1"), type="InvalidChargePointCertificate")
    assert "issued to station 'CP_2'" in event["tech_info"]


@pytest.mark.parametrize(
    ("profile", "status", "message"),
    [
        (1, 409, "has no password"),
        (2, 409, "has no password"),
        (4, 400, "'security_profile' must be an integer from 0 to 3."),
        ("2", 400, "'security_profile' must be an integer from 0 to 3."),
    ],
)
async def test_a_profile_is_set_only_with_what_it_needs(
    rig: SecureRig, profile: object, status: int, message: str
) -> None:
    await rig.provision()
    reply = await rig.api.put("/api/stations/CP_1/security-profile", {"security_profile": profile})
    assert reply.status == status and message in reply.body["error"]
    assert (await rig.security())["security_profile"] == 0


async def test_a_csms_without_tls_serves_no_profile_2_or_3(api: Api) -> None:
    await api.provision("CP_1")
    await api.post("/api/octt/set-basic-auth-password", {"station_id": "CP_1", "password": PASSWORD})
    for profile in (2, 3):
        reply = await api.put("/api/stations/CP_1/security-profile", {"security_profile": profile})
        assert reply.status == 409 and "needs TLS" in reply.body["error"]
    reply = await api.put("/api/stations/CP_1/security-profile", {"security_profile": 1})
    assert reply.status == 200 and reply.body["security_profile"] == 1
    assert (await api.get("/api/stations/CP_1")).body["security_profile"] == 1
