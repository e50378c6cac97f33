"""The whole scenario suite against the bundled CSMS, exactly as ``make demo`` runs it, and each scenario shown
to FAIL when one CSMS answer or CALL is deliberately broken on the wire."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config import load_target, parse_target
from harness.results import Verdict
from harness.scenario.loader import load_scenarios
from harness.session import Case, Session, expand
from tests.integration.broken_lal_res_rt import BROKEN_LAL_RES_RT
from tests.integration.broken_robustness import BROKEN_ROBUSTNESS
from tests.integration.broken_sc_fw import BROKEN_SC_FW
from tests.integration.support import (
    BackgroundLoop,
    Mutation,
    Stack,
    answer,
    call_error_for,
    csms_call,
    start_stack,
    stop_stack,
    target_document,
    with_status,
)
from tests.integration.test_suite_security import SCENARIOS as SECURITY_SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = load_target(ROOT / "targets" / "bundled.yaml")
SCENARIOS, PROBLEMS = load_scenarios([ROOT / "scenarios"])
CASES = {case.id: case for case in expand(SCENARIOS, BUNDLED)}


# The 34 Core cases of the OCTT CSMS catalogue (reference §2.1).
CORE_OCTT = [
    "TC_001_CSMS",
    "TC_003_CSMS",
    "TC_004_1_CSMS",
    "TC_004_2_CSMS",
    "TC_005_1_CSMS",
    "TC_007_CSMS",
    "TC_010_CSMS",
    "TC_011_1_CSMS",
    "TC_011_2_CSMS",
    "TC_012_CSMS",
    "TC_013_CSMS",
    "TC_014_CSMS",
    "TC_017_1_CSMS",
    "TC_017_2_CSMS",
    "TC_018_1_CSMS",
    "TC_019_1_CSMS",
    "TC_019_2_CSMS",
    "TC_021_CSMS",
    "TC_023_1_CSMS",
    "TC_023_2_CSMS",
    "TC_023_3_CSMS",
    "TC_024_CSMS",
    "TC_026_CSMS",
    "TC_028_CSMS",
    "TC_030_CSMS",
    "TC_031_CSMS",
    "TC_032_1_CSMS",
    "TC_037_1_CSMS",
    "TC_037_3_CSMS",
    "TC_039_CSMS",
    "TC_040_1_CSMS",
    "TC_040_2_CSMS",
    "TC_061_CSMS",
    "TC_064_CSMS",
]
TOKEN_TYPE_CASES = ("TC_003_CSMS", "TC_023_1_CSMS", "TC_023_2_CSMS", "TC_023_3_CSMS")


def test_scenario_files_are_valid() -> None:
    assert PROBLEMS == []
    assert len(CORE_OCTT) == 34


def test_every_core_case_exists_once_per_token_type_where_octt_varies_it() -> None:
    core = {scenario.id for scenario in SCENARIOS if scenario.profile == "Core"}
    assert set(CORE_OCTT) <= core
    assert "MC_001_CSMS" in core  # beyond OCTT: two transactions on two connectors
    for scenario_id in TOKEN_TYPE_CASES:
        assert [case_id for case_id in CASES if case_id.startswith(scenario_id + "[")] == [
            f"{scenario_id}[{kind}]" for kind in ("central", "iso14443", "keycode", "iso15693")
        ]


@pytest.fixture(scope="module")
def bundled_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with Session(BUNDLED, out_dir=tmp_path_factory.mktemp("reports") / "run") as session:
        yield session


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_scenario_passes_against_the_bundled_csms(bundled_session: Session, case_id: str) -> None:
    result = bundled_session.run(CASES[case_id])
    assert result.verdict is Verdict.PASS, f"{result.failed_step}: {result.message}"
    assert result.latencies, "a passing case measured no CSMS response time"
    assert [w for w in result.warnings if w.category == "cleanup"] == []


def test_the_suite_leaves_no_transaction_open_on_the_csms(bundled_session: Session) -> None:
    """Every case stops what it started (the cleanup), so the CSMS ends the run as it began it."""
    assert len(bundled_session.results) == len(CASES)  # runs after the whole suite
    target = bundled_session.target
    api_url = target.endpoint(target.station("default")).api_url
    assert target.driver.auth is not None  # the harness shares the in-process CSMS's API token
    request = urllib.request.Request(
        f"{api_url}/api/transactions", headers={"Authorization": target.driver.auth.header()}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        transactions = json.loads(response.read())
    assert transactions, "the suite started no transaction"
    assert [tx["id"] for tx in transactions if tx["stopped_at"] is None] == []


# ----------------------------------------------------------------------------- deliberately broken CSMS answers


def drop(action: str) -> Mutation:
    def mutate(frame: list[Any], pending: dict[str, list[Any]]) -> str | None:
        call = pending.get(frame[1]) if frame[0] == 3 else None
        return None if call is not None and call[0] == action else json.dumps(frame)

    return mutate


def after_preparing(status: str, *, connector_id: int) -> Callable[[dict[str, Any]], bool]:
    """Selects StatusNotification(``status``) on the connector once it has reported Preparing: the
    Available after ConnectionTimeOut (TC_004_2), not the one of the boot."""
    preparing: list[bool] = []

    def when(payload: dict[str, Any]) -> bool:
        if payload["connectorId"] != connector_id:
            return False
        if payload["status"] == "Preparing":
            preparing.append(True)
        return bool(preparing) and payload["status"] == status

    return when


def same_transaction_id_twice() -> Mutation:
    """Every StartTransaction.conf carries the transactionId of the first one: a CSMS that mixes up the
    transactions of two connectors."""
    first: list[int] = []

    def mutate(frame: list[Any], pending: dict[str, list[Any]]) -> str | None:
        call = pending.get(frame[1]) if frame[0] == 3 else None
        if call is not None and call[0] == "StartTransaction":
            first.append(frame[2]["transactionId"])
            frame = [3, frame[1], {**frame[2], "transactionId": first[0]}]
        return json.dumps(frame)

    return mutate


def remote_stop_of_the_running_transaction() -> Mutation:
    """RemoteStopTransaction rewritten to the id the CSMS gave in the last StartTransaction.conf: a CSMS that
    cannot send an unknown transactionId and falls back to the real one (SteVe's workaround for TC_028)."""
    given: list[int] = []

    def mutate(frame: list[Any], pending: dict[str, list[Any]]) -> str | None:
        call = pending.get(frame[1]) if frame[0] == 3 else None
        if call is not None and call[0] == "StartTransaction":
            given.append(frame[2]["transactionId"])
        if frame[0] == 2 and frame[2] == "RemoteStopTransaction" and given:
            frame = [2, frame[1], frame[2], {**frame[3], "transactionId": given[-1]}]
        return json.dumps(frame)

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
        call_error_for("StatusNotification", when=after_preparing("Available", connector_id=2)),
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
    "TC_005_1_CSMS": (
        call_error_for("StopTransaction", when=lambda p: p["reason"] == "EVDisconnected"),
        "CALLERROR",
        "StopTransaction",
    ),
    "TC_011_1_CSMS": (
        csms_call("RemoteStartTransaction", lambda p: {**p, "connectorId": 99}),
        "connectorId",
        "RemoteStartTransaction",
    ),
    "TC_011_2_CSMS": (answer("Authorize", with_status("Invalid")), "Invalid", "Authorize"),
    "TC_013_CSMS": (csms_call("Reset", lambda p: {**p, "type": "Soft"}), "Soft", "Reset"),
    "TC_014_CSMS": (csms_call("Reset", lambda p: {**p, "type": "Hard"}), "Hard", "Reset"),
    "TC_017_1_CSMS": (csms_call("UnlockConnector", lambda p: {"connectorId": 99}), "connectorId", "UnlockConnector"),
    "TC_017_2_CSMS": (csms_call("UnlockConnector", lambda p: {"connectorId": 99}), "connectorId", "UnlockConnector"),
    "TC_018_1_CSMS": (
        call_error_for("StopTransaction", when=lambda p: p["reason"] == "UnlockCommand"),
        "CALLERROR",
        "StopTransaction",
    ),
    "TC_019_1_CSMS": (
        csms_call("GetConfiguration", lambda p: {"key": ["HeartbeatInterval"]}),
        "HeartbeatInterval",
        "GetConfiguration",
    ),
    "TC_019_2_CSMS": (
        csms_call("GetConfiguration", lambda p: {}),
        "SupportedFeatureProfiles",
        "GetConfiguration",
    ),
    "TC_021_CSMS": (
        csms_call("ChangeConfiguration", lambda p: {**p, "value": "30"}),
        "30",
        "ChangeConfiguration",
    ),
    "TC_023_1_CSMS[iso15693]": (answer("Authorize", with_status("Accepted")), "Accepted", "Authorize"),
    "TC_024_CSMS": (
        call_error_for("StatusNotification", when=lambda p: p["status"] == "Faulted"),
        "CALLERROR",
        "StatusNotification",
    ),
    "TC_026_CSMS": (
        csms_call("RemoteStartTransaction", lambda p: {**p, "idTag": "SOMEONE_ELSE"}),
        "SOMEONE_ELSE",
        "RemoteStartTransaction",
    ),
    "TC_028_CSMS": (remote_stop_of_the_running_transaction(), "must differ", "RemoteStopTransaction"),
    "TC_030_CSMS": (csms_call("UnlockConnector", lambda p: {"connectorId": 99}), "connectorId", "UnlockConnector"),
    "TC_031_CSMS": (csms_call("UnlockConnector", lambda p: {"connectorId": 1}), "connectorId", "UnlockConnector"),
    "TC_032_1_CSMS": (
        call_error_for("StopTransaction", when=lambda p: p["reason"] == "PowerLoss"),
        "CALLERROR",
        "StopTransaction",
    ),
    "TC_037_1_CSMS": (answer("StartTransaction", with_status("Invalid")), "Invalid", "StartTransaction"),
    "TC_037_3_CSMS": (answer("StartTransaction", with_status("Accepted")), "Accepted", "StartTransaction"),
    "TC_039_CSMS": (
        call_error_for("StartTransaction", when=lambda p: True),
        "CALLERROR",
        "StartTransaction",
    ),
    "TC_040_1_CSMS": (
        csms_call("ChangeConfiguration", lambda p: {**p, "key": "HeartbeatInterval"}),
        "HeartbeatInterval",
        "ChangeConfiguration",
    ),
    "TC_040_2_CSMS": (
        csms_call("ChangeConfiguration", lambda p: {**p, "value": "60"}),
        "60",
        "ChangeConfiguration",
    ),
    "TC_061_CSMS": (csms_call("ClearCache", lambda p: {"unexpected": True}), "invalid ClearCache", "ClearCache"),
    "TC_064_CSMS": (
        call_error_for("DataTransfer", when=lambda p: True),
        "CALLERROR",
        "DataTransfer",
    ),
    "MC_001_CSMS": (same_transaction_id_twice(), "must differ", "StartTransaction"),
    "MC_002_CSMS": (  # a CSMS that needs the optional StatusNotification.timestamp
        call_error_for("StatusNotification", when=lambda p: "timestamp" not in p),
        "CALLERROR",
        "StatusNotification",
    ),
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
    **BROKEN_LAL_RES_RT,
    **BROKEN_SC_FW,
    **BROKEN_ROBUSTNESS,
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
            target_document(
                ws_url=running.proxy.ws_url, api_url=running.csms.api_url, api_token=running.csms.api_token, **timeouts
            ),
            "broken.yaml",
        )
        with Session(target, out_dir=tmp_path / "run") as session:
            return session.run(case)
    finally:
        running.proxy.mutate = None


def test_every_scenario_has_a_broken_variant() -> None:
    """The proxy breaks the plain-ws cases; the security cases' broken CSMSs are in test_suite_security.py."""
    security = {case_id for case_id, case in CASES.items() if case.scenario.profile == "Security"}
    assert {case.scenario.id for case in CASES.values()} - security == {CASES[c].scenario.id for c in BROKEN}
    assert security == set(SECURITY_SCENARIOS)


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


def test_data_transfer_accepted_for_an_unknown_vendor_passes_with_a_warning(
    stack: tuple[BackgroundLoop, Stack], tmp_path: Path
) -> None:
    """TC_064_CSMS: OCTT passes Accepted for an unknown vendorId with a warning; so does the harness."""
    result = run_broken(stack, CASES["TC_064_CSMS"], answer("DataTransfer", lambda p: {"status": "Accepted"}), tmp_path)
    assert result.verdict is Verdict.PASS, result.message
    assert [w.category for w in result.warnings] == ["should"]
    assert "UnknownVendorId" in result.warnings[0].message


def test_an_unsolicited_call_after_change_configuration_fails_tc_021(
    stack: tuple[BackgroundLoop, Stack], tmp_path: Path
) -> None:
    """Reference §5.6: OCTT fails on a CSMS call nobody asked for, such as GetConfiguration right after a
    ChangeConfiguration; the proxy adds one behind the CSMS's ChangeConfiguration."""

    def with_get_configuration(frame: list[Any], pending: dict[str, list[Any]]) -> list[str]:
        out = [json.dumps(frame)]
        if frame[0] == 2 and frame[2] == "ChangeConfiguration":
            out.append(json.dumps([2, "unsolicited-1", "GetConfiguration", {}]))
        return out

    result = run_broken(stack, CASES["TC_021_CSMS"], with_get_configuration, tmp_path)
    assert result.verdict is Verdict.FAIL
    assert result.message == "the CSMS sent GetConfiguration while nothing was expected for 1 s"
    assert "expect_no_call" in (result.failed_step or "")


def test_a_transaction_a_cleanup_could_not_stop_is_stopped_before_the_next_case(
    stack: tuple[BackgroundLoop, Stack], tmp_path: Path
) -> None:
    """The first case's cleanup cannot stop its transaction (the CSMS refuses every StopTransaction); before
    the next case the station boots again and stops it, so the idTag is free again (a strict CSMS would answer
    ConcurrentTx to the next case otherwise)."""
    _, running = stack

    def open_transactions() -> set[int]:
        url = f"{running.csms.api_url}/api/transactions?station_id=CP_1"
        request = urllib.request.Request(url, headers=running.csms.api_headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            return {tx["id"] for tx in json.loads(response.read()) if tx["stopped_at"] is None}

    left_by_other_tests = open_transactions()  # the broken variants above leave theirs open
    target = parse_target(
        target_document(ws_url=running.proxy.ws_url, api_url=running.csms.api_url, api_token=running.csms.api_token),
        "t.yaml",
    )
    with Session(target, out_dir=tmp_path / "run") as session:
        running.proxy.mutate = call_error_for("StopTransaction", when=lambda p: True)
        try:
            first = session.run(CASES["TC_004_1_CSMS"])
        finally:
            running.proxy.mutate = None
        second = session.run(CASES["TC_001_CSMS"])
    assert first.verdict is Verdict.PASS
    assert any("may still be open on the CSMS" in w.message for w in first.warnings if w.category == "cleanup")
    assert second.verdict is Verdict.PASS
    assert [w for w in second.warnings if w.category == "cleanup"] == []
    recovery = (tmp_path / "run" / "traces" / "TC_001_CSMS.recovery.jsonl").read_text(encoding="utf-8")
    assert "StopTransaction" in recovery and "cleanup: stopping transaction" in recovery
    assert open_transactions() == left_by_other_tests
