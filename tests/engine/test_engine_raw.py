"""raw steps: exact frames past the station model, and what the CSMS must do with them (OCPP-J 1.6 §4):
a CALLERROR with the right code, a CALLRESULT, silence, or a clean close; SHOULD rules only warn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.results import Verdict
from harness.scenario.engine import ConnectReply, DriverOutcome, HandshakeReply, RawFrame, TlsProperty
from tests.engine.test_engine import BOOT, run

BAD_JSON = '\'[2,"rb-1","Heartbeat",{\''


def error(code: str, unique_id: str = "rb-1") -> Any:
    return lambda frame: json.dumps([4, unique_id, code, "", {}])


def raw_step(options: str, text: str = BAD_JSON) -> str:
    return BOOT + f"\n  - raw: {text}\n    {options}\n  - send: Heartbeat\n"


def test_the_expected_callerror_passes_and_the_next_call_is_answered(tmp_path: Path) -> None:
    engine = run(tmp_path, raw_step("expect_error: FormationViolation"), on_raw=error("FormationViolation"))
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome
    sent = [r.text for r in engine.records if r.direction == ">"]
    assert '[2,"rb-1","Heartbeat",{' in sent
    assert '"Heartbeat"' in sent[sent.index('[2,"rb-1","Heartbeat",{') + 1]  # the next CALL went out after


@pytest.mark.parametrize(
    ("options", "reply", "message"),
    [
        (
            "expect_error: FormationViolation",
            error("ProtocolError"),
            "the CSMS answered with CALLERROR ProtocolError to the raw frame",
        ),
        (
            "expect_error: [FormationViolation, ProtocolError]",
            lambda frame: json.dumps([3, "rb-1", {}]),
            "the CSMS answered with a CALLRESULT to the raw frame",
        ),
        ("expect_error: any", lambda frame: None, "the CSMS did not answer within 20.0 s to the raw frame"),
        ("expect_silence_s: 2", error("FormationViolation"), "the CSMS answered a frame OCPP-J says to ignore"),
        ("expect_close: true", error("FormationViolation"), "the CSMS answered where it must close the connection"),
        ("expect_error: FormationViolation", lambda frame: "close", "the CSMS closed the connection"),
    ],
)
def test_another_reaction_fails(tmp_path: Path, options: str, reply: Any, message: str) -> None:
    outcome = run(tmp_path, raw_step(options), on_raw=reply).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert outcome.message is not None and outcome.message.startswith(message), outcome.message
    assert "(raw" in (outcome.step or "")


def test_silence_and_a_close_pass_when_expected(tmp_path: Path) -> None:
    silent = run(tmp_path, raw_step("expect_silence_s: 2"), on_raw=lambda frame: None)
    assert silent.outcome is not None and silent.outcome.verdict is Verdict.PASS
    closed = run(tmp_path, raw_step("expect_close: true"), on_raw=lambda frame: "close")
    assert closed.outcome is not None and closed.outcome.verdict is Verdict.PASS, closed.outcome
    assert sum(r.text.startswith("connected to") for r in closed.records) == 2  # the station came back


def test_a_should_rule_missed_is_a_warning(tmp_path: Path) -> None:
    steps = raw_step("expect_error: FormationViolation\n    level: should")
    engine = run(tmp_path, steps, on_raw=error("GenericError"))
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS
    [warning] = engine.warnings
    assert warning.category == "should"
    assert warning.message.startswith("the CSMS answered with CALLERROR GenericError to the raw frame")
    assert warning.message.endswith("; expected CALLERROR FormationViolation")


def test_a_callresult_is_matched_against_the_pattern(tmp_path: Path) -> None:
    text = '\'[2,"rb-1","Heartbeat",{}]\''
    ok = run(
        tmp_path,
        raw_step("expect: {currentTime: '2026-01-01T00:00:00Z'}", text),
        on_raw=lambda frame: json.dumps([3, "rb-1", {"currentTime": "2026-01-01T00:00:00Z"}]),
    )
    assert ok.outcome is not None and ok.outcome.verdict is Verdict.PASS
    wrong = run(
        tmp_path,
        raw_step("expect: {currentTime: '2026-01-01T00:00:00Z'}", text),
        on_raw=lambda frame: json.dumps([3, "rb-1", {"currentTime": "1999-01-01T00:00:00Z"}]),
    )
    assert wrong.outcome is not None and wrong.outcome.verdict is Verdict.FAIL
    assert "currentTime" in (wrong.outcome.message or "")


def test_an_answer_with_another_id_is_not_the_answer(tmp_path: Path) -> None:
    readable_id = '\'[2,"rb-1","Heartbeat",[]]\''
    outcome = run(
        tmp_path, raw_step("expect_error: FormationViolation", readable_id), on_raw=error("FormationViolation", "zz")
    ).outcome
    assert outcome is not None and outcome.verdict is Verdict.FAIL
    assert "not the id of the station's outstanding CALL" in (outcome.message or "")


def test_an_unreadable_id_takes_an_answer_with_any_id(tmp_path: Path) -> None:
    engine = run(
        tmp_path, raw_step("expect_error: FormationViolation", "'not json'"), on_raw=error("FormationViolation", "-1")
    )
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome


def test_bytes_and_binary_frames_are_sent_as_given(tmp_path: Path) -> None:
    frames: list[RawFrame] = []

    def keep(frame: RawFrame) -> str | None:
        frames.append(frame)
        return None

    run(tmp_path, raw_step("hex: 'c3 28'\n    expect_silence_s: 1", "invalid UTF-8"), on_raw=keep)
    run(tmp_path, raw_step("frame: binary\n    expect_silence_s: 1", '\'[2,"b","Heartbeat",{}]\''), on_raw=keep)
    assert frames == [RawFrame(b"\xc3\x28", text=True), RawFrame(b'[2,"b","Heartbeat",{}]', text=False)]
    assert frames[0].describe() == "<text frame, 2 bytes: c3 28>"
    assert frames[1].describe() == (
        "<binary frame, 22 bytes: 5b 32 2c 22 62 22 2c 22 48 65 61 72 74 62 65 61 74 22 2c 7b 7d 5d>"
    )


TWO = '[\'[2,"rb-a","Heartbeat",{}]\', \'[2,"rb-b","Heartbeat",{}]\']'


def result_for(frame: RawFrame) -> str:
    unique_id = json.loads(frame.data)[1]
    return json.dumps([3, unique_id, {"currentTime": "2026-01-01T00:00:00Z"}])


def test_frames_back_to_back_go_out_before_any_answer_and_each_needs_its_own(tmp_path: Path) -> None:
    sent: list[bytes] = []

    def answer_all(frame: RawFrame) -> str:
        sent.append(frame.data)
        return result_for(frame)

    engine = run(tmp_path, raw_step("expect: {}", TWO), on_raw=answer_all)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome
    assert sent == [b'[2,"rb-a","Heartbeat",{}]', b'[2,"rb-b","Heartbeat",{}]']
    outcome = run(tmp_path, raw_step("expect: {}", TWO), on_raw=lambda f: result_for(f) if b"rb-a" in f.data else None)
    assert outcome.outcome is not None and outcome.outcome.verdict is Verdict.FAIL
    assert (outcome.outcome.message or "").startswith("the CSMS did not answer within 20.0 s to the raw frame")


def test_expect_and_expect_error_together_take_either_answer(tmp_path: Path) -> None:
    options = "expect: {}\n    expect_error: [PropertyConstraintViolation]"
    text = '\'[2,"rb-1","Heartbeat",{}]\''
    assert run(tmp_path, raw_step(options, text), on_raw=result_for).outcome.verdict is Verdict.PASS  # type: ignore[union-attr]
    passed = run(tmp_path, raw_step(options, text), on_raw=error("PropertyConstraintViolation"))
    assert passed.outcome is not None and passed.outcome.verdict is Verdict.PASS
    failed = run(tmp_path, raw_step(options, text), on_raw=error("InternalError")).outcome
    assert failed is not None and failed.verdict is Verdict.FAIL
    assert failed.expected == "CALLERROR PropertyConstraintViolation, or CALLRESULT matching {}"


def test_expand_repeats_text_and_reports_keep_it_short(tmp_path: Path) -> None:
    frames: list[RawFrame] = []

    def keep(frame: RawFrame) -> str:
        frames.append(frame)
        return json.dumps([3, "rb-big", {"status": "UnknownVendorId"}])

    text = '\'[2,"rb-big","DataTransfer",{"vendorId":"v","data":"{{ab*50000}}"}]\''
    engine = run(tmp_path, raw_step("expand: true\n    expect: {status: UnknownVendorId}", text), on_raw=keep)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome
    assert len(frames[0].data) == len(b'[2,"rb-big","DataTransfer",{"vendorId":"v","data":""}]') + 100_000
    [raw_record] = [record for record in engine.step_records if record.kind == "raw"]
    assert len(raw_record.label) < 200  # the text as written, not the 100 kB frame


def probe_engine(tmp_path: Path, options: str, *, kind: str = "handshake") -> Any:
    """An engine whose one step is a ``handshake`` (or ``connect``) of ``${station_id}`` with ``options``."""
    from tests.engine.test_engine import bare_engine

    return bare_engine(tmp_path, f"\n  - {kind}: ${{station_id}}\n    {options}\n")


@pytest.mark.parametrize(
    ("options", "reply", "verdict", "message"),
    [
        ("expect_status: 404", HandshakeReply(404), Verdict.PASS, None),
        ("expect_status: 404\n    level: should", HandshakeReply(101, ("ocpp1.6",)), Verdict.PASS, None),
        ("expect_status: 404", HandshakeReply(101, ("ocpp1.6",)), Verdict.FAIL, "the CSMS answered HTTP 101, "),
        (
            "subprotocols: [ocpp0.1, ocpp1.6]\n    expect_subprotocol: ocpp1.6",
            HandshakeReply(101, ("ocpp1.6",)),
            Verdict.PASS,
            None,
        ),
        (
            "expect_subprotocol: ocpp1.6",
            HandshakeReply(101, ("ocpp1.6", "ocpp0.1")),
            Verdict.FAIL,
            "the CSMS answered HTTP 101, Sec-WebSocket-Protocol: ocpp1.6, ocpp0.1 to a handshake offering ocpp1.6",
        ),
        ("subprotocols: []\n    expect_close: true", HandshakeReply(101, (), 1002), Verdict.PASS, None),
        (
            "subprotocols: [ocpp0.1]\n    expect_close: true",
            HandshakeReply(400),
            Verdict.FAIL,
            "the CSMS answered HTTP 400 to a handshake offering ocpp0.1",
        ),
        (
            "subprotocols: []\n    expect_close: true",
            HandshakeReply(101, ()),
            Verdict.FAIL,
            "the CSMS answered HTTP 101 to a handshake offering no subprotocol",
        ),
    ],
)
def test_a_handshake_step_judges_the_answer_before_the_upgrade(
    tmp_path: Path, options: str, reply: HandshakeReply, verdict: Verdict, message: str | None
) -> None:
    """OCPP-J 1.6 §3.2: the status, exactly one offered subprotocol, or no header and a close; the probe runs before
    the station is switched on (the request is the engine's first output, no connection wanted yet)."""
    engine = probe_engine(tmp_path, options)
    assert not engine.wants_connection()
    [request] = engine.driver_requests()
    assert (request.kind, request.name, request.payload["station_id"]) == ("configure", "handshake", "CP_1")
    engine.driver_done(request.request_id, DriverOutcome(True, handshake=reply), 1000.1)
    engine.tick(1010.0)
    assert engine.outcome is not None and engine.outcome.verdict is verdict, engine.outcome
    if message is not None:
        assert (engine.outcome.message or "").startswith(message), engine.outcome.message
    assert [w.category for w in engine.warnings] == (["should"] if "should" in options else [])


@pytest.mark.parametrize(
    ("options", "reply", "verdict", "message"),
    [
        ("expect: refused\n    auth: none", ConnectReply(False, 401), Verdict.PASS, None),
        ("expect: refused\n    certificate: untrusted", ConnectReply(False, None, "TLS aborted"), Verdict.PASS, None),
        (
            "expect: refused\n    password: WRONG_PASSWORD_0001",
            ConnectReply(True, 101),
            Verdict.FAIL,
            "the CSMS upgraded a connection on the station's endpoint, with another password",
        ),
        ("expect: accepted\n    profile: 2", ConnectReply(True, 101), Verdict.PASS, None),
        (
            "expect: accepted",
            ConnectReply(False, 403, "forbidden"),
            Verdict.FAIL,
            "the CSMS refused a connection on the station's endpoint (refused with HTTP 403: forbidden)",
        ),
        (
            "expect: accepted\n    check_tls: true",
            ConnectReply(
                True, 101, properties=(TlsProperty("TLS version", False, "TLS 1.2", "TLSv1.1", "A00.FR.312"),)
            ),
            Verdict.FAIL,
            "the TLS endpoint fails TLS version: expected TLS 1.2, got TLSv1.1 (A00.FR.312)",
        ),
    ],
)
def test_a_connect_step_asks_for_its_connection_and_judges_what_became_of_it(
    tmp_path: Path, options: str, reply: ConnectReply, verdict: Verdict, message: str | None
) -> None:
    """The connect step is a driver request the runtime performs (harness.connect), before the station is switched
    on; the engine judges the reply alone: upgraded or refused as expected, and every TLS property that failed."""
    engine = probe_engine(tmp_path, options, kind="connect")
    assert not engine.wants_connection()
    [request] = engine.driver_requests()
    assert (request.kind, request.name, request.payload["station_id"]) == ("configure", "connect", "CP_1")
    assert request.payload["check_tls"] is ("check_tls" in options)
    engine.driver_done(request.request_id, DriverOutcome(True, connect=reply), 1000.1)
    engine.tick(1010.0)
    assert engine.outcome is not None and engine.outcome.verdict is verdict, engine.outcome
    if message is not None:
        assert (engine.outcome.message or "").startswith(message), engine.outcome.message


@pytest.mark.parametrize(
    ("reply", "verdict", "seen"),
    [
        (HandshakeReply(400), Verdict.PASS, "with HTTP 400"),
        (HandshakeReply(101, (), 1002), Verdict.PASS, "closed it (1002)"),
        (HandshakeReply(101, ()), Verdict.FAIL, None),
        (HandshakeReply(101, ("ocpp0.1",), 1000), Verdict.FAIL, None),
    ],
)
def test_a_refusal_either_way_passes_and_says_which_on_the_octt_axis(
    tmp_path: Path, reply: HandshakeReply, verdict: Verdict, seen: str | None
) -> None:
    """TC_088_CSMS: a refused upgrade or OCPP-J 1.6 §3.2's 101 without the header and a close."""
    engine = probe_engine(tmp_path, "subprotocols: [ocpp0.1]\n    expect_refusal: true")
    [request] = engine.driver_requests()
    assert request.payload["await_close"] is True
    engine.driver_done(request.request_id, DriverOutcome(True, handshake=reply), 1000.1)
    engine.tick(1010.0)
    assert engine.outcome is not None and engine.outcome.verdict is verdict, engine.outcome
    octt = [w.message for w in engine.warnings if w.category == "octt"]
    assert (seen is None and octt == []) or (len(octt) == 1 and seen in octt[0]), octt
