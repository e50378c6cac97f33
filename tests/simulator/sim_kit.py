"""A fake runtime and CSMS around the sans-I/O charge point, with fake time and no sockets.

Every CALL the station sends is checked against the official OCPP 1.6 request schema, every answer the station
gives to a CSMS call against the response schema, and every CSMS answer the fake sends against its response
schema too, so no test can pass while the model produces (or is fed) a schema-invalid frame. It also checks the
``transactional`` flag, the timestamp format, and that ``next_deadline`` never asks for a tick that cannot do
anything (a runtime would spin on it).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ocppj import schemas
from ocppj.timefmt import format_time
from simulator.model import CallRefused, ChargePoint, OutgoingCall, StationSpec
from simulator.model.calls import is_transactional
from simulator.model.security import ConnectionSettings

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

ACCEPTED_TAG = {"status": "Accepted"}
DEFAULT_TAGS: dict[str, dict[str, Any]] = {
    "VALID": {"status": "Accepted"},
    "OTHER": {"status": "Accepted"},
    "GROUP_A": {"status": "Accepted", "parentIdTag": "FLEET"},
    "GROUP_B": {"status": "Accepted", "parentIdTag": "FLEET"},
    "BLOCKED": {"status": "Blocked"},
    "EXPIRED": {"status": "Expired", "expiryDate": "2020-01-01T00:00:00.000Z"},
}


@dataclass(frozen=True)
class Error:
    """Answer the next CALL with a CALLERROR."""

    code: str = "InternalError"
    description: str = ""


@dataclass(frozen=True)
class Timeout:
    """Let the next CALL time out."""


@dataclass(frozen=True)
class Hold:
    """Keep the next CALL in flight until the test answers it with ``Sim.release``."""


Reply = dict[str, Any] | Error | Timeout | Hold


@dataclass(frozen=True)
class Sent:
    action: str
    payload: dict[str, Any]
    call: OutgoingCall
    at: float


def check_timestamps(value: Any, where: str = "payload") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("timestamp", "expiryDate", "currentTime") and isinstance(item, str):
                assert _TIMESTAMP.match(item), f"{where}.{key} = {item!r} is not format_time output"
            check_timestamps(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_timestamps(item, f"{where}[{index}]")


def check_request(action: str, payload: dict[str, Any]) -> None:
    problems = schemas.validate(action, payload, response=False)
    assert not problems, f"{action} request violates the 1.6 schema: {[str(p) for p in problems]} in {payload}"
    check_timestamps(payload, action)


def check_response(action: str, payload: dict[str, Any]) -> None:
    problems = schemas.validate(action, payload, response=True)
    assert not problems, f"{action} response violates the 1.6 schema: {[str(p) for p in problems]} in {payload}"
    check_timestamps(payload, action)


@dataclass
class Csms:
    """What the fake CSMS answers by default; tests change fields or queue one-off replies."""

    boot_status: str = "Accepted"
    boot_interval: int = 300
    tags: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(DEFAULT_TAGS))
    start_tag_status: dict[str, str] = field(default_factory=dict)  # StartTransaction override per tag
    next_transaction_id: int = 100
    one_off: dict[str, deque[Reply]] = field(default_factory=dict)

    def tag_info(self, id_tag: str) -> dict[str, Any]:
        return dict(self.tags.get(id_tag, {"status": "Invalid"}))

    def reply(self, action: str, payload: dict[str, Any], now: float) -> Reply:
        queued = self.one_off.get(action)
        if queued:
            return queued.popleft()
        if action == "BootNotification":
            return {"status": self.boot_status, "currentTime": format_time(now), "interval": self.boot_interval}
        if action == "Heartbeat":
            return {"currentTime": format_time(now)}
        if action == "Authorize":
            return {"idTagInfo": self.tag_info(payload["idTag"])}
        if action == "StartTransaction":
            info = self.tag_info(payload["idTag"])
            if payload["idTag"] in self.start_tag_status:
                info = {"status": self.start_tag_status[payload["idTag"]]}
            self.next_transaction_id += 1
            return {"transactionId": self.next_transaction_id - 1, "idTagInfo": info}
        if action == "StopTransaction":
            return {"idTagInfo": self.tag_info(payload["idTag"])} if "idTag" in payload else {}
        if action == "DataTransfer":
            return {"status": "UnknownVendorId"}
        if action == "SignCertificate":
            return {"status": "Accepted"}
        return {}


class Sim:
    """The station plus a fake runtime: connects when the station wants to, sends its calls one at a time,
    answers them from :class:`Csms`, and moves fake time from deadline to deadline."""

    def __init__(
        self,
        *,
        connectors: int = 1,
        config: Mapping[str, str] | None = None,
        now: float = T0,
        auto_connect: bool = True,
        **spec_fields: Any,
    ) -> None:
        self.spec = StationSpec(station_id="CP-1", connectors=connectors, config=dict(config or {}), **spec_fields)
        self.now = now
        self.cp = ChargePoint(self.spec, now=now)
        self.csms = Csms()
        self.sent: list[Sent] = []
        self.held: Sent | None = None
        self.link = False
        self.auto_connect = auto_connect
        self.connections = 0
        self.settings: list[ConnectionSettings] = []  # what each connection was opened with
        self.follow()

    # -- runtime loop

    def follow(self) -> None:
        """Open or close the websocket as the station wants, then send what it has. A station that takes its
        link as closed (``link_up`` False, to reconnect with new credentials) gets a new connection at once."""
        if self.link and (not self.cp.wants_connection() or not self.cp.link_up):
            self.link = False
            self.held = None
            self.cp.disconnected(self.now)
        if not self.link and self.auto_connect and self.cp.wants_connection():
            self._open()
        self.pump()

    def connect(self) -> None:
        assert not self.link
        self._open()
        self.pump()

    def _open(self) -> None:
        self.link = True
        self.connections += 1
        self.settings.append(self.cp.connection_settings(self.now))
        self.cp.connected(self.now)

    def drop_link(self) -> None:
        """The websocket closes under the station (not a go_offline act)."""
        assert self.link
        self.link = False
        self.held = None
        self.cp.disconnected(self.now)

    def pump(self) -> None:
        for _ in range(10_000):
            if not self.link or self.held is not None:
                break
            call = self.cp.next_call(self.now)
            if call is None:
                break
            check_request(call.action, call.payload)
            assert call.transactional == is_transactional(call.action, call.payload), call
            sent = Sent(call.action, call.payload, call, self.now)
            self.sent.append(sent)
            self.answer(sent, self.csms.reply(call.action, call.payload, self.now))
        else:
            raise AssertionError("the station sends without end")
        deadline = self.cp.next_deadline()
        assert deadline is None or deadline > self.now, f"deadline {deadline} is not after now {self.now}"

    def answer(self, sent: Sent, reply: Reply) -> None:
        if isinstance(reply, Hold):
            self.held = sent
        elif isinstance(reply, Timeout):
            self.cp.call_timeout(sent.call, self.now)
        elif isinstance(reply, Error):
            self.cp.call_error(sent.call, reply.code, reply.description, self.now)
        else:
            check_response(sent.action, reply)
            self.cp.call_result(sent.call, reply, self.now)

    def release(self, reply: Reply | None = None) -> Sent:
        """Answer the held CALL (by default as the fake CSMS would) and carry on."""
        held = self.held
        assert held is not None, "no CALL is held"
        self.held = None
        self.answer(held, self.csms.reply(held.action, held.payload, self.now) if reply is None else reply)
        self.follow()
        return held

    def queue_reply(self, action: str, *replies: Reply) -> None:
        self.csms.one_off.setdefault(action, deque()).extend(replies)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of fake time pass, ticking at every deadline the station reports."""
        target = self.now + seconds
        for _ in range(100_000):
            deadline = self.cp.next_deadline()
            if deadline is None or deadline > target:
                break
            self.now = max(self.now, deadline)
            self.cp.tick(self.now)
            self.follow()
        else:
            raise AssertionError("too many deadlines")
        self.now = target
        self.cp.tick(self.now)
        self.follow()

    # -- CSMS-initiated calls

    def call(self, action: str, payload: dict[str, Any], *, answer: Mapping[str, Any] | None = None) -> dict[str, Any]:
        check_request(action, payload)
        result = self.cp.handle_call(action, payload, self.now, answer=answer)
        if answer is None:
            check_response(action, result)
        self.follow()
        return result

    def refused(self, action: str, payload: dict[str, Any]) -> CallRefused:
        try:
            self.cp.handle_call(action, payload, self.now)
        except CallRefused as refused:
            return refused
        raise AssertionError(f"{action} was not refused")

    # -- acts

    def act(self, method: Callable[..., None], *args: Any) -> None:
        method(*args, self.now)
        self.follow()

    def plug(self, connector_id: int = 1) -> None:
        self.act(self.cp.plug, connector_id)

    def unplug(self, connector_id: int = 1) -> None:
        self.act(self.cp.unplug, connector_id)

    def token(self, id_tag: str = "VALID", connector_id: int = 1) -> None:
        self.cp.present_token(connector_id, id_tag, self.now)
        self.follow()

    def fault(self, connector_id: int, error_code: str) -> None:
        self.cp.fault(connector_id, error_code, self.now)
        self.follow()

    def clear_fault(self, connector_id: int) -> None:
        self.act(self.cp.clear_fault, connector_id)

    def power_cycle(self) -> None:
        self.act(self.cp.power_cycle)

    def go_offline(self) -> None:
        self.act(self.cp.go_offline)

    def go_online(self) -> None:
        self.act(self.cp.go_online)

    # -- reading what was sent

    def take(self) -> list[Sent]:
        """Everything sent since the last take."""
        sent, self.sent = self.sent, []
        return sent

    def flow(self) -> list[str]:
        """The calls sent since the last take, as ``Action`` or ``StatusNotification:<connector>:<status>``."""
        return [describe(sent) for sent in self.take()]

    def booted(self) -> Sim:
        """Discard the boot sequence (after asserting it happened) so a test starts from an idle station."""
        flow = self.flow()
        assert flow and flow[0] == "BootNotification", flow
        assert self.cp.registration == "Accepted"
        return self


def describe(sent: Sent) -> str:
    if sent.action == "StatusNotification":
        payload = sent.payload
        error = "" if payload["errorCode"] == "NoError" else f":{payload['errorCode']}"
        return f"StatusNotification:{payload['connectorId']}:{payload['status']}{error}"
    if sent.action == "StopTransaction":
        return f"StopTransaction:{sent.payload['reason']}"
    return sent.action


def booted(**kwargs: Any) -> Sim:
    return Sim(**kwargs).booted()


def charging(connector_id: int = 1, tag: str = "VALID", **kwargs: Any) -> Sim:
    """A registered station with a transaction running on ``connector_id`` (the OCTT "Charging" state)."""
    sim = booted(**kwargs)
    sim.plug(connector_id)
    sim.token(tag, connector_id)
    assert sim.cp.connector_status(connector_id) == "Charging"
    sim.take()
    return sim
