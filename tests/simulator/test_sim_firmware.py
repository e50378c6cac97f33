"""Firmware Management: firmware update and diagnostics (OCPP 1.6 §4.4, §4.5, §5.6, §5.19; TC_044_x, TC_045_x).

The fake runtime here performs no I/O: a test takes the transfer jobs the station hands out and reports them.
"""

from __future__ import annotations

from typing import Any

import pytest
from sim_kit import T0, Error, Sim, booted, charging

from ocppj.timefmt import format_time
from simulator.model import REBOOT_DELAY_S, TransferJob
from simulator.model.firmware import (
    FIRMWARE_INSTALL_S,
    FIRMWARE_MAX_BYTES,
    TRANSFER_GRACE_S,
    TRANSFER_TIMEOUT_S,
    diagnostics_file_name,
    firmware_version_of,
    upload_url,
)

WITHOUT_FIRMWARE = {"SupportedFeatureProfiles": "Core,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"}
FIRMWARE_URL = "https://firmware.example/images/sim-2.1.0.bin"


def update_firmware(sim: Sim, *, retrieve_in: float = 0, **fields: Any) -> None:
    payload = {"location": FIRMWARE_URL, "retrieveDate": format_time(sim.now + retrieve_in), **fields}
    assert sim.call("UpdateFirmware", payload) == {}


def get_diagnostics(sim: Sim, location: str = "https://csms.example/upload/", **fields: Any) -> dict[str, Any]:
    return sim.call("GetDiagnostics", {"location": location, **fields})


def jobs(sim: Sim) -> tuple[TransferJob, ...]:
    return sim.cp.take_transfers(sim.now)


def finish(sim: Sim, job: TransferJob, *, ok: bool, detail: str = "done") -> None:
    sim.cp.transfer_finished(job.job_id, ok=ok, detail=detail, now=sim.now)
    sim.follow()


def notifications(sim: Sim) -> list[str]:
    """The flow, with firmware and diagnostics notifications shown with their status."""
    shown = []
    for sent in sim.take():
        if sent.action in ("FirmwareStatusNotification", "DiagnosticsStatusNotification"):
            shown.append(f"{sent.action}:{sent.payload['status']}")
        elif sent.action == "StatusNotification":
            shown.append(f"StatusNotification:{sent.payload['connectorId']}:{sent.payload['status']}")
        else:
            shown.append(sent.action)
    return shown


def download(sim: Sim, *, ok: bool = True) -> TransferJob:
    (job,) = jobs(sim)
    assert job.kind == "download"
    finish(sim, job, ok=ok)
    return job


# ------------------------------------------------------------------ firmware update


def test_tc_044_1_download_and_install() -> None:
    sim = booted(connectors=1)
    update_firmware(sim, retrieve_in=60)
    assert sim.flow() == []
    assert jobs(sim) == ()
    sim.advance(60)
    assert notifications(sim) == ["FirmwareStatusNotification:Downloading"]
    (job,) = jobs(sim)
    assert (job.kind, job.url, job.max_bytes, job.timeout_s) == ("download", FIRMWARE_URL, FIRMWARE_MAX_BYTES, 120.0)
    assert sim.cp.transfer_wanted(job.job_id)
    finish(sim, job, ok=True, detail="1234 bytes")
    assert notifications(sim) == [
        "FirmwareStatusNotification:Downloaded",
        "StatusNotification:0:Unavailable",
        "StatusNotification:1:Unavailable",
        "FirmwareStatusNotification:Installing",
    ]
    assert not sim.cp.transfer_wanted(job.job_id)
    sim.advance(FIRMWARE_INSTALL_S)
    assert sim.cp.registration is None  # rebooting
    sim.advance(REBOOT_DELAY_S)
    sent = sim.take()
    assert sent[0].action == "BootNotification"
    assert sent[0].payload["firmwareVersion"] == "sim-2.1.0"
    assert [f"{s.action}:{s.payload['status']}" for s in sent[1:]] == [
        "StatusNotification:Available",
        "StatusNotification:Available",
        "FirmwareStatusNotification:Installed",
    ]
    assert sim.cp.spec.firmware_version == "sim-2.1.0"
    sim.call("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"})
    assert notifications(sim) == ["FirmwareStatusNotification:Idle"]
    assert [(r.job_id, r.ok, r.detail) for r in sim.cp.transfer_reports] == [(job.job_id, True, "1234 bytes")]


def test_retrieve_date_in_the_past_downloads_at_once() -> None:
    sim = booted()
    update_firmware(sim, retrieve_in=-3600)
    assert notifications(sim) == ["FirmwareStatusNotification:Downloading"]
    assert len(jobs(sim)) == 1


def test_tc_044_2_configured_download_failure() -> None:
    sim = booted(config={"SimFirmwareDownload": "Fail"})
    update_firmware(sim)
    assert notifications(sim) == ["FirmwareStatusNotification:Downloading", "FirmwareStatusNotification:DownloadFailed"]
    assert jobs(sim) == ()
    assert "SimFirmwareDownload is Fail" in sim.cp.transfer_reports[0].detail
    sim.call("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"})
    assert notifications(sim) == ["FirmwareStatusNotification:Idle"]


def test_download_retries_then_fails() -> None:
    """retries 2: three attempts retryInterval apart; one Downloading, one DownloadFailed."""
    sim = booted()
    update_firmware(sim, retries=2, retryInterval=30)
    assert notifications(sim) == ["FirmwareStatusNotification:Downloading"]
    for _ in range(2):
        download(sim, ok=False)
        sim.advance(29)
        assert jobs(sim) == ()
        sim.advance(1)
    download(sim, ok=False)
    assert notifications(sim) == ["FirmwareStatusNotification:DownloadFailed"]
    assert [r.ok for r in sim.cp.transfer_reports] == [False, False, False]
    sim.advance(600)
    assert jobs(sim) == ()


def test_configured_failure_honours_the_retries() -> None:
    sim = booted(config={"SimFirmwareDownload": "Fail"})
    update_firmware(sim, retries=1)  # retryInterval absent: the station's own 30 s
    assert notifications(sim) == ["FirmwareStatusNotification:Downloading"]
    sim.advance(30)
    assert notifications(sim) == ["FirmwareStatusNotification:DownloadFailed"]


def test_retry_interval_0_retries_at_once() -> None:
    sim = booted()
    update_firmware(sim, retries=1, retryInterval=0)
    download(sim, ok=False)
    download(sim, ok=True)
    assert notifications(sim)[:2] == ["FirmwareStatusNotification:Downloading", "FirmwareStatusNotification:Downloaded"]


def test_download_succeeds_on_a_retry() -> None:
    sim = booted()
    update_firmware(sim, retries=3, retryInterval=10)
    download(sim, ok=False)
    sim.advance(10)
    download(sim, ok=True)
    assert "FirmwareStatusNotification:Downloaded" in notifications(sim)


def test_unreported_job_times_out() -> None:
    sim = booted()
    update_firmware(sim)
    (job,) = jobs(sim)
    sim.advance(TRANSFER_TIMEOUT_S + TRANSFER_GRACE_S - 1)
    assert sim.cp.transfer_wanted(job.job_id)
    sim.advance(1)
    assert not sim.cp.transfer_wanted(job.job_id)
    assert notifications(sim)[-1] == "FirmwareStatusNotification:DownloadFailed"
    finish(sim, job, ok=True)  # too late: ignored
    assert [r.detail for r in sim.cp.transfer_reports] == ["no result from the runtime within 125 s"]
    assert notifications(sim) == []


def test_a_job_never_taken_is_not_handed_out_once_overdue() -> None:
    sim = booted()
    update_firmware(sim, retries=1, retryInterval=10)
    sim.advance(TRANSFER_TIMEOUT_S + TRANSFER_GRACE_S + 10)
    (retry,) = jobs(sim)  # only the retry: the first attempt's job is gone with it
    assert sim.cp.transfer_wanted(retry.job_id)
    assert [r.job_id for r in sim.cp.transfer_reports] == [retry.job_id - 1]


def test_tc_044_3_installation_failed() -> None:
    sim = booted(config={"SimFirmwareInstall": "Fail"})
    update_firmware(sim)
    download(sim)
    sim.advance(FIRMWARE_INSTALL_S + REBOOT_DELAY_S)
    flow = notifications(sim)
    assert flow[-4:] == [
        "BootNotification",
        "StatusNotification:0:Available",
        "StatusNotification:1:Available",
        "FirmwareStatusNotification:InstallationFailed",
    ]
    assert sim.cp.spec.firmware_version == "1.0.0"


def test_installation_waits_for_the_running_transaction() -> None:
    sim = charging()
    update_firmware(sim)
    download(sim)
    assert notifications(sim) == [
        "FirmwareStatusNotification:Downloading",
        "FirmwareStatusNotification:Downloaded",
        "StatusNotification:0:Unavailable",
    ]
    assert sim.cp.connector_status(1) == "Charging"
    sim.advance(3600)
    assert sim.cp.registration == "Accepted"  # no reboot while charging
    sim.token("VALID")
    assert notifications(sim)[-3:] == [
        "StopTransaction",
        "StatusNotification:1:Finishing",
        "FirmwareStatusNotification:Installing",
    ]
    sim.unplug(1)
    assert notifications(sim) == ["StatusNotification:1:Unavailable"]
    sim.advance(FIRMWARE_INSTALL_S + REBOOT_DELAY_S)
    assert notifications(sim)[-1] == "FirmwareStatusNotification:Installed"


def test_no_new_sessions_once_downloaded() -> None:
    sim = booted(connectors=2)
    sim.plug(1)
    sim.token("VALID", 1)
    update_firmware(sim)
    download(sim)
    sim.take()
    assert sim.call("RemoteStartTransaction", {"idTag": "OTHER", "connectorId": 2}) == {"status": "Rejected"}
    reserve = {"connectorId": 2, "expiryDate": format_time(sim.now + 60), "idTag": "OTHER", "reservationId": 1}
    assert sim.call("ReserveNow", reserve) == {"status": "Unavailable"}
    sim.plug(2)
    sim.token("OTHER", 2)
    assert sim.cp.transaction_id(2) is None


def test_a_new_update_replaces_one_still_downloading() -> None:
    sim = booted()
    update_firmware(sim)
    (first,) = jobs(sim)
    sim.call(
        "UpdateFirmware", {"location": "https://firmware.example/sim-3.0.0.bin", "retrieveDate": format_time(sim.now)}
    )
    assert not sim.cp.transfer_wanted(first.job_id)
    finish(sim, first, ok=True)  # ignored
    (second,) = jobs(sim)
    assert second.url == "https://firmware.example/sim-3.0.0.bin"
    finish(sim, second, ok=True)
    sim.advance(FIRMWARE_INSTALL_S + REBOOT_DELAY_S)
    assert sim.cp.spec.firmware_version == "sim-3.0.0"
    assert [r.detail for r in sim.cp.transfer_reports] == ["superseded by a new request", "done"]


def test_a_new_update_gives_back_connectors_held_for_a_waiting_install() -> None:
    sim = charging()
    update_firmware(sim)
    download(sim)
    sim.take()
    update_firmware(sim, retrieve_in=600)
    assert notifications(sim) == ["StatusNotification:0:Available"]


def test_an_update_during_installation_is_ignored() -> None:
    sim = booted()
    update_firmware(sim)
    download(sim)
    sim.take()
    update_firmware(sim)
    assert jobs(sim) == ()
    sim.advance(FIRMWARE_INSTALL_S + REBOOT_DELAY_S)
    assert sim.cp.spec.firmware_version == "sim-2.1.0"


def test_triggered_status_during_the_update() -> None:
    sim = booted()
    update_firmware(sim)
    sim.take()
    sim.call("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"})
    assert notifications(sim) == ["FirmwareStatusNotification:Downloading"]
    payload = sim.cp.default_payload("FirmwareStatusNotification", connector_id=0, id_tag=None, now=sim.now)
    assert payload == {"status": "Downloading"}


def test_power_loss_during_the_download_fails_the_attempt() -> None:
    sim = booted()
    update_firmware(sim, retries=1, retryInterval=0)
    (job,) = jobs(sim)
    sim.power_cycle()
    assert not sim.cp.transfer_wanted(job.job_id)
    assert jobs(sim) == ()  # not while the station is off
    sim.advance(REBOOT_DELAY_S)
    (retry,) = jobs(sim)
    finish(sim, retry, ok=True)
    assert "FirmwareStatusNotification:Downloaded" in notifications(sim)
    assert sim.cp.transfer_reports[0].detail == "the station went down (power loss)"


def test_retry_falling_due_while_the_station_is_off_waits_for_it() -> None:
    sim = booted()
    update_firmware(sim, retries=1, retryInterval=1)
    download(sim, ok=False)
    sim.advance(0.5)
    sim.power_cycle()
    sim.advance(1)
    assert jobs(sim) == ()
    sim.advance(REBOOT_DELAY_S - 1)
    assert len(jobs(sim)) == 1


def test_power_loss_while_waiting_for_a_transaction_installs_after_the_reboot() -> None:
    sim = charging()
    update_firmware(sim)
    download(sim)
    sim.power_cycle()
    sim.advance(REBOOT_DELAY_S)
    assert "FirmwareStatusNotification:Installing" in notifications(sim)
    sim.advance(FIRMWARE_INSTALL_S + REBOOT_DELAY_S)
    assert notifications(sim)[-1] == "FirmwareStatusNotification:Installed"


def test_update_firmware_answer_override_still_updates() -> None:
    sim = booted()
    payload = {"location": FIRMWARE_URL, "retrieveDate": format_time(sim.now)}
    assert sim.call("UpdateFirmware", payload, answer={}) == {}
    assert len(jobs(sim)) == 1


def test_firmware_management_not_supported() -> None:
    sim = booted(config=WITHOUT_FIRMWARE)
    payload = {"location": FIRMWARE_URL, "retrieveDate": format_time(sim.now)}
    assert sim.refused("UpdateFirmware", payload).error_code == "NotSupported"
    assert sim.refused("GetDiagnostics", {"location": "ftp://x/"}).error_code == "NotSupported"
    assert sim.call("UpdateFirmware", payload, answer={}) == {}
    assert sim.call("GetDiagnostics", {"location": "ftp://x/"}, answer={"fileName": "x"}) == {"fileName": "x"}
    assert jobs(sim) == ()
    assert sim.flow() == []


# ------------------------------------------------------------------ diagnostics


def test_tc_045_1_get_diagnostics() -> None:
    sim = booted()
    reply = get_diagnostics(sim)
    name = f"CP-1-diagnostics-{'20260101T000000Z'}.txt"
    assert reply == {"fileName": name}
    assert notifications(sim) == ["DiagnosticsStatusNotification:Uploading"]
    (job,) = jobs(sim)
    assert (job.kind, job.url, job.content_type) == (
        "upload",
        f"https://csms.example/upload/{name}",
        "text/plain; charset=utf-8",
    )
    text = job.body.decode()
    assert "Diagnostics of charge point CP-1" in text
    assert "HeartbeatInterval=300" in text
    assert "1: Available NoError" in text
    finish(sim, job, ok=True)
    assert notifications(sim) == ["DiagnosticsStatusNotification:Uploaded"]
    sim.call("TriggerMessage", {"requestedMessage": "DiagnosticsStatusNotification"})
    assert notifications(sim) == ["DiagnosticsStatusNotification:Idle"]


def test_tc_045_2_configured_upload_failure() -> None:
    sim = booted(config={"SimDiagnosticsUpload": "Fail"})
    get_diagnostics(sim, retries=0)
    assert notifications(sim) == [
        "DiagnosticsStatusNotification:Uploading",
        "DiagnosticsStatusNotification:UploadFailed",
    ]
    assert jobs(sim) == ()


def test_upload_retries_then_fails() -> None:
    sim = booted()
    get_diagnostics(sim, retries=1, retryInterval=60)
    (job,) = jobs(sim)
    finish(sim, job, ok=False, detail="HTTP 500")
    sim.advance(60)
    (retry,) = jobs(sim)
    assert retry.job_id != job.job_id
    finish(sim, retry, ok=False)
    assert notifications(sim) == [
        "DiagnosticsStatusNotification:Uploading",
        "DiagnosticsStatusNotification:UploadFailed",
    ]


def test_diagnostics_window_selects_the_events() -> None:
    sim = booted()
    update = {"location": "https://firmware.example/a.bin", "retrieveDate": format_time(sim.now)}
    sim.call("UpdateFirmware", update)
    finish(sim, jobs(sim)[0], ok=False, detail="HTTP 404")
    sim.advance(100)
    get_diagnostics(sim, startTime=format_time(T0 + 50))
    text = jobs(sim)[0].body.decode()
    assert "HTTP 404" not in text  # the download attempt was at T0, before the window
    get_diagnostics(sim, startTime=format_time(T0), stopTime=format_time(T0 + 10))
    text = jobs(sim)[0].body.decode()
    assert "download https://firmware.example/a.bin: failed (HTTP 404)" in text
    assert f"covering: {format_time(T0)} .. {format_time(T0 + 10)}" in text


def test_diagnostics_list_dropped_messages() -> None:
    sim = booted()
    sim.cp.enqueue("DataTransfer", {"vendorId": "x"})
    sim.queue_reply("DataTransfer", Error("InternalError"))
    sim.pump()
    get_diagnostics(sim)
    assert "DataTransfer: CALLERROR InternalError" in jobs(sim)[0].body.decode()


def test_a_new_request_replaces_the_upload_under_way() -> None:
    sim = booted()
    get_diagnostics(sim)
    (first,) = jobs(sim)
    get_diagnostics(sim, location="https://elsewhere.example/logs")
    (second,) = jobs(sim)
    assert second.url == "https://elsewhere.example/logs"
    assert not sim.cp.transfer_wanted(first.job_id)
    finish(sim, second, ok=True)
    assert notifications(sim) == [
        "DiagnosticsStatusNotification:Uploading",
        "DiagnosticsStatusNotification:Uploading",
        "DiagnosticsStatusNotification:Uploaded",
    ]


@pytest.mark.parametrize(("answer", "uploads"), [({}, None), ({"fileName": "mine.log"}, "mine.log")])
def test_get_diagnostics_answer_override(answer: dict[str, Any], uploads: str | None) -> None:
    sim = booted()
    assert sim.call("GetDiagnostics", {"location": "https://csms.example/up/"}, answer=answer) == answer
    found = jobs(sim)
    assert [job.url.rsplit("/", 1)[1] for job in found] == ([] if uploads is None else [uploads])


def test_firmware_and_diagnostics_run_side_by_side() -> None:
    sim = booted()
    update_firmware(sim)
    get_diagnostics(sim)
    download_job, upload_job = jobs(sim)
    finish(sim, upload_job, ok=True)
    assert (download_job.kind, upload_job.kind) == ("download", "upload")
    assert sim.cp.transfer_wanted(download_job.job_id)


def test_power_loss_during_an_upload() -> None:
    sim = booted()
    get_diagnostics(sim)
    sim.power_cycle()
    sim.advance(REBOOT_DELAY_S)
    assert notifications(sim)[:3] == [
        "DiagnosticsStatusNotification:Uploading",
        "BootNotification",
        "DiagnosticsStatusNotification:UploadFailed",
    ]


# ------------------------------------------------------------------ pure helpers


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("https://x/fw/sim-2.1.0.bin", "sim-2.1.0"),
        ("https://x/fw/sim-2.1.0.tar.gz", "sim-2.1.0"),
        ("https://x/fw/release%201.2", "release 1.2"),
        ("ftp://x/image", "image"),
        ("https://x/", "1.0.0"),
        ("https://x/" + "v" * 60 + ".bin", "v" * 50),
    ],
)
def test_firmware_version_of(location: str, expected: str) -> None:
    assert firmware_version_of(location, "1.0.0") == expected


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("https://h/dir/", "https://h/dir/a%20b.txt"),
        ("https://h", "https://h/a%20b.txt"),
        ("https://h/dir/file.log", "https://h/dir/file.log"),
        ("https://u:p@h:8080/up/?k=v", "https://u:p@h:8080/up/a%20b.txt?k=v"),
    ],
)
def test_upload_url(location: str, expected: str) -> None:
    assert upload_url(location, "a b.txt") == expected


def test_diagnostics_file_name_is_safe_and_bounded() -> None:
    assert diagnostics_file_name("CP 1/ü", T0) == "CP_1__-diagnostics-20260101T000000Z.txt"
    assert len(diagnostics_file_name("x" * 500, T0)) <= 255
