"""``summary.json``: the machine-readable report of a run, for dashboards and for diffing two runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.report.aggregate import RunSummary, findings, relative_trace, summarize
from harness.results import RunResult, ScenarioResult, WireRecord
from ocppj.timefmt import format_time


def _frame(record: WireRecord) -> dict[str, str]:
    return {"direction": record.direction, "time": format_time(record.at), "text": record.text}


def _result(result: ScenarioResult, report_dir: Path) -> dict[str, Any]:
    return {
        "id": result.id,
        "scenario_id": result.scenario_id,
        "title": result.title,
        "profile": result.profile,
        "path": result.path,
        "verdict": result.verdict.value,
        "duration_s": round(result.duration_s, 3),
        "trace": relative_trace(result.trace_path, report_dir),
        "message": result.message,
        "failed_step": result.failed_step,
        "reference": result.reference,
        "expected": result.expected,
        "actual": result.actual,
        "warnings": [{"category": w.category, "message": w.message, "reference": w.reference} for w in result.warnings],
        "additional_question": result.additional_question,
        "reproduce": result.reproduce,
        "last_frames": [_frame(record) for record in result.last_frames],
        "references": list(result.references),
        "deviation": result.deviation,
        "expected_failure": result.expected_failure,
        "unexpected_pass": result.unexpected_pass,
        "steps": [
            {"index": step.index, "kind": step.kind, "label": step.label, "status": step.status}
            for step in result.steps
        ],
    }


def summary_document(run: RunResult, *, report_dir: Path, summary: RunSummary | None = None) -> dict[str, Any]:
    """The content of ``summary.json``; trace paths inside ``report_dir`` are made relative to it."""
    summary = summary or summarize(run)
    return {
        "run_id": run.run_id,
        "started_at": format_time(run.started_at),
        "finished_at": format_time(run.finished_at),
        "duration_s": round(summary.duration_s, 3),
        "ok": run.ok,
        "verdict": summary.verdict.value,
        "reasons": summary.reasons(),
        "expected_failures": [result.id for result in summary.expected_failures],
        "unexpected_passes": [result.id for result in summary.unexpected_passes],
        "octt_compatibility": [
            {"id": result.id, "message": finding.message, "reference": finding.reference}
            for result, finding in findings(run.results, "octt")
        ],
        "cleanup_problems": [
            {"id": result.id, "message": finding.message} for result, finding in findings(run.results, "cleanup")
        ],
        "target": run.target,
        "environment": run.environment,
        "counts": dict(summary.counts),
        "profiles": {
            profile.profile: {"verdict": profile.verdict.value, "counts": dict(profile.counts)}
            for profile in summary.profiles
        },
        "additional_questions": {
            answer.id: {"supported": answer.supported, "results": list(answer.results)} for answer in summary.questions
        },
        "results": [_result(result, report_dir) for result in run.results],
        "performance": summary.performance.as_dict(),
    }


def write_summary_json(run: RunResult, path: Path) -> None:
    """Write ``summary.json`` (keys sorted, indent 2, non-ASCII kept as UTF-8) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = summary_document(run, report_dir=path.parent)
    text = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False, default=str)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a raw frame: \u escapes keep the file valid UTF-8
        data = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=True, default=str).encode("ascii")
    path.write_bytes(data + b"\n")
