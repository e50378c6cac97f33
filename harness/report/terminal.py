"""Plain-text output for a terminal or a CI log: one live line per scenario as it finishes, and the final
table shaped like the certificate's abstract (profiles, AQ-1, performance) followed by one line per result."""

from __future__ import annotations

import textwrap

from harness.report.aggregate import VERDICTS, RunSummary, explained, findings, format_s, result_label, summarize
from harness.report.failure import summary_line
from harness.results import RunResult, ScenarioResult
from ocppj.timefmt import format_time

VERDICT_WIDTH = max(len(verdict.value) for verdict in VERDICTS)
FINDING_SECTIONS = (
    ("should", "Warnings: 'should' rules missed (not a failure)"),
    ("octt", "OCTT compatibility (not a spec failure)"),
    ("cleanup", "Cleanup: left behind in the CSMS (not part of any verdict)"),
)
_ELLIPSIS = "…"


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the cut marked with an ellipsis."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + _ELLIPSIS


def _duration(duration_s: float) -> str:
    return f"{duration_s:.2f}s"


def progress_prefix(done: int, total: int) -> str:
    """``[ 3/21]``: the position of a case in the run, padded so the lines of a run line up."""
    digits = len(str(total))
    return f"[{done:>{digits}}/{total}]"


def format_running_line(case_id: str, done: int, total: int) -> str:
    """What a terminal shows while a case runs (overwritten by its result line): ``[ 4/21] TC_003_CSMS ...``."""
    return f"{progress_prefix(done, total)} {case_id} ..."


def format_result_line(
    result: ScenarioResult, *, width: int | None = None, progress: tuple[int, int] | None = None
) -> str:
    """The live line of one finished scenario: ``PASS            TC_003_CSMS  Regular Charging  0.42s``.

    The verdict is padded to the longest verdict name so ids line up. With ``progress`` (done, total) the line
    starts with ``[ 3/21]``. With ``width`` the title is cut so the whole line fits, and dot leaders push the
    duration to the right edge. A declared deviation shows as ``FAIL (expected)`` / ``PASS (unexpected)``.
    """
    prefix = f"{progress_prefix(*progress)} " if progress is not None else ""
    title = result.title
    if result.expected_failure or result.unexpected_pass:
        title = f"[{result_label(result)}] {title}"
    head = f"{prefix}{result.verdict.value:<{VERDICT_WIDTH}}  {result.id}  "
    tail = _duration(result.duration_s)
    if width is None:
        return f"{head}{title}  {tail}"
    room = width - len(head) - len(tail) - 2  # two spaces at least between title and duration
    if room < 1:  # an id too long for the width: keep id and duration whole
        return f"{head}{tail}"
    title = _fit(title, room)
    fill = width - len(head) - len(title) - len(tail)
    leader = " " + "." * (fill - 2) + " " if fill >= 4 else " " * fill
    return f"{head}{title}{leader}{tail}"


def _section(title: str, width: int) -> list[str]:
    return ["", title, "-" * min(width, max(len(title), 40))]


def _profile_lines(summary: RunSummary, width: int) -> list[str]:
    names = [profile.title for profile in summary.profiles]
    name_width = max([len("Certification profile"), *map(len, names)])
    lines = [
        f"{'Certification profile':<{name_width}}  {'Result':<{VERDICT_WIDTH}}  "
        f"{'pass':>5} {'fail':>5} {'error':>5} {'n/a':>5} {'part.':>5}"
    ]
    for profile in summary.profiles:
        counts = " ".join(f"{profile.counts[verdict.value]:>5}" for verdict in VERDICTS)
        lines.append(f"{profile.title:<{name_width}}  {profile.verdict.value:<{VERDICT_WIDTH}}  {counts}")
    if not summary.profiles:
        lines.append("(no results)")
    return [_fit(line, width) for line in lines]


def _question_lines(summary: RunSummary, width: int) -> list[str]:
    lines = []
    for answer in summary.questions:
        if not answer.results:
            basis = "no scenario ran"
        elif answer.supported is None:
            basis = "undecided: " + ", ".join(f"{case} {verdict}" for case, verdict in answer.verdicts)
        else:
            basis = f"tested by {', '.join(answer.results)}"
        lines.append(_fit(f"{answer.id:<6} {answer.answer:<10} {basis}", width))
        if answer.question:
            lines += textwrap.wrap(answer.question, max(width, 20), initial_indent=" " * 7, subsequent_indent=" " * 7)
    return lines


def _performance_lines(summary: RunSummary, width: int) -> list[str]:
    rows = summary.performance_rows()
    name_width = max(len(name) for name, _ in rows)
    lines = [f"{'(seconds)':<{name_width}}  {'min':>7} {'avg':>7} {'max':>7} {'p95':>7} {'samples':>8}"]
    for name, stats in rows:
        if stats is None:
            lines.append(f"{name:<{name_width}}  {'-':>7} {'-':>7} {'-':>7} {'-':>7} {0:>8}")
        else:
            lines.append(
                f"{name:<{name_width}}  {format_s(stats.min_s):>7} {format_s(stats.avg_s):>7} "
                f"{format_s(stats.max_s):>7} {format_s(stats.p95_s):>7} {stats.count:>8}"
            )
    return [_fit(line, width) for line in lines]


def _result_lines(summary: RunSummary, width: int) -> list[str]:
    results = summary.run.results
    if not results:
        return ["(no results)"]
    id_width = min(max(len(result.id) for result in results), 40)
    label_width = max(len(result_label(result)) for result in results)
    lines = []
    for result in results:
        duration = _duration(result.duration_s)
        line = f"{result_label(result):<{label_width}}  {result.id:<{id_width}}  {duration:>9}"
        if explained(result):
            line += f"  {summary_line(result)}"
        lines.append(_fit(line, width))
    return lines


def format_summary_table(run: RunResult, *, width: int = 100) -> str:
    """The final table of a run, every line at most ``width`` characters (long messages are cut)."""
    summary = summarize(run)
    counts = ", ".join(f"{n} {verdict}" for verdict, n in summary.counts.items() if n) or "no results"
    lines = [
        _fit(f"OCPP 1.6J conformance: {summary.verdict.value}", width),
        _fit(f"run {run.run_id}, started {format_time(run.started_at)}, {summary.duration_s:.1f}s", width),
        _fit(f"{len(run.results)} results: {counts}", width),
        *(_fit(f"fails because of {reason}", width) for reason in summary.reasons()),
    ]
    lines += _section("Test Result Summary", width) + _profile_lines(summary, width)
    lines += _section("Additional Questions", width) + _question_lines(summary, width)
    lines += _section("Performance Measurement Result", width) + _performance_lines(summary, width)
    for category, title in FINDING_SECTIONS:
        found = findings(run.results, category)
        if found:
            lines += _section(title, width)
            lines += [_fit(f"{result.id}: {finding.message}", width) for result, finding in found]
    lines += _section("Results", width) + _result_lines(summary, width)
    return "\n".join(lines)
