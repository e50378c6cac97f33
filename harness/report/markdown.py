"""``summary.md``: the report a CI job shows on its page (``cat summary.md >> $GITHUB_STEP_SUMMARY``), laid
out like the abstract of an OCA certificate, followed by what a developer needs to fix each failure."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from harness.report.aggregate import (
    VERDICTS,
    RunSummary,
    explained,
    findings,
    format_s,
    relative_trace,
    result_label,
    summarize,
)
from harness.report.failure import failure_text, summary_line
from harness.results import RunResult, ScenarioResult, Verdict
from ocppj.timefmt import format_time

_MARKS: Mapping[Verdict, str] = {
    Verdict.PASS: "✅",
    Verdict.FAIL: "❌",
    Verdict.ERROR: "💥",
    Verdict.NOT_APPLICABLE: "➖",
    Verdict.PARTIAL: "⚠️",
}

_COUNT_HEADERS: Mapping[Verdict, str] = {
    Verdict.PASS: "Pass",
    Verdict.FAIL: "Fail",
    Verdict.ERROR: "Error",
    Verdict.NOT_APPLICABLE: "Not applicable",
    Verdict.PARTIAL: "Partial",
}


def cell(text: object) -> str:
    """``text`` made safe inside a GitHub table cell: ``|`` escaped, line breaks as ``<br>``."""
    value = str(text).replace("|", "\\|")
    return "<br>".join(line.strip() for line in value.strip().splitlines())


def table(header: Sequence[str], rows: Iterable[Sequence[object]], *, right: Sequence[int] = ()) -> list[str]:
    """A GitHub table; columns whose index is in ``right`` are right-aligned (numbers)."""
    rule = ["---:" if index in right else "---" for index in range(len(header))]
    lines = ["| " + " | ".join(cell(name) for name in header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return lines


def fenced(text: str, *, info: str = "text") -> list[str]:
    """``text`` in a code block whose fence is longer than any backtick run inside it (frames are raw)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, text, fence]


def _verdict(verdict: Verdict) -> str:
    return f"{_MARKS[verdict]} {verdict.value}"


def _result_verdict(result: ScenarioResult) -> str:
    return f"{_MARKS[result.verdict]} {result_label(result)}"


def _flatten(mapping: Mapping[str, object], prefix: str = "") -> Iterable[tuple[str, str]]:
    """``("ws.url", "ws://...")`` rows for nested settings; non-string leaves as JSON."""
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, f"{name}.")
        elif isinstance(value, str):
            yield name, value
        else:
            yield name, json.dumps(value, ensure_ascii=False, default=str)


def _header(summary: RunSummary) -> list[str]:
    run = summary.run
    counts = ", ".join(f"{n} {verdict}" for verdict, n in summary.counts.items() if n)
    return [
        f"# {_verdict(summary.verdict)} — OCPP 1.6J conformance",
        "",
        f"Run `{run.run_id}` · {format_time(run.started_at)} → {format_time(run.finished_at)} "
        f"({summary.duration_s:.1f} s) · {len(run.results)} tests" + (f": {counts}" if counts else ""),
        *(
            ["", "The run fails because of:", "", *(f"- {cell(reason)}" for reason in summary.reasons())]
            if summary.reasons()
            else []
        ),
    ]


def _profiles(summary: RunSummary) -> list[str]:
    rows = [
        (profile.title, _verdict(profile.verdict), *(profile.counts[verdict.value] for verdict in VERDICTS))
        for profile in summary.profiles
    ]
    header = ("Certification Profile", "Test Result", *(_COUNT_HEADERS[verdict] for verdict in VERDICTS))
    return ["## Test Result Summary", "", *table(header, rows, right=range(2, 2 + len(VERDICTS)))]


def _questions(summary: RunSummary) -> list[str]:
    rows = [
        (answer.id, answer.question or "", answer.answer, ", ".join(answer.results) or "-")
        for answer in summary.questions
    ]
    header = ("ID", "Additional Questions for Lab Testing", "Supported / Present", "Tested by")
    return ["## Additional Questions", "", *table(header, rows)]


def _performance(summary: RunSummary) -> list[str]:
    rows = []
    for name, stats in summary.performance_rows():
        if stats is None:
            values = ["-"] * 6
        else:
            values = [
                format_s(value)
                for value in (stats.min_s, stats.max_s, stats.avg_s, stats.p50_s, stats.p95_s, stats.p99_s)
            ]
        rows.append((name, *values, "seconds"))
    header = ("Name", "Min Value", "Max Value", "Average Value", "p50", "p95", "p99", "Unit")
    return ["## Performance Measurement Result", "", *table(header, rows, right=(1, 2, 3, 4, 5, 6))]


def _trace_link(result: ScenarioResult, report_dir: Path | None) -> str:
    trace = relative_trace(result.trace_path, report_dir) if report_dir is not None else result.trace_path
    return f"[trace]({trace.replace(' ', '%20')})" if trace else "-"


def _tests(results: Sequence[ScenarioResult], report_dir: Path | None) -> list[str]:
    rows = [
        (
            result.id,
            _result_verdict(result),
            f"{result.duration_s:.2f} s",
            summary_line(result) if explained(result) else "",
            _trace_link(result, report_dir),
        )
        for result in results
    ]
    return ["## Tests", "", *table(("Test", "Verdict", "Duration", "Failure", "Trace"), rows, right=(2,))]


def _failures(results: Sequence[ScenarioResult]) -> list[str]:
    failed = [result for result in results if result.verdict in (Verdict.FAIL, Verdict.ERROR) or result.unexpected_pass]
    if not failed:
        return []
    lines = ["## Failures"]
    for result in failed:
        lines += ["", f"### {_result_verdict(result)} `{result.id}` — {result.title}", ""]
        lines += fenced(failure_text(result))
    return lines


def _findings(results: Sequence[ScenarioResult], category: str, title: str, intro: str) -> list[str]:
    items = [
        f"- `{result.id}`: {' '.join(finding.message.splitlines())}"
        + (f" ({finding.reference})" if finding.reference else "")
        for result, finding in findings(results, category)
    ]
    return [f"## {title}", "", intro, "", *items] if items else []


def _warnings(results: Sequence[ScenarioResult]) -> list[str]:
    return (
        _findings(
            results,
            "should",
            "Warnings",
            "Recommendations (`should` rules) the CSMS missed; they do not fail a case.",
        )
        + _findings(
            results,
            "octt",
            "OCTT compatibility",
            "Legal behaviour the OCA test tool is known to fail a test on; strict spec conformance is not affected.",
        )
        + _findings(
            results,
            "cleanup",
            "Cleanup",
            "What the cleanup after a case could not undo in the CSMS; no verdict depends on it, but later cases may.",
        )
    )


def _settings(run: RunResult) -> list[str]:
    rows = [*_flatten(run.target), *_flatten(run.environment, "environment.")]
    if not rows:
        return []
    return [
        "<details><summary>Target settings and environment</summary>",
        "",
        *table(("Setting", "Value"), rows),
        "",
        "</details>",
    ]


def render_markdown(run: RunResult, *, summary: RunSummary | None = None, report_dir: Path | None = None) -> str:
    """The Markdown report; trace links are made relative to ``report_dir`` when the traces lie inside it."""
    summary = summary or summarize(run)
    sections = [
        _header(summary),
        _profiles(summary),
        _questions(summary),
        _performance(summary),
        _tests(run.results, report_dir),
        _failures(run.results),
        _warnings(run.results),
        _settings(run),
    ]
    return "\n\n".join("\n".join(section) for section in sections if section) + "\n"


def write_summary_md(run: RunResult, path: Path) -> None:
    """Write ``summary.md`` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(run, report_dir=path.parent), encoding="utf-8", errors="backslashreplace")
