"""The whole scenario suite against the bundled CSMS, exactly as ``make demo`` runs it, and each scenario shown
to FAIL when one CSMS answer or CALL is deliberately broken on the wire."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config import load_target, parse_target
from harness.results import Verdict
from harness.scenario.loader import load_scenarios
from harness.session import Case, Session, expand
from tests.integration.support import BackgroundLoop, Mutation, Stack, start_stack, stop_stack, target_document

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = load_target(ROOT / "targets" / "bundled.yaml")
SCENARIOS, PROBLEMS = load_scenarios([ROOT / "scenarios"])
CASES = {case.id: case for case in expand(SCENARIOS, BUNDLED)}


def test_scenario_files_are_valid() -> None:
    assert PROBLEMS == []
    assert len(SCENARIOS) >= 12


@pytest.fixture(scope="module")
def bundled_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with Session(BUNDLED, out_dir=tmp_path_factory.mktemp("reports") / "run") as session:
        yield session


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_scenario_passes_against_the_bundled_csms(bundled_session: Session, case_id: str) -> None:
    result = bundled_session.run(CASES[case_id])
    assert result.verdict is Verdict.PASS, f"{result.failed_step}: {result.message}"
    assert result.latencies, "a passing case measured no CSMS response time"


# ----------------------------------------------------------------------------- deliberately broken CSMS answers


def answer(
    action: str, change: Callable[[dict[str, Any]], Any], *, when: Callable[[dict[str, Any]], bool] | None = None
) -> Mutation:
    """Rewrite the CSMS's CALLRESULT to the station's ``action`` (optionally only for matching requests)."""

    def mutate(frame: list[Any], pending: dict[str, list[Any]]) -> str | None:
        call = pending.get(frame[1]) if frame[0] == 3 else None
        if call is not None and call[0] == action and (when is None or when(call[1])):
            frame = [3, frame[1], change(frame[2])]
        return json.dumps(frame)

    return mutate


def call_error_for(action: str, *, when: Callable[[dict[str, Any]], bool]) -> Mutation:
    def mutate(frame: list[Any], pending: dict[str, list[Any]]) -> str | None:
        call = pending.get(frame[1]) if frame[0] == 3 else None
        if call is not None and call[0] == action and when(call[1]):
            return json.dumps([4, frame[1], "InternalError", "broken on purpose", {}])
        return json.dumps(frame)

    return mutate


def csms_call(action: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Mutation:
    """Rewrite a CALL the CSMS sends."""

    def mutate(frame: list[Any], pending: dict[str, list[Any]]) -> str | None:
        if frame[0] == 2 and frame[2] == action:
            frame = [2, frame[1], action, change(frame[3])]
        return json.dumps(frame)

    return mutate


def with_status(status: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda payload: {**payload, "idTagInfo": {"status": status}}


def drop(action: str) -> Mutation:
    def mutate(frame: list[Any], pending: dict[str, list[Any]]) -> str | None:
        call = pending.get(frame[1]) if frame[0] == 3 else None
        return None if call is not None and call[0] == action else json.dumps(frame)

    return mutate


# case id -> (mutation, text the failure message must contain, action the failing step is about)
BROKEN: dict[str, tuple[Mutation, str, str]] = {
    "TC_001_CSMS": (answer("BootNotification", lambda p: {**p, "interval": 0}), "interval", "BootNotification"),
    "TC_003_CSMS[central]": (
        answer("StartTransaction", lambda p: {**p, "transactionId": str(p["transactionId"])}),
        "transactionId",
        "StartTransaction",
    ),
    "TC_004_1_CSMS": (answer("StartTransaction", with_status("Invalid")), "Invalid", "StartTransaction"),
    "TC_004_2_CSMS": (
        call_error_for("StatusNotification", when=lambda p: p["status"] == "Available" and p["connectorId"] == 2),
        "CALLERROR",
        "StatusNotification",
    ),
    "TC_007_CSMS": (answer("StartTransaction", with_status("Blocked")), "Blocked", "StartTransaction"),
    "TC_010_CSMS": (
        csms_call("RemoteStartTransaction", lambda p: {**p, "idTag": "SOMEONE_ELSE"}),
        "SOMEONE_ELSE",
        "RemoteStartTransaction",
    ),
    "TC_012_CSMS": (
        csms_call("RemoteStopTransaction", lambda p: {**p, "transactionId": p["transactionId"] + 1000}),
        "transactionId",
        "RemoteStopTransaction",
    ),
    "TC_023_1_CSMS": (answer("Authorize", with_status("Accepted")), "Accepted", "Authorize"),
    "TC_023_2_CSMS[iso14443]": (answer("Authorize", with_status("Accepted")), "Accepted", "Authorize"),
    "TC_023_3_CSMS[keycode]": (answer("Authorize", with_status("Accepted")), "Accepted", "Authorize"),
    "AQ1_PENDING_CSMS": (
        answer("BootNotification", lambda p: {**p, "status": "Pending"}),
        "Pending",
        "BootNotification",
    ),
    "AQ1_REJECTED_CSMS": (
        answer("BootNotification", lambda p: {**p, "status": "Accepted"}),
        "Accepted",
        "BootNotification",
    ),
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BackgroundLoop, Stack]]:
    loop = BackgroundLoop()
    running = loop.run(start_stack(tmp_path_factory.mktemp("csms") / "csms.sqlite3"))
    yield loop, running
    loop.run(stop_stack(running))
    loop.close()


def run_broken(
    stack: tuple[BackgroundLoop, Stack], case: Case, mutation: Mutation, tmp_path: Path, **timeouts: float
) -> Any:
    _, running = stack
    running.proxy.mutate = mutation
    try:
        target = parse_target(
            target_document(ws_url=running.proxy.ws_url, api_url=running.csms.api_url, **timeouts), "broken.yaml"
        )
        with Session(target, out_dir=tmp_path / "run") as session:
            return session.run(case)
    finally:
        running.proxy.mutate = None


def test_every_scenario_has_a_broken_variant() -> None:
    assert {case.scenario.id for case in CASES.values()} == {CASES[c].scenario.id for c in BROKEN}


@pytest.mark.parametrize("case_id", sorted(BROKEN))
def test_scenario_fails_against_a_broken_answer(
    stack: tuple[BackgroundLoop, Stack], tmp_path: Path, case_id: str
) -> None:
    mutation, needle, action = BROKEN[case_id]
    result = run_broken(stack, CASES[case_id], mutation, tmp_path)
    assert result.verdict is Verdict.FAIL, result
    assert needle in (result.message or "") + (result.actual or ""), result.message
    assert action in (result.failed_step or ""), result.failed_step
    assert result.trace_path and Path(result.trace_path).read_text(encoding="utf-8")
    assert result.last_frames and result.reproduce


def test_the_same_proxy_without_a_mutation_passes(stack: tuple[BackgroundLoop, Stack], tmp_path: Path) -> None:
    assert run_broken(stack, CASES["TC_012_CSMS"], lambda frame, _: json.dumps(frame), tmp_path).verdict is Verdict.PASS


def test_a_csms_that_never_answers_fails_with_the_timeout(stack: tuple[BackgroundLoop, Stack], tmp_path: Path) -> None:
    result = run_broken(stack, CASES["TC_003_CSMS[central]"], drop("Authorize"), tmp_path, response_s=0.5)
    assert result.verdict is Verdict.FAIL
    assert result.message == "the CSMS did not answer Authorize within 0.5 s"


def test_an_answer_with_an_unknown_message_id_fails(stack: tuple[BackgroundLoop, Stack], tmp_path: Path) -> None:
    def wrong_id(frame: list[Any], pending: dict[str, list[Any]]) -> str:
        if frame[0] == 3 and pending.get(frame[1], [""])[0] == "Heartbeat":
            frame = [3, "not-the-call-id", frame[2]]
        return json.dumps(frame)

    result = run_broken(stack, CASES["TC_001_CSMS"], wrong_id, tmp_path)
    assert result.verdict is Verdict.FAIL
    assert result.reference == "OCPP-J 1.6 §4.1.4"
