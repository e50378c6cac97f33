"""``summary.html`` in a real browser: headless Chromium renders it offline, and the rendered DOM has the
certificate's profile table, AQ-1, the performance table and the histograms. ``.ci/run`` installs Debian's
chromium so this runs in CI; without a chromium binary it is skipped, saying so."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from harness.report.html import write_summary_html
from harness.results import RunResult

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Offline and quiet: without the background-networking flags Chromium waits on connections a closed network
# never answers.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture
def browser() -> str:
    path = find_browser()
    if path is None and os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but no Chromium binary on PATH (looked for {', '.join(BROWSERS)}): .ci/run installs it")
    if path is None:
        pytest.skip(
            f"no Chromium binary on PATH (looked for {', '.join(BROWSERS)}); .ci/run installs Debian's chromium"
        )
    return path


def chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


def test_chromium_renders_the_certificate_sections(
    browser: str, run: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    page = tmp_path / "reports" / "summary.html"
    write_summary_html(run, page)

    dom = chromium(browser, tmp_path / "profile", "--dump-dom", page.as_uri()).stdout
    profiles = re.search(r'<table class="profiles">.*?</table>', dom, re.S)
    assert profiles, dom[:2000]
    for title in ("Core", "Local Authorization List Management", "Smart Charging", "Reservation", "Security"):
        assert f"<td>{title}</td>" in profiles.group()
    questions = re.search(r'<section id="additional-questions">.*?</section>', dom, re.S)
    assert questions and "AQ-1" in questions.group() and ">Yes<" in questions.group()
    performance = re.search(r'<table class="performance">.*?</table>', dom, re.S)
    assert (
        performance and "OCPP response time" in performance.group() and "Response time Authorize" in performance.group()
    )
    assert re.search(r'<svg class="histogram"[^>]*>.*?<rect class="bar"', dom, re.S)
    assert '<a href="traces/TC_023_3_CSMS-iso15693.jsonl">' in dom

    shot = tmp_path / "summary.png"
    chromium(browser, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 2000)
