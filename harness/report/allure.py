"""Allure results: one Allure test per case, one Allure step per scenario step, the JSONL wire trace attached,
labels for the certification profile and the OCA test case id.

One mapping (:func:`allure_steps`, :func:`allure_labels`, :func:`allure_status`) serves both ways a run reaches
Allure: ``ocpp-harness run`` writes ``<report dir>/allure-results/`` from the finished
:class:`~harness.results.RunResult` (:func:`write_allure_results`), and under ``pytest --alluredir`` allure-pytest
owns the test results and the plugin adds steps, labels and the trace from inside the item
(:func:`report_to_allure_pytest`), through allure's public API.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness.report.aggregate import profile_title
from harness.report.failure import failure_text, summary_line
from harness.results import RunResult, ScenarioResult, StepRecord, Verdict

ALLURE_RESULTS = "allure-results"
PARENT_SUITE = "OCPP 1.6J conformance"
TRACE_NAME = "wire trace (JSONL: > sent, < received)"

AllureStatus = Literal["passed", "failed", "broken", "skipped"]


@dataclass(frozen=True)
class AllureStep:
    name: str
    status: AllureStatus
    start_ms: int
    stop_ms: int
    message: str | None = None


_STATUS: Mapping[Verdict, AllureStatus] = {
    Verdict.PASS: "passed",
    Verdict.FAIL: "failed",
    Verdict.ERROR: "broken",
    Verdict.NOT_APPLICABLE: "skipped",
    Verdict.PARTIAL: "skipped",
}


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def allure_status(result: ScenarioResult) -> AllureStatus:
    """FAIL (and an unexpected pass) is ``failed``, ERROR ``broken``; NOT_APPLICABLE, PARTIAL and an expected
    failure are ``skipped``, as allure-pytest shows skips and xfails."""
    if result.unexpected_pass:
        return "failed"
    if result.expected_failure:
        return "skipped"
    return _STATUS[result.verdict]


def _step_status(step: StepRecord, result: ScenarioResult) -> AllureStatus:
    if step.status == "passed":
        return "passed"
    if step.status == "not_run":
        return "skipped"
    return "broken" if result.verdict is Verdict.ERROR else "failed"


def allure_steps(result: ScenarioResult) -> list[AllureStep]:
    """One step per scenario step (reusable states expanded), named by its label; the failed step carries the
    failure message, steps after it are ``skipped`` (not run)."""
    steps = []
    for step in result.steps:
        status = _step_status(step, result)
        message = None
        if status in ("failed", "broken"):
            message = result.message or summary_line(result)
        elif status == "skipped":
            message = "not run: an earlier step failed"
        name = step.label if not step.description else f"{step.label}: {step.description}"
        steps.append(AllureStep(name, status, _ms(step.started_at), _ms(step.finished_at), message))
    return steps


def case_labels(
    *,
    scenario_id: str,
    title: str,
    profile: str,
    references: Sequence[str] = (),
    additional_question: str | None = None,
    deviation: str | None = None,
) -> list[tuple[str, str]]:
    """``(name, value)`` labels of a case: suites and feature by certification profile, the OCA test case id
    (``as_id``, what ``allure.dynamic.id`` sets, and ``test_case_id``), spec references and AQ as tags.

    Everything here is known before the case runs, so the pytest plugin sets them at collection.
    """
    profile_name = profile_title(profile)
    labels = [
        ("parentSuite", PARENT_SUITE),
        ("suite", profile_name),
        ("subSuite", scenario_id),
        ("feature", profile_name),
        ("story", title),
        ("as_id", scenario_id),
        ("test_case_id", scenario_id),
        ("profile", profile),
        ("framework", "ocpp-harness"),
    ]
    if additional_question:
        labels.append(("tag", additional_question))
    if deviation:
        labels.append(("tag", "known deviation"))
    labels.extend(("tag", reference) for reference in references)
    return labels


def allure_labels(result: ScenarioResult) -> list[tuple[str, str]]:
    """:func:`case_labels` of a result."""
    return case_labels(
        scenario_id=result.scenario_id,
        title=result.title,
        profile=result.profile,
        references=result.references,
        additional_question=result.additional_question,
        deviation=result.deviation,
    )


def _status_message(result: ScenarioResult) -> str | None:
    if result.verdict is Verdict.PASS and not result.unexpected_pass:
        return None
    if result.verdict is Verdict.NOT_APPLICABLE:
        return result.message or "not applicable"
    line = summary_line(result)
    return f"partial: {line}" if result.verdict is Verdict.PARTIAL else line


# ---------------------------------------------------------------------------------------- from a RunResult


def write_allure_results(run: RunResult, out_dir: Path) -> Path:
    """Write ``<out_dir>/allure-results/`` (``*-result.json`` per case, the traces as attachments); returns it.

    ``allure serve <out_dir>/allure-results`` (or ``allure generate``) shows it like a pytest run.
    """
    from allure_commons.logger import AllureFileLogger
    from allure_commons.model2 import Attachment, Label, Parameter, StatusDetails, TestResult, TestStepResult

    results_dir = out_dir / ALLURE_RESULTS
    results_dir.mkdir(parents=True, exist_ok=True)
    logger = AllureFileLogger(str(results_dir))
    for result in run.results:
        steps = [
            TestStepResult(
                name=step.name,
                status=step.status,
                start=step.start_ms,
                stop=step.stop_ms,
                statusDetails=StatusDetails(message=step.message) if step.message else None,
            )
            for step in allure_steps(result)
        ]
        if result.steps:
            start, stop = _ms(result.steps[0].started_at), _ms(result.steps[-1].finished_at)
        else:
            start = _ms(run.started_at)
            stop = start + _ms(result.duration_s)
        attachments = []
        if result.trace_path and Path(result.trace_path).is_file():
            name = f"{uuid.uuid4()}-attachment.jsonl"
            logger.report_attached_file(result.trace_path, name)
            attachments.append(Attachment(name=TRACE_NAME, source=name, type="text/plain"))
        message = _status_message(result)
        trace = failure_text(result) if message and result.verdict is not Verdict.NOT_APPLICABLE else None
        parameters = [Parameter(name="case", value=result.id)] if result.id != result.scenario_id else []
        logger.report_result(
            TestResult(
                uuid=str(uuid.uuid4()),
                historyId=hashlib.md5(result.id.encode("utf-8")).hexdigest(),
                testCaseId=hashlib.md5(result.scenario_id.encode("utf-8")).hexdigest(),
                fullName=f"{result.profile}.{result.id}",
                name=result.id,
                description=result.title,
                status=allure_status(result),
                statusDetails=StatusDetails(message=message, trace=trace or None) if message else None,
                stage="finished",
                start=start,
                stop=stop,
                labels=[Label(name=name, value=value) for name, value in allure_labels(result)],
                steps=steps,
                attachments=attachments,
                parameters=parameters,
            )
        )
    return results_dir


# ------------------------------------------------------------------------------------- under allure-pytest


class StepBroken(Exception):
    """Raised inside an ``allure.step`` to mark it broken (the harness or environment broke, not the CSMS)."""


def report_to_allure_pytest(result: ScenarioResult) -> None:
    """Add one step per scenario step and the wire trace to the Allure test allure-pytest is recording for the
    current item (its labels are markers set at collection from :func:`case_labels`). Without ``--alluredir``
    allure's calls do nothing.

    The steps ran before this call; Allure times them now, in their order, with their outcome (a failed step
    raises ``AssertionError`` inside its ``allure.step``, which allure-pytest records as ``failed``).
    """
    import allure
    import pytest

    allure.dynamic.description(result.title)
    for step in allure_steps(result):
        try:
            with allure.step(step.name):
                if step.status == "failed":
                    raise AssertionError(step.message)
                if step.status == "broken":
                    raise StepBroken(step.message)
                if step.status == "skipped":
                    pytest.skip(step.message or "not run")
        except (AssertionError, StepBroken, pytest.skip.Exception):
            pass
    if result.trace_path and Path(result.trace_path).is_file():
        allure.attach.file(
            result.trace_path, name=TRACE_NAME, attachment_type=allure.attachment_type.TEXT, extension="jsonl"
        )
