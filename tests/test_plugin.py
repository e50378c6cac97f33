"""The pytest plugin end to end with pytester: scenario files become items with profile markers, run against
the bundled CSMS, and report FAILs with the failing step and collection errors with positions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.report.allure import PARENT_SUITE, TRACE_NAME

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def scenarios(pytester: pytest.Pytester) -> Path:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    folder = pytester.path / "scenarios"
    shutil.copytree(ROOT / "scenarios" / "_states", folder / "_states")
    (folder / "core").mkdir()
    for name in ("TC_001_CSMS.yaml", "TC_023_3_CSMS.yaml"):
        shutil.copy(ROOT / "scenarios" / "core" / name, folder / "core" / name)
    return folder


def test_scenarios_run_as_items_with_ids_and_markers(pytester: pytest.Pytester, scenarios: Path) -> None:
    result = pytester.runpytest("scenarios", "-v", "-m", "core", "--ocpp-reports", "out")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*TC_001_CSMS PASSED*", "*TC_023_3_CSMS?iso15693? PASSED*"])
    assert (pytester.path / "out" / "latest" / "summary.json").is_file()


def test_k_selects_by_test_case_id(pytester: pytest.Pytester, scenarios: Path) -> None:
    result = pytester.runpytest("scenarios", "-k", "TC_023 and keycode", "--ocpp-reports", "out")
    result.assert_outcomes(passed=1, deselected=4)


def test_a_failing_check_shows_the_step_expected_actual_and_trace(pytester: pytest.Pytester, scenarios: Path) -> None:
    wrong = scenarios / "core" / "TC_023_3_CSMS.yaml"
    wrong.write_text(wrong.read_text(encoding="utf-8").replace("status: Blocked", "status: Accepted"), encoding="utf-8")
    result = pytester.runpytest("scenarios/core/TC_023_3_CSMS.yaml", "-k", "central", "--ocpp-reports", "out")
    result.assert_outcomes(failed=1, deselected=3)
    result.stdout.fnmatch_lines(
        [
            "*failed step: step 5 (exchange Authorize) at scenarios/core/TC_023_3_CSMS.yaml:*",
            '*Authorize.conf from the CSMS does not match: idTagInfo.status: expected "Accepted", got "Blocked"*',
            "*trace: out/*/traces/TC_023_3_CSMS_central_.jsonl*",
            "*reproduce: pytest scenarios/core/TC_023_3_CSMS.yaml --target *bundled.yaml"
            " -k 'TC_023_3_CSMS[[]central[]]'*",
        ]
    )


def test_a_scenario_mistake_is_a_collection_error_with_its_position(pytester: pytest.Pytester, scenarios: Path) -> None:
    (scenarios / "core" / "TC_009_CSMS.yaml").write_text(
        "id: TC_009_CSMS\ntitle: t\nprofile: Core\nsteps:\n  - use: boted\n", encoding="utf-8"
    )
    result = pytester.runpytest("scenarios")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*scenarios/core/TC_009_CSMS.yaml:5:10: unknown state 'boted'*; did you mean 'booted'?*"]
    )


def test_a_bad_target_is_a_usage_error(pytester: pytest.Pytester, scenarios: Path) -> None:
    (pytester.path / "t.yaml").write_text(
        "stations: {default: {id: A}}\ntokens: {central: {valid: A}}\n", encoding="utf-8"
    )
    result = pytester.runpytest("scenarios", "--target", "t.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*t.yaml: endpoints: give at least one endpoint*"])


def test_a_declared_deviation_is_a_strict_expected_failure(pytester: pytest.Pytester, scenarios: Path) -> None:
    wrong = scenarios / "core" / "TC_023_3_CSMS.yaml"
    wrong.write_text(wrong.read_text(encoding="utf-8").replace("status: Blocked", "status: Accepted"), encoding="utf-8")
    target = (ROOT / "targets" / "bundled.yaml").read_text(encoding="utf-8")
    target += (
        "deviations:\n"
        "  - {case: 'TC_023_3_CSMS[central]', reason: blocked tokens are accepted}\n"
        "  - {case: TC_001_CSMS, reason: the boot interval is zero}\n"
    )
    (pytester.path / "t.yaml").write_text(target, encoding="utf-8")
    result = pytester.runpytest(
        "scenarios", "--target", "t.yaml", "-k", "TC_001 or central", "-rxX", "--ocpp-reports", "out"
    )
    result.assert_outcomes(failed=1, xfailed=1, deselected=3)
    result.stdout.fnmatch_lines(["*XFAIL*TC_023_3_CSMS?central?*known deviation: blocked tokens are accepted*"])
    result.stdout.fnmatch_lines(["*[[]XPASS(strict)[]] known deviation: the boot interval is zero*"])


def test_allure_gets_one_step_per_scenario_step_labels_and_the_trace(
    pytester: pytest.Pytester, scenarios: Path
) -> None:
    result = pytester.runpytest(
        "scenarios/core/TC_023_3_CSMS.yaml", "-k", "central", "--alluredir", "allure", "--ocpp-reports", "out"
    )
    result.assert_outcomes(passed=1, deselected=3)
    (written,) = [json.loads(p.read_text(encoding="utf-8")) for p in (pytester.path / "allure").glob("*-result.json")]
    assert written["status"] == "passed"
    labels = {(label["name"], label["value"]) for label in written["labels"]}
    assert {("suite", "Core"), ("feature", "Core"), ("as_id", "TC_023_3_CSMS"), ("parentSuite", PARENT_SUITE)} <= labels
    assert [name for name, _ in labels].count("suite") == 1  # ours, not allure-pytest's default from the path
    steps = written["steps"]
    assert len(steps) >= 3 and all(step["status"] == "passed" for step in steps)
    assert steps[0]["name"].startswith("step 1 ")
    (trace,) = [a for a in written["attachments"] if a["name"] == TRACE_NAME]
    assert '"direction": ">"' in (pytester.path / "allure" / trace["source"]).read_text(encoding="utf-8")


def test_ocpp_shuffle_orders_the_items_by_the_seed(pytester: pytest.Pytester, scenarios: Path) -> None:
    def order(*extra: str) -> list[str]:
        result = pytester.runpytest("scenarios", "--collect-only", "-q", *extra)
        return [line.split("::")[-1] for line in result.stdout.lines if "::" in line]

    plain = order()
    assert len(plain) == 5
    first, again, other = order("--ocpp-shuffle", "7"), order("--ocpp-shuffle", "7"), order("--ocpp-shuffle", "8")
    assert first == again and sorted(first) == sorted(plain)
    assert plain != first or plain != other  # some seed moves something
