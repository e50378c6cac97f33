"""The three outcome roots of a run (design §4): the CSMS broke a rule, the harness or environment broke, or a
scenario file is wrong. Each leaf carries the data a report needs."""

from __future__ import annotations

from dataclasses import dataclass


class ConformanceFailure(AssertionError):
    """The CSMS broke a rule: verdict FAIL.

    ``reference`` names the rule (OCPP 1.6 section, OCPP-J section, test case id); ``expected`` and ``actual``
    are short renderings for the report.
    """

    def __init__(
        self,
        message: str,
        *,
        reference: str = "",
        expected: object = None,
        actual: object = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reference = reference
        self.expected = expected
        self.actual = actual


class HarnessError(Exception):
    """The harness or its environment broke (unreachable CSMS, driver failure, bad target): verdict ERROR."""


class TargetError(HarnessError):
    """The target file is wrong; the message names the file and the key."""


class DriverError(HarnessError):
    """The driver could not make the CSMS act (HTTP API failure, operator timeout)."""


class ConnectionFailed(HarnessError):
    """The station could not open (or lost) its websocket to the CSMS outside a step that expects it."""


@dataclass(frozen=True)
class ScenarioProblem:
    """One mistake in a scenario file, at a 1-based line and column."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class ScenarioError(Exception):
    """A scenario file (or an included state) is wrong; raised at collection, before any socket opens."""

    def __init__(self, problems: list[ScenarioProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))
