"""Smart Charging and Firmware Management scenarios against answers of the bundled CSMS rewritten on the wire
that are still correct: what OCTT lets a CSMS do must PASS (the broken variants are in ``broken_sc_fw``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.results import Verdict
from tests.integration.support import BackgroundLoop, Stack, csms_call
from tests.integration.test_suite_bundled import CASES, run_broken, stack

__all__ = ["stack"]  # the fixture, shared with test_suite_bundled


def without_number_phases(payload: dict[str, Any]) -> dict[str, Any]:
    profile = payload["csChargingProfiles"]
    schedule = profile["chargingSchedule"]
    periods = [{k: v for k, v in p.items() if k != "numberPhases"} for p in schedule["chargingSchedulePeriod"]]
    return {
        **payload,
        "csChargingProfiles": {**profile, "chargingSchedule": {**schedule, "chargingSchedulePeriod": periods}},
    }


def test_tc_056_passes_without_number_phases_when_three_are_configured(
    stack: tuple[BackgroundLoop, Stack], tmp_path: Path
) -> None:
    """OCTT TC_056: numberPhases may be omitted when the configured value is 3 (OCPP 1.6 §7 ChargingSchedulePeriod:
    3 is assumed unless another number is given)."""
    result = run_broken(stack, CASES["TC_056_CSMS"], csms_call("SetChargingProfile", without_number_phases), tmp_path)
    assert result.verdict is Verdict.PASS, result.message
