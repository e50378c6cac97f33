"""Allure results written from a RunResult: one result per case, one step per scenario step, labels for the
profile and the test case id, the wire trace attached."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.report.allure import allure_labels, allure_status, allure_steps, write_allure_results
from harness.results import RunResult


def load(folder: Path) -> dict[str, dict[str, Any]]:
    results = [json.loads(path.read_text(encoding="utf-8")) for path in folder.glob("*-result.json")]
    return {result["name"]: result for result in results}


def test_one_result_per_case_with_status_steps_labels_and_trace(run: RunResult, tmp_path: Path) -> None:
    trace = tmp_path / "traces" / "TC_023_3_CSMS-iso15693.jsonl"
    trace.parent.mkdir()
    trace.write_text('{"direction": ">", "at": 1.0, "text": "[2]"}\n', encoding="utf-8")
    results = tuple(replace(r, trace_path=str(trace)) if r.id == "TC_023_3_CSMS[iso15693]" else r for r in run.results)
    folder = write_allure_results(replace(run, results=results), tmp_path)
    assert folder == tmp_path / "allure-results"
    written = load(folder)
    assert {name: result["status"] for name, result in written.items()} == {
        "TC_003_CSMS": "passed",
        "TC_023_3_CSMS[iso15693]": "failed",
        "TC_010_CSMS": "passed",
        "TC_056_CSMS": "broken",
        "TC_066_CSMS": "skipped",
        "TC_054_CSMS": "skipped",
    }
    failed = written["TC_023_3_CSMS[iso15693]"]
    assert [(s["name"], s["status"]) for s in failed["steps"]] == [
        ("step 1 (use booted)", "passed"),
        ("step 4 exchange Authorize (scenarios/core/TC_023_3_CSMS.yaml:12:5): blocked idTag", "failed"),
        ("step 3 (act unplug)", "skipped"),
    ]
    assert failed["statusDetails"]["message"] == "Authorize answered Invalid | expected Accepted"
    assert "failed step: step 4 exchange Authorize" in failed["statusDetails"]["trace"]
    labels = {(label["name"], label["value"]) for label in failed["labels"]}
    assert {("suite", "Core"), ("feature", "Core"), ("as_id", "TC_023_3_CSMS"), ("tag", "OCPP 1.6 §4.1")} <= labels
    (attachment,) = failed["attachments"]
    assert (folder / attachment["source"]).read_text(encoding="utf-8") == trace.read_text(encoding="utf-8")
    assert written["TC_054_CSMS"]["statusDetails"]["message"].startswith("partial: ")


def test_the_mapping_is_shared(run: RunResult) -> None:
    failed = run.results[1]
    assert allure_status(failed) == "failed"
    assert [step.status for step in allure_steps(failed)] == ["passed", "failed", "skipped"]
    assert ("subSuite", "TC_023_3_CSMS") in allure_labels(failed)
