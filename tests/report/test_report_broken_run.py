"""A run with one deliberately broken CSMS answer, end to end: the bundled CSMS behind the frame-rewriting proxy
answers Authorize ``Accepted`` for an unknown idTag. Every report format shows the FAIL, the failing step and
the trace. Then known deviations through the whole stack: declared and failing, the run passes; declared and
passing, the run fails (exit status 1 of ``ocpp-harness run``, and the reports say why)."""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from harness.config import parse_target
from harness.report.allure import ALLURE_RESULTS
from harness.results import RunResult, Verdict
from harness.scenario.loader import load_scenarios
from harness.session import Case, Session, expand
from tests.integration.support import BackgroundLoop, Stack, start_stack, stop_stack, target_document

ROOT = Path(__file__).resolve().parents[2]
CASE_ID = "TC_023_1_CSMS[central]"
TRACE = "traces/TC_023_1_CSMS_central_.jsonl"
FAILED_STEP = "exchange Authorize"
REASON = "our CSMS accepts unknown idTags while a backend is migrated (ticket CSMS-7)"


def accept_every_authorize(frame: list[Any], pending: dict[str, list[Any]]) -> str:
    call = pending.get(frame[1]) if frame[0] == 3 else None
    if call is not None and call[0] == "Authorize":
        frame = [3, frame[1], {"idTagInfo": {"status": "Accepted"}}]
    return json.dumps(frame)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    loop = BackgroundLoop()
    running = loop.run(start_stack(tmp_path_factory.mktemp("csms") / "csms.sqlite3"))
    yield running
    loop.run(stop_stack(running))
    loop.close()


def document(stack: Stack, **extra: Any) -> dict[str, Any]:
    return {
        **target_document(ws_url=stack.proxy.ws_url, api_url=stack.csms.api_url, api_token=stack.csms.api_token),
        **extra,
    }


def case(case_id: str, stack: Stack) -> Case:
    scenarios, problems = load_scenarios([ROOT / "scenarios" / "core"])
    assert problems == []
    target = parse_target(document(stack), "t.yaml")
    return next(c for c in expand(scenarios, target) if c.id == case_id)


def broken_run(stack: Stack, out_dir: Path, **extra: Any) -> RunResult:
    stack.proxy.mutate = accept_every_authorize
    try:
        target = parse_target(document(stack, **extra), "broken.yaml")
        with Session(target, out_dir=out_dir) as session:
            session.run(case(CASE_ID, stack))
            return session.finish()
    finally:
        stack.proxy.mutate = None


def test_a_broken_answer_shows_the_fail_the_step_and_the_trace_in_every_format(stack: Stack, tmp_path: Path) -> None:
    out_dir = tmp_path / "reports" / "run-1"
    run = broken_run(stack, out_dir)
    (result,) = run.results
    assert result.verdict is Verdict.FAIL and not run.ok
    assert FAILED_STEP in (result.failed_step or "")
    assert (out_dir / TRACE).read_text(encoding="utf-8").count("\n") >= 4
    assert (tmp_path / "reports" / "latest").resolve() == out_dir.resolve()

    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    (entry,) = summary["results"]
    assert (entry["verdict"], entry["trace"]) == ("FAIL", TRACE)
    assert FAILED_STEP in entry["failed_step"] and "Accepted" in entry["message"]
    assert entry["references"][0] == "OCPP 1.6 §4.1"

    markdown = (out_dir / "summary.md").read_text(encoding="utf-8")
    assert markdown.startswith("# ❌ FAIL")
    assert f"| {CASE_ID} | ❌ FAIL |" in markdown and f"[trace]({TRACE})" in markdown
    assert f"failed step: {result.failed_step}" in markdown

    junit = ET.parse(out_dir / "junit.xml")
    testcase = next(junit.iter("testcase"))
    failure = testcase.find("failure")
    assert (
        failure is not None
        and FAILED_STEP in (failure.text or "")
        and f"trace: {result.trace_path}" in (failure.text or "")
    )
    properties = {p.get("name"): p.get("value") for p in testcase.iter("property")}
    assert properties["test_case_id"] == "TC_023_1_CSMS" and properties["profile"] == "Core"
    assert properties["trace"] == result.trace_path and "OCTT D24 §3.8.1" in {
        p.get("value") for p in testcase.iter("property") if p.get("name") == "spec_reference"
    }

    html = (out_dir / "summary.html").read_text(encoding="utf-8")
    assert 'id="run-verdict">FAIL<' in html and '<span class="badge FAIL">FAIL</span>' in html
    assert FAILED_STEP in html and f'<a href="{TRACE}">trace</a>' in html

    (allure,) = [json.loads(p.read_text(encoding="utf-8")) for p in (out_dir / ALLURE_RESULTS).glob("*-result.json")]
    assert allure["status"] == "failed"
    failed_steps = [step["name"] for step in allure["steps"] if step["status"] == "failed"]
    assert len(failed_steps) == 1 and FAILED_STEP in failed_steps[0]
    (attachment,) = allure["attachments"]
    copied = (out_dir / ALLURE_RESULTS / attachment["source"]).read_text(encoding="utf-8")
    assert copied == (out_dir / TRACE).read_text(encoding="utf-8")


def test_a_declared_deviation_that_fails_is_an_expected_failure(stack: Stack, tmp_path: Path) -> None:
    run = broken_run(stack, tmp_path / "reports" / "run-1", deviations=[{"case": "TC_023_1_CSMS", "reason": REASON}])
    (result,) = run.results
    assert result.verdict is Verdict.FAIL and result.expected_failure and result.deviation == REASON
    assert run.ok
    markdown = (tmp_path / "reports" / "run-1" / "summary.md").read_text(encoding="utf-8")
    assert markdown.startswith("# ✅ PASS") and "FAIL (expected)" in markdown and REASON in markdown


def write_target(path: Path, content: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    return path


def test_the_cli_exits_1_when_a_declared_deviation_passes_and_0_when_it_fails(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deviations = [{"case": CASE_ID, "reason": REASON}]
    target = write_target(tmp_path / "t.yaml", document(stack, deviations=deviations))
    arguments = ["run", "--target", str(target), "-k", CASE_ID, "--out", str(tmp_path / "passing")]
    assert main(arguments) == 1  # the CSMS answers correctly: the declared deviation no longer exists
    out = capsys.readouterr().out
    assert re.search(rf"^\[1/1\] PASS +{re.escape(CASE_ID)}  \[PASS \(unexpected\)\] ", out, re.M), out
    assert f"fails because of {CASE_ID}: PASS (unexpected)" in out
    summary = json.loads((tmp_path / "passing" / "latest" / "summary.json").read_text(encoding="utf-8"))
    assert summary["ok"] is False and summary["unexpected_passes"] == [CASE_ID]
    assert "remove the deviation from the target file" in summary["reasons"][0]
    assert "\r" not in out and "\x1b" not in out  # captured output is not a terminal: plain lines

    stack.proxy.mutate = accept_every_authorize
    try:
        arguments = ["run", "--target", str(target), "-k", CASE_ID, "--out", str(tmp_path / "failing")]
        assert main(arguments) == 0
    finally:
        stack.proxy.mutate = None
    out = capsys.readouterr().out
    assert re.search(rf"^\[1/1\] FAIL +{re.escape(CASE_ID)}  \[FAIL \(expected\)\] ", out, re.M), out
    assert "OCPP 1.6J conformance: PASS" in out


def test_on_a_terminal_the_running_case_is_shown_then_replaced(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = write_target(tmp_path / "t.yaml", document(stack))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["run", "--target", str(target), "-k", CASE_ID, "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert f"[1/1] {CASE_ID} ...\r\x1b[K[1/1] PASS " in out
