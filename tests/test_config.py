"""Target files: the shipped ones load; every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config import load_target, parse_target, scenario_variables
from harness.outcomes import TargetError

ROOT = Path(__file__).resolve().parents[1]


def minimal(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "endpoints": {"profile_0": {"ws_url": "ws://127.0.0.1:9000/ocpp", "api_url": "http://127.0.0.1:9000"}},
        "stations": {"default": {"id": "CP_1"}},
        "tokens": {"central": {"valid": "A", "blocked": "B", "expired": "E"}},
    }
    document.update(changes)
    return document


def test_the_shipped_targets_load(monkeypatch: pytest.MonkeyPatch) -> None:
    bundled = load_target(ROOT / "targets" / "bundled.yaml")
    assert bundled.bundled and bundled.provision and bundled.driver.preset == "bundled"
    assert set(bundled.tokens) == {"central", "iso14443", "keycode", "iso15693"}
    monkeypatch.setenv("CSMS_WS_URL", "wss://csms.example.test/ocpp")
    example = load_target(ROOT / "targets" / "example.yaml")
    station = example.station("default")
    assert (station.id, station.security_profile) == ("SerialNumbeBasic", 1)
    assert example.endpoint(station).ws_url == "wss://csms.example.test/ocpp"
    assert example.summary()["stations"]["default"]["basic_auth_password"] == "********"
    assert "OCA_OCTT_admin_test" not in repr(example)


def test_environment_defaults_apply_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_FOR_TEST", raising=False)
    target = parse_target(minimal(name="${NOT_SET_FOR_TEST:-fallback}"), "t.yaml")
    assert target.name == "fallback"


def test_variables_follow_the_token_type() -> None:
    document = minimal(tokens={"central": {"valid": "A", "blocked": "B", "expired": "E"}, "keycode": {"valid": "K"}})
    target = parse_target(document, "t.yaml")
    variables = scenario_variables(target, target.station("default"), "keycode")
    assert (variables["token"], variables["blocked_token"], variables["tokens.keycode.valid"]) == ("K", "B", "K")


def test_unknown_connector_is_the_first_connector_id_the_station_does_not_have() -> None:
    """OCTT's "NumberOfConnectors + 1" (TC_055: TriggerMessage for a connector the station lacks)."""
    target = parse_target(minimal(stations={"default": {"id": "CP_1", "connectors": 3, "connector": 2}}), "t.yaml")
    variables = scenario_variables(target, target.station("default"))
    assert (variables["connectors"], variables["unknown_connector"]) == (3, 4)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"stations": {"default": {"id": "CP_1", "conector": 2}}},
            "t.yaml: stations.default: unknown key 'conector'; did you mean 'connector'? (allowed: id, "
            "security_profile, basic_auth_password, connectors, connector, vendor, model, optional_fields, "
            "client_certificate, client_key)",
        ),
        ({"stations": {"main": {"id": "CP_1"}}}, "t.yaml: stations: missing required station role 'default'"),
        (
            {"stations": {"default": {"id": "CP_1", "connector": 3, "connectors": 2}}},
            "t.yaml: stations.default.connector: connector 3 is beyond connectors: 2",
        ),
        (
            {"stations": {"default": {"id": "CP_1", "security_profile": 1}}},
            "t.yaml: stations.default: security profile 1 needs basic_auth_password (whitepaper A00.FR.202)",
        ),
        (
            {"tokens": {"central": {"valid": "X" * 21}}},
            "t.yaml: tokens: idTag 'XXXXXXXXXXXXXXXXXXXXX' is longer than 20 characters "
            "(OCPP 1.6 IdToken is CiString20Type)",
        ),
        (
            {"profiles": ["Cor"]},
            "t.yaml: profiles: unknown value 'Cor'; did you mean 'Core'? (allowed: Core, "
            "FirmwareManagement, LocalAuthListManagement, SmartCharging, RemoteTrigger, Reservation, Security, "
            "Robustness)",
        ),
        (
            {"driver": {"kind": "htp"}},
            "t.yaml: driver.kind: unknown driver 'htp'; did you mean 'http'? (allowed: http, manual, python)",
        ),
        (
            {"endpoints": {"profile_0": {"ws_url": "http://x"}}},
            "t.yaml: endpoints.profile_0.ws_url: expected a ws:// or wss:// URL, got 'http://x'",
        ),
        ({"timeouts": {"response_s": 0}}, "t.yaml: timeouts.response_s: expected a number > 0, got 0"),
        (
            {"timeouts": {"pause_between_cases_s": -1}},
            "t.yaml: timeouts.pause_between_cases_s: expected a number >= 0, got -1",
        ),
        (
            {"test_data": {"charging_rate_unit": "kW"}},
            "t.yaml: test_data.charging_rate_unit: expected A or W (OCPP 1.6 ChargingRateUnitType), got 'kW'",
        ),
        (
            {"test_data": {"stack_levl": 2}},
            "t.yaml: test_data: unknown key 'stack_levl'; did you mean 'stack_level'? (allowed: stack_level, "
            "charging_rate_unit, limit, duration_s, start_period_s, number_phases, firmware_url, diagnostics_location, "
            "reservation_expiry_s, root_certificate, additional_root_certificate, log_location, firmware_signature, "
            "firmware_signing_certificate)",
        ),
        (
            {"profiles": ["Core", "FirmwareManagement"]},
            "t.yaml: test_data.firmware_url: the target claims FirmwareManagement, so say where the CSMS makes the "
            "station download firmware (TC_044, TC_045)",
        ),
        (
            {"profiles": ["Core", "Security"]},
            "t.yaml: test_data.root_certificate: the target claims Security, so give the root certificate file the "
            "CSMS has the station install (TC_075, TC_078, TC_080, TC_081)",
        ),
        (
            {"stations": {"default": {"id": "CP_1", "optional_fields": "no"}}},
            "t.yaml: stations.default.optional_fields: expected true or false, got 'no'",
        ),
    ],
)
def test_mistakes_name_the_file_and_key(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(TargetError) as raised:
        parse_target(minimal(**changes), "t.yaml")
    assert str(raised.value) == message


def test_a_security_target_names_each_piece_of_test_data_it_lacks(tmp_path: Path) -> None:
    """Found when the target loads, not as an ERROR in the middle of the run (the Security cases' ${test.*})."""
    pem = tmp_path / "root.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    complete = {
        "root_certificate": str(pem),
        "additional_root_certificate": str(pem),
        "firmware_url": "https://files.example.com/fw.bin",
        "firmware_signature": "c2lnbmF0dXJl",
        "firmware_signing_certificate": str(pem),
        "log_location": "https://files.example.com/logs/",
    }
    target = parse_target(minimal(profiles=["Core", "Security"], test_data=complete), "t.yaml")
    assert target.test_data.log_location == "https://files.example.com/logs/"
    for name in complete:
        lacking = {key: value for key, value in complete.items() if key != name}
        with pytest.raises(TargetError, match=rf"^t\.yaml: test_data\.{name}: the target claims Security, so give "):
            parse_target(minimal(profiles=["Core", "Security"], test_data=lacking), "t.yaml")


def test_yaml_errors_carry_the_position(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("stations: {default: {id: A}\n", encoding="utf-8")
    with pytest.raises(TargetError, match=rf"^{path}:2:1: not valid YAML"):
        load_target(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="no such target file"):
        load_target(tmp_path / "absent.yaml")


def test_a_station_role_the_target_lacks_is_named() -> None:
    target = parse_target(yaml.safe_load(yaml.safe_dump(minimal())), "t.yaml")
    with pytest.raises(TargetError, match="needs a station with role 'boot' under 'stations'"):
        target.station("boot")


# ------------------------------------------------------------------------------------------- known deviations


def test_deviations_are_read_and_matched_by_case_or_test_case_id() -> None:
    document = minimal(
        tokens={"central": {"valid": "A"}, "keycode": {"valid": "K"}},
        deviations=[
            {"case": "TC_023_2_CSMS[keycode]", "reason": "KeyCode tokens are always accepted"},
            {"case": "TC_064_CSMS", "reason": "DataTransfer answered UnknownVendorId"},
            {"case": "TC_023_2_CSMS", "reason": "every token type"},
        ],
    )
    target = parse_target(document, "t.yaml")
    exact = target.deviation("TC_023_2_CSMS[keycode]", "TC_023_2_CSMS")
    assert exact is not None and exact.reason == "KeyCode tokens are always accepted"
    any_type = target.deviation("TC_023_2_CSMS[central]", "TC_023_2_CSMS")
    assert any_type is not None and any_type.reason == "every token type"
    whole = target.deviation("TC_064_CSMS", "TC_064_CSMS")
    assert whole is not None and whole.reason == "DataTransfer answered UnknownVendorId"
    assert target.deviation("TC_003_CSMS[central]", "TC_003_CSMS") is None
    assert target.summary()["deviations"][1] == {
        "case": "TC_064_CSMS",
        "reason": "DataTransfer answered UnknownVendorId",
    }


def test_a_deviation_naming_no_known_case_gets_a_suggestion() -> None:
    target = parse_target(minimal(deviations=[{"case": "TC_064_CSM", "reason": "r"}]), "t.yaml")
    assert target.unknown_deviations(["TC_001_CSMS"], ["TC_001_CSMS", "TC_064_CSMS"]) == [
        "t.yaml: deviations[0].case: no scenario or case 'TC_064_CSM'; did you mean 'TC_064_CSMS'?"
    ]
    assert target.unknown_deviations(["TC_064_CSM"], ["TC_064_CSM"]) == []


@pytest.mark.parametrize(
    ("deviations", "message"),
    [
        (
            [{"case": "TC_064_CSMS", "reson": "x"}],
            "t.yaml: deviations[0]: unknown key 'reson'; did you mean 'reason'? (allowed: case, reason)",
        ),
        ([{"case": "TC_064_CSMS"}], "t.yaml: deviations[0]: missing required key 'reason'"),
        ([{"case": "TC_064_CSMS", "reason": " "}], "t.yaml: deviations[0].reason: say why the CSMS deviates"),
        (
            [{"case": "TC_023_2_CSMS[keykode]", "reason": "x"}],
            "t.yaml: deviations[0].case: unknown token type 'keykode'; did you mean 'keycode'? "
            "(allowed: central, iso14443, keycode, iso15693)",
        ),
        (
            [{"case": "TC_023_2_CSMS[iso15693]", "reason": "x"}],
            "t.yaml: deviations[0].case: token type 'iso15693' is not declared under 'tokens'",
        ),
        ([{"case": "TC 064", "reason": "x"}], "t.yaml: deviations[0].case: expected a case id such as TC_064_CSMS"),
        (
            [{"case": "TC_064_CSMS", "reason": "x"}, {"case": "TC_064_CSMS", "reason": "y"}],
            "t.yaml: deviations[1].case: 'TC_064_CSMS' is already declared at deviations[0]",
        ),
        ({"case": "TC_064_CSMS"}, "t.yaml: deviations: expected a list of {case, reason}, got dict"),
    ],
)
def test_a_bad_deviation_names_the_file_and_the_key(deviations: Any, message: str) -> None:
    with pytest.raises(TargetError) as error:
        parse_target(minimal(deviations=deviations), "t.yaml")
    assert str(error.value).startswith(message)


def test_driver_headers_are_masked_in_the_summary() -> None:
    target = parse_target(minimal(driver={"headers": {"Authorization": "Bearer s3cret"}}), "t.yaml")
    assert target.summary()["driver"]["headers"] == {"Authorization": "********"}
    assert "s3cret" not in repr(target.summary())


def test_test_data_become_scenario_variables_and_the_bundled_csms_serves_the_files() -> None:
    target = parse_target(minimal(test_data={"charging_rate_unit": "W", "stack_level": 3}), "t.yaml")
    variables = scenario_variables(target, target.station("default"))
    assert variables["test.limit"] == 6000.0 and variables["test.stack_level"] == 3
    assert variables["test.firmware_url"] is None
    bundled = target.with_endpoint_urls(ws_url="ws://127.0.0.1:1/ocpp", api_url="http://127.0.0.1:1")
    assert bundled.test_data.firmware_url == "http://127.0.0.1:1/files/firmware/ocpp-harness-firmware-1.1.0.bin"
    assert bundled.test_data.diagnostics_location == "http://127.0.0.1:1/files/diagnostics/"
    given = parse_target(minimal(test_data={"firmware_url": "https://fw.example/1.bin"}), "t.yaml")
    kept = given.with_endpoint_urls(ws_url="ws://127.0.0.1:1/ocpp", api_url="http://127.0.0.1:1")
    assert kept.test_data.firmware_url == "https://fw.example/1.bin"


def test_the_bundled_csms_api_token_becomes_the_driver_bearer_unless_the_target_sets_its_own() -> None:
    target = parse_target(minimal(), "t.yaml")
    assert target.driver.auth is None
    shared = target.with_api_token("tok-123")
    assert shared.driver.auth is not None and shared.driver.auth.header() == "Bearer tok-123"
    assert shared.summary()["driver"]["auth"] == {"bearer": "********"}
    own = parse_target(minimal(driver={"kind": "http", "auth": {"bearer": "mine"}}), "t.yaml")
    assert own.with_api_token("tok-123").driver.auth == own.driver.auth
