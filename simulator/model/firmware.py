"""Firmware Management profile: firmware update (OCPP 1.6 §5.19 UpdateFirmware, §4.5 FirmwareStatusNotification)
and diagnostics (§5.6 GetDiagnostics, §4.4 DiagnosticsStatusNotification).

Transfers are real, and stay out of the model (DESIGN §5.1): the model hands out :class:`TransferJob` objects
through :meth:`FirmwareCalls.take_transfers`, the runtime performs them (``simulator.transfers.perform``) and
reports each with :meth:`FirmwareCalls.transfer_finished`. A job not reported within its ``timeout_s`` (plus
TRANSFER_GRACE_S) counts as a failed attempt, so a runtime that performs no transfers cannot hang a flow.

Each transfer is tried ``1 + retries`` times, ``retryInterval`` seconds apart (OCTT TC_045_2 sends retries 0 and
still expects one attempt, as EVerest counts them). The flows, as TC_044_1/2/3 and TC_045_1/2 expect:

* firmware: at retrieveDate Downloading; Downloaded, or DownloadFailed once the attempts are used up. After the
  download the station stops taking new sessions and every connector goes Unavailable; a connector with a
  transaction follows when it ends (§5.19 lets the charge point wait for it). With no transaction left:
  Installing, a reboot (BootNotification), the connectors' statuses, then Installed, or InstallationFailed
  (SimFirmwareInstall Fail). The next BootNotification carries the new firmwareVersion, taken from the file name
  of ``location`` (``.../fw-2.1.0.bin`` installs ``fw-2.1.0``).
* diagnostics: GetDiagnostics.conf names the file, then Uploading; Uploaded, or UploadFailed. The file is a text
  report of the station built when the upload starts: identity, connectors, configuration, and the dropped
  messages and transfers between startTime and stopTime.

A triggered notification (§5.17) reports the status of the flow under way, Idle once its last status has been
sent (§4.4, §4.5: Idle only in triggered notifications). SimFirmwareDownload / SimDiagnosticsUpload ``Fail``
make every attempt fail without a transfer (TC_044_2, TC_045_2 without a broken server).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from ocppj.frames import ErrorCode
from ocppj.timefmt import format_time, parse_time
from simulator.model import payloads
from simulator.model.base import ACCEPTED, Handler, PendingReset, keep_last
from simulator.model.calls import CallRefused
from simulator.model.config import FAIL, FIRMWARE_MANAGEMENT
from simulator.model.connector import Connector
from simulator.model.machine import StationMachine
from simulator.model.queue import Entry

TRANSFER_TIMEOUT_S = 120.0
"""How long a runtime may take over one transfer (it should give up by then itself)."""

TRANSFER_GRACE_S = 5.0
"""After TRANSFER_TIMEOUT_S, how long the model waits for the report before counting the attempt failed."""

FIRMWARE_MAX_BYTES = 64 * 1024 * 1024
"""The largest firmware image the station takes; a larger download fails."""

FIRMWARE_INSTALL_S = 5.0
"""How long Installing lasts before the station reboots into the new firmware."""

DEFAULT_RETRY_INTERVAL_S = 30
"""Between attempts when the request gives no retryInterval (§6: "left to the Charge Point")."""

TransferKind = Literal["download", "upload"]
DOWNLOAD: TransferKind = "download"
UPLOAD: TransferKind = "upload"


@dataclass(frozen=True)
class TransferJob:
    """One transfer for the runtime: a ``download`` is an HTTP(S) GET of ``url`` whose body may not exceed
    ``max_bytes``; an ``upload`` sends ``body`` to ``url`` (see ``simulator.transfers``). ``timeout_s`` bounds the
    whole transfer. Report it with ``ChargePoint.transfer_finished(job_id, ok=..., detail=..., now=...)``."""

    job_id: int
    kind: TransferKind
    url: str
    timeout_s: float
    max_bytes: int = 0
    body: bytes = b""
    content_type: str = ""


@dataclass(frozen=True)
class TransferReport:
    """What became of one attempt: the runtime's report, a configured failure, or a model-side timeout."""

    job_id: int
    kind: str
    url: str
    ok: bool
    detail: str
    at: float


@dataclass(eq=False)
class Attempts:
    """A transfer with its retries (§6 UpdateFirmware.req / GetDiagnostics.req retries, retryInterval)."""

    location: str
    attempts_left: int
    retry_interval_s: int
    next_attempt_at: float | None = None
    job: TransferJob | None = None
    job_deadline: float | None = None
    started: bool = False  # Downloading/Uploading has been sent


@dataclass(eq=False)
class FirmwareUpdate(Attempts):
    phase: Literal["download", "downloaded", "installing"] = "download"


@dataclass(eq=False)
class DiagnosticsUpload(Attempts):
    file_name: str = ""
    start_time: float | None = None
    stop_time: float | None = None

    def covers(self, at: float) -> bool:
        """Whether what happened at ``at`` goes into the file (between startTime and stopTime, §6)."""
        return (self.start_time is None or at >= self.start_time) and (self.stop_time is None or at <= self.stop_time)


def upload_url(location: str, file_name: str) -> str:
    """Where the file goes: ``location`` is a directory URI (§6 GetDiagnostics.req), so a location whose path
    ends with ``/`` (or has none) gets the file name appended; any other is taken as the file's own URL. This
    is what ``curl --upload-file FILE URL`` does, which chargers built on EVerest use for diagnostics."""
    parts = urlsplit(location)
    if parts.path and not parts.path.endswith("/"):
        return location
    return urlunsplit(parts._replace(path=(parts.path or "/") + quote(file_name)))


def firmware_version_of(location: str, current: str) -> str:
    """The version an image installs: its file name without extensions such as ``.bin`` or ``.tar.gz`` (a
    version's own dots stay), at most 50 characters (§6.2 firmwareVersion); the current one for a nameless URL."""
    name = PurePosixPath(unquote(urlsplit(location).path)).name
    while re.search(r"\.[A-Za-z]+$", name):
        name = name.rsplit(".", 1)[0]
    return name[:50] if name else current


def diagnostics_file_name(station_id: str, at: float) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", station_id)[:200]
    return f"{safe}-diagnostics-{datetime.fromtimestamp(at, UTC).strftime('%Y%m%dT%H%M%SZ')}.txt"


class FirmwareCalls(StationMachine):
    def _firmware_handlers(self) -> dict[str, Handler]:
        return {"UpdateFirmware": self._on_update_firmware, "GetDiagnostics": self._on_get_diagnostics}

    # ------------------------------------------------------------------ the runtime's side

    def take_transfers(self, now: float) -> tuple[TransferJob, ...]:
        """The transfers to start now, each handed out once, oldest first."""
        self._advance(now)
        ready, self._transfers_ready = tuple(self._transfers_ready), []
        return ready

    def transfer_wanted(self, job_id: int) -> bool:
        """False once the model no longer waits for the job (superseded, timed out, the station went down):
        the runtime may cancel it, and its report will be ignored."""
        return any(flow is not None and flow.job is not None and flow.job.job_id == job_id for flow in self._flows())

    def transfer_finished(self, job_id: int, *, ok: bool, detail: str, now: float) -> None:
        """The runtime's report of a job: ``ok`` and a human-readable ``detail`` (size and digest, or why it
        failed). A report of a job no longer wanted is ignored."""
        self._advance(now)
        for flow in self._flows():
            if flow is not None and flow.job is not None and flow.job.job_id == job_id:
                self._end_job(flow, ok, detail, now)
                self._attempt_done(flow, ok, now)
                return

    @property
    def transfer_reports(self) -> tuple[TransferReport, ...]:
        """Every attempt's outcome, oldest first (the last DROPPED_HISTORY of them)."""
        return tuple(self._transfer_reports)

    # ------------------------------------------------------------------ CSMS calls

    def _on_update_firmware(self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None) -> dict[str, Any]:
        """§5.19: always an (empty) UpdateFirmware.conf; the download starts at retrieveDate, at once when that
        has passed. A new request replaces an update still downloading or waiting for transactions; one that
        arrives while installing is ignored. Without the profile: CALLERROR NotSupported."""
        supported = self._config.supports(FIRMWARE_MANAGEMENT)
        if not supported and answer is None:
            raise CallRefused(ErrorCode.NOT_SUPPORTED.value, "the FirmwareManagement profile is not supported")
        reply = answer if answer is not None else {}
        current = self._firmware
        if supported and (current is None or current.phase != "installing"):
            self._drop_flow(current, now)
            update = FirmwareUpdate(payload["location"], *self._attempt_counts(payload))
            self._firmware = update
            retrieve_at = parse_time(payload["retrieveDate"])
            if retrieve_at > now:
                update.next_attempt_at = retrieve_at
            else:
                self._begin_attempt(update, now)
        return reply

    def _on_get_diagnostics(self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None) -> dict[str, Any]:
        """§5.6 (TC_045_1): GetDiagnostics.conf names the file, whose upload starts at once and replaces one
        under way. An imposed answer without fileName ("no diagnostics available") uploads nothing; one with a
        fileName uploads under that name. Without the profile: CALLERROR NotSupported."""
        supported = self._config.supports(FIRMWARE_MANAGEMENT)
        if not supported and answer is None:
            raise CallRefused(ErrorCode.NOT_SUPPORTED.value, "the FirmwareManagement profile is not supported")
        reply = answer if answer is not None else {"fileName": diagnostics_file_name(self._spec.station_id, now)}
        file_name = reply.get("fileName")
        if supported and isinstance(file_name, str) and file_name:
            self._drop_flow(self._diagnostics, now)
            start, stop = payload.get("startTime"), payload.get("stopTime")
            upload = DiagnosticsUpload(
                payload["location"],
                *self._attempt_counts(payload),
                file_name=file_name,
                start_time=None if start is None else parse_time(start),
                stop_time=None if stop is None else parse_time(stop),
            )
            self._diagnostics = upload
            self._begin_attempt(upload, now)
        return reply

    @staticmethod
    def _attempt_counts(payload: dict[str, Any]) -> tuple[int, int]:
        retries = payload.get("retries")
        interval = payload.get("retryInterval")
        return 1 + max(0, retries or 0), DEFAULT_RETRY_INTERVAL_S if interval is None else max(0, interval)

    # ------------------------------------------------------------------ attempts

    def _flows(self) -> tuple[Attempts | None, ...]:
        return (self._firmware, self._diagnostics)

    def _begin_attempt(self, flow: Attempts, at: float) -> None:
        if self._down_until is not None and self._down_until > at:
            flow.next_attempt_at = self._down_until  # not while the station is off
            return
        flow.next_attempt_at = None
        flow.attempts_left -= 1
        firmware = isinstance(flow, FirmwareUpdate)
        if not flow.started:
            flow.started = True
            self._notify(flow, "Downloading" if firmware else "Uploading", at)
        job = self._new_job(flow, at)
        setting = "SimFirmwareDownload" if firmware else "SimDiagnosticsUpload"
        if self._config.get(setting) == FAIL:
            self._report(job, False, f"{setting} is {FAIL}: the attempt fails without a transfer", at)
            self._attempt_done(flow, False, at)
            return
        flow.job, flow.job_deadline = job, at + job.timeout_s + TRANSFER_GRACE_S
        self._transfers_ready.append(job)

    def _new_job(self, flow: Attempts, at: float) -> TransferJob:
        job_id, self._next_job_id = self._next_job_id, self._next_job_id + 1
        if isinstance(flow, DiagnosticsUpload):
            return TransferJob(
                job_id,
                UPLOAD,
                upload_url(flow.location, flow.file_name),
                TRANSFER_TIMEOUT_S,
                body=self._diagnostics_document(flow, at),
                content_type="text/plain; charset=utf-8",
            )
        return TransferJob(job_id, DOWNLOAD, flow.location, TRANSFER_TIMEOUT_S, max_bytes=FIRMWARE_MAX_BYTES)

    def _attempt_done(self, flow: Attempts, ok: bool, at: float) -> None:
        if not ok and flow.attempts_left > 0:
            if flow.retry_interval_s > 0:
                flow.next_attempt_at = at + flow.retry_interval_s
            else:
                self._begin_attempt(flow, at)
            return
        self._transfer_ended(flow, ok, at)

    def _transfer_ended(self, flow: Attempts, ok: bool, at: float) -> None:
        """The flow's transfer succeeded, or failed with no attempt left (the security whitepaper's flows extend
        this for theirs)."""
        if isinstance(flow, FirmwareUpdate):
            if ok:
                self._downloaded(flow, at)
            else:
                self._firmware = None
                self._notify(flow, "DownloadFailed", at, final=True)
        else:
            self._diagnostics = None
            self._notify(flow, "Uploaded" if ok else "UploadFailed", at, final=True)

    def _job_overdue(self, flow: Attempts, at: float) -> None:
        self._end_job(
            flow, False, f"no result from the runtime within {TRANSFER_TIMEOUT_S + TRANSFER_GRACE_S:.0f} s", at
        )
        self._attempt_done(flow, False, at)

    def _drop_flow(self, flow: Attempts | None, at: float) -> None:
        """A flow replaced by a new request: its job is no longer wanted, and a downloaded image waiting for
        transactions gives the connectors back."""
        if flow is None:
            return
        if flow.job is not None:
            self._end_job(flow, False, "superseded by a new request", at)
        if isinstance(flow, FirmwareUpdate) and flow.phase == "downloaded":
            self._set_out_of_service(False, at)

    def _end_job(self, flow: Attempts, ok: bool, detail: str, at: float) -> None:
        """The flow's job is over, whichever way: recorded, and no longer handed out if it was not yet."""
        job = flow.job
        assert job is not None
        self._report(job, ok, detail, at)
        self._transfers_ready = [ready for ready in self._transfers_ready if ready is not job]
        flow.job, flow.job_deadline = None, None

    def _report(self, job: TransferJob, ok: bool, detail: str, at: float) -> None:
        keep_last(self._transfer_reports, TransferReport(job.job_id, job.kind, job.url, ok, detail, at))

    def _notify(self, flow: Attempts, status: str, at: float, *, final: bool = False) -> None:
        """A FirmwareStatusNotification / DiagnosticsStatusNotification; after the last one of a flow a
        triggered notification reports Idle."""
        after = "Idle" if final else status
        if isinstance(flow, FirmwareUpdate):
            self._firmware_status = after
            self._queue_entry(Entry("FirmwareStatusNotification", payloads.firmware_status(status), at))
        else:
            self._diagnostics_status = after
            self._queue_entry(Entry("DiagnosticsStatusNotification", payloads.diagnostics_status(status), at))

    # ------------------------------------------------------------------ installation

    def _downloaded(self, update: FirmwareUpdate, at: float) -> None:
        update.phase = "downloaded"
        self._notify(update, "Downloaded", at)
        self._set_out_of_service(True, at)
        self._install_when_idle(at)

    def _set_out_of_service(self, value: bool, at: float) -> None:
        self._out_of_service = value
        for connector in self._connectors:
            self._sync(connector, at)

    def _install_when_idle(self, at: float) -> None:
        """Install once no transaction runs (§5.19); the reboot into the new firmware is a hard reset, which
        waits for the Installing notification to be delivered."""
        update = self._firmware
        if update is None or update.phase != "downloaded":
            return
        if any(connector.transaction is not None for connector in self._connectors[1:]):
            return
        update.phase = "installing"
        self._notify(update, "Installing", at)
        if self._reset is None:
            self._reset = PendingReset("Hard", at + FIRMWARE_INSTALL_S)

    def _transaction_ended(self, connector: Connector, at: float) -> None:
        super()._transaction_ended(connector, at)
        self._install_when_idle(at)

    def _go_down(self, at: float, reason: str) -> None:
        """A reboot completes an installation (into the new firmware unless SimFirmwareInstall is Fail) and
        ends the transfers under way, as failed attempts."""
        super()._go_down(at, reason)
        update = self._firmware
        if update is not None and update.phase == "installing":
            installed = self._config.get("SimFirmwareInstall") != FAIL
            if installed:
                version = firmware_version_of(update.location, self._spec.firmware_version)
                self._spec = dataclasses.replace(self._spec, firmware_version=version)
            self._firmware_report = "Installed" if installed else "InstallationFailed"
            self._firmware = None
            self._out_of_service = False
        for flow in self._flows():
            if flow is not None and flow.job is not None:
                self._end_job(flow, False, f"the station went down ({reason})", at)
                self._attempt_done(flow, False, at)

    def _power_on(self, at: float) -> None:
        """A downloaded image whose transactions a power loss ended is installed now."""
        super()._power_on(at)
        self._install_when_idle(at)

    def _boot_answered(self, payload: dict[str, Any], at: float) -> bool:
        """After the reboot into new firmware: BootNotification, the connectors' statuses, then Installed or
        InstallationFailed (TC_044_1, TC_044_3)."""
        usable = super()._boot_answered(payload, at)
        if usable and self._registration == ACCEPTED and self._firmware_report is not None:
            self._queue_entry(Entry("FirmwareStatusNotification", payloads.firmware_status(self._firmware_report), at))
            self._firmware_report = None
            self._firmware_status = "Idle"
        return usable

    def _timers(self) -> list[tuple[float, Callable[[float], None]]]:
        timers = super()._timers()
        for flow in self._flows():
            if flow is None:
                continue
            if flow.next_attempt_at is not None:
                timers.append((flow.next_attempt_at, functools.partial(self._begin_attempt, flow)))
            if flow.job_deadline is not None:
                timers.append((flow.job_deadline, functools.partial(self._job_overdue, flow)))
        return timers

    # ------------------------------------------------------------------ the diagnostics file

    def _diagnostics_document(self, upload: DiagnosticsUpload, at: float) -> bytes:
        within = upload.covers

        def when(t: float | None) -> str:
            return "-" if t is None else format_time(t)

        spec = self._spec
        lines = [
            f"Diagnostics of charge point {spec.station_id}",
            f"vendor: {spec.vendor}  model: {spec.model}  serial: {spec.serial_number or '-'}",
            f"firmware: {spec.firmware_version}",
            f"generated: {format_time(at)}  covering: {when(upload.start_time)} .. {when(upload.stop_time)}",
            f"registration: {self._registration or '-'}  connected: {self._connected}",
            "",
            "[connectors]",
        ]
        for connector in self._connectors:
            tx = connector.transaction
            running = "" if tx is None else f"  transaction {tx.transaction_id} ({tx.id_tag})"
            lines.append(f"{connector.connector_id}: {connector.status} {connector.error_code}{running}")
        lines += ["", "[configuration]"]
        lines += [f"{key}={value}" for key, value in self._config.values().items()]
        lines += ["", "[dropped messages]"]
        lines += [f"{format_time(d.at)} {d.action}: {d.reason}" for d in self._dropped if within(d.at)]
        lines += ["", "[transfers]"]
        lines += [
            f"{format_time(r.at)} {r.kind} {r.url}: {'ok' if r.ok else 'failed'} ({r.detail})"
            for r in self._transfer_reports
            if within(r.at)
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")
