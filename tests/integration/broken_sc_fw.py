"""Broken variants of the Smart Charging and Firmware Management scenarios, merged into
``test_suite_bundled.BROKEN``: each breaks the CSMS CALL or answer its scenario checks, on the wire, so the
scenario must FAIL at that step (case id -> mutation, text of the failure, action of the failing step)."""

from __future__ import annotations

from typing import Any

from tests.integration.support import Mutation, call_error_for, csms_call

ELSEWHERE = "http://127.0.0.1:9/elsewhere/"  # not the test data's location (nothing listens on port 9)


def _period(payload: dict[str, Any], profile_key: str, **change: Any) -> dict[str, Any]:
    """The request with its profile's first schedule period changed."""
    profile = payload[profile_key]
    schedule = profile["chargingSchedule"]
    first, *rest = schedule["chargingSchedulePeriod"]
    periods = [{**first, **change}, *rest]
    return {**payload, profile_key: {**profile, "chargingSchedule": {**schedule, "chargingSchedulePeriod": periods}}}


BROKEN_SC_FW: dict[str, tuple[Mutation, str, str]] = {
    # TC_056: a limit of 16.0 A where the test data says 6.0 A.
    "TC_056_CSMS": (
        csms_call("SetChargingProfile", lambda p: _period(p, "csChargingProfiles", limit=16.0)),
        "limit",
        "SetChargingProfile",
    ),
    # TC_057: a TxProfile for a transactionId the CSMS did not give.
    "TC_057_CSMS": (
        csms_call(
            "SetChargingProfile",
            lambda p: {
                **p,
                "csChargingProfiles": {
                    **p["csChargingProfiles"],
                    "transactionId": p["csChargingProfiles"]["transactionId"] + 1000,
                },
            },
        ),
        "transactionId",
        "SetChargingProfile",
    ),
    # TC_059: the RemoteStart's profile is Absolute, not Relative (SteVe's IT sends that, reference §2.6).
    "TC_059_CSMS": (
        csms_call(
            "RemoteStartTransaction",
            lambda p: {**p, "chargingProfile": {**p["chargingProfile"], "chargingProfileKind": "Absolute"}},
        ),
        "chargingProfileKind",
        "RemoteStartTransaction",
    ),
    # TC_066: a duration other than the configured one.
    "TC_066_CSMS": (
        csms_call("GetCompositeSchedule", lambda p: {**p, "duration": 60}),
        "duration",
        "GetCompositeSchedule",
    ),
    # TC_067: a CSMS that cannot send an empty ClearChargingProfile and names connector 0 instead.
    "TC_067_CSMS": (
        csms_call("ClearChargingProfile", lambda p: p or {"connectorId": 0}),
        "must be absent",
        "ClearChargingProfile",
    ),
    # TC_044_1: the firmware location is not the one of the test data.
    "TC_044_1_CSMS": (
        csms_call("UpdateFirmware", lambda p: {**p, "location": ELSEWHERE + "firmware-1.1.0.bin"}),
        "location",
        "UpdateFirmware",
    ),
    # TC_044_2: a CALLERROR for the DownloadFailed notification.
    "TC_044_2_CSMS": (
        call_error_for("FirmwareStatusNotification", when=lambda p: p["status"] == "DownloadFailed"),
        "CALLERROR",
        "FirmwareStatusNotification",
    ),
    # TC_044_3: a CALLERROR for the InstallationFailed notification after the reboot.
    "TC_044_3_CSMS": (
        call_error_for("FirmwareStatusNotification", when=lambda p: p["status"] == "InstallationFailed"),
        "CALLERROR",
        "FirmwareStatusNotification",
    ),
    # TC_045_1: the diagnostics location is not the one of the test data.
    "TC_045_1_CSMS": (
        csms_call("GetDiagnostics", lambda p: {**p, "location": ELSEWHERE}),
        "location",
        "GetDiagnostics",
    ),
    # TC_045_2: a CALLERROR for the UploadFailed notification.
    "TC_045_2_CSMS": (
        call_error_for("DiagnosticsStatusNotification", when=lambda p: p["status"] == "UploadFailed"),
        "CALLERROR",
        "DiagnosticsStatusNotification",
    ),
}
