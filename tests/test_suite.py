"""The shipped suite as the default of both entry points, from a directory that is not the checkout: which
scenarios run with and without paths, ``--with-shipped``, a folder of one's own on the shipped states, and the
default target (``targets/bundled.yaml`` here, else the shipped one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.config import load_target
from harness.suite import BUNDLED_TARGET, LOCAL_DEFAULT_TARGET, default_target, shipped_scenarios, shipped_target

pytest_plugins = ["pytester"]

MINE = """\
id: MY_001_CSMS
title: Heartbeat after the shipped boot state
profile: Core
steps:
  - use: booted
  - send: Heartbeat
    expect: {currentTime: CURRENT_TIME}
"""
PASSES = {"CURRENT_TIME": "{schema: {type: string}}"}
FAILS = {"CURRENT_TIME": "not-a-time"}


def write_mine(folder: Path, *, name: str = "MY_001_CSMS", answer: dict[str, str] = PASSES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(MINE.replace("MY_001_CSMS", name).replace("CURRENT_TIME", answer["CURRENT_TIME"]), "utf-8")
    return path


def local_bundled_target_with_a_deviation(folder: Path) -> None:
    """A ``targets/bundled.yaml`` that declares TC_001 a known deviation: the case passing fails the run, which
    shows this file, not the shipped one, was the target."""
    (folder / "targets").mkdir()
    text = shipped_target(BUNDLED_TARGET).read_text(encoding="utf-8")
    text += "deviations:\n  - {case: TC_001_CSMS, reason: proves which target ran}\n"
    (folder / LOCAL_DEFAULT_TARGET).write_text(text, encoding="utf-8")


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def results(out: Path) -> dict[str, Any]:
    summary = json.loads((out / "latest" / "summary.json").read_text(encoding="utf-8"))
    return {result["id"]: result for result in summary["results"]}


def test_the_shipped_suite_and_targets_are_found() -> None:
    suite = shipped_scenarios()
    assert (suite / "core" / "TC_001_CSMS.yaml").is_file()
    assert {path.stem for path in (suite / "_states").iterdir()} >= {"booted", "authorized", "charging"}
    assert load_target(shipped_target(BUNDLED_TARGET)).bundled


def test_the_default_target_is_the_local_bundled_one_if_there_is_one(elsewhere: Path) -> None:
    assert default_target() == shipped_target(BUNDLED_TARGET)
    local_bundled_target_with_a_deviation(elsewhere)
    assert default_target() == LOCAL_DEFAULT_TARGET


def test_without_paths_run_replays_the_shipped_suite_and_reports_here(elsewhere: Path) -> None:
    assert main(["run", "-k", "TC_001"]) == 0
    assert set(results(elsewhere / "reports")) == {"TC_001_CSMS"}


def test_with_paths_run_replays_only_those_unless_with_shipped(elsewhere: Path) -> None:
    write_mine(elsewhere / "mine")
    assert main(["run", "mine", "--out", "a"]) == 0
    assert set(results(elsewhere / "a")) == {"MY_001_CSMS"}
    assert main(["run", "mine", "--with-shipped", "-k", "MY_001", "-k", "TC_001", "--out", "b"]) == 0
    assert set(results(elsewhere / "b")) == {"MY_001_CSMS", "TC_001_CSMS"}


def test_a_given_file_repeating_a_shipped_id_is_the_duplicate(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_mine(elsewhere / "mine", name="TC_001_CSMS")
    assert main(["run", "mine", "--with-shipped"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("mine/TC_001_CSMS.yaml:1:5: duplicate scenario id 'TC_001_CSMS' (also ")
    assert err[-1] == "error: 1 problem(s) in scenario files; nothing was run"


def test_a_failure_in_a_given_folder_is_reproduced_with_that_folder(elsewhere: Path) -> None:
    write_mine(elsewhere / "mine", answer=FAILS)
    assert main(["run", "mine", "--out", "r"]) == 1
    reproduce = results(elsewhere / "r")["MY_001_CSMS"]["reproduce"]
    assert reproduce == f"ocpp-harness run mine --target {shipped_target(BUNDLED_TARGET)} -k 'MY_001_CSMS'"


def test_run_takes_the_local_bundled_target_by_default(elsewhere: Path) -> None:
    local_bundled_target_with_a_deviation(elsewhere)
    assert main(["run", "-k", "TC_001"]) == 1  # the declared deviation passed
    assert results(elsewhere / "reports")["TC_001_CSMS"]["verdict"] == "PASS"


@pytest.fixture
def empty(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


def test_pytest_collects_the_shipped_suite_with_with_shipped(empty: pytest.Pytester) -> None:
    assert empty.runpytest("-k", "TC_001").ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result = empty.runpytest("--with-shipped", "-k", "TC_001", "-v", "--ocpp-reports", "out")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*core/TC_001_CSMS.yaml::TC_001_CSMS PASSED*"])


def test_pytest_runs_a_folder_of_ones_own_on_the_shipped_states(empty: pytest.Pytester) -> None:
    write_mine(empty.path / "scenarios" / "mine")
    empty.runpytest("scenarios", "--ocpp-reports", "out").assert_outcomes(passed=1)
    result = empty.runpytest("scenarios", "--with-shipped", "-k", "MY_001 or TC_001", "--ocpp-reports", "out")
    outcomes = result.parseoutcomes()
    assert (outcomes["passed"], outcomes.get("failed", 0)) == (2, 0)


def test_pytest_takes_the_local_bundled_target_by_default(empty: pytest.Pytester) -> None:
    local_bundled_target_with_a_deviation(empty.path)
    result = empty.runpytest("--with-shipped", "-k", "TC_001", "--ocpp-reports", "out")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*proves which target ran*"])
