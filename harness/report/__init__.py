"""Report writers: they only read a finished :class:`~harness.results.RunResult` (design §2)."""

from __future__ import annotations

from pathlib import Path

from harness.report.allure import ALLURE_RESULTS, write_allure_results
from harness.report.html import write_summary_html
from harness.report.json_report import write_summary_json
from harness.report.junit import write_junit
from harness.report.markdown import write_summary_md
from harness.results import RunResult

SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
SUMMARY_HTML = "summary.html"
JUNIT_XML = "junit.xml"


def write_reports(run: RunResult, out_dir: Path) -> dict[str, Path]:
    """Write ``summary.json``, ``summary.md``, ``summary.html``, ``junit.xml`` and ``allure-results/`` into
    ``out_dir`` (created if missing).

    Returns ``{"json": path, "markdown": path, "html": path, "junit": path, "allure": folder}``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / SUMMARY_JSON,
        "markdown": out_dir / SUMMARY_MD,
        "html": out_dir / SUMMARY_HTML,
        "junit": out_dir / JUNIT_XML,
    }
    write_summary_json(run, paths["json"])
    write_summary_md(run, paths["markdown"])
    write_summary_html(run, paths["html"])
    write_junit(run, paths["junit"])
    paths["allure"] = write_allure_results(run, out_dir)
    return paths


__all__ = ["ALLURE_RESULTS", "JUNIT_XML", "SUMMARY_HTML", "SUMMARY_JSON", "SUMMARY_MD", "write_reports"]
