"""``load.html``: the report of an ``ocpp-harness load`` run, drawn from its ``load.json``.

The same self-contained page as ``summary.html`` (inline CSS, SVG histograms, no JavaScript): the settings and
machine, response times per action (measured from the write of each CALL to the receipt of its answer), errors
and timeouts by kind, the generator's own CPU and event-loop lag next to them, and the reconciliation of
transactions with the CSMS.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.report.html import _CSS, _e, _table, histogram_svg
from simulator.stats import LatencyHistogram


def _ms(value: Any) -> str:
    return "-" if value is None else f"{float(value) * 1000:.2f}"


def _latency_rows(latency: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, ...]]:
    rows = []
    for action, stats in latency.items():
        if not stats.get("count"):
            continue
        rows.append(
            (
                f"<strong>{_e(action)}</strong>" if action == "all" else _e(action),
                str(stats["count"]),
                *(_ms(stats.get(key)) for key in ("min_s", "avg_s", "p50_s", "p95_s", "p99_s", "max_s")),
            )
        )
    return rows


def _counts(title: str, counts: Mapping[str, int]) -> str:
    if not counts:
        return f"<h3>{_e(title)}</h3><p class=note>none</p>"
    rows = [(_e(kind), str(count)) for kind, count in sorted(counts.items())]
    return f"<h3>{_e(title)}</h3>" + _table(("Kind", "Count"), rows, numeric=(1,), css="compact")


def render_load_html(report: Mapping[str, Any]) -> str:
    settings = report["settings"]
    facts = "".join(
        f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>"
        for name, value in (
            ("CSMS", settings["url"]),
            ("Stations", f"{settings['stations']} x {settings['connectors']} connector(s)"),
            ("Duration", f"{settings['duration_s']:g} s (ramp {settings['ramp_s']:g} s), wall {report['wall_s']:g} s"),
            ("Seed", settings["seed"]),
            ("Generator processes", settings["processes"]),
            ("CALLs", report["calls"]),
        )
    )
    header = (
        "<header><div><h1>OCPP 1.6J load run</h1>"
        f'<p class="sub">{_e(settings["url"])}</p></div></header><dl class="facts">{facts}</dl>'
    )
    latency = _table(
        ("Action", "Samples", "min", "avg", "p50", "p95", "p99", "max"),
        _latency_rows(report["latency"]),
        numeric=(1, 2, 3, 4, 5, 6, 7),
        css="performance",
    )
    figures = []
    for action, data in report["histograms"].items():
        histogram = LatencyHistogram.from_json(data)
        if not histogram.count:
            continue
        values, weights = zip(*histogram.samples(), strict=True)
        p95 = histogram.percentile_s(95)
        caption = (
            f"{_e(action)} <span>{histogram.count} samples, p50 {histogram.percentile_s(50) * 1000:.1f} ms, "
            f"p95 {p95 * 1000:.1f} ms</span>"
        )
        svg = histogram_svg(action, list(values), p95_s=p95, weights=list(weights))
        figures.append(f'<figure class="histogram"><figcaption>{caption}</figcaption>{svg}</figure>')
    generator_rows = []
    for number, process in enumerate(report["generator"], start=1):
        lag = process["loop_lag"]
        generator_rows.append(
            (
                str(number),
                f"{process['cpu_share'] * 100:.0f} %",
                f"{process['cpu_s']:.1f}",
                _ms(lag.get("p50_s")),
                _ms(lag.get("p99_s")),
                _ms(lag.get("max_s")),
            )
        )
    saturated = report["generator_saturated"]
    warning = (
        '<div class="reasons"><strong>The generator was saturated</strong>: latencies include its own delays ('
        + _e("; ".join(saturated))
        + ")</div>"
        if saturated
        else ""
    )
    rec = report["reconciliation"]
    if rec["checked"]:
        verdict = "PASS" if rec["ok"] else "FAIL"
        reconciliation = (
            f'<p><span class="badge {verdict}">{"consistent" if rec["ok"] else "mismatch"}</span> {_e(rec["detail"])}: '
            f"{rec['missing']} acknowledged but missing, {rec['not_stopped']} stopped by the stations but open in "
            "the CSMS.</p>"
        )
    else:
        reconciliation = f'<p class="note">{_e(rec["detail"])}</p>'
    body = "".join(
        (
            header,
            '<section id="latency"><h2>Response times (ms)</h2>',
            '<p class="note">From the write of each CALL to the receipt of its CALLRESULT or CALLERROR; '
            "percentiles by the nearest-rank method, within 1 % (logarithmic histogram).</p>",
            latency,
            f'<div class="histograms">{"".join(figures)}</div></section>',
            '<section id="errors"><h2>Errors, timeouts and connections</h2>',
            _counts("Errors and timeouts", report["errors"]),
            _counts("Connections", report["connections"]),
            _counts("CSMS calls answered", report["csms_calls"]),
            _counts("Undelivered at the stop", report["undelivered"]),
            "</section>",
            '<section id="generator"><h2>The generator itself</h2>',
            '<p class="note">CPU share and event-loop lag of each generator process: a busy generator delays '
            "frames and timers, and that delay is in the response times above.</p>",
            warning,
            _table(
                ("Process", "CPU", "CPU s", "lag p50 (ms)", "lag p99 (ms)", "lag max (ms)"),
                generator_rows,
                numeric=(1, 2, 3, 4, 5),
                css="compact",
            ),
            "</section>",
            f'<section id="reconciliation"><h2>Reconciliation</h2>{reconciliation}</section>',
            "<footer>ocpp-harness load · "
            + " · ".join(f"{_e(k)} {_e(v)}" for k, v in report["environment"].items())
            + "</footer>",
        )
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>OCPP 1.6J load run · {_e(settings['url'])}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def write_load_html(report: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_load_html(report), encoding="utf-8", errors="backslashreplace")
