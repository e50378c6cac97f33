from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.report import write_reports
from harness.results import RunResult


def test_write_reports(run: RunResult, tmp_path: Path) -> None:
    out_dir = tmp_path / "reports" / "run-1"
    paths = write_reports(run, out_dir)
    assert paths == {
        "json": out_dir / "summary.json",
        "markdown": out_dir / "summary.md",
        "html": out_dir / "summary.html",
        "junit": out_dir / "junit.xml",
        "allure": out_dir / "allure-results",
    }
    assert len(list(paths["allure"].glob("*-result.json"))) == len(run.results)
    assert paths["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["ok"] is False
    assert paths["markdown"].read_text(encoding="utf-8").startswith("# ❌ FAIL")
    assert ET.parse(paths["junit"]).getroot().get("failures") == "1"
