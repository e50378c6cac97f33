"""Certificates between the bundled CSMS and a station (security whitepaper A02, M03-M05; TC_074-TC_078): a CSR
signed into CertificateSigned's chain, the certificate bound to the station for its next mTLS connection, and the
roots the CSMS installs, lists and deletes with the hash data the station reported (reference §5.10)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from conftest import OpenStation, StartSecure
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from csms_kit import StationSocket, answered
from csms_security_kit import PASSWORD, SecureRig, key_pem, new_csr

from csms import pki
from csms.pki import CertFiles


@pytest.fixture
async def rig(start_secure: StartSecure) -> SecureRig:
    rig = await start_secure()
    await rig.provision(password=PASSWORD, profile=2)
    return rig


async def request_certificate(
    station: StationSocket, csr: str, answer: dict[str, Any] | None
) -> tuple[dict[str, Any], list[Any]]:
    """SignCertificate, then the CertificateSigned the CSMS sends once it has answered (A02 steps 5-9)."""
    result = await station.result("SignCertificate", {"csr": csr})
    call = await station.expect_call("CertificateSigned")
    if answer is not None:
        await station.answer(call, answer)
    return result, call


async def issued(rig: SecureRig, station_id: str = "CP_1") -> list[dict[str, Any]]:
    body = (await rig.api.get(f"/api/stations/{station_id}/certificates")).body
    assert isinstance(body["issued"], list)
    return body["issued"]


async def wait_issued_status(rig: SecureRig, status: str) -> dict[str, Any]:
    """The station answered CertificateSigned on its socket; the CSMS records it before reading on."""
    for _ in range(500):
        found = [entry for entry in await issued(rig) if entry["status"] == status]
        if found:
            return found[-1]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no issued certificate became {status}")


async def test_a_csr_is_signed_into_a_chain_of_the_leaf_then_the_ca(rig: SecureRig) -> None:
    """A02.FR.11, TC_074: Accepted, then CertificateSigned: PEM, leaf first, leaf key = the CSR's key, issued and
    signed by the CSMS's RSA CA with SHA256withRSA PKCS#1 v1.5 (reference §5.6), at most 10000 characters."""
    station = await rig.booted(tls=True, password=PASSWORD)
    csr, key = new_csr("CP_1")
    result, call = await request_certificate(station, csr, {"status": "Accepted"})
    assert result == {"status": "Accepted"}
    chain_text = call[3]["certificateChain"]
    assert len(chain_text) <= 10000 and "\r" not in chain_text
    leaf, issuer = pki.load_certificates(chain_text)
    ca = pki.load_certificate(rig.pki.ca.certificate.read_text(encoding="ascii"))
    assert issuer == ca and leaf.issuer == ca.subject
    assert leaf.public_key() == key.public_key()
    assert leaf.signature_hash_algorithm is not None and leaf.signature_hash_algorithm.name == "sha256"
    ca_key = ca.public_key()
    assert isinstance(ca_key, rsa.RSAPublicKey)
    assert leaf.signature_hash_algorithm is not None
    ca_key.verify(leaf.signature, leaf.tbs_certificate_bytes, padding.PKCS1v15(), leaf.signature_hash_algorithm)
    assert x509.ExtendedKeyUsageOID.CLIENT_AUTH in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    record = await wait_issued_status(rig, "accepted")
    assert record["serial_number"] == format(leaf.serial_number, "X") and record["station_answer"] == "Accepted"


async def test_the_new_certificate_opens_the_next_mtls_connection(rig: SecureRig, tmp_path: Path) -> None:
    """TC_074 step 8 (D25): the station reconnects with the certificate the CSMS issued; it is bound to it."""
    station = await rig.booted(tls=True, password=PASSWORD)
    csr, key = new_csr("CP_1")
    _, call = await request_certificate(station, csr, {"status": "Accepted"})
    leaf = pki.load_certificates(call[3]["certificateChain"])[0]
    await wait_issued_status(rig, "accepted")
    await station.ws.close()
    files = CertFiles(tmp_path / "cp1-new.pem", tmp_path / "cp1-new.key")
    files.certificate.write_text(call[3]["certificateChain"], encoding="ascii")
    files.private_key.write_bytes(key_pem(key))
    reply = await rig.api.put("/api/stations/CP_1/security-profile", {"security_profile": 3})
    assert reply.status == 200
    await rig.booted(tls=True, certificate=files)
    assert (await rig.security())["client_certificate"] == format(leaf.serial_number, "X")


async def test_a_rejected_certificate_and_the_security_event_are_recorded(rig: SecureRig) -> None:
    """TC_077: the station answers Rejected and reports InvalidChargePointCertificate, acknowledged with {}."""
    station = await rig.booted(tls=True, password=PASSWORD)
    await request_certificate(station, new_csr("CP_1")[0], {"status": "Rejected"})
    event = {"type": "InvalidChargePointCertificate", "timestamp": "2026-01-01T00:00:00Z", "techInfo": "bad chain"}
    assert await station.result("SecurityEventNotification", event) == {}
    record = await wait_issued_status(rig, "rejected")
    assert record["station_answer"] == "Rejected"
    (stored,) = [e for e in await rig.events("CP_1") if e["source"] == "station"]
    assert (stored["type"], stored["timestamp"], stored["tech_info"]) == (
        "InvalidChargePointCertificate",
        "2026-01-01T00:00:00Z",
        "bad chain",
    )


async def test_any_security_event_type_is_acknowledged(rig: SecureRig) -> None:
    """The type is an open string[50] list (reference §5.3)."""
    station = await rig.booted(tls=True, password=PASSWORD)
    for event_type in ("FirmwareUpdated", "SomethingNoListHas", "X" * 50):
        event = {"type": event_type, "timestamp": "2026-01-01T00:00:00Z"}
        assert await station.result("SecurityEventNotification", event) == {}
    assert [e["type"] for e in await rig.events("CP_1")] == ["FirmwareUpdated", "SomethingNoListHas", "X" * 50]


@pytest.mark.parametrize(
    ("csr", "why"),
    [
        ("-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----", "not a CSR"),
        ("no PEM at all", "no PEM"),
        (None, "the CN names another station"),
    ],
)
async def test_a_csr_the_csms_cannot_process_is_rejected(rig: SecureRig, csr: str | None, why: str) -> None:
    """A02.FR.12: Rejected, nothing issued, so no CertificateSigned follows."""
    station = await rig.booted(tls=True, password=PASSWORD)
    text = new_csr("CP_2")[0] if csr is None else csr
    assert await station.result("SignCertificate", {"csr": text}) == {"status": "Rejected"}, why
    assert await issued(rig) == []


async def test_the_csr_may_name_the_serial_number_and_come_with_crlf(rig: SecureRig) -> None:
    """A00.FR.511: CN = the serial number of the BootNotification; OCTT's CRLF line endings (reference §5.6)."""
    station = await rig.connect(tls=True, password=PASSWORD)
    boot = {"chargePointVendor": "V", "chargePointModel": "M", "chargePointSerialNumber": "SN-0001"}
    assert (await station.result("BootNotification", boot))["status"] == "Accepted"
    csr = new_csr("SN-0001")[0].replace("\n", "\r\n")
    result, _ = await request_certificate(station, csr, {"status": "Accepted"})
    assert result == {"status": "Accepted"}


async def test_the_chain_fits_the_station_s_certificate_signed_max_chain_size(rig: SecureRig) -> None:
    """Whitepaper §5.1: a station that told the CSMS CertificateSignedMaxChainSize gets no longer chain; one that
    cannot fit is Rejected at SignCertificate."""
    station = await rig.booted(tls=True, password=PASSWORD)
    answer = {"configurationKey": [{"key": "CertificateSignedMaxChainSize", "readonly": True, "value": "1000"}]}
    await answered(rig.api.trigger("CP_1", "get-configuration", {}), station, "GetConfiguration", answer)
    assert (await rig.security())["max_chain_chars"] == 1000
    assert await station.result("SignCertificate", {"csr": new_csr("CP_1")[0]}) == {"status": "Rejected"}


async def test_a_csms_without_a_ca_key_rejects_csrs(open_station: OpenStation) -> None:
    """A02.FR.12: a CSMS that serves no TLS has nothing to sign with."""
    station = await open_station(boot=True)
    assert await station.result("SignCertificate", {"csr": new_csr("CP_1")[0]}) == {"status": "Rejected"}


async def test_an_unanswered_certificate_signed_is_recorded_undelivered(start_secure: StartSecure) -> None:
    rig = await start_secure(call_timeout_s=0.2)
    await rig.provision(password=PASSWORD, profile=2)
    station = await rig.booted(tls=True, password=PASSWORD)
    await request_certificate(station, new_csr("CP_1")[0], None)
    record = await wait_issued_status(rig, "undelivered")
    assert "did not answer CertificateSigned" in record["station_answer"]


async def test_strict_mode_sends_certificate_signed_after_its_answer(start_secure: StartSecure) -> None:
    """One exchange at a time (OCPP-J 1.6 §4.1.1): the CertificateSigned waits for its turn."""
    rig = await start_secure(strict=True)
    await rig.provision(password=PASSWORD, profile=2)
    station = await rig.booted(tls=True, password=PASSWORD)
    result, _ = await request_certificate(station, new_csr("CP_1")[0], {"status": "Accepted"})
    assert result == {"status": "Accepted"}
    await wait_issued_status(rig, "accepted")


async def test_sign_charge_point_certificate_is_triggered_without_a_connector(rig: SecureRig) -> None:
    """D24 TC_074/TC_077: ExtendedTriggerMessage(SignChargePointCertificate) omits connectorId."""
    station = await rig.booted(tls=True, password=PASSWORD)
    body = {"message": "SignChargePointCertificate"}
    request = rig.api.post("/api/stations/CP_1/extended-trigger", body)
    reply, call = await answered(request, station, "ExtendedTriggerMessage", {"status": "Accepted"})
    assert reply.status == 200 and call[3] == {"requestedMessage": "SignChargePointCertificate"}
    reply = await rig.api.post("/api/stations/CP_1/extended-trigger", {**body, "connector_id": 1})
    assert reply.status == 400 and "leave 'connector_id' out" in reply.body["error"]


# -- roots on the station (M03-M05; TC_075, TC_076, TC_078) ----------------------------------------------------


def ca_text(rig: SecureRig) -> str:
    return rig.pki.ca.certificate.read_text(encoding="ascii")


async def installed(rig: SecureRig) -> list[dict[str, Any]]:
    body = (await rig.api.get("/api/stations/CP_1/certificates")).body
    assert isinstance(body["installed"], list)
    return body["installed"]


@pytest.mark.parametrize("certificate_type", ["ManufacturerRootCertificate", "CentralSystemRootCertificate"])
async def test_install_certificate_sends_the_csms_ca_by_default(rig: SecureRig, certificate_type: str) -> None:
    """TC_075_1/2: the configured root, one PEM in its strict form; Accepted, the CSMS knows it installed, with the
    CertificateHashData OCTT would compute (reference §5.10)."""
    station = await rig.booted(tls=True, password=PASSWORD)
    request = rig.api.post("/api/stations/CP_1/certificates", {"type": certificate_type})
    reply, call = await answered(request, station, "InstallCertificate", {"status": "Accepted"})
    assert reply.status == 200
    assert call[3] == {"certificateType": certificate_type, "certificate": pki.normalize_pem(ca_text(rig))}
    (entry,) = await installed(rig)
    expected = pki.certificate_hash_data(pki.load_certificate(ca_text(rig)))
    assert entry["certificate_type"] == certificate_type and entry["source"] == "installed"
    assert entry["certificate_hash_data"] == expected.to_ocpp()


async def test_a_refused_install_leaves_nothing_installed(rig: SecureRig) -> None:
    """TC_078: the station answers Rejected (and reports InvalidCentralSystemCertificate)."""
    station = await rig.booted(tls=True, password=PASSWORD)
    request = rig.api.post("/api/stations/CP_1/certificates", {"type": "CentralSystemRootCertificate"})
    await answered(request, station, "InstallCertificate", {"status": "Rejected"})
    event = {"type": "InvalidCentralSystemCertificate", "timestamp": "2026-01-01T00:00:00Z"}
    assert await station.result("SecurityEventNotification", event) == {}
    assert await installed(rig) == []


async def test_install_takes_crlf_and_refuses_what_is_no_root(rig: SecureRig) -> None:
    await rig.booted(tls=True, password=PASSWORD)
    leaf = rig.pki.stations["CP_1"].certificate.read_text(encoding="ascii")
    reply = await rig.api.post("/api/stations/CP_1/certificates", {"type": "CentralSystemRootCertificate", "pem": leaf})
    assert reply.status == 400 and "root CA certificate" in reply.body["error"]
    reply = await rig.api.post("/api/stations/CP_1/certificates", {"type": "Bogus"})
    assert reply.status == 400 and "'type' must be one of" in reply.body["error"]
    reply = await rig.api.post("/api/stations/CP_1/certificates", {"type": "CentralSystemRootCertificate", "pem": "x"})
    assert reply.status == 400 and "one PEM certificate" in reply.body["error"]


async def test_delete_uses_the_hash_data_the_station_reported(rig: SecureRig) -> None:
    """TC_076: GetInstalledCertificateIds first (the station reports SHA384, in its own letter case), then
    DeleteCertificate with exactly that hash data, named by the PEM; Accepted, the CSMS forgets it."""
    station = await rig.booted(tls=True, password=PASSWORD)
    root = pki.load_certificate(ca_text(rig))
    reported = pki.certificate_hash_data(root, hash_algorithm="SHA384").to_ocpp()
    reported["issuerNameHash"] = reported["issuerNameHash"].upper()
    request = rig.api.get("/api/stations/CP_1/installed-certificates?type=CentralSystemRootCertificate")
    answer = {"status": "Accepted", "certificateHashData": [reported]}
    reply, call = await answered(request, station, "GetInstalledCertificateIds", answer)
    assert reply.status == 200 and call[3] == {"certificateType": "CentralSystemRootCertificate"}
    (entry,) = await installed(rig)
    assert entry["source"] == "reported" and entry["certificate_hash_data"] == reported
    request = rig.api.request("DELETE", "/api/stations/CP_1/certificates", {"pem": ca_text(rig)})
    reply, call = await answered(request, station, "DeleteCertificate", {"status": "Accepted"})
    assert reply.status == 200 and call[3] == {"certificateHashData": reported}
    assert await installed(rig) == []


async def test_delete_by_serial_number_or_by_a_pem_the_station_never_reported(rig: SecureRig) -> None:
    station = await rig.booted(tls=True, password=PASSWORD)
    root = pki.load_certificate(ca_text(rig))
    request = rig.api.post("/api/stations/CP_1/certificates", {"type": "ManufacturerRootCertificate"})
    await answered(request, station, "InstallCertificate", {"status": "Accepted"})
    serial = format(root.serial_number, "x")
    request = rig.api.request("DELETE", "/api/stations/CP_1/certificates", {"serial_number": serial})
    reply, call = await answered(request, station, "DeleteCertificate", {"status": "Accepted"})
    assert call[3]["certificateHashData"] == pki.certificate_hash_data(root).to_ocpp()
    assert await installed(rig) == []
    reply = await rig.api.request("DELETE", "/api/stations/CP_1/certificates", {"serial_number": serial})
    assert reply.status == 404 and "GET installed-certificates" in reply.body["error"]
    body = {"pem": ca_text(rig), "hash_algorithm": "SHA512"}
    request = rig.api.request("DELETE", "/api/stations/CP_1/certificates", body)
    reply, call = await answered(request, station, "DeleteCertificate", {"status": "NotFound"})
    assert call[3]["certificateHashData"] == pki.certificate_hash_data(root, hash_algorithm="SHA512").to_ocpp()


async def test_not_found_empties_what_the_csms_knows_of_that_type(rig: SecureRig) -> None:
    station = await rig.booted(tls=True, password=PASSWORD)
    request = rig.api.post("/api/stations/CP_1/certificates", {"type": "CentralSystemRootCertificate"})
    await answered(request, station, "InstallCertificate", {"status": "Accepted"})
    request = rig.api.get("/api/stations/CP_1/installed-certificates?type=CentralSystemRootCertificate")
    await answered(request, station, "GetInstalledCertificateIds", {"status": "NotFound"})
    assert await installed(rig) == []


async def test_reported_hash_data_keeps_the_pem_the_csms_installed(rig: SecureRig) -> None:
    station = await rig.booted(tls=True, password=PASSWORD)
    request = rig.api.post("/api/stations/CP_1/certificates", {"type": "CentralSystemRootCertificate"})
    await answered(request, station, "InstallCertificate", {"status": "Accepted"})
    root = pki.load_certificate(ca_text(rig))
    answer = {
        "status": "Accepted",
        "certificateHashData": [pki.certificate_hash_data(root, hash_algorithm="SHA512").to_ocpp()],
    }
    request = rig.api.get("/api/stations/CP_1/installed-certificates?type=CentralSystemRootCertificate")
    await answered(request, station, "GetInstalledCertificateIds", answer)
    (entry,) = await installed(rig)
    assert entry["source"] == "reported" and entry["hash_algorithm"] == "SHA512"
    assert entry["certificate"] == pki.certificate_pem(root)


async def test_a_rejected_station_is_sent_no_certificate(rig: SecureRig) -> None:
    """OCPP 1.6 §4.2: a station whose registration is Rejected gets no request, so the CSMS cannot complete A02:
    Rejected, nothing issued."""
    await rig.api.put("/api/stations/CP_1/boot-answer", {"status": "Rejected"})
    station = await rig.connect(tls=True, password=PASSWORD)
    assert (await station.boot())["status"] == "Rejected"
    assert await station.result("SignCertificate", {"csr": new_csr("CP_1")[0]}) == {"status": "Rejected"}
    assert await issued(rig) == []
