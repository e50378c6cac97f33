"""GetLog (security whitepaper N01; TC_079) and SignedUpdateFirmware (L01; TC_080, TC_081) from the bundled CSMS:
the requests it builds (a requestId of its own, its upload route, a signature a real station verifies over the
image its file server serves), and the jobs their notifications follow by requestId."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from conftest import StartSecure
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from csms_kit import StationSocket, answered
from csms_security_kit import PASSWORD, SecureRig

from csms import pki
from csms.files import DEFAULT_FIRMWARE_NAME
from ocppj.timefmt import parse_time


@pytest.fixture
async def rig(start_secure: StartSecure) -> SecureRig:
    rig = await start_secure()
    await rig.provision(password=PASSWORD, profile=2)
    return rig


@pytest.fixture
async def station(rig: SecureRig) -> StationSocket:
    return await rig.booted(tls=True, password=PASSWORD)


async def jobs(rig: SecureRig, kind: str) -> dict[str, Any]:
    reply = await rig.api.get(f"/api/stations/CP_1/{kind}")
    assert reply.status == 200
    body = reply.body
    assert isinstance(body, dict)
    return body


def verifies(firmware: dict[str, Any], image: bytes) -> bool:
    """What a station does after Downloaded (L01.FR.04): RSA-PSS over the image with the signing certificate's key."""
    key = x509.load_pem_x509_certificate(firmware["signingCertificate"].encode()).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    try:
        key.verify(base64.b64decode(firmware["signature"]), image, pss, hashes.SHA256())
    except InvalidSignature:
        return False
    return True


async def test_get_log_asks_for_an_upload_to_the_csms(rig: SecureRig, station: StationSocket) -> None:
    """TC_079: logType SecurityLog, an integer requestId, log.remoteLocation = this CSMS's /files/logs/; the
    LogStatusNotifications (same requestId) and the upload under the answer's filename make the job."""
    request = rig.api.post("/api/stations/CP_1/logs", {"log_type": "SecurityLog"})
    answer = {"status": "Accepted", "filename": "CP_1-security.log"}
    reply, call = await answered(request, station, "GetLog", answer)
    assert reply.status == 200 and reply.body == answer
    payload = call[3]
    request_id = payload["requestId"]
    assert isinstance(request_id, int) and reply.headers["X-OCPP-Request-Id"] == str(request_id)
    assert payload == {
        "log": {"remoteLocation": rig.csms.api_url + "/files/logs/"},
        "logType": "SecurityLog",
        "requestId": request_id,
    }
    assert await station.result("LogStatusNotification", {"status": "Uploading", "requestId": request_id}) == {}
    upload = await rig.api.raw("PUT", "/files/logs/CP_1-security.log", data=b"2026-01-01T00:00:00Z StartupOfTheDevice")
    assert upload.status == 201
    assert await station.result("LogStatusNotification", {"status": "Uploaded", "requestId": request_id}) == {}
    (job,) = (await jobs(rig, "logs"))["jobs"]
    assert job["id"] == int(reply.headers["X-Job-Id"])
    assert (job["state"], job["file_name"]) == ("succeeded", "CP_1-security.log")
    assert [n["status"] for n in job["notifications"]] == ["Uploading", "Uploaded"]
    assert [u["size"] for u in job["uploads"]] == [39]


async def test_notifications_follow_their_request_id(rig: SecureRig, station: StationSocket) -> None:
    """N01: a LogStatusNotification names its job by requestId; Idle without one (after a trigger) and an
    unknown requestId belong to no job. Each GetLog gets a new requestId."""
    ids = []
    for log_type in ("SecurityLog", "DiagnosticsLog"):
        request = rig.api.post("/api/stations/CP_1/logs", {"log_type": log_type})
        reply, call = await answered(request, station, "GetLog", {"status": "Accepted"})
        ids.append(call[3]["requestId"])
    assert ids[1] > ids[0]
    await station.result("LogStatusNotification", {"status": "Uploading", "requestId": ids[0]})
    await station.result("LogStatusNotification", {"status": "UploadFailure", "requestId": ids[1]})
    await station.result("LogStatusNotification", {"status": "Idle"})
    await station.result("LogStatusNotification", {"status": "Uploading", "requestId": 987654})
    body = await jobs(rig, "logs")
    first, second = body["jobs"]
    assert (first["state"], [n["status"] for n in first["notifications"]]) == ("superseded", ["Uploading"])
    assert (second["state"], [n["status"] for n in second["notifications"]]) == ("failed", ["UploadFailure"])
    assert [n["status"] for n in body["notifications_outside_jobs"]] == ["Idle", "Uploading"]


async def test_a_rejected_get_log_is_refused_and_supersedes_nothing(rig: SecureRig, station: StationSocket) -> None:
    await answered(
        rig.api.post("/api/stations/CP_1/logs", {"log_type": "SecurityLog"}), station, "GetLog", {"status": "Accepted"}
    )
    await answered(
        rig.api.post("/api/stations/CP_1/logs", {"log_type": "SecurityLog"}), station, "GetLog", {"status": "Rejected"}
    )
    assert [job["state"] for job in (await jobs(rig, "logs"))["jobs"]] == ["requested", "refused"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "'log_type' must be one of SecurityLog, DiagnosticsLog."),
        ({"log_type": "SecurityLog", "location": "nowhere"}, "'location' must be an absolute URI"),
        (
            {"log_type": "SecurityLog", "oldest_time": "2026-01-02T00:00:00Z", "latest_time": "2026-01-01T00:00:00Z"},
            "'latest_time' must not lie before 'oldest_time'.",
        ),
    ],
)
async def test_get_log_checks_its_intent(rig: SecureRig, station: StationSocket, body: Any, message: str) -> None:
    reply = await rig.api.post("/api/stations/CP_1/logs", body)
    assert reply.status == 400 and message in reply.body["error"]


async def test_signed_update_firmware_is_signed_over_the_image_the_csms_serves(
    rig: SecureRig, station: StationSocket
) -> None:
    """TC_080, L01.FR.04/11: location = this CSMS's firmware route; the signature verifies, with the signing
    certificate's key, over the very bytes a station downloads there; the certificate is issued by the CSMS's CA
    (what the station checks against its ManufacturerRootCertificate, L01.FR.12)."""
    request = rig.api.post("/api/stations/CP_1/signed-firmware", {})
    reply, call = await answered(request, station, "SignedUpdateFirmware", {"status": "Accepted"})
    assert reply.status == 200
    payload = call[3]
    firmware = payload["firmware"]
    assert firmware["location"] == f"{rig.csms.api_url}/files/firmware/{DEFAULT_FIRMWARE_NAME}"
    assert isinstance(payload["requestId"], int) and "retrieveDateTime" in firmware
    image = (await rig.api.raw("GET", f"/files/firmware/{DEFAULT_FIRMWARE_NAME}")).body
    assert verifies(firmware, image)
    assert not verifies(firmware, image + b"!")
    assert len(firmware["signature"]) <= pki.SIGNATURE_MAX_CHARS
    signing = x509.load_pem_x509_certificate(firmware["signingCertificate"].encode())
    ca = pki.load_certificate(rig.pki.ca.certificate.read_text(encoding="ascii"))
    signing.verify_directly_issued_by(ca)
    usage = signing.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.ExtendedKeyUsageOID.CODE_SIGNING in usage
    for status in ("Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting", "Installed"):
        notification = {"status": status, "requestId": payload["requestId"]}
        assert await station.result("SignedFirmwareStatusNotification", notification) == {}
    (job,) = (await jobs(rig, "signed-firmware"))["jobs"]
    assert job["state"] == "succeeded" and job["id"] == int(reply.headers["X-Job-Id"])


async def test_an_invalid_signature_on_request(rig: SecureRig, station: StationSocket) -> None:
    """TC_081: a well-formed signature that does not verify; the station's InvalidSignature fails the job."""
    request = rig.api.post(
        "/api/stations/CP_1/signed-firmware", {"firmware_name": "fw-2.bin", "invalid_signature": True}
    )
    _, call = await answered(request, station, "SignedUpdateFirmware", {"status": "Accepted"})
    firmware = call[3]["firmware"]
    image = (await rig.api.raw("GET", "/files/firmware/fw-2.bin")).body
    assert firmware["location"].endswith("/files/firmware/fw-2.bin")
    assert not verifies(firmware, image)
    base64.b64decode(firmware["signature"], validate=True)
    for status in ("Downloading", "Downloaded", "InvalidSignature"):
        await station.result("SignedFirmwareStatusNotification", {"status": status, "requestId": call[3]["requestId"]})
    (job,) = (await jobs(rig, "signed-firmware"))["jobs"]
    assert job["state"] == "failed"


async def test_the_operator_may_send_any_signature_and_location(rig: SecureRig, station: StationSocket) -> None:
    """Reference §5.7: the operator enters the configured URL, signature and signing certificate verbatim."""
    body = {
        "location": "https://fw.example.com/image.bin",
        "signature": "bm90IGEgc2lnbmF0dXJl",
        "signing_certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "install_date": "2030-01-01T00:00:00Z",
        "retries": 2,
    }
    request = rig.api.post("/api/stations/CP_1/signed-firmware", body)
    _, call = await answered(request, station, "SignedUpdateFirmware", {"status": "InvalidCertificate"})
    firmware = call[3]["firmware"]
    assert (firmware["location"], firmware["signature"], firmware["signingCertificate"]) == (
        body["location"],
        body["signature"],
        body["signing_certificate"],
    )
    assert parse_time(firmware["installDateTime"]) == parse_time(body["install_date"]) and call[3]["retries"] == 2
    (job,) = (await jobs(rig, "signed-firmware"))["jobs"]
    assert job["state"] == "refused"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"location": "https://fw.example.com/x.bin"}, "give 'signature' for another location"),
        ({"signature": "AAAA", "invalid_signature": True}, "not both"),
        ({"firmware_name": "a.bin", "location": "https://x/a.bin"}, "not both"),
        ({"signing_certificate": "-----BEGIN CERTIFICATE-----"}, "give 'signature' as well"),
        ({"invalid_signature": "yes"}, "'invalid_signature' must be true or false."),
    ],
)
async def test_signed_firmware_checks_its_intent(
    rig: SecureRig, station: StationSocket, body: dict[str, Any], message: str
) -> None:
    reply = await rig.api.post("/api/stations/CP_1/signed-firmware", body)
    assert reply.status == 400 and message in reply.body["error"]
