from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from harness.report.terminal import format_result_line, format_summary_table
from harness.results import RunResult, Verdict


def test_summary_table_lists_every_result(run: RunResult) -> None:
    table = format_summary_table(run)
    lines = table.splitlines()
    for result in run.results:
        line = next(line for line in lines if f"  {result.id}  " in line)
        assert line.startswith(result.verdict.value)
    assert lines[0] == "OCPP 1.6J conformance: FAIL"
    assert lines[1] == "run run-20260201-205332, started 2026-02-01T20:53:32.486Z, 10.5s"
    assert lines[2] == "6 results: 2 PASS, 1 FAIL, 1 ERROR, 1 NOT_APPLICABLE, 1 PARTIAL"


def test_summary_table_sections(run: RunResult) -> None:
    table = format_summary_table(run)
    assert "Certification profile  Result           pass  fail error   n/a part." in table
    assert "Core                   FAIL                2     1     0     0     0" in table
    assert "Smart Charging         ERROR               0     0     1     1     0" in table
    assert "Remote Trigger         PARTIAL             0     0     0     0     1" in table
    assert "AQ-1   Yes        tested by TC_010_CSMS\n       Can your CSMS be configured" in table
    assert "OCPP response time         0.020   0.104   0.210   0.210        5" in table
    assert "Response time Authorize    0.070   0.133   0.210   0.210        3" in table
    assert "FAIL            TC_023_3_CSMS[iso15693]      1.23s  Authorize answered Invalid | expected Accepted" in table
    assert "PASS            TC_003_CSMS                  0.42s" in table


def test_an_additional_question_no_scenario_could_decide_says_which_verdicts(run: RunResult) -> None:
    undecided = tuple(replace(r, verdict=Verdict.ERROR) if r.id == "TC_010_CSMS" else r for r in run.results)
    table = format_summary_table(replace(run, results=undecided))
    assert "AQ-1   Not tested undecided: TC_010_CSMS ERROR\n" in table


def test_warnings_and_cleanup_problems_reach_the_terminal(run: RunResult) -> None:
    table = format_summary_table(run)
    assert "Warnings: 'should' rules missed (not a failure)\n" in table
    assert "TC_003_CSMS: StatusNotification(Preparing) not answered within 1 s" in table
    assert "Cleanup: left behind in the CSMS (not part of any verdict)\n" in table
    assert "TC_056_CSMS: transaction 7 may still be open on the CSMS" in table


def test_summary_table_width(run: RunResult) -> None:
    for width in (60, 100):
        assert max(len(line) for line in format_summary_table(run, width=width).splitlines()) <= width
    narrow = format_summary_table(run, width=60)
    assert "…" in narrow


def test_summary_table_without_results(run: RunResult) -> None:
    table = format_summary_table(replace(run, results=()))
    assert "OCPP 1.6J conformance: PASS\nrun run-20260201-205332" in table
    assert "0 results: no results" in table
    assert "AQ-1   Not tested no scenario ran" in table
    assert "Response time Authorize        -       -       -       -        0" in table
    assert table.endswith("Results\n" + "-" * 40 + "\n(no results)")


def test_result_line(run: RunResult) -> None:
    assert format_result_line(run.results[0]) == (
        "PASS            TC_003_CSMS  Regular Charging Session - Plugin First  0.42s"
    )
    assert format_result_line(run.results[4]).startswith("NOT_APPLICABLE  TC_066_CSMS  ")


def test_result_line_with_width(run: RunResult) -> None:
    line = format_result_line(run.results[0], width=80)
    assert len(line) == 80
    assert line.startswith("PASS            TC_003_CSMS  Regular Charging Session - Plugin First .")
    assert line.endswith(". 0.42s")
    cut = format_result_line(run.results[0], width=50)
    assert cut == "PASS            TC_003_CSMS  Regular Charg…  0.42s"
    long_id = replace(run.results[0], id="X" * 90, verdict=Verdict.FAIL)
    assert format_result_line(long_id, width=50) == f"FAIL            {'X' * 90}  0.42s"


def test_snapshot(run: RunResult, assert_snapshot: Callable[[str, str], None]) -> None:
    assert_snapshot("summary.txt", format_summary_table(run) + "\n")


def test_progress_prefix_and_running_line() -> None:
    from harness.report.terminal import format_running_line, progress_prefix

    assert progress_prefix(3, 21) == "[ 3/21]"
    assert progress_prefix(21, 21) == "[21/21]"
    assert format_running_line("TC_003_CSMS", 4, 9) == "[4/9] TC_003_CSMS ..."


def test_result_line_with_progress(run: RunResult) -> None:
    from harness.report.terminal import format_result_line

    line = format_result_line(run.results[0], progress=(1, 12))
    assert line.startswith("[ 1/12] PASS ")
    assert "\r" not in line and "\x1b" not in line
