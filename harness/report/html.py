"""``summary.html``: the report a vendor reads, laid out like the abstract of an OCA certificate ("Test Result
Summary", "Additional Questions", "Vendor Specific Settings", "Performance Measurement Result"), then one row per
test case with its verdict, duration, failure text and a link to its wire trace.

One self-contained file: inline CSS, histograms as inline SVG, no JavaScript, no network (it opens from a CI
artifact or an e-mail and prints as it shows). Every value from the run is escaped; secrets are masked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from harness.config import MASK
from harness.report.aggregate import (
    PROFILE_DESCRIPTIONS,
    PROFILE_TITLES,
    RunSummary,
    explained,
    findings,
    format_s,
    profile_title,
    relative_trace,
    result_label,
    summarize,
)
from harness.report.failure import failure_text, summary_line
from harness.results import RunResult, ScenarioResult, Verdict
from ocppj.timefmt import format_time

HISTOGRAM_BINS = 12
_SECRET_KEY = re.compile(r"password|secret|authorization|api[_-]?key|bearer|^headers\.", re.IGNORECASE)

_CSS = """
:root { --ink: #1d2433; --muted: #5b6475; --line: #d8dde6; --band: #f4f6f9; --accent: #1f4e8c;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #b42318; --fail-bg: #fde4e1; --error: #8a3ffc;
  --error-bg: #efe4ff; --na: #5b6475; --na-bg: #eceef2; --partial: #9a6700; --partial-bg: #fff3c4; }
* { box-sizing: border-box; }
body { margin: 0; background: #e9edf2; color: var(--ink);
  font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 24px auto; background: #fff; padding: 36px 44px 44px;
  box-shadow: 0 1px 3px rgba(0,0,0,.12); border-top: 6px solid var(--accent); }
header { display: flex; justify-content: space-between; align-items: flex-start; gap: 24px;
  border-bottom: 2px solid var(--ink); padding-bottom: 18px; }
header h1 { margin: 0 0 4px; font-size: 26px; letter-spacing: -.01em; }
header .sub { color: var(--muted); margin: 0; }
.verdict-big { font-size: 22px; font-weight: 700; padding: 10px 22px; border-radius: 6px; white-space: nowrap; }
dl.facts { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 4px 18px;
  margin: 18px 0 6px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
h2 { font-size: 18px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line);
  color: var(--accent); }
h3 { font-size: 15px; margin: 18px 0 8px; }
table { width: 100%; border-collapse: collapse; margin: 6px 0 10px; }
th, td { text-align: left; vertical-align: top; padding: 7px 10px; border-bottom: 1px solid var(--line); }
th { background: var(--band); font-weight: 600; font-size: 13px; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.desc, span.desc { color: var(--muted); }
table.compact td, table.compact th { padding: 4px 10px; }
table.compact td { font-size: 13px; }
table.profiles td:first-child { width: 22%; font-weight: 600; }
table.profiles td:nth-child(2) { width: 12%; }
table.profiles td:last-child { width: 16%; white-space: nowrap; }
table.cases td:first-child { width: 30%; }
table.cases td:nth-child(2) { white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafbfc; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 700;
  white-space: nowrap; }
.PASS { color: var(--pass); background: var(--pass-bg); }
.FAIL { color: var(--fail); background: var(--fail-bg); }
.ERROR { color: var(--error); background: var(--error-bg); }
.NOT_APPLICABLE, .NOT_TESTED { color: var(--na); background: var(--na-bg); }
.PARTIAL { color: var(--partial); background: var(--partial-bg); }
.reasons { margin: 10px 0 0; padding: 10px 14px 10px 30px; background: var(--fail-bg); border-radius: 6px;
  color: var(--fail); }
.note { color: var(--muted); font-size: 13px; margin: 4px 0 10px; }
code, pre { font-family: "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: 12px; }
pre.failure { margin: 8px 0 2px; padding: 10px 12px; background: #f7f8fa; border-left: 3px solid var(--fail);
  white-space: pre-wrap; overflow-wrap: anywhere; }
td.case .title { color: var(--muted); font-size: 13px; }
td.case code { font-size: 13px; font-weight: 600; color: var(--ink); }
.histograms { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 14px; }
figure.histogram { margin: 0; padding: 10px 12px; border: 1px solid var(--line); border-radius: 6px; }
figure.histogram figcaption { font-weight: 600; margin-bottom: 4px; }
figure.histogram figcaption span { font-weight: 400; color: var(--muted); font-size: 12px; }
svg text { font: 10px sans-serif; fill: var(--muted); }
svg .bar { fill: var(--accent); }
svg .axis { stroke: #9aa3b2; stroke-width: 1; }
svg line.p95 { stroke: var(--fail); stroke-width: 1.5; stroke-dasharray: 4 3; }
svg text.p95 { fill: var(--fail); font-weight: 600; }
a { color: var(--accent); }
footer { margin-top: 34px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line);
  padding-top: 10px; }
@media print { body { background: #fff; } main { box-shadow: none; margin: 0; max-width: none; padding: 0; }
  h2 { break-after: avoid; } tr, figure { break-inside: avoid; } }
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _badge(verdict: str, text: str | None = None) -> str:
    return f'<span class="badge {_e(verdict)}">{_e(text or verdict)}</span>'


def _result_badge(result: ScenarioResult, *, prefix: str = "") -> str:
    """The verdict of a case; an unexpected pass is coloured as a failure (it fails the run), an expected
    failure as a caution (it does not)."""
    css = "FAIL" if result.unexpected_pass else "PARTIAL" if result.expected_failure else result.verdict.value
    return _badge(css, prefix + result_label(result))


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: Sequence[int] = (), css: str = "") -> str:
    """A table whose cells are already HTML (escape values before)."""
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{_e(name)}</th>" for i, name in enumerate(header))
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i in numeric else ''}>{cell}</td>" for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f'<table class="{_e(css)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


# --------------------------------------------------------------------------------------------------- header


def _header(summary: RunSummary) -> str:
    run = summary.run
    name = str(run.target.get("name", "")) or "CSMS under test"
    counts = ", ".join(f"{n} {verdict}" for verdict, n in summary.counts.items() if n) or "no results"
    reasons = summary.reasons()
    reason_html = (
        '<ul class="reasons">' + "".join(f"<li>{_e(reason)}</li>" for reason in reasons) + "</ul>" if reasons else ""
    )
    facts = [
        ("Device Under Test", name),
        ("Run", run.run_id),
        ("Started", format_time(run.started_at)),
        ("Duration", f"{summary.duration_s:.1f} s"),
        ("Test cases", f"{len(run.results)}: {counts}"),
        ("Reference", "OCPP 1.6 Edition 2 (OCTT CSMS test cases)"),
    ]
    if summary.expected_failures:
        facts.append(("Known deviations", f"{len(summary.expected_failures)} expected failure(s)"))
    should, octt = findings(run.results, "should"), findings(run.results, "octt")
    facts.append(("Spec warnings", f"{len(should)} missed 'should' rule(s)" if should else "none"))
    facts.append(("OCTT compatibility", f"{len(octt)} known OCTT quirk(s) triggered" if octt else "no known quirk"))
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    verdict = summary.verdict.value
    return (
        "<header><div><h1>OCPP 1.6J conformance report</h1>"
        '<p class="sub">Abstract of the test report, in the layout of an OCA certificate</p></div>'
        f'<div class="verdict-big {_e(verdict)}" id="run-verdict">{_e(verdict)}</div></header>'
        f'<dl class="facts">{dl}</dl>{reason_html}'
    )


# ---------------------------------------------------------------------------------------- certificate tables


def _profiles(summary: RunSummary) -> str:
    """Every certification profile of the certificate, in its order: tested ones with their verdict, the others
    ``Not claimed`` (the target does not declare them) or ``Not tested`` (declared, but no scenario ran)."""
    claimed = summary.run.target.get("profiles")
    claimed_set = set(claimed) if isinstance(claimed, list) else None
    by_profile = {profile.profile: profile for profile in summary.profiles}
    rows = []
    for profile in [*PROFILE_TITLES, *(p for p in by_profile if p not in PROFILE_TITLES)]:
        tested = by_profile.get(profile)
        if tested is not None:
            result = _badge(tested.verdict.value, tested.verdict.value.replace("_", " ").title())
            cases = ", ".join(f"{n} {verdict}" for verdict, n in tested.counts.items() if n)
        elif claimed_set is not None and profile not in claimed_set:
            result, cases = _badge("NOT_APPLICABLE", "Not claimed"), ""
        else:
            result, cases = _badge("NOT_TESTED", "Not tested"), ""
        rows.append(
            (
                _e(profile_title(profile)),
                result,
                f'<span class="desc">{_e(PROFILE_DESCRIPTIONS.get(profile, ""))}</span>',
                _e(cases),
            )
        )
    return (
        '<section id="test-result-summary"><h2>Test Result Summary</h2>'
        + _table(("Certification Profile", "Test Result", "Description", "Test cases"), rows, css="profiles")
        + "</section>"
    )


def _questions(summary: RunSummary) -> str:
    rows = [
        (
            f"<strong>{_e(answer.id)}</strong>",
            _e(answer.question or ""),
            _badge({"Yes": "PASS", "No": "FAIL"}.get(answer.answer, "NOT_TESTED"), answer.answer),
            _e(", ".join(answer.results) or "-"),
        )
        for answer in summary.questions
    ]
    header = ("ID", "Additional Questions for Lab Testing", "Supported / Present", "Answered by")
    return '<section id="additional-questions"><h2>Additional Questions</h2>' + _table(header, rows) + "</section>"


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, str]]:
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, f"{name}.")
        elif isinstance(value, list | Mapping):
            yield name, ", ".join(str(item) for item in value) or "-"
        else:
            yield name, "-" if value is None else str(value)


def _masked(name: str, value: str) -> str:
    return MASK if _SECRET_KEY.search(name) and value not in ("-", MASK) else value


_TOKEN_NAMES = {"central": "Central", "iso14443": "ISO14443", "keycode": "KEY_CODE", "iso15693": "ISO15693"}
_TOKEN_TYPES = {"central": "Central", "iso14443": "ISO14443", "keycode": "KeyCode", "iso15693": "ISO15693"}


def vendor_settings(target: Mapping[str, Any]) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """From a target summary (:meth:`harness.config.Target.summary`): ``(Configuration Setting, Configured
    Value, Description)`` rows in the wording of the certificate's "Vendor Specific Settings", and
    ``(setting, value)`` rows for everything else the run used (driver, timeouts, ...). Secrets are masked."""
    rows: list[tuple[str, str, str]] = []
    used: set[str] = set()
    tokens = target.get("tokens")
    if isinstance(tokens, Mapping):
        used.add("tokens")
        for state in ("valid", "blocked", "expired", "invalid"):
            for kind, values in tokens.items():
                if not isinstance(values, Mapping) or not values.get(state):
                    continue
                label = _TOKEN_NAMES.get(kind, kind)
                name = f"{label} Token" if state == "valid" else f"{state.title()} {label} Token"
                rows.append((name, str(values[state]), str(_TOKEN_TYPES.get(kind, kind))))
    if target.get("invalid_token"):
        used.add("invalid_token")
        rows.append(("Invalid Token", str(target["invalid_token"]), "Unknown to the CSMS"))
    if target.get("parent_id_tag"):
        used.add("parent_id_tag")
        rows.append(("Parent idTag", str(target["parent_id_tag"]), "Group of the tokens"))
    stations = target.get("stations")
    if isinstance(stations, Mapping):
        used.add("stations")
        for role, station in stations.items():
            if not isinstance(station, Mapping):
                continue
            profile = station.get("security_profile", 0)
            rows.append(
                (
                    "ChargingStationId",
                    str(station.get("id")),
                    f"Charging station with profile {profile} ({role}, connector {station.get('connector', 1)} "
                    f"of {station.get('connectors', 1)})",
                )
            )
            if station.get("basic_auth_password"):
                rows.append(("Basic auth password", MASK, f"Charging station {station.get('id')}"))
    endpoints = target.get("endpoints")
    if isinstance(endpoints, Mapping):
        used.add("endpoints")
        for key, endpoint in endpoints.items():
            if not isinstance(endpoint, Mapping):
                continue
            profile = str(key).removeprefix("profile_")
            rows.append(("Websocket URL", str(endpoint.get("ws_url") or "-"), f"Profile {profile}"))
            rows.append(("API URL", str(endpoint.get("api_url") or "-"), f"Profile {profile}"))
    rest = {key: value for key, value in target.items() if key not in used and key != "deviations"}
    harness = [(name, _masked(name, text)) for name, text in _flatten(rest)]
    return rows, harness


def _settings(run: RunResult) -> str:
    certificate, harness = vendor_settings(run.target)
    rows = [(_e(name), f"<code>{_e(value)}</code>", _e(description)) for name, value, description in certificate]
    half = (len(harness) + 1) // 2
    pairs = [
        (
            _e(harness[i][0]),
            f"<code>{_e(harness[i][1])}</code>",
            _e(harness[half + i][0]) if half + i < len(harness) else "",
            f"<code>{_e(harness[half + i][1])}</code>" if half + i < len(harness) else "",
        )
        for i in range(half)
    ]
    harness_table = (
        "<h3>Harness settings</h3>" + _table(("Setting", "Value", "Setting", "Value"), pairs, css="compact")
        if pairs
        else ""
    )
    return (
        '<section id="vendor-settings"><h2>Vendor Specific Settings</h2>'
        '<p class="note">From the target file the run used; secrets are masked.</p>'
        + (_table(("Configuration Setting", "Configured Value", "Description"), rows, css="compact") if rows else "")
        + harness_table
        + "</section>"
    )


# ------------------------------------------------------------------------------------------------ performance


def _nice_step(raw: float) -> float:
    """The smallest 1 / 2 / 5 x 10^k at least ``raw`` (> 0)."""
    exponent = math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        step = factor * 10**exponent
        if step >= raw:
            return float(step)
    return float(10 ** (exponent + 1))


def histogram_bins(
    samples_ms: Sequence[float], *, bins: int = HISTOGRAM_BINS, weights: Sequence[int] | None = None
) -> tuple[float, list[int]]:
    """``(bin width in ms, counts)``: bins of a round width from 0 covering every sample; a sample on a bin edge
    falls in the bin above it. ``weights``: how many samples each value stands for (a load run's histogram
    buckets), one by default."""
    top = max(samples_ms) if samples_ms else 0.0
    width = _nice_step(top / bins) if top > 0 else 1.0
    count = max(1, math.floor(top / width) + 1)
    counts = [0] * count
    for index, value in enumerate(samples_ms):
        counts[min(count - 1, math.floor(value / width))] += 1 if weights is None else weights[index]
    return width, counts


def _ms(value: float) -> str:
    return f"{value:g}" if value >= 1 else f"{value:.2g}"


def histogram_svg(
    action: str, samples_s: Sequence[float], *, p95_s: float | None = None, weights: Sequence[int] | None = None
) -> str:
    """An inline SVG histogram of response times (ms) for one action; bars labelled with their counts.
    ``weights``: how many samples each value stands for (see :func:`histogram_bins`)."""
    width_px, height_px = 340, 170
    left, right, top, bottom = 34, 10, 12, 34
    plot_w, plot_h = width_px - left - right, height_px - top - bottom
    samples_ms = [value * 1000 for value in samples_s]
    bin_ms, counts = histogram_bins(samples_ms, weights=weights)
    total = len(samples_s) if weights is None else sum(weights)
    peak = max(counts) if counts else 1
    bar_w = plot_w / len(counts)
    parts = [
        f'<svg class="histogram" xmlns="http://www.w3.org/2000/svg" width="{width_px}" height="{height_px}" '
        f'viewBox="0 0 {width_px} {height_px}" role="img" '
        f'aria-label="{_e(f"Response time histogram of {action}: {total} samples")}">',
        f"<title>{_e(action)} response times (ms)</title>",
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/>',
        f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for index, count in enumerate(counts):
        x = left + index * bar_w
        if count:
            h = plot_h * count / peak
            parts.append(
                f'<rect class="bar" x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 2, 1):.1f}" '
                f'height="{h:.1f}"><title>{_ms(index * bin_ms)}-{_ms((index + 1) * bin_ms)} ms: {count}</title></rect>'
            )
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - h - 2:.1f}" text-anchor="middle">{count}</text>'
            )
    label_every = max(1, math.ceil((len(counts) + 1) / 7))
    for index in range(0, len(counts) + 1, label_every):
        x = left + index * bar_w
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 13}" text-anchor="middle">{_ms(index * bin_ms)}</text>')
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height_px - 4}" text-anchor="middle">response time (ms)</text>'
    )
    if p95_s is not None:
        x = left + min(plot_w, p95_s * 1000 / bin_ms * bar_w)
        parts.append(f'<line class="p95" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}"/>')
        anchor = "end" if x > left + plot_w * 0.8 else "start"
        dx = -3 if anchor == "end" else 3
        parts.append(f'<text class="p95" x="{x + dx:.1f}" y="{top + 9}" text-anchor="{anchor}">p95</text>')
    parts.append("</svg>")
    return "".join(parts)


def _performance(summary: RunSummary) -> str:
    run = summary.run
    timeouts = run.target.get("timeouts")
    response_s = timeouts.get("response_s") if isinstance(timeouts, Mapping) else None
    limit = _e(f"{response_s:g}") if isinstance(response_s, int | float) else "-"
    limits = _table(
        ("Name", "Max Value", "Unit", "Description"),
        [
            (
                "OCPP response time",
                limit,
                "seconds",
                _e(
                    "The timeout used for exchanging OCPP response messages. Messages to the DUT can be handled "
                    "within this timeout."
                ),
            ),
            ("Response time Authorize", limit, "seconds", _e("The response time for the Authorize message.")),
        ],
        numeric=(1,),
    )
    rows = []
    for name, stats in summary.performance_rows():
        values = (
            ["-"] * 6
            if stats is None
            else [
                format_s(v, decimals=4)
                for v in (stats.min_s, stats.max_s, stats.avg_s, stats.p50_s, stats.p95_s, stats.p99_s)
            ]
        )
        rows.append((_e(name), *values, str(stats.count if stats else 0), "seconds"))
    measured = _table(
        ("Name", "Min Value", "Max Value", "Average Value", "p50", "p95", "p99", "Samples", "Unit"),
        rows,
        numeric=(1, 2, 3, 4, 5, 6, 7),
        css="performance",
    )
    by_action: dict[str, list[float]] = {}
    for result in run.results:
        for sample in result.latencies:
            by_action.setdefault(sample.action, []).append(sample.latency_s)
    figures = []
    for action in sorted(by_action):
        stats = summary.performance.per_action.get(action)
        p95 = stats.p95_s if stats else None
        caption = (
            f"{_e(action)} <span>{len(by_action[action])} sample{'s' if len(by_action[action]) != 1 else ''}"
            + (f", p50 {stats.p50_s * 1000:.1f} ms, p95 {stats.p95_s * 1000:.1f} ms" if stats else "")
            + "</span>"
        )
        figures.append(
            f'<figure class="histogram" id="histogram-{_e(action)}"><figcaption>{caption}</figcaption>'
            f"{histogram_svg(action, by_action[action], p95_s=p95)}</figure>"
        )
    histograms = (
        '<h3>Response time per action</h3><div class="histograms">' + "".join(figures) + "</div>"
        if figures
        else '<p class="note">No CSMS response time was measured.</p>'
    )
    return (
        '<section id="performance"><h2>Performance Measurement Result</h2>'
        f"{limits}{measured}"
        '<p class="note">Measured from sending a station CALL to receiving its CALLRESULT or CALLERROR; '
        "percentiles by the nearest-rank method.</p>"
        f"{histograms}</section>"
    )


# ------------------------------------------------------------------------------------------ notes and cases


def _deviations(run: RunResult) -> str:
    declared = run.target.get("deviations")
    if not isinstance(declared, list) or not declared:
        return ""
    rows = []
    for entry in declared:
        if not isinstance(entry, Mapping):
            continue
        case = str(entry.get("case", ""))
        matching = [r for r in run.results if case in (r.id, r.scenario_id)]
        if not matching:
            state = _badge("NOT_TESTED", "not run")
        else:
            state = " ".join(_result_badge(r, prefix=f"{r.id}: ") for r in matching)
        rows.append((f"<code>{_e(case)}</code>", _e(entry.get("reason", "")), state))
    return (
        '<section id="deviations"><h2>Known Deviations</h2>'
        '<p class="note">Declared in the target file; a declared case that FAILs is an expected failure, one that '
        "PASSes fails the run (remove its declaration).</p>"
        + _table(("Case", "Reason", "Outcome"), rows)
        + "</section>"
    )


def _findings(run: RunResult) -> str:
    sections = []
    for category, title, intro in (
        ("should", "Warnings", "Recommendations (<em>should</em> rules) the CSMS missed; they do not fail a case."),
        (
            "octt",
            "OCTT Compatibility",
            "Legal behaviour the OCA test tool is known to fail a test on. Reported apart from strict "
            "conformance: it does not change a verdict.",
        ),
        (
            "cleanup",
            "Cleanup",
            "What the cleanup after a case could not undo in the CSMS. No verdict depends on it, but the cases "
            "after it may.",
        ),
    ):
        items = findings(run.results, category)
        if not items:
            continue
        rows = [(f"<code>{_e(r.id)}</code>", _e(f.message), _e(f.reference or "-")) for r, f in items]
        sections.append(
            f'<section id="{category}-findings"><h2>{title}</h2><p class="note">{intro}</p>'
            + _table(("Case", "Finding", "Reference"), rows)
            + "</section>"
        )
    return "".join(sections)


def _case_row(result: ScenarioResult, report_dir: Path | None) -> tuple[str, ...]:
    trace = relative_trace(result.trace_path, report_dir) if report_dir is not None else result.trace_path
    link = f'<a href="{_e(trace)}">trace</a>' if trace else "-"
    detail = ""
    if explained(result) or result.expected_failure:
        text = failure_text(result) if result.verdict is not Verdict.NOT_APPLICABLE else summary_line(result)
        detail = f'<pre class="failure">{_e(text)}</pre>'
    elif result.verdict is Verdict.NOT_APPLICABLE and result.message:
        detail = f'<span class="desc">{_e(result.message)}</span>'
    case = (
        f'<code id="case-{_e(result.id)}">{_e(result.id)}</code><br>'
        f'<span class="title">{_e(result.title)} · {_e(profile_title(result.profile))}</span>'
    )
    return (
        case,
        _result_badge(result),
        f"{result.duration_s:.2f} s",
        detail,
        link,
    )


def _cases(run: RunResult, report_dir: Path | None) -> str:
    rows = [_case_row(result, report_dir) for result in run.results]
    return (
        '<section id="test-cases"><h2>Test Cases</h2>'
        + _table(("Test case", "Verdict", "Duration", "Failure", "Wire trace"), rows, numeric=(2,), css="cases")
        + "</section>"
    )


def _footer(run: RunResult) -> str:
    env = " · ".join(f"{_e(k)} {_e(v)}" for k, v in run.environment.items())
    return f"<footer>ocpp-harness · run {_e(run.run_id)} · finished {_e(format_time(run.finished_at))}" + (
        f"<br>{env}</footer>" if env else "</footer>"
    )


def render_html(run: RunResult, *, report_dir: Path | None = None, summary: RunSummary | None = None) -> str:
    """The whole page; trace links are relative to ``report_dir`` when the traces lie inside it."""
    summary = summary or summarize(run)
    body = "".join(
        (
            _header(summary),
            _profiles(summary),
            _questions(summary),
            _settings(run),
            _performance(summary),
            _deviations(run),
            _findings(run),
            _cases(run, report_dir),
            _footer(run),
        )
    )
    title = f"{summary.verdict.value} · OCPP 1.6J conformance · {run.target.get('name', '')}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def write_summary_html(run: RunResult, path: Path) -> None:
    """Write ``summary.html`` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(run, report_dir=path.parent), encoding="utf-8", errors="backslashreplace")
