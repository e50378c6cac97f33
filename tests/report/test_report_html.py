"""``summary.html``: certificate layout, self-contained, escaped, secrets masked, histograms that add up."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.report.html import histogram_bins, histogram_svg, render_html, vendor_settings, write_summary_html
from harness.results import RunResult


class Collect(HTMLParser):
    """Tags with their attributes, and the text of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Collect:
    parser = Collect()
    parser.feed(html)
    return parser


def test_the_page_follows_the_certificate_abstract(
    run: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "reports" / "summary.html"
    write_summary_html(run, path)
    html = path.read_text(encoding="utf-8")
    page = parse(html)
    text = " ".join(" ".join(page.text).split())
    headings = [h for h in re.findall(r"<h2>(.*?)</h2>", html)]
    assert headings[:4] == [
        "Test Result Summary",
        "Additional Questions",
        "Vendor Specific Settings",
        "Performance Measurement Result",
    ]
    assert headings[-1] == "Test Cases"
    for title in (
        "Core",
        "Firmware Management",
        "Local Authorization List Management",
        "Smart Charging",
        "Remote Trigger",
        "Reservation",
        "Security",
    ):
        assert f"<td>{title}</td>" in html
    assert "AQ-1" in text and "Can your CSMS be configured to first respond to a BootNotificationRequest" in text
    assert "Response time Authorize 0.0700 0.2100 0.1333 0.1200 0.2100 0.2100 3 seconds" in text
    assert len(re.findall(r"<svg class=\"histogram\"", html)) == 3  # Authorize, BootNotification, StatusNotification
    links = [attrs["href"] for tag, attrs in page.tags if tag == "a"]
    assert links == ["traces/TC_003_CSMS.jsonl", "traces/TC_023_3_CSMS-iso15693.jsonl", "traces/TC_056_CSMS.jsonl"]
    assert "failed step: step 4 exchange Authorize" in text
    assert 'id="run-verdict">FAIL<' in html


def test_the_page_is_self_contained(run: RunResult) -> None:
    page = parse(render_html(run))
    assert not [tag for tag, _ in page.tags if tag in ("script", "link", "img", "iframe", "object")]
    for _, attrs in page.tags:
        for name, value in attrs.items():
            assert not (name in ("src", "href") and value and re.match(r"[a-z]+://", value)), (name, value)
    assert "@import" not in render_html(run) and "url(" not in render_html(run)


def test_everything_from_the_run_is_escaped(run: RunResult) -> None:
    hostile = replace(
        run.results[1],
        title='<script>alert("x")</script>',
        message="<b>bold</b> & more",
        trace_path='reports/traces/a"onclick="x.jsonl',
    )
    html = render_html(replace(run, results=(hostile,)), report_dir=Path("reports"))
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert 'href="traces/a&quot;onclick=&quot;x.jsonl"' in html


def test_secrets_are_masked_in_the_settings() -> None:
    target = {
        "name": "csms",
        "stations": {"default": {"id": "CP_1", "security_profile": 1, "basic_auth_password": "********"}},
        "tokens": {"central": {"valid": "OCA_TOKEN_1", "blocked": "BLOCKED"}},
        "endpoints": {"profile_1": {"ws_url": "ws://csms/ocpp", "api_url": "http://csms"}},
        "driver": {"kind": "http", "headers": {"Authorization": "Bearer leaked"}},
        "api_key": "also-leaked",
    }
    certificate, harness = vendor_settings(target)
    assert ("Central Token", "OCA_TOKEN_1", "Central") in certificate
    assert ("Blocked Central Token", "BLOCKED", "Central") in certificate
    assert ("ChargingStationId", "CP_1", "Charging station with profile 1 (default, connector 1 of 1)") in certificate
    assert ("Websocket URL", "ws://csms/ocpp", "Profile 1") in certificate
    assert ("driver.headers.Authorization", "********") in harness
    assert ("api_key", "********") in harness
    assert "leaked" not in repr((certificate, harness))


def test_histogram_bins_are_round_and_hold_every_sample() -> None:
    width, counts = histogram_bins([20.0, 70.0, 100.0, 120.0, 210.0])
    assert width == 20.0 and sum(counts) == 5 and len(counts) == 11
    assert counts[1] == 1 and counts[10] == 1  # 20 ms falls in [20, 40): a sample on an edge goes up
    assert histogram_bins([0.0]) == (1.0, [1])
    assert histogram_bins([1.5]) == (0.2, [0, 0, 0, 0, 0, 0, 0, 1])


def test_a_histogram_is_an_accessible_svg_with_counts() -> None:
    svg = histogram_svg("Authorize", [0.07, 0.12, 0.21], p95_s=0.21)
    assert svg.startswith('<svg class="histogram" xmlns="http://www.w3.org/2000/svg"')
    assert 'aria-label="Response time histogram of Authorize: 3 samples"' in svg
    assert svg.count('<rect class="bar"') == 3 and 'class="p95"' in svg
