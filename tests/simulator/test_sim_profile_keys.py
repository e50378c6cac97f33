"""Configuration keys of the other feature profiles (OCPP 1.6 §9.2-§9.4) and the simulator's own keys."""

from __future__ import annotations

import pytest

from simulator.model import ChargePoint, StationSpec
from simulator.model.local_list import parse_update


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("SupportedFeatureProfiles", "Core, RemoteTrigger", "Core,RemoteTrigger"),
        ("SupportedFeatureProfiles", "Core", "Core"),
        ("ChargingScheduleAllowedChargingRateUnit", "Power", "Power"),
        ("SimFirmwareDownload", "fail", "Fail"),
        ("SimFirmwareInstall", " FAIL ", "Fail"),
        ("SimDiagnosticsUpload", "transfer", "Transfer"),
    ],
)
def test_station_description_keys(key: str, value: str, stored: str) -> None:
    cp = ChargePoint(StationSpec(station_id="X", config={key: value}), now=0.0)
    assert cp.configuration()[key] == stored


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SupportedFeatureProfiles", "Core,Teleportation"),
        ("SupportedFeatureProfiles", "Core,Core"),
        ("SupportedFeatureProfiles", "Reservation,SmartCharging"),  # Core is what every charge point has
        ("SupportedFeatureProfiles", ""),
        ("ChargingScheduleAllowedChargingRateUnit", "Current,Amps"),
        ("ChargingScheduleAllowedChargingRateUnit", ""),
        ("SimFirmwareDownload", "Succeed"),
        ("SimFirmwareInstall", "Transfer"),
        ("ReserveConnectorZeroSupported", "maybe"),
        ("MaxChargingProfilesInstalled", "-1"),
    ],
)
def test_station_description_keys_refuse_bad_values(key: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"invalid value {value!r} for configuration key {key}"):
        StationSpec(station_id="X", config={key: value})


def test_parse_update_refuses_what_is_not_an_id_tag_info() -> None:
    assert parse_update([{"idTag": "A", "idTagInfo": {"status": "Sideways"}}], full=True) is None
    assert parse_update([{"idTag": "A", "idTagInfo": {"status": "Accepted"}}, {"idTag": "B"}], full=False) is not None
