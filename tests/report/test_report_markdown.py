from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.report.markdown import cell, fenced, render_markdown, write_summary_md
from harness.results import RunResult


def test_heading_says_fail(run: RunResult) -> None:
    text = render_markdown(run)
    assert text.startswith("# ❌ FAIL — OCPP 1.6J conformance\n")


def test_profile_table(run: RunResult) -> None:
    text = render_markdown(run)
    assert "## Test Result Summary" in text
    assert "| Certification Profile | Test Result | Pass | Fail | Error | Not applicable | Partial |" in text
    assert "| Core | ❌ FAIL | 2 | 1 | 0 | 0 | 0 |" in text
    assert "| Smart Charging | 💥 ERROR | 0 | 0 | 1 | 1 | 0 |" in text
    assert "| Remote Trigger | ⚠️ PARTIAL | 0 | 0 | 0 | 0 | 1 |" in text


def test_additional_questions(run: RunResult) -> None:
    text = render_markdown(run)
    assert "## Additional Questions" in text
    assert (
        "| AQ-1 | Can your CSMS be configured to first respond to a BootNotificationRequest "
        "with status Pending or Rejected? | Yes | TC_010_CSMS |"
    ) in text


def test_performance_table(run: RunResult) -> None:
    text = render_markdown(run)
    assert "## Performance Measurement Result" in text
    assert "| Name | Min Value | Max Value | Average Value | p50 | p95 | p99 | Unit |" in text
    assert "| OCPP response time | 0.020 | 0.210 | 0.104 | 0.100 | 0.210 | 0.210 | seconds |" in text
    assert "| Response time Authorize | 0.070 | 0.210 | 0.133 | 0.120 | 0.210 | 0.210 | seconds |" in text


def test_performance_without_samples(run: RunResult) -> None:
    from dataclasses import replace

    text = render_markdown(replace(run, results=(run.results[4],)))
    assert "| Response time Authorize | - | - | - | - | - | - | seconds |" in text
    assert text.startswith("# ✅ PASS")


def test_per_test_table_escapes_pipes(run: RunResult) -> None:
    text = render_markdown(run)
    assert "| Test | Verdict | Duration | Failure |" in text
    assert "| TC_003_CSMS | ✅ PASS | 0.42 s |  |" in text
    assert "| TC_023_3_CSMS[iso15693] | ❌ FAIL | 1.23 s | Authorize answered Invalid \\| expected Accepted |" in text
    assert "| TC_054_CSMS | ⚠️ PARTIAL | 0.30 s | the http driver cannot request MeterValues for connector 0 |" in text
    assert "### ❌ FAIL `TC_023_3_CSMS[iso15693]` — Start Charging Session - Authorize invalid | blocked" in text


def test_failure_details(run: RunResult) -> None:
    text = render_markdown(run)
    details = text[text.index("## Failures") :]
    assert "failed step: step 4 exchange Authorize (scenarios/core/TC_023_3_CSMS.yaml:12:5)" in details
    assert 'expected: idTagInfo.status == "Accepted"' in details
    assert 'actual:   idTagInfo.status == "Invalid"' in details
    assert "reference: OCPP 1.6 §4.2 Authorize" in details
    assert '\n> 20:53:33.486Z [2,"2","Authorize",{"idTag":"OCA_TOKEN_1"}]\n' in details
    assert '\n< 20:53:33.696Z [3,"2",{"idTagInfo":{"status":"Invalid"}}]\n' in details
    assert "trace: reports/traces/TC_023_3_CSMS-iso15693.jsonl" in details
    assert "reproduce: ocpp-harness run --target ci/target.yaml -k 'TC_023_3_CSMS[iso15693]'" in details
    assert "### 💥 ERROR `TC_056_CSMS`" in details
    assert "* 20:53:35.486Z connection closed: 1006" in details
    assert "```text\nfailed step:" in details
    assert "TC_003_CSMS" not in details.split("## Warnings")[0]  # a PASS has no details
    assert "TC_054_CSMS" not in details.split("## Warnings")[0]  # nor a PARTIAL


def test_warnings_and_settings(run: RunResult) -> None:
    text = render_markdown(run)
    assert "- `TC_003_CSMS`: StatusNotification(Preparing) not answered within 1 s" in text
    assert "| csms.url | ws://127.0.0.1:9000/ocpp |" in text
    assert "| csms.password | *** |" in text
    assert "| environment.ocpp | 2.1.0 |" in text


def test_cell_and_fence() -> None:
    assert cell("a | b\nc") == "a \\| b<br>c"
    assert fenced("x ```` y") == ["`````text", "x ```` y", "`````"]
    assert fenced("plain") == ["```text", "plain", "```"]


def test_write(run: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "deep" / "summary.md"
    write_summary_md(run, path)
    assert path.read_text(encoding="utf-8") == render_markdown(run)


def test_snapshot(run: RunResult, assert_snapshot: Callable[[str, str], None]) -> None:
    assert_snapshot("summary.md", render_markdown(run))
