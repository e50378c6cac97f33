from __future__ import annotations

from harness.report.failure import failure_text, frame_line, one_line, summary_line
from harness.results import RunResult, WireRecord


def test_failure_text_of_a_fail(run: RunResult) -> None:
    failed = run.results[1]
    assert failure_text(failed) == "\n".join(
        [
            "failed step: step 4 exchange Authorize (scenarios/core/TC_023_3_CSMS.yaml:12:5)",
            "message: Authorize answered Invalid | expected Accepted",
            "         second line of detail",
            "reference: OCPP 1.6 §4.2 Authorize",
            'expected: idTagInfo.status == "Accepted"',
            'actual:   idTagInfo.status == "Invalid"',
            "last frames (> sent, < received, * connection):",
            '> 20:53:33.486Z [2,"2","Authorize",{"idTag":"OCA_TOKEN_1"}]',
            '< 20:53:33.696Z [3,"2",{"idTagInfo":{"status":"Invalid"}}]',
            "trace: reports/traces/TC_023_3_CSMS-iso15693.jsonl",
            "reproduce: ocpp-harness run --target ci/target.yaml -k 'TC_023_3_CSMS[iso15693]'",
        ]
    )


def test_failure_text_leaves_out_what_is_missing(run: RunResult) -> None:
    partial = run.results[5]
    assert failure_text(partial) == "message: the http driver cannot request MeterValues for connector 0"


def test_warnings_are_listed(run: RunResult) -> None:
    assert failure_text(run.results[0]).splitlines()[:2] == [
        "warnings:",
        "  - StatusNotification(Preparing) not answered within 1 s (should, OCPP 1.6 §4.9)",
    ]


def test_frame_line_escapes_line_breaks_and_cuts_long_frames() -> None:
    record = WireRecord("<", 0.0, '[3,"1",\r\n{}]')
    assert frame_line(record) == '< 00:00:00.000Z [3,"1",\\r\\n{}]'
    long = WireRecord(">", 0.0, "x" * 30)
    assert frame_line(long, max_chars=10) == "> 00:00:00.000Z " + "x" * 10 + "… (20 more characters in the trace)"


def test_one_line_and_summary_line(run: RunResult) -> None:
    assert one_line("\n  \n first \nsecond") == "first"
    assert one_line(None) == ""
    assert summary_line(run.results[1]) == "Authorize answered Invalid | expected Accepted"
    assert summary_line(run.results[0]) == ""
