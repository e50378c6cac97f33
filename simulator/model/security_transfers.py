"""The security whitepaper's two transfer flows (edition 3): secure firmware update (L01, SignedUpdateFirmware,
SignedFirmwareStatusNotification) and log upload (N01, GetLog, LogStatusNotification).

Both run on the Firmware Management profile's transfer jobs (:mod:`~simulator.model.firmware`): the runtime
downloads and uploads, the model decides. For a signed image the runtime reports the SHA-256 of what it downloaded
(``transfer_finished(..., sha256=...)``, ``simulator.transfers`` computes it), and the model verifies the signature
over it with the signing certificate's key (L01.FR.04/12); the image itself never enters the model.

* SignedUpdateFirmware (TC_080, TC_081): the signing certificate must be issued by an installed
  ManufacturerRootCertificate, else InvalidCertificate with an InvalidFirmwareSigningCertificate event
  (L01.FR.23/24, L01.FR.02); an update under way is cancelled, AcceptedCanceled (L01.FR.26), but not while
  installing, Rejected (L01.FR.27). Then DownloadScheduled while retrieveDateTime is ahead (L01.FR.13),
  Downloading, Downloaded or DownloadFailed, SignatureVerified or InvalidSignature with an InvalidFirmwareSignature
  event (L01.FR.03), InstallScheduled until installDateTime (L01.FR.16), every connector Unavailable, the
  transactions left to end (L01.FR.06/07, 18/19), Installing, InstallRebooting (L01.FR.15), the reboot, then
  BootNotification, a FirmwareUpdated event and Installed (or InstallationFailed, SimFirmwareInstall Fail). Each
  notification carries the request's requestId (L01.FR.10).
* The plain UpdateFirmware is refused with CALLERROR NotSupported when SimUpdateFirmware says so (L01.FR.20).
* GetLog (TC_079): Accepted with the file name (N01.FR.01), AcceptedCanceled when it replaces an upload under way
  (N01.FR.11); Uploading, then Uploaded or UploadFailure, with the requestId (N01.FR.07-10). A SecurityLog is the
  security log (N01.FR.03), a DiagnosticsLog the diagnostics file of GetDiagnostics (N01.FR.04), each between
  oldestTimestamp and latestTimestamp. SimDiagnosticsUpload Fail fails log uploads too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from ocppj.frames import ErrorCode
from ocppj.timefmt import format_time, parse_time
from simulator.model import payloads
from simulator.model.base import ACCEPTED, REJECTED, Handler, status_reply
from simulator.model.calls import CallRefused
from simulator.model.certificates import (
    MANUFACTURER_ROOT,
    CertificateError,
    describe,
    firmware_signature_problem,
    issued_by,
    properties_problem,
    read_certificate,
)
from simulator.model.config import FIRMWARE_MANAGEMENT, NOT_SUPPORTED
from simulator.model.firmware import (
    UPLOAD,
    Attempts,
    DiagnosticsUpload,
    FirmwareCalls,
    FirmwareUpdate,
    TransferJob,
    diagnostics_file_name,
)
from simulator.model.queue import Entry

SECURITY_LOG = "SecurityLog"
ACCEPTED_CANCELED = "AcceptedCanceled"


@dataclass(eq=False)
class SignedFirmwareUpdate(FirmwareUpdate):
    request_id: int = 0
    signing_certificate: x509.Certificate | None = None
    signature: str = ""
    install_at: float | None = None  # installDateTime still ahead (L01.FR.16)
    sha256: bytes | None = None  # of the downloaded image, as the runtime reported it
    verified: bool = False


@dataclass(eq=False)
class LogUpload(DiagnosticsUpload):
    request_id: int = 0
    log_type: str = SECURITY_LOG

    def triggered_status(self) -> dict[str, Any]:
        """What an ExtendedTriggerMessage(LogStatusNotification) reports while this upload runs."""
        return payloads.with_request_id("Uploading", self.request_id)


def log_file_name(station_id: str, log_type: str, at: float) -> str:
    """The GetLog.conf filename (string[0..255]): the diagnostics file's name, or the same for the security log."""
    name = diagnostics_file_name(station_id, at)
    return name if log_type != SECURITY_LOG else name.replace("-diagnostics-", "-security-log-")


class SecurityTransfers(FirmwareCalls):
    def _security_transfer_handlers(self) -> dict[str, Handler]:
        return {"GetLog": self._on_get_log, "SignedUpdateFirmware": self._on_signed_update_firmware}

    def transfer_finished(self, job_id: int, *, ok: bool, detail: str, now: float, sha256: bytes | None = None) -> None:
        """As FirmwareCalls', with the SHA-256 of a downloaded image: a signed image is verified over it."""
        update = self._firmware
        if isinstance(update, SignedFirmwareUpdate) and update.job is not None and update.job.job_id == job_id:
            update.sha256 = sha256
        super().transfer_finished(job_id, ok=ok, detail=detail, now=now)

    # ------------------------------------------------------------------ L01 secure firmware update

    def _on_update_firmware(self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None) -> dict[str, Any]:
        """L01.FR.20: a station that takes signed firmware only answers the plain UpdateFirmware with CALLERROR
        NotSupported and starts nothing (SimUpdateFirmware NotSupported)."""
        if self._config.get("SimUpdateFirmware") != NOT_SUPPORTED:
            return super()._on_update_firmware(payload, now, answer)
        if answer is not None:
            return answer
        raise CallRefused(ErrorCode.NOT_SUPPORTED.value, "this charge point takes signed firmware only (L01.FR.20)")

    def _on_signed_update_firmware(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """See the module docstring. Without the Firmware Management profile: CALLERROR NotSupported."""
        supported = self._config.supports(FIRMWARE_MANAGEMENT)
        if not supported and answer is None:
            raise CallRefused(ErrorCode.NOT_SUPPORTED.value, "the FirmwareManagement profile is not supported")
        firmware: dict[str, Any] = payload["firmware"]
        problem, certificate = self._signing_certificate(firmware["signingCertificate"])
        current = self._firmware
        if problem is not None:
            decided = "InvalidCertificate"
        elif current is not None and current.phase == "installing":
            decided = REJECTED
        else:
            decided = ACCEPTED if current is None else ACCEPTED_CANCELED
        reply = status_reply(answer, decided)
        status = reply.get("status")
        if status == "InvalidCertificate":
            self._security_event("InvalidFirmwareSigningCertificate", now, problem or "refused by the station")
        elif status in (ACCEPTED, ACCEPTED_CANCELED) and supported and certificate is not None and decided != REJECTED:
            self._drop_flow(current, now)
            install = firmware.get("installDateTime")
            update = SignedFirmwareUpdate(
                firmware["location"],
                *self._attempt_counts(payload),
                request_id=payload["requestId"],
                signing_certificate=certificate,
                signature=firmware["signature"],
                install_at=None if install is None else parse_time(install),
            )
            self._firmware = update
            retrieve_at = parse_time(firmware["retrieveDateTime"])
            if retrieve_at > now:
                update.next_attempt_at = retrieve_at
                self._notify(update, "DownloadScheduled", now)
            else:
                self._begin_attempt(update, now)
        return reply

    def _signing_certificate(self, text: str) -> tuple[str | None, x509.Certificate | None]:
        """L01.FR.12/23: a certificate of sound properties, issued by an installed ManufacturerRootCertificate
        (the manufacturer uses no intermediate certificate, L01 remarks)."""
        try:
            certificate = read_certificate(text)
        except CertificateError as exc:
            return str(exc), None
        problem = properties_problem(certificate, self._now)
        if problem is not None:
            return problem, None
        roots = [entry.certificate for entry in self._certificates if entry.certificate_type == MANUFACTURER_ROOT]
        if not roots:
            return "no ManufacturerRootCertificate is installed to verify the signing certificate", None
        if not any(issued_by(certificate, root) for root in roots):
            return f"{describe(certificate)} is not issued by an installed ManufacturerRootCertificate", None
        return None, certificate

    def _downloaded(self, update: FirmwareUpdate, at: float) -> None:
        """Downloaded, then the signature is checked before anything is installed (L01.FR.04)."""
        if not isinstance(update, SignedFirmwareUpdate):
            super()._downloaded(update, at)
            return
        update.phase = "downloaded"
        self._notify(update, "Downloaded", at)
        assert update.signing_certificate is not None
        if update.sha256 is None:
            problem: str | None = "the runtime reported no SHA-256 of the downloaded image"
        else:
            problem = firmware_signature_problem(update.signing_certificate, update.signature, update.sha256)
        if problem is not None:
            self._firmware = None
            self._notify(update, "InvalidSignature", at)
            self._security_event("InvalidFirmwareSignature", at, problem)
            return
        update.verified = True
        self._notify(update, "SignatureVerified", at)
        if update.install_at is not None and update.install_at > at:
            self._notify(update, "InstallScheduled", at)
            return
        self._install_due(update, at)

    def _install_due(self, update: SignedFirmwareUpdate, at: float) -> None:
        """Installation time: connectors Unavailable, installed once no transaction runs (L01.FR.05-07, 17-19)."""
        update.install_at = None
        self._set_out_of_service(True, at)
        self._install_when_idle(at)

    def _install_when_idle(self, at: float) -> None:
        update = self._firmware
        if isinstance(update, SignedFirmwareUpdate) and (not update.verified or update.install_at is not None):
            return
        super()._install_when_idle(at)

    def _arm_reset(self, at: float) -> None:
        """L01.FR.15: InstallRebooting before the reboot into the new firmware."""
        update, reset = self._firmware, self._reset
        if isinstance(update, SignedFirmwareUpdate) and update.phase == "installing" and reset and not reset.armed:
            self._notify(update, "InstallRebooting", at)
        super()._arm_reset(at)

    def _go_down(self, at: float, reason: str) -> None:
        update = self._firmware
        installing = isinstance(update, SignedFirmwareUpdate) and update.phase == "installing"
        super()._go_down(at, reason)
        if installing and self._firmware_report is not None:
            assert isinstance(update, SignedFirmwareUpdate)
            self._signed_firmware_report = (self._firmware_report, update.request_id)
            self._firmware_report = None

    def _boot_answered(self, payload: dict[str, Any], at: float) -> bool:
        """After the reboot into signed firmware: a FirmwareUpdated event and Installed (TC_080), or
        InstallationFailed."""
        usable = super()._boot_answered(payload, at)
        report = self._signed_firmware_report
        if usable and self._registration == ACCEPTED and report is not None:
            self._signed_firmware_report = None
            status, request_id = report
            if status == "Installed":
                self._security_event("FirmwareUpdated", at, f"firmware {self._spec.firmware_version} installed")
            self._signed_status(status, request_id, at)
        return usable

    def _signed_status(self, status: str, request_id: int, at: float) -> None:
        """A SignedFirmwareStatusNotification (L01.FR.01, L01.FR.10); what a trigger reports next: this status, Idle
        after Installed (L01.FR.28/29)."""
        self._signed_firmware_status = "Idle" if status == "Installed" else status
        self._signed_firmware_request_id = request_id
        body = payloads.with_request_id(status, request_id)
        self._queue_entry(Entry("SignedFirmwareStatusNotification", body, at))

    # ------------------------------------------------------------------ N01 log upload

    def _on_get_log(self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None) -> dict[str, Any]:
        """See the module docstring. An imposed answer that accepts starts the upload under its filename when it
        gives one; Rejected starts nothing."""
        log: dict[str, Any] = payload["log"]
        log_type: str = payload["logType"]
        ongoing = self._log_upload
        file_name = log_file_name(self._spec.station_id, log_type, now)
        decided = {"status": ACCEPTED if ongoing is None else ACCEPTED_CANCELED, "filename": file_name}
        reply = answer if answer is not None else decided
        if reply.get("status") in (ACCEPTED, ACCEPTED_CANCELED):
            given = reply.get("filename")
            self._drop_flow(ongoing, now)
            oldest, latest = log.get("oldestTimestamp"), log.get("latestTimestamp")
            upload = LogUpload(
                log["remoteLocation"],
                *self._attempt_counts(payload),
                file_name=given if isinstance(given, str) and given else file_name,
                start_time=None if oldest is None else parse_time(oldest),
                stop_time=None if latest is None else parse_time(latest),
                request_id=payload["requestId"],
                log_type=log_type,
            )
            self._log_upload = upload
            self._begin_attempt(upload, now)
        return reply

    def _new_job(self, flow: Attempts, at: float) -> TransferJob:
        job = super()._new_job(flow, at)
        if isinstance(flow, LogUpload) and flow.log_type == SECURITY_LOG:
            return TransferJob(
                job.job_id,
                UPLOAD,
                job.url,
                job.timeout_s,
                body=self._security_log_document(flow, at),
                content_type=job.content_type,
            )
        return job

    def _security_log_document(self, upload: LogUpload, at: float) -> bytes:
        """The security log as text, one event a line (N01 leaves the format open); techInfo never holds a secret
        (A01.FR.12)."""
        lines = [
            f"Security log of charge point {self._spec.station_id}",
            f"generated: {format_time(at)}",
            "",
            *(event.line() for event in self._security_log if upload.covers(event.at)),
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")

    def _notify(self, flow: Attempts, status: str, at: float, *, final: bool = False) -> None:
        if isinstance(flow, SignedFirmwareUpdate):
            self._signed_status(status, flow.request_id, at)
        elif isinstance(flow, LogUpload):
            log_status = "UploadFailure" if status == "UploadFailed" else status  # UploadLogStatusEnumType
            body = payloads.with_request_id(log_status, flow.request_id)
            self._queue_entry(Entry("LogStatusNotification", body, at))
        else:
            super()._notify(flow, status, at, final=final)

    def _transfer_ended(self, flow: Attempts, ok: bool, at: float) -> None:
        if isinstance(flow, LogUpload):
            self._log_upload = None
            self._notify(flow, "Uploaded" if ok else "UploadFailure", at)
            return
        super()._transfer_ended(flow, ok, at)

    def _flows(self) -> tuple[Attempts | None, ...]:
        return (*super()._flows(), self._log_upload)

    def _timers(self) -> list[tuple[float, Callable[[float], None]]]:
        timers = super()._timers()
        update = self._firmware
        if isinstance(update, SignedFirmwareUpdate) and update.verified and update.install_at is not None:
            timers.append((update.install_at, functools.partial(self._install_due, update)))
        return timers
