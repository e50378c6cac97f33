from __future__ import annotations

from pathlib import Path

import pytest

from harness.report.aggregate import (
    additional_questions,
    aggregate_verdict,
    profile_summaries,
    profile_title,
    relative_trace,
    summarize,
    verdict_counts,
)
from harness.results import RunResult, ScenarioResult, Verdict

P, F, E, N, X = Verdict.PASS, Verdict.FAIL, Verdict.ERROR, Verdict.NOT_APPLICABLE, Verdict.PARTIAL


def _result(verdict: Verdict, *, profile: str = "Core", question: str | None = None, n: int = 0) -> ScenarioResult:
    return ScenarioResult(
        id=f"TC_{n:03d}_CSMS",
        scenario_id=f"TC_{n:03d}_CSMS",
        title="t",
        profile=profile,
        path="p.yaml",
        verdict=verdict,
        duration_s=0.1,
        additional_question=question,
    )


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([P, F, E, X, N], F),
        ([P, E, X, N], E),
        ([P, X, N], X),
        ([P, N], P),
        ([N, N], N),
        ([], N),
    ],
)
def test_aggregate_verdict_precedence(verdicts: list[Verdict], expected: Verdict) -> None:
    assert aggregate_verdict(verdicts) is expected


def test_counts_list_every_verdict() -> None:
    assert verdict_counts([_result(P), _result(P), _result(E)]) == {
        "PASS": 2,
        "FAIL": 0,
        "ERROR": 1,
        "NOT_APPLICABLE": 0,
        "PARTIAL": 0,
    }


def test_profiles_in_certificate_order_then_unknown_in_appearance_order() -> None:
    results = [
        _result(P, profile="Zeta"),
        _result(P, profile="Reservation"),
        _result(F, profile="Core"),
        _result(P, profile="Alpha"),
        _result(P, profile="LocalAuthListManagement"),
    ]
    summaries = profile_summaries(results)
    assert [s.profile for s in summaries] == [
        "Core",
        "LocalAuthListManagement",
        "Reservation",
        "Zeta",
        "Alpha",
    ]
    assert summaries[1].title == "Local Authorization List Management"
    assert summaries[0].verdict is F
    assert profile_title("Unknown") == "Unknown"


@pytest.mark.parametrize(
    ("verdicts", "supported", "answer"),
    [
        ([P, P], True, "Yes"),
        ([P, F], False, "No"),
        ([F, E], False, "No"),
        ([P, E], None, "Not tested"),
        ([P, N], None, "Not tested"),
        ([N], None, "Not tested"),
        ([], None, "Not tested"),
    ],
)
def test_additional_question_answer(verdicts: list[Verdict], supported: bool | None, answer: str) -> None:
    results = [_result(v, question="AQ-1", n=i) for i, v in enumerate(verdicts)] + [_result(F, n=99)]
    (aq1,) = additional_questions(results)
    assert aq1.id == "AQ-1"
    assert aq1.question is not None and "BootNotificationRequest" in aq1.question
    assert aq1.supported is supported
    assert aq1.answer == answer
    assert aq1.results == tuple(f"TC_{i:03d}_CSMS" for i in range(len(verdicts)))


def test_unknown_question_listed_after_the_certificate_ones() -> None:
    answers = additional_questions([_result(P, question="AQ-9")])
    assert [(a.id, a.supported, a.results) for a in answers] == [
        ("AQ-1", None, ()),
        ("AQ-9", True, ("TC_000_CSMS",)),
    ]
    assert answers[1].question is None


def test_summary_of_sample_run(run: RunResult) -> None:
    summary = summarize(run)
    assert summary.verdict is F
    assert [(p.profile, p.verdict) for p in summary.profiles] == [
        ("Core", F),
        ("SmartCharging", E),
        ("RemoteTrigger", X),
    ]
    assert summary.duration_s == pytest.approx(10.5)
    rows = dict(summary.performance_rows())
    assert list(rows) == ["OCPP response time", "Response time Authorize"]
    assert rows["Response time Authorize"] is not None and rows["Response time Authorize"].count == 3


def test_relative_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert relative_trace("reports/traces/a.jsonl", tmp_path / "reports") == "traces/a.jsonl"
    assert relative_trace(str(tmp_path / "reports" / "b.jsonl"), tmp_path / "reports") == "b.jsonl"
    assert relative_trace("/elsewhere/a.jsonl", tmp_path / "reports") == "/elsewhere/a.jsonl"
    assert relative_trace(None, tmp_path) is None
