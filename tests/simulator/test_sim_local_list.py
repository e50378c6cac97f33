"""Local Auth List Management (OCPP 1.6 §3.5.2, §5.10, §5.15, §9.2; TC_042_1/2, TC_043_x, TC_008_CS)."""

from __future__ import annotations

from typing import Any

import pytest
from sim_kit import T0, Sim, booted, charging

from ocppj.timefmt import format_time

WITHOUT_LIST = {"SupportedFeatureProfiles": "Core,FirmwareManagement,Reservation,SmartCharging,RemoteTrigger"}


def entry(id_tag: str, status: str | None = "Accepted", **info: str) -> dict[str, Any]:
    if status is None:
        return {"idTag": id_tag}
    return {"idTag": id_tag, "idTagInfo": {"status": status, **info}}


def send_list(sim: Sim, version: int, *entries: dict[str, Any], update: str = "Full") -> str:
    payload: dict[str, Any] = {"listVersion": version, "updateType": update, "localAuthorizationList": list(entries)}
    return str(sim.call("SendLocalList", payload)["status"])


def version(sim: Sim) -> int:
    return int(sim.call("GetLocalListVersion", {})["listVersion"])


def offline_start(sim: Sim, id_tag: str) -> str:
    """Present ``id_tag`` at a plugged connector while offline; the connector's status after."""
    sim.go_offline()
    sim.plug(1)
    sim.token(id_tag)
    return sim.cp.connector_status(1)


# ------------------------------------------------------------------ versions and updates


def test_tc_042_2_empty_list_has_version_0() -> None:
    assert version(booted()) == 0


def test_tc_042_1_without_the_profile_version_is_minus_1() -> None:
    assert version(booted(config=WITHOUT_LIST)) == -1


def test_tc_043_1_without_the_profile_send_is_not_supported_and_nothing_is_kept() -> None:
    sim = booted(config=WITHOUT_LIST)
    assert send_list(sim, 1, entry("LISTED")) == "NotSupported"
    assert offline_start(sim, "LISTED") == "Preparing"


def test_tc_043_4_full_update_replaces_the_list() -> None:
    sim = booted()
    assert send_list(sim, 3, entry("ONE"), entry("TWO")) == "Accepted"
    assert version(sim) == 3
    assert send_list(sim, 4, entry("THREE")) == "Accepted"
    assert version(sim) == 4
    assert offline_start(sim, "ONE") == "Preparing"
    sim.token("THREE")
    assert sim.cp.connector_status(1) == "Charging"


def test_tc_043_5_differential_adds_updates_and_removes() -> None:
    sim = booted()
    send_list(sim, 1, entry("KEEP"), entry("CHANGE"), entry("DROP"))
    changes = [entry("NEW"), entry("CHANGE", "Blocked"), entry("DROP", None)]
    assert send_list(sim, 2, *changes, update="Differential") == "Accepted"
    assert version(sim) == 2
    sim.go_offline()
    sim.plug(1)
    for refused in ("CHANGE", "DROP"):
        sim.token(refused)
        assert sim.cp.connector_status(1) == "Preparing", refused
    sim.token("NEW")
    assert sim.cp.connector_status(1) == "Charging"


def test_differential_removal_of_an_unknown_tag_is_harmless() -> None:
    sim = booted()
    send_list(sim, 1, entry("KEEP"))
    assert send_list(sim, 2, entry("NEVER_THERE", None), update="Differential") == "Accepted"
    assert version(sim) == 2


@pytest.mark.parametrize("new_version", [2, 1])
def test_tc_043_2_differential_not_newer_is_a_version_mismatch(new_version: int) -> None:
    sim = booted()
    send_list(sim, 2, entry("ONE"))
    assert send_list(sim, new_version, entry("TWO"), update="Differential") == "VersionMismatch"
    assert version(sim) == 2
    assert offline_start(sim, "TWO") == "Preparing"


def test_full_update_may_go_back_in_version() -> None:
    sim = booted()
    send_list(sim, 5, entry("ONE"))
    assert send_list(sim, 2, entry("TWO")) == "Accepted"
    assert version(sim) == 2


def test_emptied_list_has_version_0() -> None:
    sim = booted()
    send_list(sim, 5, entry("ONE"))
    assert send_list(sim, 6, entry("ONE", None), update="Differential") == "Accepted"
    assert version(sim) == 0
    assert send_list(sim, 7, entry("TWO")) == "Accepted"
    assert send_list(sim, 9) == "Accepted"  # a Full update without entries clears the list
    assert version(sim) == 0
    assert send_list(sim, 0) == "Accepted"


def test_update_type_full_without_list_member() -> None:
    sim = booted()
    send_list(sim, 1, entry("ONE"))
    assert sim.call("SendLocalList", {"listVersion": 2, "updateType": "Full"}) == {"status": "Accepted"}
    assert version(sim) == 0


@pytest.mark.parametrize(
    ("config", "entries", "list_version"),
    [
        ({"SendLocalListMaxLength": "2"}, [entry("A"), entry("B"), entry("C")], 1),
        ({"LocalAuthListMaxLength": "2"}, [entry("A"), entry("B"), entry("C")], 1),
        ({}, [entry("A"), entry("B", None)], 1),  # a Full update needs every idTagInfo
        ({}, [entry("A"), entry("a", "Blocked")], 1),  # one tag twice (idTags are case-insensitive)
        ({}, [entry("A")], 0),  # 0 says "empty" (§5.10)
        ({}, [entry("A")], -1),  # -1 says "not supported"
    ],
    ids=["send-max-length", "list-max-length", "full-without-info", "duplicate", "version-0", "negative"],
)
def test_tc_043_3_invalid_update_fails(
    config: dict[str, str], entries: list[dict[str, Any]], list_version: int
) -> None:
    sim = booted(config=config)
    send_list(sim, 1, entry("OLD"))
    assert send_list(sim, list_version, *entries) == "Failed"
    assert version(sim) == 1
    assert offline_start(sim, "OLD") == "Charging"


def test_differential_growing_beyond_the_list_capacity_fails() -> None:
    sim = booted(config={"LocalAuthListMaxLength": "2"})
    send_list(sim, 1, entry("A"), entry("B"))
    assert send_list(sim, 2, entry("C"), update="Differential") == "Failed"
    assert send_list(sim, 2, entry("C"), entry("A", None), update="Differential") == "Accepted"


def test_capacity_0_makes_every_non_empty_update_fail() -> None:
    """The way to play TC_043_3_CSMS without a reply override: a station that cannot hold any list."""
    sim = booted(config={"LocalAuthListMaxLength": "0"})
    assert send_list(sim, 2, entry("A")) == "Failed"


def test_answer_overrides() -> None:
    sim = booted()
    send_list(sim, 1, entry("ONE"))
    bad = {"listVersion": 1, "updateType": "Differential", "localAuthorizationList": [entry("TWO")]}
    assert sim.call("SendLocalList", bad, answer={"status": "Accepted"}) == {"status": "Accepted"}
    assert offline_start(sim, "TWO") == "Charging"  # an imposed Accepted applies a version mismatch
    sim = booted(config={"SendLocalListMaxLength": "1"})
    too_long = {"listVersion": 3, "updateType": "Full", "localAuthorizationList": [entry("A"), entry("B")]}
    assert sim.call("SendLocalList", too_long, answer={"status": "Accepted"}) == {"status": "Accepted"}
    assert version(sim) == 0  # but not an update the station cannot hold
    fine = {"listVersion": 3, "updateType": "Full", "localAuthorizationList": [entry("A")]}
    assert sim.call("SendLocalList", fine, answer={"status": "Failed"}) == {"status": "Failed"}
    assert version(sim) == 0
    assert sim.call("GetLocalListVersion", {}, answer={"listVersion": -1}) == {"listVersion": -1}


# ------------------------------------------------------------------ authorization with the list


def test_offline_list_before_cache() -> None:
    sim = booted()
    sim.token("VALID")  # the cache learns VALID Accepted
    sim.advance(60)
    send_list(sim, 1, entry("VALID", "Blocked"), entry("BLOCKED", "Accepted"))
    assert offline_start(sim, "VALID") == "Preparing"
    sim.token("BLOCKED")  # Blocked by the CSMS never came into the cache; the list accepts it
    assert sim.cp.connector_status(1) == "Charging"


def test_offline_cache_still_used_for_tags_not_in_the_list() -> None:
    sim = booted()
    sim.token("VALID")
    sim.advance(60)
    send_list(sim, 1, entry("OTHER"))
    assert offline_start(sim, "VALID") == "Charging"


@pytest.mark.parametrize(
    "listed",
    [
        entry("X", "Expired"),
        entry("X", "Invalid"),
        entry("X", "Accepted", expiryDate=format_time(T0 - 1)),
    ],
    ids=["status-expired", "status-invalid", "past-expiry-date"],
)
def test_offline_list_entry_that_is_not_valid_refuses(listed: dict[str, Any]) -> None:
    sim = booted(config={"AllowOfflineTxForUnknownId": "true"})
    send_list(sim, 1, listed)
    assert offline_start(sim, "X") == "Preparing"


def test_offline_list_entry_with_future_expiry_accepts() -> None:
    sim = booted()
    send_list(sim, 1, entry("X", "Accepted", expiryDate=format_time(T0 + 86_400)))
    assert offline_start(sim, "x") == "Charging"  # case-insensitive (§7.27)


def test_offline_list_ignored_without_local_authorize_offline() -> None:
    sim = booted(config={"LocalAuthorizeOffline": "false"})
    send_list(sim, 1, entry("X"))
    assert offline_start(sim, "X") == "Preparing"


def test_tc_008_online_pre_authorize_from_the_list() -> None:
    sim = booted(config={"LocalPreAuthorize": "true", "AuthorizationCacheEnabled": "false"})
    sim.csms.tags["LISTED"] = {"status": "Accepted"}
    send_list(sim, 1, entry("LISTED"))
    sim.token("LISTED")
    assert sim.flow() == ["StatusNotification:1:Preparing"]
    sim.plug(1)
    assert sim.flow() == ["StartTransaction", "StatusNotification:1:Charging"]


def test_online_pre_authorize_asks_the_csms_about_a_refused_list_entry() -> None:
    sim = booted(config={"LocalPreAuthorize": "true"})
    send_list(sim, 1, entry("VALID", "Blocked"))
    sim.token("VALID")
    assert sim.flow() == ["Authorize", "StatusNotification:1:Preparing"]


def test_online_without_pre_authorize_the_csms_decides() -> None:
    sim = booted()
    send_list(sim, 1, entry("UNKNOWN"))
    sim.token("UNKNOWN")
    assert sim.flow() == ["Authorize"]
    assert sim.cp.connector_status(1) == "Available"


def test_local_auth_list_disabled_is_kept_but_not_used() -> None:
    sim = booted(config={"LocalAuthListEnabled": "false"})
    assert send_list(sim, 4, entry("LISTED")) == "Accepted"
    assert version(sim) == 4
    assert offline_start(sim, "LISTED") == "Preparing"
    sim.go_online()
    sim.call("ChangeConfiguration", {"key": "LocalAuthListEnabled", "value": "true"})
    sim.go_offline()
    sim.token("LISTED")
    assert sim.cp.connector_status(1) == "Charging"


def test_listed_tags_are_not_added_to_the_cache() -> None:
    sim = booted()
    send_list(sim, 1, entry("VALID"), entry("OTHER", "Blocked"))
    sim.token("VALID")  # Authorize.conf Accepted: not cached, the tag is on the list (§3.5.3)
    sim.advance(60)
    sim.call("ChangeConfiguration", {"key": "LocalAuthListEnabled", "value": "false"})
    assert offline_start(sim, "VALID") == "Preparing"


def test_cache_learns_when_the_list_is_not_in_use() -> None:
    sim = booted(config={"LocalAuthListEnabled": "false"})
    send_list(sim, 1, entry("VALID", "Blocked"))
    sim.token("VALID")
    sim.advance(60)
    assert offline_start(sim, "VALID") == "Charging"


def test_offline_stop_with_a_group_tag_from_the_list() -> None:
    sim = charging(tag="GROUP_A")
    send_list(sim, 1, entry("GROUP_B", "Accepted", parentIdTag="FLEET"))
    sim.go_offline()
    sim.token("GROUP_B")
    assert sim.cp.connector_status(1) == "Finishing"


def test_clear_cache_leaves_the_list() -> None:
    sim = booted()
    send_list(sim, 2, entry("LISTED"))
    sim.call("ClearCache", {})
    assert version(sim) == 2
    assert offline_start(sim, "LISTED") == "Charging"


def test_list_survives_a_power_cycle() -> None:
    sim = booted()
    send_list(sim, 2, entry("LISTED"))
    sim.power_cycle()
    sim.advance(10)
    assert version(sim) == 2
