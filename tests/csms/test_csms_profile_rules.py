"""The rules of the five other certified profiles as the CSMS applies them to what it keeps, without sockets."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from csms.files import firmware_image
from csms.profile_store import InstalledProfile, LocalList, Reservation, job_state, safe_file_name, updated_entries

ACCEPTED = {"status": "Accepted"}
BLOCKED = {"status": "Blocked"}


# -- SendLocalList (OCPP 1.6 §5.15) ---------------------------------------------------------------------------------


def test_a_full_update_replaces_the_list_with_the_entries_that_have_an_id_tag_info() -> None:
    held = {"OLD": ACCEPTED, "KEPT": ACCEPTED}
    items = [{"idTag": "KEPT", "idTagInfo": BLOCKED}, {"idTag": "NEW", "idTagInfo": ACCEPTED}, {"idTag": "BARE"}]
    assert updated_entries(held, update_type="Full", items=items) == {"KEPT": BLOCKED, "NEW": ACCEPTED}
    assert updated_entries(held, update_type="Full", items=[]) == {}


def test_a_differential_update_adds_updates_and_removes() -> None:
    held = {"A": ACCEPTED, "B": ACCEPTED, "C": ACCEPTED}
    items = [{"idTag": "A", "idTagInfo": BLOCKED}, {"idTag": "B"}, {"idTag": "D", "idTagInfo": ACCEPTED}]
    assert updated_entries(held, update_type="Differential", items=items) == {
        "A": BLOCKED,
        "C": ACCEPTED,
        "D": ACCEPTED,
    }


def test_list_tags_compare_case_insensitively() -> None:
    """IdToken is a CiString20Type: a removal or update of ``abc`` is one of ``ABC``."""
    held = {"ABC": ACCEPTED, "XYZ": ACCEPTED}
    items = [{"idTag": "abc"}, {"idTag": "xyz", "idTagInfo": BLOCKED}]
    assert updated_entries(held, update_type="Differential", items=items) == {"xyz": BLOCKED}


@pytest.mark.parametrize(
    ("held", "reported", "expected"), [(0, None, 1), (4, None, 5), (4, 9, 10), (7, 2, 8), (0, -1, 1)]
)
def test_the_next_list_version_is_above_held_and_reported(held: int, reported: int | None, expected: int) -> None:
    """§5.10: -1 means the station does not support the list; a new version is above anything known."""
    assert LocalList("CP_1", held, {}, reported_version=reported).next_version == expected


# -- reservations (§5.13) -------------------------------------------------------------------------------------------


def reservation(stored_status: str, expiry_at_s: float | None) -> Reservation:
    return Reservation(
        row_id=1,
        station_id="CP_1",
        reservation_id=7,
        connector_id=1,
        id_tag="TAG",
        parent_id_tag=None,
        expiry_date="2030-01-01T00:00:00Z",
        expiry_at_s=expiry_at_s,
        stored_status=stored_status,
        station_answer="Accepted",
        message_id="m",
        requested_at_s=0.0,
        answered_at_s=0.0,
        ended_at_s=None,
        transaction_id=None,
    )


def test_an_active_reservation_expires_at_its_expiry_date() -> None:
    assert reservation("active", 100.0).status(99.9) == "active"
    assert reservation("active", 100.0).status(100.0) == "expired"
    assert reservation("active", 100.0).as_json(150.0)["ended_at"] == "1970-01-01T00:01:40.000Z"
    assert reservation("used", 100.0).status(150.0) == "used"
    assert reservation("active", None).status(1e12) == "active"  # an expiry the CSMS could not read


# -- charging profiles (§5.5, §5.16) --------------------------------------------------------------------------------


def installed(profile_id: int, connector_id: int, purpose: str, stack_level: int) -> InstalledProfile:
    return InstalledProfile(
        station_id="CP_1",
        connector_id=connector_id,
        charging_profile_id=profile_id,
        stack_level=stack_level,
        purpose=purpose,
        kind="Absolute",
        transaction_id=None,
        profile={},
        message_id="m",
        installed_at_s=0.0,
    )


@pytest.mark.parametrize(
    ("new", "replaced"),
    [
        ((1, 9, "TxProfile", 5), True),  # the same chargingProfileId, whatever else
        ((2, 1, "TxDefaultProfile", 0), True),  # the same connector, purpose and stack level
        ((2, 2, "TxDefaultProfile", 0), False),  # another connector
        ((2, 1, "TxDefaultProfile", 1), False),  # another stack level
        ((2, 1, "TxProfile", 0), False),  # another purpose
    ],
)
def test_a_new_profile_replaces_by_id_or_by_connector_purpose_and_stack_level(
    new: tuple[int, int, str, int], replaced: bool
) -> None:
    profile_id, connector_id, purpose, stack_level = new
    old = installed(1, 1, "TxDefaultProfile", 0)
    assert (
        old.replaced_by(connector_id=connector_id, profile_id=profile_id, purpose=purpose, stack_level=stack_level)
        is replaced
    )


@pytest.mark.parametrize(
    ("criteria", "cleared"),
    [
        ({}, True),  # TC_067: every field omitted clears everything
        ({"id": 3}, True),
        ({"id": 4}, False),
        ({"id": 3, "connectorId": 2}, True),  # by id alone when it is given
        ({"connectorId": 1}, True),
        ({"connectorId": 0}, False),
        ({"connectorId": 1, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 2}, True),
        ({"connectorId": 1, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 1}, False),
        ({"chargingProfilePurpose": "ChargePointMaxProfile"}, False),
        ({"stackLevel": 2}, True),
    ],
)
def test_clear_charging_profile_by_id_or_by_every_criterion(criteria: dict[str, Any], cleared: bool) -> None:
    assert installed(3, 1, "TxDefaultProfile", 2).cleared_by(criteria) is cleared


# -- firmware and diagnostics jobs (§4.4, §4.5) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "statuses", "superseded", "state"),
    [
        ("firmware", [], False, "requested"),
        ("firmware", ["Downloading", "Downloaded", "Installing"], False, "in_progress"),
        ("firmware", ["Downloading", "Downloaded", "Installing", "Installed"], False, "succeeded"),
        ("firmware", ["Downloading", "DownloadFailed"], False, "failed"),
        ("firmware", ["Downloading", "Downloaded", "Installing", "InstallationFailed"], False, "failed"),
        ("firmware", ["Downloading"], True, "superseded"),
        ("firmware", ["Installed"], True, "succeeded"),
        ("diagnostics", ["Uploading"], False, "in_progress"),
        ("diagnostics", ["Uploading", "Uploaded"], False, "succeeded"),
        ("diagnostics", ["Uploading", "UploadFailed"], False, "failed"),
        ("diagnostics", ["Installed"], False, "in_progress"),  # not a diagnostics status
    ],
)
def test_job_states(kind: Any, statuses: list[str], superseded: bool, state: str) -> None:
    assert job_state(kind, statuses=statuses, superseded=superseded) == state


def test_diagnostics_without_a_file_have_nothing_to_upload() -> None:
    """§5.6: GetDiagnostics.conf without fileName means no diagnostics are available."""
    assert job_state("diagnostics", statuses=[], superseded=False, nothing_to_upload=True) == "nothing_to_upload"


# -- files -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("CP_1-diagnostics-20240101T000000Z.txt", "CP_1-diagnostics-20240101T000000Z.txt"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("CP 1/diag ñ.log", "diag__.log"),
        (".hidden", "hidden"),
        ("..", ""),
        ("a/b/", ""),
    ],
)
def test_file_names_are_made_safe(raw: str, safe: str) -> None:
    assert safe_file_name(raw) == safe


def test_firmware_images_are_deterministic_per_name() -> None:
    image = firmware_image("ocpp-harness-firmware-1.1.0.bin")
    assert image == firmware_image("ocpp-harness-firmware-1.1.0.bin")
    assert image.startswith(b"OCPP-HARNESS FIRMWARE IMAGE\nname: ocpp-harness-firmware-1.1.0.bin\n")
    sizes = {len(firmware_image(f"fw-{n}.bin")) for n in range(20)}
    assert all(4096 <= size < 8192 for size in sizes) and len(sizes) > 1
    digests = {hashlib.sha256(firmware_image(f"fw-{n}.bin")).hexdigest() for n in range(20)}
    assert len(digests) == 20
