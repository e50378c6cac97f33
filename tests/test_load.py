"""``ocpp-harness load`` against the bundled CSMS on 127.0.0.1: two generator processes, provisioning through
the CSMS's API, the summary, load.json and load.html, and the reconciliation of transactions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.report.load_html import render_load_html
from harness.session import BundledCsms
from simulator.load import CsmsApi, api_problem, reconcile, split


def test_a_load_run_over_two_processes_reports_and_reconciles(
    bundled_csms: BundledCsms, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    code = main(
        [
            "load", "--url", bundled_csms.ws_url, "--api-token", bundled_csms.api_token,
            "--stations", "8", "--connectors", "2",
            "--duration", "3", "--ramp", "0.5",
            "--processes", "2", "--seed", "3", "--sessions-per-hour", "7200", "--session-s", "0.5",
            "--meter-interval-s", "1", "--validate", "--out", str(out),
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    report = json.loads((out / "load.json").read_text())
    assert report["outcomes"]["BootNotification"] == {"CALLRESULT": 8}
    assert report["errors"] == {}
    assert len(report["generator"]) == 2  # one entry per generator process, each with its CPU and loop lag
    assert all(p["loop_lag"]["count"] > 0 for p in report["generator"])
    rec = report["reconciliation"]
    assert rec["checked"] and rec["ok"] and rec["acknowledged"] > 0
    assert rec["acknowledged_stopped"] == rec["acknowledged"]  # the clean stop delivered every stop
    assert set(report["latency"]) >= {"all", "BootNotification", "Authorize", "StartTransaction", "StopTransaction"}
    assert "reconciliation ok" in printed and "generator process 2: CPU" in printed
    html = (out / "load.html").read_text()
    assert html.count('<figure class="histogram">') == len(report["histograms"])
    assert "The generator itself" in html


def test_reconciliation_names_a_transaction_the_csms_does_not_have(bundled_csms: BundledCsms) -> None:
    result = asyncio.run(reconcile(CsmsApi(bundled_csms.api_url, bundled_csms.api_token), {("CP_X", 999): True}))
    assert result.checked and not result.ok
    assert result.missing == [("CP_X", 999)]


def test_an_api_that_refuses_the_token_is_named_with_the_fix(bundled_csms: BundledCsms) -> None:
    """A user who forgot the token is told so, not that the CSMS has no API."""
    missing = asyncio.run(api_problem(CsmsApi(bundled_csms.api_url)))
    wrong = asyncio.run(api_problem(CsmsApi(bundled_csms.api_url, "not-the-token")))
    assert missing is not None and "HTTP 401: it needs a token (--api-token, or OCPP_HARNESS_CSMS_TOKEN)" in missing
    assert wrong is not None and "its token was refused" in wrong
    assert asyncio.run(api_problem(CsmsApi(bundled_csms.api_url, bundled_csms.api_token))) is None


def test_a_load_against_a_csms_without_the_api_is_not_reconciled(tmp_path: Path) -> None:
    report = {
        "settings": {"url": "ws://h/ocpp", "stations": 1, "connectors": 1, "duration_s": 1, "ramp_s": 0, "seed": 0,
                     "processes": 1},
        "wall_s": 1.0, "calls": 0, "latency": {"all": {"count": 0}}, "histograms": {}, "errors": {},
        "connections": {"failed refused": 3}, "csms_calls": {}, "undelivered": {}, "generator": [],
        "generator_saturated": ["process 1 used 99% of a core"],
        "reconciliation": {"checked": False, "detail": "not checked: the CSMS offers no GET /api/transactions"},
        "environment": {"python": "3.11"},
    }  # fmt: skip
    html = render_load_html(report)
    assert "not checked" in html and "The generator was saturated" in html and "failed refused" in html


def test_the_fleet_is_split_evenly_over_the_processes() -> None:
    assert split(10, 3) == [(0, 4), (4, 3), (7, 3)]
    assert split(2, 8) == [(0, 1), (1, 1)]
