"""The SHOULD rules of the robustness scenarios: a CSMS that misses one PASSes with a should-warning that names
the miss (DESIGN §4: a missed should is a warning), shown for each through the proxy (broken_robustness.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import load_target
from harness.results import Verdict
from harness.scenario.loader import load_scenarios
from harness.scenario.model import Handshake, Raw
from harness.session import Case
from tests.integration.broken_robustness import BROKEN_SHOULD
from tests.integration.support import BackgroundLoop, Stack
from tests.integration.test_suite_bundled import run_broken, stack  # noqa: F401  (stack: the module's fixture)

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {s.id: s for s in load_scenarios([ROOT / "scenarios" / "robustness"])[0]}


def test_every_should_rule_has_a_breaker_and_the_profile_is_declared() -> None:
    with_should = {
        s.id for s in SCENARIOS.values() if any(isinstance(t, Raw | Handshake) and t.should for t in s.steps)
    }
    assert with_should == set(BROKEN_SHOULD)
    assert {s.profile for s in SCENARIOS.values()} == {"Robustness"}
    for name in ("bundled.yaml", "bundled-strict.yaml"):
        assert "Robustness" in load_target(ROOT / "targets" / name).profiles


@pytest.mark.parametrize("case_id", sorted(BROKEN_SHOULD))
def test_a_missed_should_rule_is_a_warning(
    stack: tuple[BackgroundLoop, Stack],  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
    case_id: str,
) -> None:
    mutation, needle = BROKEN_SHOULD[case_id]
    result = run_broken(stack, Case(SCENARIOS[case_id]), mutation, tmp_path)
    assert result.verdict is Verdict.PASS, f"{result.failed_step}: {result.message}"
    should = [w.message for w in result.warnings if w.category == "should"]
    assert any(needle in message for message in should), should
