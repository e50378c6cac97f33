"""What a run produces: per-scenario results with verdicts, wire records and latency samples.

Reporters only read these; the engine and runner only write them.

Known deviations (design §4): a case the target file lists under ``deviations`` keeps its real verdict and carries
the declared reason in :attr:`ScenarioResult.deviation`. A FAIL with a deviation is an *expected failure*: shown
as FAIL, marked expected, not counted against :attr:`RunResult.ok`. A PASS with a deviation is an *unexpected
pass*: the deviation no longer exists, and the run fails until the declaration is removed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Literal


class Verdict(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"  # the CSMS broke a rule
    ERROR = "ERROR"  # the harness or the environment broke
    NOT_APPLICABLE = "NOT_APPLICABLE"  # the target does not claim the profile
    PARTIAL = "PARTIAL"  # a check could not be made


@dataclass(frozen=True)
class WireRecord:
    """One websocket text frame: ``>`` sent by the simulated station, ``<`` received from the CSMS.

    ``at`` is POSIX seconds; ``text`` is exactly what was on the wire. Connection events (open, close, refused)
    have ``direction`` ``"*"`` and a human-readable ``text``.
    """

    direction: Literal[">", "<", "*"]
    at: float
    text: str


@dataclass(frozen=True)
class LatencySample:
    """CSMS response time for one station CALL: send of the CALL to receipt of its CALLRESULT/CALLERROR."""

    action: str
    latency_s: float


@dataclass(frozen=True)
class Finding:
    """A note that does not fail the case: a ``should`` rule the CSMS missed (strict spec axis), behaviour
    that is legal but that OCTT is known to fail a test on (OCTT-compatibility axis, reference §5.6), or
    something the cleanup after the verdict could not undo (``cleanup``: the next cases may be affected)."""

    category: Literal["should", "octt", "cleanup"]
    message: str
    reference: str = ""

    def __str__(self) -> str:
        where = f", {self.reference}" if self.reference else ""
        return f"{self.message} ({self.category}{where})"


@dataclass(frozen=True)
class StepRecord:
    """What became of one scenario step (states expanded), for step-level reports such as Allure."""

    index: int  # 1-based position in the expanded step list
    kind: str  # send, exchange, expect_call, ...
    subject: str  # the action, act, operation or duration the step is about
    label: str  # "step 4 (exchange Authorize, from state 'booted') at scenarios/_states/authorized.yaml:10:5"
    status: Literal["passed", "failed", "not_run"]
    started_at: float
    finished_at: float
    description: str | None = None


@dataclass(frozen=True)
class ScenarioResult:
    id: str  # e.g. "TC_023_3_CSMS[iso15693]"
    scenario_id: str  # e.g. "TC_023_3_CSMS"
    title: str
    profile: str
    path: str
    verdict: Verdict
    duration_s: float
    message: str | None = None
    failed_step: str | None = None  # "step 4 exchange Authorize (scenarios/core/TC_003_CSMS.yaml:12:5)"
    reference: str | None = None
    expected: str | None = None
    actual: str | None = None
    last_frames: tuple[WireRecord, ...] = ()
    trace_path: str | None = None
    warnings: tuple[Finding, ...] = ()
    latencies: tuple[LatencySample, ...] = ()
    additional_question: str | None = None
    reproduce: str | None = None  # the command that re-runs only this case
    steps: tuple[StepRecord, ...] = ()
    references: tuple[str, ...] = ()  # the scenario's spec references (OCPP section, OCTT test case)
    deviation: str | None = None  # the reason of a known deviation the target file declares for this case

    @property
    def expected_failure(self) -> bool:
        """A FAIL the target declared as a known deviation: reported, but it does not fail the run."""
        return self.deviation is not None and self.verdict is Verdict.FAIL

    @property
    def unexpected_pass(self) -> bool:
        """A PASS of a case declared as a known deviation: the declaration is stale, and the run fails (strict
        expected failure, like pytest's ``xfail(strict=True)``)."""
        return self.deviation is not None and self.verdict is Verdict.PASS

    @property
    def fails_run(self) -> bool:
        """Whether this result makes the run fail: an ERROR, a FAIL not declared as a deviation, or an
        unexpected pass. NOT_APPLICABLE and PARTIAL never do."""
        if self.verdict is Verdict.ERROR:
            return True
        if self.verdict is Verdict.FAIL:
            return not self.expected_failure
        return self.unexpected_pass


@dataclass(frozen=True)
class RunResult:
    run_id: str
    started_at: float
    finished_at: float
    target: dict[str, Any]  # the settings used, secrets masked
    results: tuple[ScenarioResult, ...]
    environment: dict[str, str] = field(default_factory=dict)  # versions, machine

    @property
    def ok(self) -> bool:
        """True when no result fails the run (see :attr:`ScenarioResult.fails_run`): the exit status of
        ``ocpp-harness run`` and the verdict at the top of every report."""
        return not any(result.fails_run for result in self.results)
