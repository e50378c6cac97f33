"""CSMSs that break the robustness scenarios' rules, on the wire (merged into ``BROKEN`` of test_suite_bundled.py,
each must FAIL at the step that checks the rule), and the SHOULD rules' breakers (``BROKEN_SHOULD``: the case
PASSes with a should-warning naming the miss, test_suite_robustness.py).

The proxy takes the raw frame before the CSMS does (:class:`tests.integration.support.Broken`) and answers it as a
broken CSMS would: the wrong CALLERROR code, a CALLRESULT where a CALLERROR is due, an answer where OCPP-J says
to ignore, nothing at all, or a connection that hangs after the frame (what the issue found: one small frame and
the station's session is dead). A SHOULD scenario's shall-part is the next valid CALL on the connection; its
BROKEN entry is the hanging connection, which fails that ``send``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tests.integration.support import Broken, Mutation

_ID = re.compile(r'^\s*\[\s*\d+\s*,\s*"([^"\\]*)"')


def _text(message: str | bytes) -> str:
    return message if isinstance(message, str) else message.decode("utf-8", "replace")


def answered_with(needle: str, *reply: Callable[[str], list[Any]], binary: bool = False) -> Broken:
    """The CSMS answers the station frame that contains ``needle`` with ``reply`` (built from the frame's id),
    instead of taking it; ``binary``: only a binary frame is matched."""

    def up(message: str | bytes) -> list[str] | None:
        if binary and isinstance(message, str):
            return None
        text = _text(message)
        if needle not in text:
            return None
        found = _ID.match(text)
        unique_id = found.group(1) if found else "-1"
        return [json.dumps(build(unique_id)) for build in reply]

    return Broken(up=up)


def error(code: str) -> Callable[[str], list[Any]]:
    return lambda unique_id: [4, unique_id, code, "broken on purpose", {}]


def result(payload: dict[str, Any]) -> Callable[[str], list[Any]]:
    return lambda unique_id: [3, unique_id, payload]


def swallowed(needle: str, *, after: int = 0) -> Broken:
    """The CSMS reads the frame that contains ``needle`` and never answers it (past the first ``after`` such)."""
    seen: list[bool] = []

    def up(message: str | bytes) -> list[str] | None:
        if needle not in _text(message):
            return None
        seen.append(True)
        return [] if len(seen) > after else None

    return Broken(up=up)


def hangs_after(needle: str) -> Broken:
    """After the frame that contains ``needle`` the CSMS sends nothing more on the connection."""
    seen: list[bool] = []

    def up(message: str | bytes) -> list[str] | None:
        if needle in _text(message):
            seen.append(True)
        return None

    def down(frame: list[Any], pending: dict[str, list[Any]]) -> str | None:
        return None if seen else json.dumps(frame)

    return Broken(up=up, down=down)


def lenient_about_utf8() -> Broken:
    """A CSMS that decodes invalid UTF-8 leniently and answers FormationViolation, instead of failing the
    connection (RFC 6455 §8.1)."""

    def up(message: str | bytes) -> list[str] | None:
        assert isinstance(message, bytes)
        try:
            message.decode("utf-8")
        except UnicodeDecodeError:
            return [json.dumps([4, "rb-utf8", "FormationViolation", "not JSON", {}])]
        return None

    return Broken(up=up, text_bytes=True)


NEXT_CALL = "the CSMS did not answer Heartbeat within"

# case id -> (mutation, text the failure message must contain, text of the failing step's label)
BROKEN_ROBUSTNESS: dict[str, tuple[Mutation, str, str]] = {
    # shall: the raw step itself fails
    "RB_UNKNOWN_MESSAGE_TYPE": (
        answered_with('"rb-type"', error("FormationViolation")),
        "the CSMS answered a frame OCPP-J says to ignore",
        "rb-type",
    ),
    "RB_UNKNOWN_ACTION": (
        answered_with("FlyToTheMoon", error("GenericError")),
        "the CSMS answered with CALLERROR GenericError",
        "FlyToTheMoon",
    ),
    "RB_MISSING_FIELD": (
        answered_with('"rb-missing"', result({"idTagInfo": {"status": "Invalid"}})),
        "the CSMS answered with a CALLRESULT",
        "rb-missing",
    ),
    "RB_WRONG_TYPE": (
        answered_with('"rb-wrong-type"', error("FormationViolation")),
        "the CSMS answered with CALLERROR FormationViolation",
        "rb-wrong-type",
    ),
    "RB_ENUM_VALUE": (answered_with('"rb-enum"', result({})), "the CSMS answered with a CALLRESULT", "rb-enum"),
    "RB_STRING_TOO_LONG": (
        answered_with('"rb-long"', error("FormationViolation")),
        "the CSMS answered with CALLERROR FormationViolation",
        "rb-long",
    ),
    "RB_CALLS_BACK_TO_BACK": (swallowed('"rb-second"'), "the CSMS did not answer within", "rb-first"),
    "RB_LONG_MESSAGE_ID": (
        answered_with('"rb-0123456789', error("FormationViolation")),
        "the CSMS sent a malformed OCPP-J frame",
        "rb-0123456789",
    ),
    "RB_INVALID_UTF8": (lenient_about_utf8(), "the CSMS answered where it must close the connection", "rb-utf8"),
    "RB_DEEP_NESTING": (
        answered_with('"rb-deep"', error("InternalError")),
        "the CSMS answered with CALLERROR InternalError",
        "rb-deep",
    ),
    "RB_LONE_SURROGATE": (
        answered_with('"rb-surrogate"', error("InternalError")),
        "the CSMS answered with CALLERROR InternalError",
        "rb-surrogate",
    ),
    "RB_HUGE_INTEGER": (swallowed('"rb-digits"'), "the CSMS did not answer within", "rb-digits"),
    # The proxy's own websockets server refuses a handshake whose subprotocols it does not take with HTTP 400, as
    # CSMSs built on it do unless told otherwise, instead of completing it and closing (OCPP-J 1.6 §3.2).
    "RB_SUBPROTOCOL_LISTS": (lambda frame, pending: json.dumps(frame), "the CSMS answered HTTP 400", "ocpp0.1"),
    # should: the CSMS hangs after the frame, and the next valid CALL is not answered (a shall)
    "RB_UNKNOWN_STATION": (hangs_after('"Heartbeat"'), NEXT_CALL, "Heartbeat"),
    "RB_INVALID_JSON": (hangs_after('"rb-json"'), NEXT_CALL, "Heartbeat"),
    "RB_NOT_AN_ARRAY": (hangs_after('"rb-obj"'), NEXT_CALL, "Heartbeat"),
    "RB_CSMS_ACTION_FROM_STATION": (hangs_after('"rb-reset"'), NEXT_CALL, "Heartbeat"),
    "RB_DUPLICATE_MESSAGE_ID": (hangs_after('"rb-dup"'), "the CSMS did not answer within", "rb-dup"),
    "RB_ANSWER_NEVER_ASKED": (hangs_after('"rb-never-sent"'), NEXT_CALL, "Heartbeat"),
    "RB_MALFORMED_RESULT": (hangs_after('"rb-bad-result"'), NEXT_CALL, "Heartbeat"),
    "RB_BINARY_FRAME": (hangs_after('"rb-binary"'), NEXT_CALL, "Heartbeat"),
    "RB_LARGE_FRAME": (hangs_after('"rb-large"'), NEXT_CALL, "Heartbeat"),
    "RB_NAN": (hangs_after('"rb-nan"'), NEXT_CALL, "Heartbeat"),
    "RB_CALL_BEFORE_ACCEPTED": (
        hangs_after('"rb-pending"'),
        "the CSMS did not answer BootNotification within",
        "BootNotification",
    ),
}

# case id -> (mutation, text the should-warning must contain): the SHOULD rule itself broken
BROKEN_SHOULD: dict[str, tuple[Mutation, str]] = {
    "RB_INVALID_JSON": (answered_with('"rb-json"', error("GenericError")), "answered with CALLERROR GenericError"),
    "RB_NOT_AN_ARRAY": (
        answered_with('"rb-obj"', error("FormationViolation")),
        "the CSMS answered a frame OCPP-J says to ignore",
    ),
    "RB_CSMS_ACTION_FROM_STATION": (
        answered_with('"rb-reset"', error("NotImplemented")),
        "answered with CALLERROR NotImplemented",
    ),
    "RB_ANSWER_NEVER_ASKED": (
        answered_with('"rb-never-sent"', error("FormationViolation")),
        "the CSMS answered a frame OCPP-J says to ignore",
    ),
    "RB_MALFORMED_RESULT": (
        answered_with('"rb-bad-result"', error("FormationViolation")),
        "the CSMS answered a frame OCPP-J says to ignore",
    ),
    "RB_BINARY_FRAME": (
        answered_with('"rb-binary"', result({"currentTime": "2026-01-01T00:00:00Z"}), binary=True),
        "the CSMS answered a frame OCPP-J says to ignore",
    ),
    "RB_LARGE_FRAME": (answered_with('"rb-large"', error("GenericError")), "answered with CALLERROR GenericError"),
    "RB_NAN": (answered_with('"rb-nan"', result({})), "answered with a CALLRESULT"),
    "RB_CALL_BEFORE_ACCEPTED": (
        answered_with('"rb-pending"', error("GenericError")),
        "answered with CALLERROR GenericError",
    ),
    "RB_DUPLICATE_MESSAGE_ID": (swallowed('"rb-dup"', after=1), "did not answer"),
    # The proxy upgrades any station id, then finds the CSMS refuses it: a CSMS that does not check ids first.
    "RB_UNKNOWN_STATION": (lambda frame, pending: json.dumps(frame), "the CSMS answered HTTP 101"),
}
