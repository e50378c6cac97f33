from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness.report.json_report import write_summary_json
from harness.results import RunResult, WireRecord


def _load(run: RunResult, path: Path) -> dict[str, object]:
    write_summary_json(run, path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_top_level(run: RunResult, tmp_path: Path) -> None:
    document = _load(run, tmp_path / "summary.json")
    assert document["run_id"] == "run-20260201-205332"
    assert document["started_at"] == "2026-02-01T20:53:32.486Z"
    assert document["finished_at"] == "2026-02-01T20:53:42.986Z"
    assert document["duration_s"] == 10.5
    assert document["ok"] is False
    assert document["target"] == run.target
    assert document["environment"] == {"python": "3.12.3", "ocpp": "2.1.0"}
    assert document["counts"] == {"PASS": 2, "FAIL": 1, "ERROR": 1, "NOT_APPLICABLE": 1, "PARTIAL": 1}
    assert document["cleanup_problems"] == [
        {
            "id": "TC_056_CSMS",
            "message": "transaction 7 may still be open on the CSMS (its StopTransaction was not acknowledged)",
        }
    ]


def test_profiles_and_additional_questions(run: RunResult, tmp_path: Path) -> None:
    document = _load(run, tmp_path / "summary.json")
    assert document["profiles"] == {
        "Core": {
            "verdict": "FAIL",
            "counts": {"PASS": 2, "FAIL": 1, "ERROR": 0, "NOT_APPLICABLE": 0, "PARTIAL": 0},
        },
        "SmartCharging": {
            "verdict": "ERROR",
            "counts": {"PASS": 0, "FAIL": 0, "ERROR": 1, "NOT_APPLICABLE": 1, "PARTIAL": 0},
        },
        "RemoteTrigger": {
            "verdict": "PARTIAL",
            "counts": {"PASS": 0, "FAIL": 0, "ERROR": 0, "NOT_APPLICABLE": 0, "PARTIAL": 1},
        },
    }
    assert document["additional_questions"] == {"AQ-1": {"supported": True, "results": ["TC_010_CSMS"]}}


def test_failed_result_in_full(run: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the sample traces live under ./reports/traces
    document = _load(run, tmp_path / "reports" / "summary.json")
    results = document["results"]
    assert isinstance(results, list)
    assert [r["id"] for r in results] == [r.id for r in run.results]  # run order kept
    assert results[1] == {
        "id": "TC_023_3_CSMS[iso15693]",
        "scenario_id": "TC_023_3_CSMS",
        "title": "Start Charging Session - Authorize invalid | blocked",
        "profile": "Core",
        "path": "scenarios/core/TC_023_3_CSMS.yaml",
        "verdict": "FAIL",
        "duration_s": 1.234,
        "trace": "traces/TC_023_3_CSMS-iso15693.jsonl",
        "message": "Authorize answered Invalid | expected Accepted\nsecond line of detail",
        "failed_step": "step 4 exchange Authorize (scenarios/core/TC_023_3_CSMS.yaml:12:5)",
        "reference": "OCPP 1.6 §4.2 Authorize",
        "expected": 'idTagInfo.status == "Accepted"',
        "actual": 'idTagInfo.status == "Invalid"',
        "warnings": [],
        "additional_question": None,
        "reproduce": "ocpp-harness run --target ci/target.yaml -k 'TC_023_3_CSMS[iso15693]'",
        "last_frames": [
            {
                "direction": ">",
                "time": "2026-02-01T20:53:33.486Z",
                "text": '[2,"2","Authorize",{"idTag":"OCA_TOKEN_1"}]',
            },
            {
                "direction": "<",
                "time": "2026-02-01T20:53:33.696Z",
                "text": '[3,"2",{"idTagInfo":{"status":"Invalid"}}]',
            },
        ],
        "references": ["OCPP 1.6 §4.1", "OCTT D24 §3.8.3"],
        "deviation": None,
        "expected_failure": False,
        "unexpected_pass": False,
        "steps": [
            {"index": 1, "kind": "use", "label": "step 1 (use booted)", "status": "passed"},
            {
                "index": 2,
                "kind": "exchange",
                "label": "step 4 exchange Authorize (scenarios/core/TC_023_3_CSMS.yaml:12:5)",
                "status": "failed",
            },
            {"index": 3, "kind": "act", "label": "step 3 (act unplug)", "status": "not_run"},
        ],
    }
    assert results[4]["trace"] is None
    assert results[4]["verdict"] == "NOT_APPLICABLE"


def test_trace_outside_the_report_dir_is_kept_as_given(run: RunResult, tmp_path: Path) -> None:
    document = _load(run, tmp_path / "out" / "summary.json")
    results = document["results"]
    assert isinstance(results, list)
    assert results[0]["trace"] == "reports/traces/TC_003_CSMS.jsonl"


def test_performance(run: RunResult, tmp_path: Path) -> None:
    performance = _load(run, tmp_path / "summary.json")["performance"]
    assert performance == {
        "ocpp_response_time": {
            "count": 5,
            "min_s": 0.02,
            "avg_s": 0.104,
            "max_s": 0.21,
            "p50_s": 0.1,
            "p95_s": 0.21,
            "p99_s": 0.21,
        },
        "authorize": {
            "count": 3,
            "min_s": 0.07,
            "avg_s": 0.1333,
            "max_s": 0.21,
            "p50_s": 0.12,
            "p95_s": 0.21,
            "p99_s": 0.21,
        },
        "per_action": {
            "Authorize": {
                "count": 3,
                "min_s": 0.07,
                "avg_s": 0.1333,
                "max_s": 0.21,
                "p50_s": 0.12,
                "p95_s": 0.21,
                "p99_s": 0.21,
            },
            "BootNotification": {
                "count": 1,
                "min_s": 0.1,
                "avg_s": 0.1,
                "max_s": 0.1,
                "p50_s": 0.1,
                "p95_s": 0.1,
                "p99_s": 0.1,
            },
            "StatusNotification": {
                "count": 1,
                "min_s": 0.02,
                "avg_s": 0.02,
                "max_s": 0.02,
                "p50_s": 0.02,
                "p95_s": 0.02,
                "p99_s": 0.02,
            },
        },
    }


def test_format_sorted_indented_utf8(run: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    write_summary_json(run, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "additional_questions": {')
    assert "§4.2" in text  # not \u00a7
    assert text.endswith("}\n")
    write_summary_json(run, path)
    assert path.read_text(encoding="utf-8") == text  # stable


def test_lone_surrogate_in_a_frame_still_writes_valid_utf8(run: RunResult, tmp_path: Path) -> None:
    frame = WireRecord(">", 0.0, '[2,"1","DataTransfer",{"data":"\ud800"}]')
    odd = replace(run, results=(replace(run.results[1], last_frames=(frame,)),))
    document = _load(odd, tmp_path / "summary.json")
    results = document["results"]
    assert isinstance(results, list)
    assert results[0]["last_frames"][0]["text"] == frame.text
