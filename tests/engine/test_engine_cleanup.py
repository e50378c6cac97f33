"""What the engine does after the verdict (DESIGN §3, cases are independent): the cleanup leaves the CSMS as
the case found it, whatever the verdict, and reports apart what it could not do. Also the rules that span a
connection or a run: message ids, transactionIds, the trace of what was really sent, the station's clock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.results import Verdict
from ocppj.frames import Call, parse_frame
from ocppj.timefmt import parse_time
from tests.engine.test_engine import BOOT, CHARGING, REMOTE_STOP, compliant, csms_sends, result, run


def sent_calls(engine: Any, action: str) -> list[dict[str, Any]]:
    calls = []
    for record in engine.records:
        if record.direction == ">":
            frame = parse_frame(record.text)
            if isinstance(frame, Call) and frame.action == action:
                calls.append(frame.payload)
    return calls


def test_a_transaction_left_running_is_stopped_after_a_pass(tmp_path: Path) -> None:
    engine = run(tmp_path, CHARGING)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    stops = sent_calls(engine, "StopTransaction")
    assert [(stop["transactionId"], stop["reason"]) for stop in stops] == [(42, "Local")]
    statuses = [(s["connectorId"], s["status"]) for s in sent_calls(engine, "StatusNotification")]
    assert statuses[-2:] == [(1, "Finishing"), (1, "Available")]
    assert engine.cleanup_problems == [] and engine.open_transactions == {}
    assert engine.records[-1].text == "cleanup done"


def test_the_cleanup_runs_after_a_fail_and_keeps_the_verdict(tmp_path: Path) -> None:
    steps = CHARGING + "\n  - send: Heartbeat\n    expect: {currentTime: '2000-01-01T00:00:00Z'}\n"
    engine = run(tmp_path, steps)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.FAIL
    assert "Heartbeat.conf from the CSMS does not match" in (engine.outcome.message or "")
    assert [stop["transactionId"] for stop in sent_calls(engine, "StopTransaction")] == [42]
    assert engine.cleanup_problems == []


def test_what_the_cleanup_cannot_do_is_reported_apart_from_the_verdict(tmp_path: Path) -> None:
    def refuse_stops(call: Call) -> str | None:
        if call.action == "StopTransaction":
            return json.dumps([4, call.unique_id, "InternalError", "no", {}])
        return compliant(call)

    engine = run(tmp_path, CHARGING, refuse_stops)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    assert engine.cleanup_problems[0] == (
        "the CSMS answered StopTransaction with CALLERROR InternalError ('no'); a valid request must get a CALLRESULT"
    )
    assert engine.cleanup_problems[-1] == (
        "transaction 42 may still be open on the CSMS (its StopTransaction was not acknowledged)"
    )
    assert engine.open_transactions.keys() == {42}


def test_a_transaction_only_the_csms_knows_of_is_stopped_explicitly(tmp_path: Path) -> None:
    """A scenario's own StartTransaction that the CSMS refused: the station does not run it, the CSMS does."""
    steps = BOOT + "\n  - send: StartTransaction\n    expect: {idTagInfo: {status: Invalid}}\n"

    def invalid(call: Call) -> str | None:
        if call.action == "StartTransaction":
            return result(call, {"idTagInfo": {"status": "Invalid"}, "transactionId": 7})
        return compliant(call)

    engine = run(tmp_path, steps, invalid)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    [stop] = sent_calls(engine, "StopTransaction")
    assert stop["transactionId"] == 7 and stop["reason"] == "Local"
    assert engine.open_transactions == {} and engine.cleanup_problems == []


def test_scenario_cleanup_steps_run_after_the_verdict_and_a_driver_failure_is_a_cleanup_problem(
    tmp_path: Path,
) -> None:
    cleanup = [{"configure": "boot_answer", "payload": {"status": "Accepted"}}]
    engine = run(tmp_path, BOOT, cleanup=cleanup)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    assert any(record.text == "driver request 'boot_answer' ok: scripted (request 1)" for record in engine.records)
    assert engine.cleanup_problems == []

    failed = run(tmp_path, BOOT, driver_ok=False, cleanup=cleanup)
    assert failed.outcome is not None and failed.outcome.verdict is Verdict.PASS
    assert failed.cleanup_problems == ["driver request 'boot_answer' failed: scripted"]


def test_a_cleanup_step_whose_variable_was_never_captured_is_skipped(tmp_path: Path) -> None:
    steps = (
        BOOT
        + "\n  - send: Heartbeat\n    expect: {nothing: here}"
        + "\n  - send: Heartbeat\n    capture: {t: response.currentTime}\n"
    )
    cleanup = [{"trigger": "ClearCache", "payload": {"unused": "${t}"}}]
    engine = run(tmp_path, steps, cleanup=cleanup)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.FAIL
    assert len(engine.cleanup_problems) == 1
    assert "skipped: ${t} has no value" in engine.cleanup_problems[0]


def test_an_offline_station_comes_back_and_delivers_before_the_case_ends(tmp_path: Path) -> None:
    steps = CHARGING + "\n  - act: go_offline\n"
    engine = run(tmp_path, steps)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    assert [stop["transactionId"] for stop in sent_calls(engine, "StopTransaction")] == [42]
    assert engine.cleanup_problems == []


def test_nothing_is_traced_before_the_runtime_reports_it_sent(tmp_path: Path) -> None:
    from tests.engine.test_engine import bare_engine

    engine = bare_engine(tmp_path, BOOT)
    engine.connection_opened(1000.0, url="ws://test/ocpp/CP_1", subprotocol="ocpp1.6")
    [boot] = engine.data_to_send()
    assert [record.direction for record in engine.records] == ["*"]
    engine.sent(boot, 1000.5)
    assert engine.records[-1].direction == ">" and engine.records[-1].text == boot
    engine.receive(
        result(parse_frame(boot), {"status": "Accepted", "currentTime": "2026-01-01T00:00:00Z", "interval": 300}),
        1000.7,
    )  # type: ignore[arg-type]
    assert abs(engine.latencies[0].latency_s - 0.2) < 1e-9  # counted from the write, not from the queueing


def test_a_message_id_the_csms_reuses_on_the_connection_fails(tmp_path: Path) -> None:
    def twice(request: Any) -> list[str]:
        frame = json.dumps([2, "same-id", "ClearCache", {}])
        return [frame, frame]

    steps = BOOT + "\n  - trigger: ClearCache\n  - expect_call: ClearCache\n  - expect_call: ClearCache\n"
    outcome = run(tmp_path, steps, on_request=twice).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert outcome.message is not None and outcome.message.startswith(
        "the CSMS reused message id 'same-id' for ClearCache"
    )
    assert outcome.reference == "OCPP-J 1.6 §4.1.4"


def test_a_message_id_may_come_again_on_a_new_connection(tmp_path: Path) -> None:
    steps = (
        BOOT
        + """
  - trigger: ClearCache
  - expect_call: ClearCache
  - act: go_offline
  - act: go_online
  - trigger: ClearCache
  - expect_call: ClearCache
"""
    )
    engine = run(tmp_path, steps, on_request=lambda request: [json.dumps([2, "same-id", "ClearCache", {}])])
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome


def test_a_transaction_id_given_to_two_transactions_in_a_run_fails(tmp_path: Path) -> None:
    given: dict[int, str] = {}
    first = run(tmp_path, CHARGING, transaction_ids=given)
    assert first.outcome is not None and first.outcome.verdict is Verdict.PASS
    assert list(given) == [42] and "idTag TAG_1" in given[42]
    earlier = {42: "connector 2 of CP_9, idTag OTHER, started 2026-01-01T00:00:00.000Z"}
    second = run(tmp_path, CHARGING, transaction_ids=earlier)  # the scripted CSMS answers 42 again
    assert second.outcome is not None and second.outcome.verdict is Verdict.FAIL
    assert second.outcome.message is not None
    assert second.outcome.message.startswith("the CSMS gave transactionId 42 to a new transaction (connector 1")
    assert second.outcome.message.endswith(
        "but it had given it to another one already (connector 2 of CP_9, idTag OTHER, started "
        "2026-01-01T00:00:00.000Z); transactionIds must differ"
    )


def test_a_simulated_offline_period_makes_queued_messages_that_old(tmp_path: Path) -> None:
    steps = (
        BOOT
        + """
  - act: go_offline
  - act: present_token
  - act: plug
  - act: go_online
    simulated_offline_s: 600
  - exchange: StartTransaction
    expect: {transactionId: 42}
"""
    )
    engine = run(tmp_path, steps, configuration={"AllowOfflineTxForUnknownId": "true"})
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome
    [start] = [r for r in engine.records if r.direction == ">" and '"StartTransaction"' in r.text]
    stamped = parse_time(json.loads(start.text)[3]["timestamp"])
    assert 599 <= start.at - stamped <= 601


def test_the_triggered_call_is_still_checked_when_the_scenario_ends_on_it(tmp_path: Path) -> None:
    """The station's answer to the last expect_call is handed to the runtime to send before the end."""
    engine = run(tmp_path, REMOTE_STOP, on_request=csms_sends("RemoteStopTransaction", {"transactionId": 42}))
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    answers = [r.text for r in engine.records if r.direction == ">" and r.text.startswith('[3,"csms-1"')]
    assert answers == ['[3,"csms-1",{"status":"Accepted"}]']


def test_time_variables_are_taken_when_the_step_runs(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def record(request: Any) -> list[str]:
        seen.append(request.payload)
        return []

    steps = (
        BOOT
        + "\n  - wait: 5\n  - trigger: ReserveNow"
        + '\n    payload: {at: "${time.now}", until: "${time.reservation_expiry}", later: "${time.tomorrow}"}\n'
    )
    engine = run(tmp_path, steps, on_request=record)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    [payload] = seen
    assert abs(parse_time(payload["until"]) - parse_time(payload["at"]) - 300) < 1e-6  # test.reservation_expiry_s
    assert abs(parse_time(payload["later"]) - parse_time(payload["at"]) - 86_400) < 1e-6
    assert parse_time(payload["at"]) >= 1005  # after the wait, not when the case began


def test_a_scenario_ending_on_a_trigger_waits_for_the_driver_and_reports_its_failure(tmp_path: Path) -> None:
    outcome = run(tmp_path, BOOT + "\n  - trigger: ClearCache\n", driver_ok=False).outcome
    assert outcome is not None and outcome.verdict is Verdict.ERROR
    assert outcome.message == "driver request 'trigger ClearCache' failed: scripted"


def test_a_cleanup_act_that_cannot_be_done_is_reported_and_the_rest_runs(tmp_path: Path) -> None:
    cleanup = [{"act": "unplug"}, {"configure": "boot_answer", "payload": {"status": "Accepted"}}]
    engine = run(tmp_path, BOOT, cleanup=cleanup)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    [problem] = engine.cleanup_problems
    assert "failed: act unplug cannot be done: connector 1 is not plugged in" in problem
    assert any("'boot_answer' ok" in record.text for record in engine.records)
