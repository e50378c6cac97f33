"""Whatever text arrives, parse_frame gives a frame or a FrameError with the right code, and the CALL's id
when it can be read: no other exception reaches a receiver (that would drop the connection)."""

from __future__ import annotations

import pytest

from ocppj.frames import Call, ErrorCode, FrameError, MessageType, parse_frame


@pytest.mark.parametrize(
    ("text", "unique_id", "reason"),
    [
        ('[2,"a1","Heartbeat",{"x":NaN}]', "a1", "NaN is not a JSON value"),
        ('[2,"a2","Heartbeat",{"x":-Infinity}]', "a2", "-Infinity is not a JSON value"),
        ('[2,"a3","Heartbeat",{"n":' + "9" * 5000 + "}]", "a3", "Exceeds the limit"),
        (
            '[2,"a4","DataTransfer",{"vendorId":"v","data":' + "[" * 100_000 + "]" * 100_000 + "}]",
            "a4",
            "nested too deeply",
        ),
        ('[2,"a5","Heartbeat",{', "a5", "Expecting"),
        ("not json", None, "Expecting value"),
        ('[2,"' + "x" * 37 + '","Heartbeat",{', None, "Expecting"),
    ],
)
def test_text_that_is_not_json_is_a_formation_violation(text: str, unique_id: str | None, reason: str) -> None:
    with pytest.raises(FrameError) as raised:
        parse_frame(text)
    assert raised.value.error_code is ErrorCode.FORMATION_VIOLATION
    assert raised.value.unique_id == unique_id
    assert reason in str(raised.value)


def test_deep_nesting_the_parser_can_read_is_a_frame() -> None:
    frame = parse_frame('[2,"d","DataTransfer",{"vendorId":"v","data":' + "[" * 900 + "]" * 900 + "}]")
    assert isinstance(frame, Call) and frame.action == "DataTransfer"


@pytest.mark.parametrize(
    ("text", "message_type", "answerable"),
    [
        ('[2,"a","Heartbeat",[]]', MessageType.CALL, True),
        ('[2,"a","Heartbeat",{', MessageType.CALL, True),
        ('[2,1,"Heartbeat",{}]', MessageType.CALL, False),
        ('[2,"' + "x" * 37 + '","Heartbeat",{}]', MessageType.CALL, False),
        ('[3,"a"]', MessageType.CALLRESULT, False),
        ('[4,"a","GenericError"]', MessageType.CALLERROR, False),
        ('[5,"a",{}]', None, False),
        ("nonsense", None, False),
    ],
)
def test_a_frame_error_says_whether_a_call_waits_for_its_answer(
    text: str, message_type: MessageType | None, answerable: bool
) -> None:
    """OCPP-J 1.6 §4.1.3 (an unknown MessageTypeId is ignored), §4.2.3 (a CALLERROR answers a CALL)."""
    with pytest.raises(FrameError) as raised:
        parse_frame(text)
    assert raised.value.message_type is message_type and raised.value.answerable is answerable
