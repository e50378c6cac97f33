"""Configuration keys (OCPP 1.6 §9.1): GetConfiguration (§5.8), ChangeConfiguration (§5.3), spec overrides."""

from __future__ import annotations

import pytest
from sim_kit import booted

from simulator.model import CallRefused, ChargePoint, StationSpec
from simulator.model.config import SUPPORTED_FEATURE_PROFILES

# §9.1 Core keys with their accessibility and a valid and an invalid value for each read-write key.
READ_WRITE = {
    "AllowOfflineTxForUnknownId": ("true", "yes"),
    "AuthorizationCacheEnabled": ("false", "0"),
    "AuthorizeRemoteTxRequests": ("false", "maybe"),
    "ClockAlignedDataInterval": ("900", "-900"),
    "ConnectionTimeOut": ("30", "thirty"),
    "ConnectorPhaseRotation": ("0.RST,1.RTS", "1.XYZ"),
    "HeartbeatInterval": ("60", "1e3"),
    "LocalAuthListEnabled": ("false", "no"),
    "LocalAuthorizeOffline": ("false", ""),
    "LocalPreAuthorize": ("true", "on"),
    "MeterValuesAlignedData": ("Energy.Active.Import.Register,Power.Active.Import", "Voltage"),
    "MeterValuesSampledData": ("Power.Active.Import", "Bogus.Measurand"),
    "MeterValueSampleInterval": ("60", "-1"),
    "MinimumStatusDuration": ("5", "5s"),
    "ResetRetries": ("2", "-2"),
    "StopTransactionOnEVSideDisconnect": ("false", "False!"),
    "StopTransactionOnInvalidId": ("false", "nope"),
    "StopTxnAlignedData": ("Energy.Active.Import.Register", "SoC"),
    "StopTxnSampledData": ("", "Energy.Active.Import.Register,Energy.Active.Import.Register,Power.Active.Import"),
    "TransactionMessageAttempts": ("5", "1.5"),
    "TransactionMessageRetryInterval": ("30", "abc"),
    "UnlockConnectorOnEVSideDisconnect": ("false", "x"),
    "WebSocketPingInterval": ("0", "99999999999"),
    # the security whitepaper (§7.5); SecurityProfile and AuthorizationKey: test_sim_security_profile.py
    "CpoName": ("ACME Charging", "O" * 65),
}
# Read-write keys whose changes follow rules of their own (whitepaper A01, A05).
SECURITY_RULED = {"SecurityProfile", "AuthorizationKey"}
READ_ONLY = {
    "GetConfigurationMaxKeys": "50",
    "MeterValuesAlignedDataMaxLength": "2",
    "MeterValuesSampledDataMaxLength": "2",
    "NumberOfConnectors": "1",
    "StopTxnAlignedDataMaxLength": "2",
    "StopTxnSampledDataMaxLength": "2",
    "SupportedFeatureProfiles": SUPPORTED_FEATURE_PROFILES,
    # §9.2-§9.4, the other feature profiles
    "LocalAuthListMaxLength": "1000",
    "SendLocalListMaxLength": "100",
    "ReserveConnectorZeroSupported": "true",
    "ChargeProfileMaxStackLevel": "10",
    "ChargingScheduleAllowedChargingRateUnit": "Current,Power",
    "ChargingScheduleMaxPeriods": "24",
    "ConnectorSwitch3to1PhaseSupported": "false",
    "MaxChargingProfilesInstalled": "20",
    # vendor-specific: how the simulated firmware and diagnostics flows end
    "SimFirmwareDownload": "Transfer",
    "SimFirmwareInstall": "Succeed",
    "SimDiagnosticsUpload": "Transfer",
    # the security whitepaper (§7.1, §7.3, §7.4) and the simulator's keys for its flows
    "AdditionalRootCertificateCheck": "false",
    "CertificateSignedMaxChainSize": "10000",
    "CertificateStoreMaxLength": "20",
    "SimCertificateSigned": "Verify",
    "SimInstallCertificate": "Verify",
    "SimCertificateHashAlgorithm": "SHA256",
    "SimSecurityEvents": "Required",
    "SimSecurityProfileSwitch": "NextConnection",
    "SimUpdateFirmware": "Supported",
}


@pytest.mark.parametrize("payload", [{}, {"key": []}], ids=["no-key", "empty-list"])
def test_tc_019_1_get_all_keys(payload: dict[str, object]) -> None:
    reply = booted().call("GetConfiguration", dict(payload))
    assert "unknownKey" not in reply
    entries = {entry["key"]: entry for entry in reply["configurationKey"]}
    assert set(entries) == set(READ_WRITE) | set(READ_ONLY) | SECURITY_RULED
    for key in READ_WRITE:
        assert entries[key]["readonly"] is False
    for key, value in READ_ONLY.items():
        assert entries[key] == {"key": key, "readonly": True, "value": value}


def test_tc_019_2_get_specific_key() -> None:
    reply = booted().call("GetConfiguration", {"key": ["SupportedFeatureProfiles"]})
    assert reply == {
        "configurationKey": [
            {"key": "SupportedFeatureProfiles", "readonly": True, "value": SUPPORTED_FEATURE_PROFILES}
        ],
        "unknownKey": [],
    }


def test_get_configuration_unknown_and_case_insensitive_keys() -> None:
    reply = booted().call("GetConfiguration", {"key": ["heartbeatinterval", "VendorThing", "HeartbeatInterval"]})
    assert reply == {
        "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
        "unknownKey": ["VendorThing"],
    }


def test_get_configuration_respects_max_keys() -> None:
    sim = booted(config={"GetConfigurationMaxKeys": "2"})
    assert (
        len(sim.call("GetConfiguration", {"key": ["HeartbeatInterval", "NumberOfConnectors"]})["configurationKey"]) == 2
    )
    refused = sim.refused("GetConfiguration", {"key": ["HeartbeatInterval", "NumberOfConnectors", "ResetRetries"]})
    assert refused.error_code == "OccurenceConstraintViolation"
    total = len(READ_WRITE) + len(READ_ONLY) + len(SECURITY_RULED)
    assert len(sim.call("GetConfiguration", {})["configurationKey"]) == total


def test_number_of_connectors_and_phase_rotation_follow_the_spec() -> None:
    values = booted(connectors=3).cp.configuration()
    assert values["NumberOfConnectors"] == "3"
    assert values["ConnectorPhaseRotation"] == "0.RST,1.RST,2.RST,3.RST"


def test_tc_021_change_configuration() -> None:
    sim = booted()
    assert sim.call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "60"}) == {"status": "Accepted"}
    assert sim.cp.configuration()["MeterValueSampleInterval"] == "60"


def test_tc_040_1_unknown_key_not_supported() -> None:
    sim = booted()
    assert sim.call("ChangeConfiguration", {"key": "NotAKey", "value": "1"}) == {"status": "NotSupported"}
    assert "NotAKey" not in sim.cp.configuration()


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "", " ", "٣"])
def test_tc_040_2_invalid_value_rejected(value: str) -> None:
    sim = booted()
    assert sim.call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": value}) == {
        "status": "Rejected"
    }
    assert sim.cp.configuration()["MeterValueSampleInterval"] == "0"


@pytest.mark.parametrize("key", sorted(READ_WRITE))
def test_change_each_read_write_key(key: str) -> None:
    valid, invalid = READ_WRITE[key]
    sim = booted()
    before = sim.cp.configuration()[key]
    assert sim.call("ChangeConfiguration", {"key": key, "value": invalid}) == {"status": "Rejected"}
    assert sim.cp.configuration()[key] == before
    assert sim.call("ChangeConfiguration", {"key": key, "value": valid}) == {"status": "Accepted"}
    assert sim.cp.configuration()[key] == valid
    reply = sim.call("GetConfiguration", {"key": [key]})
    assert reply["configurationKey"] == [{"key": key, "readonly": False, "value": valid}]


@pytest.mark.parametrize("key", sorted(READ_ONLY))
def test_change_each_read_only_key_is_rejected(key: str) -> None:
    sim = booted()
    assert sim.call("ChangeConfiguration", {"key": key, "value": "1"}) == {"status": "Rejected"}
    assert sim.cp.configuration()[key] == READ_ONLY[key]


def test_booleans_are_stored_canonically_and_keys_matched_without_case() -> None:
    sim = booted()
    assert sim.call("ChangeConfiguration", {"key": "localpreauthorize", "value": "TRUE"}) == {"status": "Accepted"}
    assert sim.cp.configuration()["LocalPreAuthorize"] == "true"


def test_phase_rotation_rejects_unknown_connector() -> None:
    sim = booted()
    assert sim.call("ChangeConfiguration", {"key": "ConnectorPhaseRotation", "value": "2.RST"}) == {
        "status": "Rejected"
    }


def test_change_configuration_answer_override() -> None:
    sim = booted()
    payload = {"key": "MeterValueSampleInterval", "value": "30"}
    assert sim.call("ChangeConfiguration", payload, answer={"status": "Rejected"}) == {"status": "Rejected"}
    assert sim.cp.configuration()["MeterValueSampleInterval"] == "0"
    bad = {"key": "MeterValueSampleInterval", "value": "-1"}
    assert sim.call("ChangeConfiguration", bad, answer={"status": "Accepted"}) == {"status": "Accepted"}
    assert sim.cp.configuration()["MeterValueSampleInterval"] == "0"
    assert sim.call("ChangeConfiguration", payload, answer={"status": "RebootRequired"}) == {"status": "RebootRequired"}
    assert sim.cp.configuration()["MeterValueSampleInterval"] == "30"


def test_get_configuration_answer_override() -> None:
    answer = {"configurationKey": [], "unknownKey": ["HeartbeatInterval"]}
    assert booted().call("GetConfiguration", {}, answer=answer) == answer


def test_configuration_view_is_read_only() -> None:
    values = booted().cp.configuration()
    with pytest.raises(TypeError):
        values["HeartbeatInterval"] = "1"  # type: ignore[index]


def test_configuration_survives_power_cycle() -> None:
    sim = booted()
    sim.call("ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "15"})
    sim.power_cycle()
    sim.advance(10)
    assert sim.cp.configuration()["ConnectionTimeOut"] == "15"


def test_spec_config_overrides() -> None:
    cp = ChargePoint(
        StationSpec(station_id="X", config={"heartbeatInterval": "60", "LocalPreAuthorize": "True"}), now=0.0
    )
    assert cp.configuration()["HeartbeatInterval"] == "60"
    assert cp.configuration()["LocalPreAuthorize"] == "true"


def test_spec_config_list_checked_after_its_max_length() -> None:
    spec = StationSpec(
        station_id="X",
        config={"MeterValuesSampledData": "Energy.Active.Import.Register", "MeterValuesSampledDataMaxLength": "1"},
    )
    assert ChargePoint(spec, now=0.0).configuration()["MeterValuesSampledDataMaxLength"] == "1"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"NoSuchKey": "1"}, "unknown configuration key 'NoSuchKey'"),
        ({"HeartbeatInterval": "soon"}, "invalid value 'soon' for configuration key HeartbeatInterval"),
        ({"NumberOfConnectors": "2"}, "NumberOfConnectors follows StationSpec.connectors"),
        ({"HeartbeatInterval": 60}, "must be a string"),
    ],
)
def test_spec_config_errors(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StationSpec(station_id="X", config=config)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"station_id": ""}, "station_id must not be empty"),
        ({"vendor": "V" * 21}, "vendor 'VVVVVVVVVVVVVVVVVVVVV' is longer than 20"),
        ({"model": ""}, "model must not be empty"),
        ({"serial_number": "S" * 26}, "serial_number"),
        ({"firmware_version": "1" * 51}, "firmware_version"),
        ({"connectors": 0}, "connectors must be at least 1"),
        ({"meter_start_wh": -1}, "meter_start_wh must not be negative"),
        ({"power_w": -5.0}, "power_w must not be negative"),
    ],
)
def test_spec_errors(fields: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"station_id": "X", **fields}
    with pytest.raises(ValueError, match=message):
        StationSpec(**arguments)  # type: ignore[arg-type]


def test_refused_carries_code_and_description() -> None:
    refused = CallRefused("NotSupported", "nope")
    assert (refused.error_code, refused.description, str(refused)) == ("NotSupported", "nope", "NotSupported: nope")
    assert str(CallRefused("GenericError")) == "GenericError"
