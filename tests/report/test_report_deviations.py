"""Known deviations in the result model and every report: a declared FAIL is an expected failure that does not
fail the run, a declared PASS is an unexpected pass that does."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from harness.report import write_reports
from harness.report.aggregate import summarize
from harness.report.terminal import format_result_line, format_summary_table
from harness.results import RunResult, Verdict

REASON = "Authorize of an ISO15693 token answers Invalid (ticket CSMS-42)"


def with_deviation(run: RunResult, case_id: str, *, drop_errors: bool = True) -> RunResult:
    results = tuple(
        replace(result, deviation=REASON) if result.id == case_id else result
        for result in run.results
        if not (drop_errors and result.verdict is Verdict.ERROR)
    )
    return replace(run, results=results)


def test_a_declared_fail_is_an_expected_failure_and_the_run_passes(run: RunResult, tmp_path: Path) -> None:
    declared = with_deviation(run, "TC_023_3_CSMS[iso15693]")
    failed = declared.results[1]
    assert failed.verdict is Verdict.FAIL and failed.expected_failure and not failed.fails_run
    assert declared.ok
    assert not with_deviation(run, "TC_023_3_CSMS[iso15693]", drop_errors=False).ok  # an ERROR still fails it

    paths = write_reports(declared, tmp_path)
    document = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert document["ok"] is True and document["verdict"] == "PASS"
    assert document["expected_failures"] == ["TC_023_3_CSMS[iso15693]"]
    assert document["results"][1]["deviation"] == REASON and document["results"][1]["expected_failure"] is True
    case = next(c for c in ET.parse(paths["junit"]).iter("testcase") if c.get("name") == "TC_023_3_CSMS[iso15693]")
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("type") == "expected-failure"
    assert REASON in (skipped.get("message") or "")
    assert ET.parse(paths["junit"]).getroot().get("failures") == "0"
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert markdown.startswith("# ✅ PASS")
    assert "❌ FAIL (expected)" in markdown
    html = paths["html"].read_text(encoding="utf-8")
    assert "FAIL (expected)" in html and 'id="deviations"' not in html  # the table lists the target's declarations
    assert "FAIL (expected)" in format_summary_table(declared)


def test_a_declared_pass_is_an_unexpected_pass_that_fails_the_run(run: RunResult, tmp_path: Path) -> None:
    declared = with_deviation(run, "TC_003_CSMS")
    passed = declared.results[0]
    assert passed.verdict is Verdict.PASS and passed.unexpected_pass and passed.fails_run
    declared = replace(
        declared,
        results=tuple(r for r in declared.results if r.verdict is not Verdict.FAIL),
        target={**declared.target, "deviations": [{"case": "TC_003_CSMS", "reason": REASON}]},
    )
    assert not declared.ok
    assert summarize(declared).reasons() == [
        "TC_003_CSMS: PASS (unexpected): unexpected pass: the target declares this case a known deviation "
        f"({REASON}) but it passed; remove the deviation from the target file"
    ]

    paths = write_reports(declared, tmp_path)
    document = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert document["ok"] is False and document["unexpected_passes"] == ["TC_003_CSMS"]
    case = next(c for c in ET.parse(paths["junit"]).iter("testcase") if c.get("name") == "TC_003_CSMS")
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "UnexpectedPass"
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert (
        markdown.startswith("# ❌ FAIL") and "✅ PASS (unexpected)" in markdown and "remove the deviation" in markdown
    )
    html = paths["html"].read_text(encoding="utf-8")
    assert 'id="run-verdict">FAIL<' in html and "PASS (unexpected)" in html and 'id="deviations"' in html
    assert "[PASS (unexpected)]" in format_result_line(declared.results[0])
    assert "fails because of TC_003_CSMS: PASS (unexpected)" in format_summary_table(declared, width=400)
    allure = [json.loads(p.read_text(encoding="utf-8")) for p in paths["allure"].glob("*-result.json")]
    assert {r["name"]: r["status"] for r in allure}["TC_003_CSMS"] == "failed"
