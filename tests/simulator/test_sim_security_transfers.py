"""The whitepaper's transfer flows (ed. 3): secure firmware update (L01; TC_080, TC_081) and log upload (N01;
TC_079). The fake runtime performs no I/O: a test takes the transfer jobs and reports them, with the SHA-256 of
what it "downloaded"."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sim_kit import Sim, booted, charging
from sim_security_kit import ISSUED_AT, manufacturer_ca, other_ca, root_pem, shown

from csms.pki import Credential
from ocppj.timefmt import format_time
from simulator.model import REBOOT_DELAY_S, TransferJob
from simulator.model.firmware import FIRMWARE_INSTALL_S

IMAGE = b"signed firmware image " * 4096
URL = "https://firmware.example/images/sim-3.0.0.bin"
WITHOUT_FIRMWARE = {"SupportedFeatureProfiles": "Core,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"}


def signer(ca: Any = manufacturer_ca) -> Credential:
    return ca().issue_server_certificate(hosts=["firmware.example"], organization="Maker", now=ISSUED_AT)


def signature_of(credential: Credential, image: bytes = IMAGE) -> str:
    key = credential.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
    return base64.b64encode(key.sign(image, pss, hashes.SHA256())).decode()


def station(**fields: Any) -> Sim:
    return booted(manufacturer_roots=(root_pem(manufacturer_ca()),), **fields)


def signed_update(
    sim: Sim,
    *,
    credential: Credential | None = None,
    signature: str | None = None,
    retrieve_in: float = 0,
    **extra: Any,
) -> dict[str, Any]:
    credential = credential or signer()
    firmware: dict[str, Any] = {
        "location": URL,
        "retrieveDateTime": format_time(sim.now + retrieve_in),
        "signingCertificate": credential.certificate_pem(),
        "signature": signature if signature is not None else signature_of(credential),
    }
    install_in = extra.pop("install_in", None)
    if install_in is not None:
        firmware["installDateTime"] = format_time(sim.now + install_in)
    answer = extra.pop("answer", None)
    return sim.call("SignedUpdateFirmware", {"requestId": 7, "firmware": firmware, **extra}, answer=answer)


def jobs(sim: Sim) -> tuple[TransferJob, ...]:
    return sim.cp.take_transfers(sim.now)


def finish(sim: Sim, job: TransferJob, *, ok: bool = True, image: bytes | None = IMAGE) -> None:
    digest = None if image is None else hashlib.sha256(image).digest()
    sim.cp.transfer_finished(job.job_id, ok=ok, detail="done", sha256=digest, now=sim.now)
    sim.follow()


def request_ids(sim: Sim, action: str) -> set[int | None]:
    return {s.payload.get("requestId") for s in sim.sent if s.action == action}


# ------------------------------------------------------------------ L01


def test_tc_080_secure_firmware_update() -> None:
    sim = station()
    assert signed_update(sim) == {"status": "Accepted"}
    assert request_ids(sim, "SignedFirmwareStatusNotification") == {7}  # L01.FR.10
    assert shown(sim) == ["SignedFirmwareStatusNotification:Downloading"]
    (job,) = jobs(sim)
    assert (job.kind, job.url) == ("download", URL)
    finish(sim, job)
    assert shown(sim) == [
        "SignedFirmwareStatusNotification:Downloaded",
        "SignedFirmwareStatusNotification:SignatureVerified",
        "StatusNotification:0:Unavailable",
        "StatusNotification:1:Unavailable",
        "SignedFirmwareStatusNotification:Installing",
    ]
    sim.advance(FIRMWARE_INSTALL_S)
    assert shown(sim) == ["SignedFirmwareStatusNotification:InstallRebooting"]  # L01.FR.15
    sim.advance(REBOOT_DELAY_S)
    sent = sim.take()
    assert sent[0].action == "BootNotification" and sent[0].payload["firmwareVersion"] == "sim-3.0.0"
    rest = [s for s in sent[1:] if s.action != "StatusNotification"]
    assert [(s.action, s.payload.get("type") or s.payload.get("status")) for s in rest] == [
        ("SecurityEventNotification", "FirmwareUpdated"),
        ("SignedFirmwareStatusNotification", "Installed"),
    ]
    assert rest[1].payload["requestId"] == 7
    sim.call("ExtendedTriggerMessage", {"requestedMessage": "FirmwareStatusNotification"})
    (triggered,) = sim.take()
    assert triggered.payload == {"status": "Idle"}  # L01.FR.28


def test_tc_081_invalid_signature() -> None:
    sim = station()
    signed_update(sim, signature=signature_of(signer(), b"another image"))
    (job,) = jobs(sim)
    finish(sim, job)
    assert shown(sim) == [
        "SignedFirmwareStatusNotification:Downloading",
        "SignedFirmwareStatusNotification:Downloaded",
        "SignedFirmwareStatusNotification:InvalidSignature",
        "SecurityEventNotification:InvalidFirmwareSignature",  # L01.FR.03
    ]
    assert sim.cp.connector_status(1) == "Available"
    sim.call("ExtendedTriggerMessage", {"requestedMessage": "FirmwareStatusNotification"})
    (triggered,) = sim.take()
    assert triggered.payload == {"status": "InvalidSignature", "requestId": 7}  # L01.FR.29


def test_without_the_digest_of_the_image_the_signature_cannot_be_verified() -> None:
    sim = station()
    signed_update(sim)
    (job,) = jobs(sim)
    finish(sim, job, image=None)
    assert shown(sim)[-2:] == [
        "SignedFirmwareStatusNotification:InvalidSignature",
        "SecurityEventNotification:InvalidFirmwareSignature",
    ]
    assert "no SHA-256" in (sim.cp.security_log[-1].tech_info or "")


@pytest.mark.parametrize(
    ("roots", "credential", "problem"),
    [
        (True, lambda: signer(other_ca), "not issued by an installed ManufacturerRootCertificate"),
        (False, signer, "no ManufacturerRootCertificate is installed"),
    ],
)
def test_an_invalid_signing_certificate(roots: bool, credential: Any, problem: str) -> None:
    """L01.FR.23/24 and L01.FR.02: InvalidCertificate, an InvalidFirmwareSigningCertificate event, no download."""
    sim = station() if roots else booted()
    assert signed_update(sim, credential=credential()) == {"status": "InvalidCertificate"}
    assert shown(sim) == ["SecurityEventNotification:InvalidFirmwareSigningCertificate"]
    assert problem in (sim.cp.security_log[-1].tech_info or "")
    assert jobs(sim) == ()


def test_an_unreadable_signing_certificate() -> None:
    sim = station()
    firmware = {
        "location": URL,
        "retrieveDateTime": format_time(sim.now),
        "signingCertificate": "x",
        "signature": "AA==",
    }
    assert sim.call("SignedUpdateFirmware", {"requestId": 1, "firmware": firmware}) == {"status": "InvalidCertificate"}


def test_download_scheduled_then_downloading() -> None:
    sim = station()
    signed_update(sim, retrieve_in=60)
    assert shown(sim) == ["SignedFirmwareStatusNotification:DownloadScheduled"]  # L01.FR.13
    assert jobs(sim) == ()
    sim.advance(60)
    assert shown(sim) == ["SignedFirmwareStatusNotification:Downloading"]
    assert len(jobs(sim)) == 1


def test_install_scheduled_until_install_date_time() -> None:
    """L01.FR.16/17: InstallScheduled, and the station stays in service until then."""
    sim = station()
    signed_update(sim, install_in=600)
    (job,) = jobs(sim)
    finish(sim, job)
    assert shown(sim)[-1] == "SignedFirmwareStatusNotification:InstallScheduled"
    assert sim.cp.connector_status(1) == "Available"
    sim.advance(599)
    assert "SignedFirmwareStatusNotification:Installing" not in shown(sim)
    sim.advance(1)
    assert shown(sim) == [
        "StatusNotification:0:Unavailable",
        "StatusNotification:1:Unavailable",
        "SignedFirmwareStatusNotification:Installing",
    ]


def test_installation_waits_for_the_transaction() -> None:
    """L01.FR.06/07: connectors not in use Unavailable, installation once the transaction ended."""
    sim = charging(connectors=2, manufacturer_roots=(root_pem(manufacturer_ca()),))
    signed_update(sim)
    (job,) = jobs(sim)
    finish(sim, job)
    flow = shown(sim)
    assert "StatusNotification:2:Unavailable" in flow and "SignedFirmwareStatusNotification:Installing" not in flow
    sim.token("VALID")  # the driver stops
    assert "SignedFirmwareStatusNotification:Installing" in shown(sim)


def test_a_new_request_cancels_the_update_under_way_but_not_an_installation() -> None:
    sim = station()
    signed_update(sim)
    (first,) = jobs(sim)
    assert signed_update(sim) == {"status": "AcceptedCanceled"}  # L01.FR.26
    assert not sim.cp.transfer_wanted(first.job_id)
    (second,) = jobs(sim)
    finish(sim, second)
    assert shown(sim)[-1] == "SignedFirmwareStatusNotification:Installing"
    assert signed_update(sim) == {"status": "Rejected"}  # L01.FR.27
    assert jobs(sim) == ()


def test_download_failed_and_installation_failed() -> None:
    sim = station(config={"SimFirmwareDownload": "Fail"})
    signed_update(sim)
    assert shown(sim) == [
        "SignedFirmwareStatusNotification:Downloading",
        "SignedFirmwareStatusNotification:DownloadFailed",
    ]
    sim = station(config={"SimFirmwareInstall": "Fail"})
    signed_update(sim)
    (job,) = jobs(sim)
    finish(sim, job)
    sim.advance(FIRMWARE_INSTALL_S + REBOOT_DELAY_S)
    flow = shown(sim)
    assert flow[-1] == "SignedFirmwareStatusNotification:InstallationFailed"
    assert "SecurityEventNotification:FirmwareUpdated" not in flow
    assert sim.cp.spec.firmware_version == "1.0.0"


def test_imposed_answers() -> None:
    sim = station()
    assert signed_update(sim, answer={"status": "Rejected"}) == {"status": "Rejected"}
    assert jobs(sim) == ()
    assert signed_update(sim, credential=signer(other_ca), answer={"status": "Accepted"}) == {"status": "Accepted"}
    assert jobs(sim) == ()  # a certificate the station cannot trust: nothing to verify the image with
    assert signed_update(sim, answer={"status": "InvalidCertificate"}) == {"status": "InvalidCertificate"}
    assert shown(sim) == ["SecurityEventNotification:InvalidFirmwareSigningCertificate"]


def test_l01_fr_20_plain_update_firmware_not_supported() -> None:
    sim = station(config={"SimUpdateFirmware": "NotSupported"})
    payload = {"location": URL, "retrieveDate": format_time(sim.now)}
    refused = sim.refused("UpdateFirmware", payload)
    assert refused.error_code == "NotSupported" and "L01.FR.20" in refused.description
    assert sim.call("UpdateFirmware", payload, answer={}) == {}
    assert jobs(sim) == ()
    assert station().call("UpdateFirmware", payload) == {}  # Supported: OCPP 1.6 §5.19 as before


def test_signed_update_without_firmware_management() -> None:
    sim = station(config=WITHOUT_FIRMWARE)
    firmware = {"location": URL, "retrieveDateTime": format_time(sim.now), "signingCertificate": "x", "signature": "A"}
    assert sim.refused("SignedUpdateFirmware", {"requestId": 1, "firmware": firmware}).error_code == "NotSupported"


# ------------------------------------------------------------------ N01


def get_log(sim: Sim, log_type: str = "SecurityLog", **fields: Any) -> dict[str, Any]:
    log = {"remoteLocation": "https://csms.example/logs/", **fields.pop("log", {})}
    answer = fields.pop("answer", None)
    return sim.call("GetLog", {"logType": log_type, "requestId": 42, "log": log, **fields}, answer=answer)


def test_tc_079_security_log() -> None:
    sim = booted()
    sim.cp.report_security_event("TamperDetectionActivated", sim.now, tech_info="lid opened")
    reply = get_log(sim)
    assert reply["status"] == "Accepted" and "security-log" in reply["filename"]
    assert request_ids(sim, "LogStatusNotification") == {42}  # N01.FR.07
    assert shown(sim) == ["LogStatusNotification:Uploading"]
    (job,) = jobs(sim)
    assert job.kind == "upload" and job.url == "https://csms.example/logs/" + reply["filename"]
    text = job.body.decode()
    assert "StartupOfTheDevice: powered on" in text and "TamperDetectionActivated: lid opened" in text
    finish(sim, job, image=None)
    assert shown(sim) == ["LogStatusNotification:Uploaded"]
    sim.call("ExtendedTriggerMessage", {"requestedMessage": "LogStatusNotification"})
    (triggered,) = sim.take()
    assert triggered.payload == {"status": "Idle"}  # N01.FR.12


def test_diagnostics_log_is_the_diagnostics_file() -> None:
    sim = booted()
    reply = get_log(sim, "DiagnosticsLog")
    assert "diagnostics" in reply["filename"]
    (job,) = jobs(sim)
    assert job.body.startswith(b"Diagnostics of charge point CP-1")


def test_the_log_covers_oldest_to_latest() -> None:
    sim = booted()
    sim.advance(100)
    sim.cp.report_security_event("MemoryExhaustion", sim.now)
    get_log(sim, log={"oldestTimestamp": format_time(sim.now - 10), "latestTimestamp": format_time(sim.now + 10)})
    (job,) = jobs(sim)
    assert b"MemoryExhaustion" in job.body and b"StartupOfTheDevice" not in job.body


def test_upload_failure_after_the_retries() -> None:
    sim = booted()
    get_log(sim, retries=1, retryInterval=10)
    (job,) = jobs(sim)
    finish(sim, job, ok=False)
    sim.advance(10)
    (job,) = jobs(sim)
    finish(sim, job, ok=False)
    assert shown(sim) == ["LogStatusNotification:Uploading", "LogStatusNotification:UploadFailure"]


def test_a_new_get_log_cancels_the_upload_under_way() -> None:
    sim = booted()
    get_log(sim)
    (first,) = jobs(sim)
    sim.call("ExtendedTriggerMessage", {"requestedMessage": "LogStatusNotification"})
    assert [s.payload for s in sim.take()][-1] == {"status": "Uploading", "requestId": 42}
    assert get_log(sim)["status"] == "AcceptedCanceled"  # N01.FR.11
    assert not sim.cp.transfer_wanted(first.job_id)
    assert len(jobs(sim)) == 1


def test_get_log_imposed_answers() -> None:
    sim = booted()
    assert get_log(sim, answer={"status": "Rejected"}) == {"status": "Rejected"}
    assert jobs(sim) == ()
    assert get_log(sim, answer={"status": "Accepted", "filename": "mine.log"})["filename"] == "mine.log"
    (job,) = jobs(sim)
    assert job.url.endswith("/mine.log")


def test_a_reboot_fails_the_upload_attempt() -> None:
    sim = booted()
    get_log(sim)
    sim.take()
    sim.call("Reset", {"type": "Hard"})
    sim.advance(10)
    assert "LogStatusNotification:UploadFailure" in shown(sim)


def test_an_expired_signing_certificate_is_invalid() -> None:
    import datetime as dt

    sim = station()
    old = manufacturer_ca().issue_server_certificate(
        hosts=["firmware.example"], organization="Maker", valid_days=1, now=ISSUED_AT - dt.timedelta(days=5)
    )
    assert signed_update(sim, credential=old) == {"status": "InvalidCertificate"}
    assert "expired" in (sim.cp.security_log[-1].tech_info or "")


def test_a_transaction_ending_during_the_download_installs_nothing_yet() -> None:
    sim = charging(manufacturer_roots=(root_pem(manufacturer_ca()),))
    signed_update(sim)
    sim.token("VALID")
    assert "SignedFirmwareStatusNotification:Installing" not in shown(sim)
    (job,) = jobs(sim)
    finish(sim, job)
    assert shown(sim)[-1] == "SignedFirmwareStatusNotification:Installing"
