"""Fuzzing the bundled CSMS's frame handling: frames hypothesis makes up (random text, random JSON, valid CALLs
mutated field by field), sent one by one over a real websocket on loopback, each followed by a Heartbeat probe.

What must hold for every frame (OCPP-J 1.6 §4, RFC 6455, RFC 8259), checked by :meth:`Probe.check`:

- the connection stays up (every frame here is a text frame of valid UTF-8);
- a frame that is a readable CALL (``ocppj.parse_frame`` gives a Call, or a FrameError that is ``answerable``)
  gets exactly one answer, carrying its id; any other frame gets none (OCPP-J 1.6 §4.1.3, §4.2.3);
- every answer is a well-formed CALLRESULT or CALLERROR: a 1.6 error code, errorDetails an object;
- the probe behind it is answered (the CSMS still serves the connection).

Used by tests/fuzz/test_fuzz_csms.py (a bounded number of examples in ``make test``) and bench/fuzz_csms.py
(10,000, with the counts).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from ocppj.frames import ERROR_CODES, Call, CallError, CallResult, FrameError, parse_frame

ANSWER_WAIT_S = 10.0

VALID_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("Heartbeat", {}),
    ("Authorize", {"idTag": "FUZZ_TAG"}),
    ("BootNotification", {"chargePointVendor": "Fuzz", "chargePointModel": "F1"}),
    ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}),
    ("DataTransfer", {"vendorId": "org.fuzz", "messageId": "m", "data": "d"}),
    (
        "MeterValues",
        {"connectorId": 1, "meterValue": [{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": "1"}]}]},
    ),
    ("StartTransaction", {"connectorId": 1, "idTag": "FUZZ_TAG", "meterStart": 0, "timestamp": "2026-01-01T00:00:00Z"}),
    ("StopTransaction", {"transactionId": 1, "meterStop": 5, "timestamp": "2026-01-01T01:00:00Z"}),
    ("FirmwareStatusNotification", {"status": "Idle"}),
    ("SecurityEventNotification", {"type": "Fuzz", "timestamp": "2026-01-01T00:00:00Z"}),
]

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)  # sendable as UTF-8
_surrogate_text = st.text(max_size=10)  # lone surrogates too: they go out as \\udxxx escapes
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _surrogate_text
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_surrogate_text, inner, max_size=4),
    max_leaves=12,
)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True)


@st.composite
def mutated_calls(draw: st.DrawFn) -> str:
    """A valid CALL with one part changed: a payload member replaced, dropped or added, the action, the id, the
    MessageTypeId or the array's length."""
    action, payload = draw(st.sampled_from(VALID_CALLS))
    payload = dict(payload)
    frame: list[Any] = [2, draw(st.text(alphabet="abcdef0123456789-", min_size=1, max_size=36)), action, payload]
    how = draw(st.sampled_from(["member", "drop", "add", "action", "id", "type", "length", "payload", "none"]))
    if how == "member" and payload:
        payload[draw(st.sampled_from(sorted(payload)))] = draw(json_values)
    elif how == "drop" and payload:
        del payload[draw(st.sampled_from(sorted(payload)))]
    elif how == "add":
        payload[draw(_surrogate_text)] = draw(json_values)
    elif how == "action":
        frame[2] = draw(json_values)
    elif how == "id":
        frame[1] = draw(json_values | st.text(min_size=30, max_size=60))
    elif how == "type":
        frame[0] = draw(json_values)
    elif how == "length":
        frame = frame[: draw(st.integers(0, 3))] + draw(st.lists(json_values, max_size=2))
    elif how == "payload":
        frame[3] = draw(json_values)
    return _dump(frame)


@st.composite
def cut_frames(draw: st.DrawFn) -> str:
    """A valid CALL cut off somewhere: not JSON, but a readable CALL id when the cut comes late enough."""
    action, payload = draw(st.sampled_from(VALID_CALLS))
    text = _dump([2, "cut-1", action, payload])
    return text[: draw(st.integers(0, len(text) - 1))]


frames = (
    mutated_calls()
    | cut_frames()
    | json_values.map(_dump)
    | _text
    | st.builds(
        lambda depth: '[2,"deep","DataTransfer",{"vendorId":"v","data":' + "[" * depth + "]" * depth + "}]",
        st.integers(1, 2000),
    )
)


def expectation(text: str) -> tuple[str, str | None]:
    """(kind, id the answer must carry): ``call`` / ``formation`` are answered once, ``ignored`` never."""
    try:
        frame = parse_frame(text)
    except FrameError as exc:
        return ("formation", exc.unique_id) if exc.answerable else ("ignored", None)
    if isinstance(frame, Call):
        return "call", frame.unique_id
    return "ignored", None


@dataclass
class Probe:
    """One station connection to the CSMS that frames are sent over; ``counts`` says what came back."""

    ws: ClientConnection
    counts: Counter[str] = field(default_factory=Counter)
    _probes: int = 0

    @classmethod
    async def open(cls, ws_url: str, station_id: str) -> Probe:
        ws = await connect(
            f"{ws_url}/{station_id}", subprotocols=[Subprotocol("ocpp1.6")], ping_interval=None, max_size=2**23
        )
        return cls(ws)

    async def check(self, text: str) -> None:
        """Send ``text`` then a Heartbeat probe; assert the properties of the module docstring."""
        kind, unique_id = expectation(text)
        self._probes += 1
        probe_id = f"probe~{self._probes}"
        assert unique_id != probe_id
        try:
            await self.ws.send(text)
            await self.ws.send(_dump([2, probe_id, "Heartbeat", {}]))
            answers: list[CallResult | CallError] = []
            async with asyncio.timeout(ANSWER_WAIT_S):
                while True:
                    reply = await self.ws.recv()
                    assert isinstance(reply, str), f"a binary frame from the CSMS: {reply!r}"
                    answer = parse_frame(reply)  # a malformed reply raises FrameError and fails the property
                    assert not isinstance(answer, Call), f"the CSMS sent a CALL: {reply}"
                    if answer.unique_id == probe_id:
                        assert isinstance(answer, CallResult), f"the probe got {reply}"
                        break
                    answers.append(answer)
        except ConnectionClosed as exc:
            raise AssertionError(f"the CSMS dropped the connection after {text[:200]!r}: {exc}") from None
        except TimeoutError:
            raise AssertionError(f"the CSMS did not answer the probe after {text[:200]!r}") from None
        for answer in answers:
            if isinstance(answer, CallError):
                assert answer.error_code in ERROR_CODES, answer.raw
                assert answer.error_code != "InternalError", f"{text[:200]!r} -> {answer.raw}"
        if kind == "ignored":
            assert answers == [], f"{text[:200]!r} must be ignored, got {[a.raw for a in answers]}"
        else:
            assert [a.unique_id for a in answers] == [unique_id], f"{text[:200]!r} -> {[a.raw for a in answers]}"
        self.count(kind, answers)

    def count(self, kind: str, answers: list[CallResult | CallError]) -> None:
        self.counts[f"frames {kind}"] += 1
        for answer in answers:
            self.counts["CALLRESULT" if isinstance(answer, CallResult) else f"CALLERROR {answer.error_code}"] += 1

    async def close(self) -> None:
        await self.ws.close()
