"""OCPP-J 1.6 RPC frames (OCPP-J 1.6 §4): parse and encode without I/O.

Every parsed frame keeps the exact text it came from (``raw``): traces and reports show what was on the
wire, typed views are derived from it.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from typing import Any, TypeAlias

MAX_UNIQUE_ID_LENGTH = 36  # OCPP-J 1.6 §4.1.4


class MessageType(enum.IntEnum):
    CALL = 2
    CALLRESULT = 3
    CALLERROR = 4


class ErrorCode(enum.StrEnum):
    """CALLERROR codes of OCPP-J 1.6 §4.2.3 (1.6 spelling: FormationViolation, OccurenceConstraintViolation)."""

    NOT_IMPLEMENTED = "NotImplemented"
    NOT_SUPPORTED = "NotSupported"
    INTERNAL_ERROR = "InternalError"
    PROTOCOL_ERROR = "ProtocolError"
    SECURITY_ERROR = "SecurityError"
    FORMATION_VIOLATION = "FormationViolation"
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    OCCURENCE_CONSTRAINT_VIOLATION = "OccurenceConstraintViolation"
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"
    GENERIC_ERROR = "GenericError"


ERROR_CODES = frozenset(code.value for code in ErrorCode)


@dataclass(frozen=True)
class Call:
    unique_id: str
    action: str
    payload: dict[str, Any]
    raw: str = field(default="", compare=False)


@dataclass(frozen=True)
class CallResult:
    unique_id: str
    payload: dict[str, Any]
    raw: str = field(default="", compare=False)


@dataclass(frozen=True)
class CallError:
    unique_id: str
    error_code: str
    error_description: str
    error_details: dict[str, Any]
    raw: str = field(default="", compare=False)


Frame: TypeAlias = Call | CallResult | CallError


class FrameError(ValueError):
    """A text that is not a valid OCPP-J frame.

    ``error_code`` is the CALLERROR code a receiver answers with (OCPP-J 1.6 §4.2.3); ``unique_id`` is the
    message id when it could be read, so the error can be sent back for the right CALL. ``message_type`` is the
    MessageTypeId when it is one of OCPP-J's (2, 3, 4), else None: only a CALL is answered, a malformed
    CALLRESULT/CALLERROR has nobody waiting for an answer, and an unknown MessageTypeId is ignored (§4.1.3).
    """

    def __init__(
        self,
        message: str,
        *,
        error_code: ErrorCode,
        unique_id: str | None = None,
        message_type: MessageType | None = None,
    ) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.unique_id = unique_id
        self.message_type = message_type

    @property
    def answerable(self) -> bool:
        """A CALL whose id was read and can be echoed: its sender waits for a CALLERROR (OCPP-J 1.6 §4.2.3). An id
        over 36 characters cannot: the answer would break §4.1.4 itself, so such a frame is not answered."""
        return (
            self.message_type is MessageType.CALL
            and self.unique_id is not None
            and len(self.unique_id) <= MAX_UNIQUE_ID_LENGTH
        )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value (RFC 8259 §6 has no NaN or Infinity)")


# json.loads and json.dumps with options build a decoder or an encoder per call: these are built once, with the
# same options (json.loads adds only the BOM check, kept in parse_frame).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)

# The id of a CALL whose text is not JSON as a whole (cut off, NaN, an integer too long to read, nested too deep)
# can often still be read at its start: the receiver can then answer for the right CALL.
_CALL_PREFIX = re.compile(r'^\s*\[\s*2\s*,\s*"([^"\\]{1,36})"\s*,')


def parse_frame(text: str) -> Frame:
    """Parse one websocket text message into a frame, or raise :class:`FrameError`. Whatever the text, nothing
    else is raised: NaN and Infinity are not JSON (RFC 8259 §6), nesting too deep for the parser and integers
    too long to convert are FormationViolations too, with the CALL's id when its start is readable."""
    try:
        if isinstance(text, str) and not text.startswith("\ufeff"):
            data = _DECODER.decode(text)
        else:  # json.loads says what is wrong with these
            data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        found = _CALL_PREFIX.match(text)
        raise FrameError(
            f"not JSON: {reason}",
            error_code=ErrorCode.FORMATION_VIOLATION,
            unique_id=found.group(1) if found else None,
            message_type=MessageType.CALL if found else None,
        ) from None
    if not isinstance(data, list) or not data:
        raise FrameError("a frame must be a non-empty JSON array", error_code=ErrorCode.FORMATION_VIOLATION)
    unique_id = data[1] if len(data) > 1 and isinstance(data[1], str) else None
    kind = data[0]
    if isinstance(kind, bool) or kind not in (2, 3, 4):
        raise FrameError(
            f"unknown MessageTypeId {kind!r}", error_code=ErrorCode.FORMATION_VIOLATION, unique_id=unique_id
        )
    message_type = MessageType(kind)
    if unique_id is None:
        raise FrameError(
            "UniqueId must be a string", error_code=ErrorCode.FORMATION_VIOLATION, message_type=message_type
        )
    if len(unique_id) > MAX_UNIQUE_ID_LENGTH:
        raise FrameError(
            f"UniqueId is longer than {MAX_UNIQUE_ID_LENGTH} characters",
            error_code=ErrorCode.FORMATION_VIOLATION,
            unique_id=unique_id,
            message_type=message_type,
        )
    if kind == MessageType.CALL:
        if len(data) != 4 or not isinstance(data[2], str):
            raise FrameError(
                "a CALL is [2, UniqueId, Action, Payload]",
                error_code=ErrorCode.FORMATION_VIOLATION,
                unique_id=unique_id,
                message_type=message_type,
            )
        if not isinstance(data[3], dict):
            raise FrameError(
                "a CALL payload must be a JSON object",
                error_code=ErrorCode.FORMATION_VIOLATION,
                unique_id=unique_id,
                message_type=message_type,
            )
        return Call(unique_id, data[2], data[3], raw=text)
    if kind == MessageType.CALLRESULT:
        if len(data) != 3 or not isinstance(data[2], dict):
            raise FrameError(
                "a CALLRESULT is [3, UniqueId, Payload] with an object payload",
                error_code=ErrorCode.FORMATION_VIOLATION,
                unique_id=unique_id,
                message_type=message_type,
            )
        return CallResult(unique_id, data[2], raw=text)
    if len(data) != 5 or not isinstance(data[2], str) or not isinstance(data[3], str) or not isinstance(data[4], dict):
        raise FrameError(
            "a CALLERROR is [4, UniqueId, errorCode, errorDescription (string), errorDetails (object)]",
            error_code=ErrorCode.FORMATION_VIOLATION,
            unique_id=unique_id,
            message_type=message_type,
        )
    return CallError(unique_id, data[2], data[3], data[4], raw=text)


def _dump(data: list[Any]) -> str:
    return _ENCODER.encode(data)


def encode_call(unique_id: str, action: str, payload: dict[str, Any]) -> Call:
    return Call(unique_id, action, payload, raw=_dump([2, unique_id, action, payload]))


def encode_result(unique_id: str, payload: dict[str, Any]) -> CallResult:
    return CallResult(unique_id, payload, raw=_dump([3, unique_id, payload]))


def encode_error(
    unique_id: str,
    error_code: str,
    error_description: str = "",
    error_details: dict[str, Any] | None = None,
) -> CallError:
    details = {} if error_details is None else error_details
    return CallError(
        unique_id,
        error_code,
        error_description,
        details,
        raw=_dump([4, unique_id, error_code, error_description, details]),
    )
