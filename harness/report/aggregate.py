"""The one place where per-scenario results become the certificate's abstract: a verdict per certification
profile, the answers to the additional questions, the performance table. Every writer reads this summary, so
JSON, Markdown, JUnit and the terminal can never disagree."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.report.failure import summary_line
from harness.results import Finding, RunResult, ScenarioResult, Verdict
from harness.timing import LatencyStats, PerformanceStats

VERDICTS: tuple[Verdict, ...] = tuple(Verdict)

# Certification profiles in the order and wording of the "Test Result Summary" of an OCA 1.6 certificate;
# Security (the 1.6 security extension) is not on that certificate and comes after them, then Robustness, which no
# certificate has: what OCTT leaves out (malformed input, frames OCPP-J says to ignore, bad credentials).
PROFILE_TITLES: Mapping[str, str] = {
    "Core": "Core",
    "FirmwareManagement": "Firmware Management",
    "LocalAuthListManagement": "Local Authorization List Management",
    "SmartCharging": "Smart Charging",
    "RemoteTrigger": "Remote Trigger",
    "Reservation": "Reservation",
    "Security": "Security",
    "Robustness": "Robustness (beyond OCTT)",
}

# The "Description" column of the certificate's "Test Result Summary" (Security: the 1.6 security whitepaper).
PROFILE_DESCRIPTIONS: Mapping[str, str] = {
    "Core": "Basic Charging Station functionality for booting, authorization, configuration, transactions, "
    "remote control, including basic security.",
    "FirmwareManagement": "Support for firmware update management and diagnostic log file download.",
    "LocalAuthListManagement": "Features to manage a local list in the charging station containing "
    "authorization data for whitelisting users.",
    "SmartCharging": "Support for Smart Charging, to control charging.",
    "RemoteTrigger": "Support for remotely triggering messages that originate from a Charging Station. This can "
    "be used for resending messages or for getting the latest information from the Charging Station.",
    "Reservation": "Support for reservation of a connector of a Charging Station.",
    "Security": "Security profiles (Basic auth, TLS, mutual TLS), certificate management, signed firmware and "
    "security event logging (OCPP 1.6 security whitepaper).",
    "Robustness": "Not an OCA certification profile: the CSMS's answer to malformed, unexpected or hostile input, "
    "as OCPP-J 1.6 §4, RFC 6455 and RFC 8259 require (OCTT tests only the happy protocol).",
}

# The "Additional Questions for Lab Testing" of the OCA 1.6 CSMS certification.
ADDITIONAL_QUESTIONS: Mapping[str, str] = {
    "AQ-1": "Can your CSMS be configured to first respond to a BootNotificationRequest with status Pending "
    "or Rejected?",
}

# (display name as on the certificate, key in PerformanceStats / timing.performance())
PERFORMANCE_NAMES: tuple[tuple[str, str], ...] = (
    ("OCPP response time", "ocpp_response_time"),
    ("Response time Authorize", "authorize"),
)

# Verdicts whose result explains what went wrong (a failure text / one-line message is shown).
EXPLAINED = frozenset({Verdict.FAIL, Verdict.ERROR, Verdict.PARTIAL})


def explained(result: ScenarioResult) -> bool:
    """Whether a result needs an explanation in the reports: FAIL, ERROR, PARTIAL, or an unexpected pass."""
    return result.verdict in EXPLAINED or result.unexpected_pass


def result_label(result: ScenarioResult) -> str:
    """The verdict as the reports print it: ``FAIL (expected)`` for a declared deviation that failed,
    ``PASS (unexpected)`` for one that passed (which fails the run), else the verdict."""
    if result.expected_failure:
        return f"{result.verdict.value} (expected)"
    if result.unexpected_pass:
        return f"{result.verdict.value} (unexpected)"
    return result.verdict.value


def findings(results: Iterable[ScenarioResult], category: str) -> list[tuple[ScenarioResult, Finding]]:
    """``(result, finding)`` for every finding of ``category``: ``should`` (strict spec conformance: a
    recommendation missed) or ``octt`` (OCTT compatibility: legal behaviour OCTT is known to fail on)."""
    return [(result, finding) for result in results for finding in result.warnings if finding.category == category]


def verdict_counts(results: Iterable[ScenarioResult]) -> dict[str, int]:
    """``{verdict: n}`` with every verdict present (zero included), in :class:`Verdict` order."""
    counts = {verdict.value: 0 for verdict in VERDICTS}
    for result in results:
        counts[result.verdict.value] += 1
    return counts


def aggregate_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """FAIL if any FAIL, else ERROR if any ERROR, else PARTIAL if any PARTIAL, else PASS if any PASS, else
    NOT_APPLICABLE (also for no results at all)."""
    seen = set(verdicts)
    for verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.PARTIAL, Verdict.PASS):
        if verdict in seen:
            return verdict
    return Verdict.NOT_APPLICABLE


def profile_title(profile: str) -> str:
    """The certificate's name of a profile ("Local Authorization List Management"), or the id as given."""
    return PROFILE_TITLES.get(profile, profile)


@dataclass(frozen=True)
class ProfileSummary:
    profile: str
    verdict: Verdict
    counts: Mapping[str, int]
    results: tuple[ScenarioResult, ...]

    @property
    def title(self) -> str:
        return profile_title(self.profile)


def profile_summaries(results: Iterable[ScenarioResult]) -> list[ProfileSummary]:
    """One summary per profile that has results: certificate profiles in certificate order, others after them
    in order of first appearance."""
    by_profile: dict[str, list[ScenarioResult]] = {}
    for result in results:
        by_profile.setdefault(result.profile, []).append(result)
    known = list(PROFILE_TITLES)
    ordered = sorted(
        by_profile,
        key=lambda profile: known.index(profile) if profile in PROFILE_TITLES else len(known),
    )  # sorted() is stable: unknown profiles keep their order of appearance
    return [
        ProfileSummary(
            profile=profile,
            verdict=aggregate_verdict(result.verdict for result in by_profile[profile]),
            counts=verdict_counts(by_profile[profile]),
            results=tuple(by_profile[profile]),
        )
        for profile in ordered
    ]


@dataclass(frozen=True)
class AdditionalQuestionAnswer:
    """The answer a run gives to one additional question.

    ``supported`` is True only if every scenario asking it PASSed, False if any FAILed, None otherwise (none
    ran, or one could not decide: ERROR, PARTIAL, NOT_APPLICABLE).
    """

    id: str
    question: str | None
    supported: bool | None
    results: tuple[str, ...]
    verdicts: tuple[tuple[str, str], ...] = ()  # (case id, verdict) of every scenario that asked it

    @property
    def answer(self) -> str:
        """The certificate's wording: ``Yes`` / ``No``, or ``Not tested`` when the run could not tell."""
        if self.supported is None:
            return "Not tested"
        return "Yes" if self.supported else "No"


def _supported(verdicts: Sequence[Verdict]) -> bool | None:
    if Verdict.FAIL in verdicts:
        return False
    if verdicts and all(verdict is Verdict.PASS for verdict in verdicts):
        return True
    return None


def additional_questions(results: Iterable[ScenarioResult]) -> list[AdditionalQuestionAnswer]:
    """Answers to the certificate's questions (always listed, ``Not tested`` when no scenario asked
    them), then to any other question a scenario names, sorted by id."""
    by_question: dict[str, list[ScenarioResult]] = {question: [] for question in ADDITIONAL_QUESTIONS}
    for result in results:
        if result.additional_question:
            by_question.setdefault(result.additional_question, []).append(result)
    ordered = list(ADDITIONAL_QUESTIONS) + sorted(q for q in by_question if q not in ADDITIONAL_QUESTIONS)
    return [
        AdditionalQuestionAnswer(
            id=question,
            question=ADDITIONAL_QUESTIONS.get(question),
            supported=_supported([result.verdict for result in by_question[question]]),
            results=tuple(result.id for result in by_question[question]),
            verdicts=tuple((result.id, result.verdict.value) for result in by_question[question]),
        )
        for question in ordered
    ]


@dataclass(frozen=True)
class RunSummary:
    """What every report shows above the per-test list."""

    run: RunResult
    verdict: Verdict  # PASS or FAIL, the same answer as the exit status (RunResult.ok)
    counts: Mapping[str, int]
    profiles: tuple[ProfileSummary, ...]
    questions: tuple[AdditionalQuestionAnswer, ...]
    performance: PerformanceStats

    @property
    def expected_failures(self) -> tuple[ScenarioResult, ...]:
        return tuple(result for result in self.run.results if result.expected_failure)

    @property
    def unexpected_passes(self) -> tuple[ScenarioResult, ...]:
        return tuple(result for result in self.run.results if result.unexpected_pass)

    def reasons(self) -> list[str]:
        """Why the run FAILed, one line per result that fails it (empty for a passing run)."""
        return [
            f"{result.id}: {result_label(result)}: {summary_line(result)}".rstrip(": ")
            for result in self.run.results
            if result.fails_run
        ]

    @property
    def duration_s(self) -> float:
        return self.run.finished_at - self.run.started_at

    def performance_rows(self) -> list[tuple[str, LatencyStats | None]]:
        """``[("OCPP response time", stats), ("Response time Authorize", stats)]``; None when no sample."""
        by_key = {
            "ocpp_response_time": self.performance.ocpp_response_time,
            "authorize": self.performance.authorize,
        }
        return [(name, by_key[key]) for name, key in PERFORMANCE_NAMES]


def summarize(run: RunResult) -> RunSummary:
    return RunSummary(
        run=run,
        verdict=Verdict.PASS if run.ok else Verdict.FAIL,
        counts=verdict_counts(run.results),
        profiles=tuple(profile_summaries(run.results)),
        questions=tuple(additional_questions(run.results)),
        performance=PerformanceStats.of(run.results),
    )


def relative_trace(trace_path: str | None, report_dir: Path) -> str | None:
    """``trace_path`` relative to ``report_dir`` when the trace lies inside it (reports stay movable as a
    folder), else as given."""
    if trace_path is None:
        return None
    try:
        return Path(trace_path).resolve().relative_to(report_dir.resolve()).as_posix()
    except ValueError:
        return trace_path


def format_s(value: float | None, *, decimals: int = 3) -> str:
    """Seconds for a table cell: ``0.123``, or ``-`` when there is no value."""
    return "-" if value is None else f"{value:.{decimals}f}"
