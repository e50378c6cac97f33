"""The scenario engine without sockets: a scripted CSMS answers frames, time is simulated, so every rule the
engine enforces is checked exactly and fast."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from harness.results import Finding, Verdict
from harness.scenario.engine import DriverOutcome, DriverRequest, Engine, EngineSettings, RawFrame
from harness.scenario.loader import load_scenario
from ocppj.frames import Call, parse_frame
from simulator.model import StationSpec

T = "2026-01-01T00:00:00.000Z"
COMPLIANT: dict[str, dict[str, Any]] = {
    "BootNotification": {"status": "Accepted", "currentTime": T, "interval": 300},
    "StatusNotification": {},
    "Heartbeat": {"currentTime": T},
    "Authorize": {"idTagInfo": {"status": "Accepted"}},
    "StartTransaction": {"idTagInfo": {"status": "Accepted"}, "transactionId": 42},
    "StopTransaction": {},
    "MeterValues": {},
    "DataTransfer": {"status": "UnknownVendorId"},
}
BOOT = """
  - exchange: BootNotification
    expect: {status: Accepted}
  - exchange: StatusNotification
    request: {connectorId: 1, status: Available}
"""
VARIABLES = {
    "station_id": "CP_1",
    "connector": 1,
    "connectors": 1,
    "token": "TAG_1",
    "blocked_token": "B",
    "expired_token": "E",
    "invalid_token": "I",
    "id_tag_parent": None,
    "test.reservation_expiry_s": 300,
    "test.duration_s": 3600,
}

Answer = Callable[[Call], "str | None"]
OnRequest = Callable[[DriverRequest], Iterable[str]]


def result(call: Call, payload: dict[str, Any]) -> str:
    return json.dumps([3, call.unique_id, payload])


def compliant(call: Call) -> str | None:
    return result(call, COMPLIANT[call.action])


def scenario(tmp_path: Path, steps: str, **top: Any) -> Any:
    header = "".join(f"{key}: {json.dumps(value)}\n" for key, value in top.items())
    path = tmp_path / "TC_900_CSMS.yaml"
    path.write_text(f"id: TC_900_CSMS\ntitle: t\nprofile: Core\n{header}steps:{steps}", encoding="utf-8")
    return load_scenario(path)


def run(
    tmp_path: Path,
    steps: str,
    answer: Answer = compliant,
    on_request: OnRequest = lambda request: (),
    driver_ok: bool = True,
    subprotocol: str | None = "ocpp1.6",
    transaction_ids: dict[int, str] | None = None,
    on_raw: Callable[[RawFrame], str | None] = lambda frame: None,
    **top: Any,
) -> Engine:
    """Drive the engine to its outcome with a scripted CSMS; time jumps to the next deadline when idle."""
    now = 1000.0
    engine = Engine(
        scenario(tmp_path, steps, **top),
        station_spec=StationSpec(station_id="CP_1"),
        variables=VARIABLES,
        settings=EngineSettings(station_id="CP_1", connector_id=1, response_timeout_s=30, step_timeout_s=20),
        now=now,
        new_id=iter(f"id-{n}" for n in range(10_000)).__next__,
        transaction_ids=transaction_ids,
    )
    connected = False
    while not engine.finished and now < 2000:
        if engine.wants_connection() != connected:
            connected = not connected
            if connected:
                engine.connection_opened(now, url="ws://test/ocpp/CP_1", subprotocol=subprotocol)
            else:
                engine.connection_closed(now, by_peer=False, detail="station went down or offline")
            continue
        progressed = False
        for text in engine.data_to_send():
            engine.sent(text, now)
            if isinstance(text, RawFrame):
                raw_reply = on_raw(text)
                if raw_reply == "close":
                    connected = False
                    engine.connection_closed(now, by_peer=True, detail="close code 1008")
                elif raw_reply is not None:
                    now += 0.002
                    engine.receive(raw_reply, now)
                progressed = True
                continue
            frame = parse_frame(text)
            if isinstance(frame, Call):
                reply = answer(frame)
                if reply is not None:
                    now += 0.002
                    engine.receive(reply, now)
                    progressed = True
        for request in engine.driver_requests():
            for text in on_request(request):
                engine.receive(text, now)
            engine.driver_done(request.request_id, DriverOutcome(driver_ok, "scripted"), now)
            progressed = True
        if not progressed:
            deadline = engine.next_deadline()
            now = max(now, deadline) if deadline is not None else now + 1
            engine.tick(now)
    assert engine.outcome is not None
    return engine


CHARGING = (
    BOOT
    + """
  - act: plug
  - exchange: StatusNotification
    request: {status: Preparing}
  - act: present_token
  - exchange: Authorize
    expect: {idTagInfo: {status: Accepted}}
  - exchange: StartTransaction
    expect: {idTagInfo: {status: Accepted}, transactionId: {schema: {type: integer, minimum: 1}}}
    capture: {tx_id: response.transactionId}
  - exchange: StatusNotification
    request: {status: Charging}
"""
)


def test_a_compliant_csms_passes_and_captures_values(tmp_path: Path) -> None:
    engine = run(tmp_path, CHARGING)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome
    assert engine.variables["tx_id"] == 42
    assert {sample.action for sample in engine.latencies} >= {"BootNotification", "Authorize", "StartTransaction"}
    assert all(abs(sample.latency_s - 0.002) < 1e-6 for sample in engine.latencies)
    assert engine.warnings == []
    assert [(r.index, r.kind, r.subject, r.status) for r in engine.step_records][:3] == [
        (1, "exchange", "BootNotification", "passed"),
        (2, "exchange", "StatusNotification", "passed"),
        (3, "act", "plug", "passed"),
    ]
    assert len(engine.step_records) == len(engine.scenario.steps)


def test_charging_status_and_start_transaction_match_in_either_order(tmp_path: Path) -> None:
    """OCTT D24 §1.2: StatusNotification(Charging) may come before or after StartTransaction."""
    swapped = CHARGING.replace(
        """  - exchange: StartTransaction
    expect: {idTagInfo: {status: Accepted}, transactionId: {schema: {type: integer, minimum: 1}}}
    capture: {tx_id: response.transactionId}
  - exchange: StatusNotification
    request: {status: Charging}
""",
        """  - exchange: StatusNotification
    request: {status: Charging}
  - exchange: StartTransaction
    expect: {transactionId: 42}
""",
    )
    assert swapped != CHARGING
    assert run(tmp_path, swapped).outcome.verdict is Verdict.PASS  # type: ignore[union-attr]


def test_a_callerror_to_a_station_call_fails(tmp_path: Path) -> None:
    def refuse_status(call: Call) -> str | None:
        if call.action == "StatusNotification":
            return json.dumps([4, call.unique_id, "InternalError", "no", {}])
        return compliant(call)

    outcome = run(tmp_path, BOOT, refuse_status).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert (
        outcome.message == "the CSMS answered StatusNotification with CALLERROR InternalError ('no'); "
        "a valid request must get a CALLRESULT"
    )
    assert outcome.reference == "OCPP-J 1.6 §4.2.3"


def test_an_expected_callerror_passes_and_a_result_instead_fails(tmp_path: Path) -> None:
    steps = (
        BOOT
        + """
  - send: DataTransfer
    payload: {vendorId: x}
    expect_error: NotImplemented
"""
    )

    def not_implemented(call: Call) -> str | None:
        if call.action == "DataTransfer":
            return json.dumps([4, call.unique_id, "NotImplemented", "", {}])
        return compliant(call)

    assert run(tmp_path, steps, not_implemented).outcome.verdict is Verdict.PASS  # type: ignore[union-attr]
    outcome = run(tmp_path, steps).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert "where a CALLERROR NotImplemented was expected" in (outcome.message or "")


def test_a_schema_violation_in_a_csms_answer_fails(tmp_path: Path) -> None:
    def string_id(call: Call) -> str | None:
        if call.action == "StartTransaction":
            return result(call, {"idTagInfo": {"status": "Accepted"}, "transactionId": "42"})
        return compliant(call)

    engine = run(tmp_path, CHARGING, string_id)
    outcome = engine.outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert [r.status for r in engine.step_records] == ["passed"] * 6 + ["failed", "not_run"]
    assert outcome.message == (
        "the CSMS's StartTransaction.conf breaks the OCPP 1.6 schema: transactionId: '42' is not of type 'integer'"
    )
    assert outcome.step is not None and outcome.step.startswith("step 7 (exchange StartTransaction)")


def test_a_date_time_without_time_zone_fails_the_schema(tmp_path: Path) -> None:
    def local_time(call: Call) -> str | None:
        if call.action == "BootNotification":
            return result(call, {"status": "Accepted", "currentTime": "2026-01-01T00:00:00", "interval": 10})
        return compliant(call)

    outcome = run(tmp_path, BOOT, local_time).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert "currentTime: '2026-01-01T00:00:00' is not a 'date-time'" in (outcome.message or "")


def test_an_answer_for_an_unknown_message_id_fails(tmp_path: Path) -> None:
    outcome = run(tmp_path, BOOT, lambda call: json.dumps([3, "other", {}])).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert outcome.reference == "OCPP-J 1.6 §4.1.4"


def test_no_answer_within_the_response_timeout_fails(tmp_path: Path) -> None:
    outcome = run(tmp_path, BOOT, lambda call: None if call.action == "StatusNotification" else compliant(call)).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert outcome.message == "the CSMS did not answer StatusNotification within 30 s"


def test_a_malformed_frame_from_the_csms_fails(tmp_path: Path) -> None:
    outcome = run(tmp_path, BOOT, lambda call: '[3, "id-0", {}').outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert outcome.message is not None and outcome.message.startswith(
        "the CSMS sent a malformed OCPP-J frame: not JSON"
    )


def test_a_missing_subprotocol_fails(tmp_path: Path) -> None:
    outcome = run(tmp_path, BOOT, subprotocol=None).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert outcome.reference == "OCPP-J 1.6 §3.2; TC_088_CSMS"
    assert outcome.actual == "no header"


REMOTE_STOP = (
    CHARGING
    + """
  - trigger: RemoteStopTransaction
    payload: {transactionId: "${tx_id}"}
  - expect_call: RemoteStopTransaction
    match: {transactionId: "${tx_id}"}
  - exchange: StopTransaction
    request: {transactionId: "${tx_id}", reason: Remote}
"""
)


def csms_sends(action: str, payload: dict[str, Any]) -> OnRequest:
    return lambda request: [json.dumps([2, "csms-1", action, payload])]


def test_a_triggered_csms_call_is_matched_and_answered_by_the_station(tmp_path: Path) -> None:
    engine = run(tmp_path, REMOTE_STOP, on_request=csms_sends("RemoteStopTransaction", {"transactionId": 42}))
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome
    sent = [r.text for r in engine.records if r.direction == ">"]
    assert '[3,"csms-1",{"status":"Accepted"}]' in sent


def test_a_csms_call_with_the_wrong_value_fails(tmp_path: Path) -> None:
    outcome = run(tmp_path, REMOTE_STOP, on_request=csms_sends("RemoteStopTransaction", {"transactionId": 7})).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert outcome.message == "RemoteStopTransaction from the CSMS does not match: transactionId: expected 42, got 7"
    assert (outcome.expected, outcome.actual) == ('{"transactionId": 42}', '{"transactionId": 7}')


def test_a_csms_call_that_never_comes_fails_after_the_step_timeout(tmp_path: Path) -> None:
    outcome = run(tmp_path, REMOTE_STOP).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert outcome.message == (
        "the CSMS did not send RemoteStopTransaction within 20.0 s (after driver request "
        "'trigger RemoteStopTransaction' ok: scripted)"
    )


def test_a_schema_invalid_csms_call_gets_a_callerror_and_fails(tmp_path: Path) -> None:
    engine = run(tmp_path, REMOTE_STOP, on_request=csms_sends("RemoteStopTransaction", {"transactionId": "42"}))
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.FAIL
    sent = [record.text for record in engine.records if record.direction == ">"]
    assert any(text.startswith('[4,"csms-1","TypeConstraintViolation"') for text in sent)


def test_a_driver_failure_is_an_error_not_a_failure(tmp_path: Path) -> None:
    outcome = run(tmp_path, REMOTE_STOP, driver_ok=False).outcome
    assert outcome is not None and outcome.verdict is Verdict.ERROR
    assert outcome.message == "driver request 'trigger RemoteStopTransaction' failed: scripted"


def test_an_unsolicited_csms_call_is_answered_and_warned_about(tmp_path: Path) -> None:
    steps = (
        BOOT
        + """
  - trigger: ClearCache
  - wait: 1
"""
    )
    engine = run(tmp_path, steps, on_request=csms_sends("GetConfiguration", {}))
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    assert engine.warnings == [
        Finding(
            "octt",
            "the CSMS sent GetConfiguration which no step expected; OCTT fails a test on unsolicited CSMS calls",
            "OCTT quirk: no unsolicited CSMS->CP traffic",
        )
    ]


def test_expect_no_call_fails_when_the_csms_calls(tmp_path: Path) -> None:
    steps = (
        BOOT
        + """
  - trigger: ClearCache
  - expect_no_call: any
    for_s: 5
"""
    )
    outcome = run(tmp_path, steps, on_request=csms_sends("ClearCache", {})).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert outcome.message == "the CSMS sent ClearCache while nothing was expected for 5 s"


def test_leading_configure_steps_run_before_the_station_is_switched_on(tmp_path: Path) -> None:
    steps = (
        """
  - configure: boot_answer
    payload: {status: Pending}
"""
        + BOOT
    )
    engine = run(tmp_path, steps)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    texts = [record.text for record in engine.records]
    assert texts[0] == "driver request 'boot_answer' ok: scripted (request 1)"
    assert texts[1] == "connected to ws://test/ocpp/CP_1 (subprotocol 'ocpp1.6')"


def test_an_unexpected_answer_value_fails_with_expected_and_actual(tmp_path: Path) -> None:
    def blocked(call: Call) -> str | None:
        if call.action == "Authorize":
            return result(call, {"idTagInfo": {"status": "Blocked"}})
        return compliant(call)

    outcome = run(tmp_path, CHARGING, blocked).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert (
        outcome.message
        == 'Authorize.conf from the CSMS does not match: idTagInfo.status: expected "Accepted", got "Blocked"'
    )
    assert outcome.actual == '{"idTagInfo": {"status": "Blocked"}}'


def test_a_not_constraint_compares_with_a_captured_value(tmp_path: Path) -> None:
    """``{not: "${tx_id}"}``: the id the CSMS sends must differ from the captured one (TC_028, MC_001)."""
    steps = (
        CHARGING
        + """
  - trigger: RemoteStopTransaction
    payload: {transactionId: 2147483000}
  - expect_call: RemoteStopTransaction
    match: {transactionId: {not: "${tx_id}"}}
"""
    )
    unknown = csms_sends("RemoteStopTransaction", {"transactionId": 2147483000})
    assert run(tmp_path, steps, on_request=unknown).outcome.verdict is Verdict.PASS  # type: ignore[union-attr]
    outcome = run(tmp_path, steps, on_request=csms_sends("RemoteStopTransaction", {"transactionId": 42})).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert (
        outcome.message
        == "RemoteStopTransaction from the CSMS does not match: transactionId: must differ from 42, got 42"
    )


RESERVE = (
    BOOT
    + """
  - trigger: ReserveNow
    payload: {connectorId: 1, expiryDate: "${time.reservation_expiry}", idTag: TAG_1, reservationId: 5}
  - expect_call: ReserveNow
    match: {expiryDate: {after: "${time.now}"}}
"""
)


def reserve_until(expiry_date: str) -> OnRequest:
    payload = {"connectorId": 1, "expiryDate": expiry_date, "idTag": "TAG_1", "reservationId": 5}
    return csms_sends("ReserveNow", payload)


def test_an_after_constraint_compares_with_the_time_of_the_step(tmp_path: Path) -> None:
    """``{after: "${time.now}"}``: a ReserveNow expiryDate must lie in the future when the CALL comes (OCPP 1.6
    §5.13): its time.now, 6 ms into the case (the clock starts 1000 s after the epoch)."""
    passed = run(tmp_path, RESERVE, on_request=reserve_until("1970-01-01T01:00:00.000Z")).outcome
    assert passed is not None and passed.verdict is Verdict.PASS, passed
    outcome = run(tmp_path, RESERVE, on_request=reserve_until("1970-01-01T00:16:00.000Z")).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert outcome.message == (
        'ReserveNow from the CSMS does not match: expiryDate: must be a date-time after "1970-01-01T00:16:40.006Z", '
        'got "1970-01-01T00:16:00.000Z"'
    )


def test_a_wait_may_last_as_long_as_a_variable_says(tmp_path: Path) -> None:
    """TC_047 waits ``${test.reservation_expiry_s}``, however long the target sets the expiry."""
    engine = run(tmp_path, BOOT + '\n  - wait: "${test.reservation_expiry_s}"\n')
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    [wait] = [record for record in engine.step_records if record.kind == "wait"]
    assert wait.subject == "${test.reservation_expiry_s}"
    assert wait.finished_at - wait.started_at == 300


def test_a_wait_on_a_variable_that_is_not_a_number_of_seconds_is_an_error(tmp_path: Path) -> None:
    outcome = run(tmp_path, BOOT + '\n  - wait: "${station_id}"\n').outcome
    assert outcome is not None and outcome.verdict is Verdict.ERROR
    assert outcome.message == 'wait ${station_id}: "CP_1" is not a number of seconds'


DATA_TRANSFER = (
    BOOT
    + """
  - send: DataTransfer
    payload: {vendorId: unknown.vendor}
    expect: {status: {schema: {enum: [Accepted, Rejected, UnknownMessageId, UnknownVendorId]}}}
    should: {status: UnknownVendorId}
"""
)


def test_a_missed_should_pattern_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    """TC_064_CSMS: OCTT passes Accepted for an unknown vendor with a warning."""

    def accepted(call: Call) -> str | None:
        return result(call, {"status": "Accepted"}) if call.action == "DataTransfer" else compliant(call)

    engine = run(tmp_path, DATA_TRANSFER, accepted)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    assert engine.warnings == [
        Finding(
            "should",
            'DataTransfer.conf from the CSMS passes but should match {"status": "UnknownVendorId"}: '
            'status: expected "UnknownVendorId", got "Accepted"',
            "TC_900_CSMS",
        )
    ]
    compliant_engine = run(tmp_path, DATA_TRANSFER)
    assert compliant_engine.outcome is not None and compliant_engine.outcome.verdict is Verdict.PASS
    assert compliant_engine.warnings == []


def test_expect_still_fails_where_should_only_warns(tmp_path: Path) -> None:
    def rejected(call: Call) -> str | None:
        return result(call, {"status": "Rejected"}) if call.action == "DataTransfer" else compliant(call)

    strict = DATA_TRANSFER.replace("[Accepted, Rejected, UnknownMessageId, UnknownVendorId]", "[UnknownVendorId]")
    assert strict != DATA_TRANSFER
    outcome = run(tmp_path, strict, rejected).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert (outcome.message or "").startswith("DataTransfer.conf from the CSMS does not match: status: 'Rejected'")


def test_a_callerror_fails_the_step_that_checks_that_exchange(tmp_path: Path) -> None:
    """StopTransaction may come before the Finishing StatusNotification a scenario lists first (D24 §1.2): its
    CALLERROR fails the StopTransaction step, not the step that happened to be waiting."""
    steps = (
        CHARGING
        + """
  - act: present_token
  - exchange: StatusNotification
    request: {status: Finishing}
  - exchange: StopTransaction
    request: {reason: Local}
"""
    )

    def refuse_stop(call: Call) -> str | None:
        if call.action == "StopTransaction":
            return json.dumps([4, call.unique_id, "InternalError", "db down", {}])
        return compliant(call)

    engine = run(tmp_path, steps, refuse_stop)
    outcome = engine.outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert outcome.message == (
        "the CSMS answered StopTransaction with CALLERROR InternalError ('db down'); a valid request must get a "
        "CALLRESULT"
    )
    assert outcome.step is not None and outcome.step.startswith("step 11 (exchange StopTransaction)")
    assert [(r.subject, r.status) for r in engine.step_records[-2:]] == [
        ("StatusNotification", "passed"),
        ("StopTransaction", "failed"),
    ]


def bare_engine(tmp_path: Path, steps: str) -> Engine:
    """An engine for ``steps`` that the test drives input by input (station CP_1, connector 1, t = 1000 s)."""
    return Engine(
        scenario(tmp_path, steps),
        station_spec=StationSpec(station_id="CP_1"),
        variables=VARIABLES,
        settings=EngineSettings(station_id="CP_1", connector_id=1),
        now=1000.0,
    )


def test_the_station_answer_to_a_csms_call_is_judged_and_captured(tmp_path: Path) -> None:
    """``station_answer``: the station judged the CALL itself (a DeleteCertificate whose hash data names nothing it
    holds is NotFound, M04.FR.04), and ``response.`` captures what it answered."""
    hash_data = {"hashAlgorithm": "SHA256", "issuerNameHash": "00", "issuerKeyHash": "11", "serialNumber": "FFF"}
    steps = (
        BOOT
        + """
  - trigger: DeleteCertificate
    payload:
      certificateHashData: {hashAlgorithm: SHA256, issuerNameHash: "00", issuerKeyHash: "11", serialNumber: FFF}
  - expect_call: DeleteCertificate
    station_answer: {status: Accepted}
    capture: {answered: response.status}
"""
    )
    outcome = run(tmp_path, steps, on_request=csms_sends("DeleteCertificate", {"certificateHashData": hash_data}))
    assert outcome.outcome is not None and outcome.outcome.verdict is Verdict.FAIL
    assert outcome.outcome.message == (
        'the station did not take the CSMS\'s DeleteCertificate: its answer {"status": "NotFound"} does not match: '
        'status: expected "Accepted", got "NotFound"'
    )
    passing = steps.replace("station_answer: {status: Accepted}", "station_answer: {status: NotFound}")
    engine = run(tmp_path, passing, on_request=csms_sends("DeleteCertificate", {"certificateHashData": hash_data}))
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome
    assert engine.variables["answered"] == "NotFound"


def test_a_reconnection_refused_after_the_station_was_admitted_is_the_csms_failing(tmp_path: Path) -> None:
    """HTTP 401/403 to a reconnection within the case (a new password refused, TC_073, A01.FR.03) FAILs; refused at
    the first connection it is the target's doing (ERROR)."""
    engine = bare_engine(tmp_path, BOOT)
    engine.connection_failed(1000.1, url="ws://x/ocpp/CP_1", detail="HTTP 401 during the websocket handshake")
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.ERROR
    later = bare_engine(tmp_path, BOOT + "\n  - wait: 5\n")
    later.connection_opened(1000.0, url="ws://x/ocpp/CP_1", subprotocol="ocpp1.6")
    later.connection_closed(1000.5, by_peer=False, detail="station reconnects")
    later.connection_failed(1001.0, url="ws://x/ocpp/CP_1", detail="HTTP 401 during the websocket handshake")
    assert later.outcome is not None and later.outcome.verdict is Verdict.FAIL, later.outcome
    assert later.outcome.message.startswith("the CSMS refused the station's reconnection to ws://x/ocpp/CP_1")
