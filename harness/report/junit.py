"""``junit.xml`` for CI systems (GitLab, Jenkins, GitHub test reporters): one ``<testsuite>`` per
certification profile, one ``<testcase>`` per result. FAIL is a ``<failure>`` (the CSMS broke a rule), ERROR
an ``<error>`` (the harness or environment broke), NOT_APPLICABLE and PARTIAL are ``<skipped>``.

A known deviation the target declares is a strict expected failure, as pytest writes ``xfail`` cases: a FAIL is
``<skipped type="expected-failure">`` with the declared reason, a PASS is a ``<failure type="UnexpectedPass">``.
Each test case carries its test case id, profile and spec references as ``<properties>``."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from harness.report.aggregate import ProfileSummary, summarize
from harness.report.failure import failure_text, summary_line
from harness.results import RunResult, ScenarioResult, Verdict
from ocppj.timefmt import format_time

SUITE_NAME = "ocpp-harness"
NOT_APPLICABLE_MESSAGE = "profile not declared by the target"

# Characters XML 1.0 cannot carry at all, not even as references; raw negative-test frames may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with characters XML 1.0 forbids shown as ``\\xNN`` / ``\\uNNNN`` escapes."""
    return _NOT_XML.sub(lambda match: ascii(match.group())[1:-1], text)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _counts(results: Sequence[ScenarioResult], element: ET.Element, duration_s: float) -> None:
    """The counts of the elements :func:`_testcase` writes for ``results``."""
    failures = sum(1 for r in results if (r.verdict is Verdict.FAIL and not r.expected_failure) or r.unexpected_pass)
    skipped = sum(1 for r in results if r.verdict in (Verdict.NOT_APPLICABLE, Verdict.PARTIAL) or r.expected_failure)
    element.set("tests", str(len(results)))
    element.set("failures", str(failures))
    element.set("errors", str(sum(1 for r in results if r.verdict is Verdict.ERROR)))
    element.set("skipped", str(skipped))
    element.set("time", _seconds(duration_s))


def _properties(result: ScenarioResult) -> ET.Element | None:
    values: list[tuple[str, str | None]] = [
        ("test_case_id", result.scenario_id),
        ("title", result.title),
        ("profile", result.profile),
        *(("spec_reference", reference) for reference in result.references),
        ("reference", result.reference),
        ("trace", result.trace_path),
        ("additional_question", result.additional_question),
        ("deviation", result.deviation),
    ]
    present = [(name, value) for name, value in values if value]
    if not present:
        return None
    properties = ET.Element("properties")
    for name, value in present:
        ET.SubElement(properties, "property", name=name, value=xml_safe(value))
    return properties


def _testcase(result: ScenarioResult) -> ET.Element:
    case = ET.Element(
        "testcase",
        classname=xml_safe(f"{SUITE_NAME}.{result.profile}"),
        name=xml_safe(result.id),
        time=_seconds(result.duration_s),
    )
    properties = _properties(result)
    if properties is not None:
        case.append(properties)
    message = xml_safe(summary_line(result))
    if result.unexpected_pass:
        outcome = ET.SubElement(case, "failure", message=message, type="UnexpectedPass")
        outcome.text = xml_safe(failure_text(result))
    elif result.expected_failure:
        outcome = ET.SubElement(case, "skipped", message=message, type="expected-failure")
        outcome.text = xml_safe(failure_text(result))
    elif result.verdict is Verdict.FAIL:
        outcome = ET.SubElement(case, "failure", message=message, type="ConformanceFailure")
        outcome.text = xml_safe(failure_text(result))
    elif result.verdict is Verdict.ERROR:
        outcome = ET.SubElement(case, "error", message=message, type="HarnessError")
        outcome.text = xml_safe(failure_text(result))
    elif result.verdict is Verdict.NOT_APPLICABLE:
        ET.SubElement(case, "skipped", message=NOT_APPLICABLE_MESSAGE)
    elif result.verdict is Verdict.PARTIAL:
        skipped = ET.SubElement(case, "skipped", message=f"partial: {message}" if message else "partial")
        skipped.text = xml_safe(failure_text(result)) or None
    if result.warnings:
        out = ET.SubElement(case, "system-out")
        out.text = xml_safe("\n".join(f"warning: {warning}" for warning in result.warnings))
    return case


def _testsuite(profile: ProfileSummary, timestamp: str) -> ET.Element:
    suite = ET.Element("testsuite", name=xml_safe(profile.profile))
    _counts(profile.results, suite, sum(result.duration_s for result in profile.results))
    suite.set("timestamp", timestamp)
    for result in profile.results:
        suite.append(_testcase(result))
    return suite


def render_junit(run: RunResult) -> ET.Element:
    """The ``<testsuites>`` root, indented."""
    summary = summarize(run)
    timestamp = format_time(run.started_at)
    root = ET.Element("testsuites", name=SUITE_NAME)
    _counts(run.results, root, summary.duration_s)
    root.set("timestamp", timestamp)
    for profile in summary.profiles:
        root.append(_testsuite(profile, timestamp))
    ET.indent(root)
    return root


def write_junit(run: RunResult, path: Path) -> None:
    """Write ``junit.xml`` (UTF-8, with an XML declaration) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(render_junit(run)).write(path, encoding="utf-8", xml_declaration=True)
