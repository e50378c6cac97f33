"""The official OCPP 1.6 schemas as ocppj applies them: decimal steps are checked on the decimal values."""

from __future__ import annotations

import pytest

from ocppj import schemas
from ocppj.frames import ErrorCode


def profile(limit: float) -> dict[str, object]:
    return {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
            },
        },
    }


@pytest.mark.parametrize("limit", [6.0, 6.3, 10.7, 0.1, 32, 22.2])
def test_a_limit_in_tenths_is_a_multiple_of_0_1(limit: float) -> None:
    assert schemas.validate("SetChargingProfile", profile(limit), response=False) == []


def test_a_limit_in_hundredths_is_not() -> None:
    [violation] = schemas.validate("SetChargingProfile", profile(6.35), response=False)
    assert violation.path == "csChargingProfiles.chargingSchedule.chargingSchedulePeriod.0.limit"
    assert violation.message == "6.35 is not a multiple of 0.1"
    assert violation.error_code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
