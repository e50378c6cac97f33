"""Sans-I/O scenario engine: replays one scenario through the simulated station against a CSMS.

The engine takes text, driver outcomes and time in (``receive``, ``driver_done``, ``tick``) and hands back frames
to send, driver requests, whether the station wants a connection, and its next deadline; the asyncio loop in
:mod:`harness.runner` does all I/O. It never sleeps and never reads a clock.

Rules it enforces on every scenario, whatever the steps say:

* every frame received from the CSMS parses as OCPP-J (OCPP-J 1.6 §4) and validates against the official 1.6
  JSON schema (OCTT D24 §1.2);
* every station CALL gets a CALLRESULT, not a CALLERROR, unless a step expects the error (OCPP-J 1.6 §4.2.3:
  CALLERROR is for transport and format problems only), within the response timeout;
* a CALLRESULT/CALLERROR carries the id of a CALL the station sent (OCPP-J 1.6 §4.1.4);
* the websocket is opened with the ``ocpp1.6`` subprotocol (OCPP-J 1.6 §3.2);
* a CSMS CALL carries a message id the CSMS has not used for another CALL on the connection (OCPP-J 1.6 §4.1.4);
* a transactionId the CSMS hands out belongs to one transaction only, across the whole run (OCPP 1.6 §4.10).

Only what the runtime reports as sent (:meth:`Engine.sent`) is traced: a trace never shows a frame that did not
go on the wire.

Whatever the verdict, a case ends with a *cleanup* that leaves the CSMS as the case found it (DESIGN §3): the
station winds down (every transaction stopped, cables out, faults cleared, back online), every transaction the
CSMS opened during the case and the station does not know of is stopped explicitly, then the scenario's own
``cleanup`` steps run (reset a BootNotification answer, cancel a reservation, ...). What cleanup could not do is
reported apart from the verdict (:attr:`Engine.cleanup_problems`) and never changes it.

Station CALLs that the simulator sends on its own (after an act, a CSMS call or a timer) are matched by
``exchange`` steps in any order within the stretch since the last step that made something happen, which is how
OCTT accepts StatusNotification(Charging) before or after StartTransaction (D24 §1.2).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from harness.outcomes import ConformanceFailure, HarnessError
from harness.results import Finding, LatencySample, StepRecord, Verdict, WireRecord
from harness.scenario import matchers
from harness.scenario.model import (
    Act,
    Configure,
    Connect,
    Exchange,
    ExpectCall,
    ExpectNoCall,
    Handshake,
    Raw,
    Scenario,
    Send,
    StationCallStep,
    Step,
    Trigger,
    Wait,
)
from ocppj import schemas
from ocppj.frames import (
    Call,
    CallError,
    CallResult,
    ErrorCode,
    FrameError,
    encode_call,
    encode_error,
    encode_result,
    parse_frame,
)
from ocppj.timefmt import format_time
from simulator.model import CallRefused, ChargePoint, ConnectionSettings, OutgoingCall, StationSpec, TransferJob

# OCTT's own test cases: the OCTT-compatibility axis applies to them (reference §5.6).
_OCTT_CASE = re.compile(r"^TC_\d")

_REFUSED = re.compile(r"^HTTP 40[13] during the websocket handshake")  # simulator.transport.ConnectFailure("http")
_BROKEN_RULES = (ConformanceFailure, HarnessError, matchers.UnresolvedVariable)
_MAX_ERRORS_PER_INPUT = 10

# Steps after which the simulator may send new CALLs; exchange steps match exchanges since the latest of them.
_CAUSAL = (Act, Send, Trigger, ExpectCall, Configure, Raw)


@dataclass(frozen=True)
class DriverRequest:
    """Ask the driver to make the CSMS act: send an OCPP ``action`` (trigger) or change a setting (configure)."""

    request_id: int
    kind: Literal["trigger", "configure"]
    name: str
    payload: dict[str, Any]
    station_id: str


HANDSHAKE = "handshake"  # the driver request of a handshake step (harness.handshake performs it)


@dataclass(frozen=True)
class HandshakeReply:
    """What a CSMS answered to a handshake step's upgrade request: the HTTP ``status``, the values of its
    Sec-WebSocket-Protocol header lines, and the close code it sent within the step's time (None: no close)."""

    status: int
    protocols: tuple[str, ...] = ()
    close_code: int | None = None


CONNECT = "connect"  # the driver request of a connect step (harness.connect performs it)


@dataclass(frozen=True)
class TlsProperty:
    """One TLS property of an endpoint as a connect step's ``check_tls`` found it (harness.tls_check): ``ok`` None
    when this machine could not check it."""

    name: str
    ok: bool | None
    expected: str
    actual: str
    reference: str


@dataclass(frozen=True)
class ConnectReply:
    """What became of a connect step's connection: ``opened`` (HTTP 101 with ocpp1.6), else the HTTP ``status`` the
    CSMS refused it with (None: it aborted the TLS handshake or closed before answering) and ``detail``; the
    endpoint's TLS ``properties`` when the step checked them."""

    opened: bool
    status: int | None = None
    detail: str = ""
    properties: tuple[TlsProperty, ...] = ()


@dataclass(frozen=True)
class DriverOutcome:
    """``ok`` is False when the driver could not make the CSMS act (API error, operator gave up). ``request``
    names the driver request (``boot_answer``, ``trigger Reset``); an HTTP driver adds the exchange it made, with
    the first characters of the answer and secrets masked, so a report shows what the API said."""

    ok: bool
    detail: str = ""
    request: str = ""
    method: str = ""
    url: str = ""
    http_status: int | None = None
    answer: str = ""
    handshake: HandshakeReply | None = None
    connect: ConnectReply | None = None

    @property
    def exchange(self) -> str:
        if not self.method:
            return ""
        status = "no answer" if self.http_status is None else f"HTTP {self.http_status}"
        return f"{self.method} {self.url} → {status} {self.answer}".rstrip()

    def describe(self) -> str:
        """One line: ``driver request 'boot_answer' (PUT http://… → HTTP 404 {…}) failed: expected HTTP 2xx``."""
        name = f"driver request '{self.request}'" if self.request else "driver request"
        via = f" ({self.exchange})" if self.exchange else ""
        why = f": {self.detail}" if self.detail else ""
        return f"{name}{via} {'ok' if self.ok else 'failed'}{why}"


@dataclass
class _StationExchange:
    seq: int
    call: OutgoingCall
    frame: Call
    sent_at: float
    response: dict[str, Any] | None = None
    error: CallError | None = None
    consumed: bool = False

    @property
    def done(self) -> bool:
        return self.response is not None or self.error is not None


@dataclass
class _CsmsCall:
    call: Call
    consumed: bool = False
    answered: Mapping[str, Any] | None = None  # the station's CALLRESULT payload


@dataclass
class _StepState:
    started_at: float
    deadline: float | None = None
    awaited_call: OutgoingCall | None = None
    awaited_request: int | None = None
    raw_sent_at: float | None = None  # a raw step's frame went out: the CSMS's reaction is awaited
    raw_awaited: list[str | None] | None = None  # ids of the raw frames still to be answered (None: any id)
    exchange_window: int = 0
    csms_window: int = 0


@dataclass(frozen=True)
class RawFrame:
    """Exact bytes for the runtime to write as one text frame (``text``) or binary frame (a ``raw`` step)."""

    data: bytes
    text: bool = True

    def describe(self) -> str:
        """The frame as a trace shows it: the text itself when it is UTF-8 text, else its kind and bytes."""
        if self.text:
            try:
                return self.data.decode("utf-8")
            except UnicodeDecodeError:
                pass
        kind = "text" if self.text else "binary"
        return f"<{kind} frame, {len(self.data)} bytes: {self.data.hex(' ')}>"


OutFrame = str | RawFrame


@dataclass(frozen=True, kw_only=True)
class EngineSettings:
    station_id: str
    connector_id: int
    response_timeout_s: float = 30.0  # a CSMS answer to a station CALL (certificate: "OCPP response time")
    step_timeout_s: float = 30.0  # default wait for a CSMS CALL or a station exchange
    drain_timeout_s: float = 5.0  # after the last step: let in-flight station CALLs be answered
    cleanup_timeout_s: float = 30.0  # the whole cleanup after the verdict


@dataclass
class EngineOutcome:
    verdict: Verdict
    message: str | None = None
    step: str | None = None
    reference: str | None = None
    expected: str | None = None
    actual: str | None = None


@dataclass
class _Cleanup:
    """Progress of the cleanup: ``stage`` 0 wind the station down, 1 wait for its stops, 2 stop what only the
    CSMS knows of, 3 wait, 4 the scenario's cleanup steps, 5 wait, then done."""

    deadline: float
    stage: int = 0
    index: int = 0  # next scenario cleanup step
    awaited_request: int | None = None


Phase = Literal["steps", "drain", "cleanup", "done"]


class Engine:
    def __init__(
        self,
        scenario: Scenario,
        *,
        station_spec: StationSpec,
        variables: Mapping[str, Any],
        settings: EngineSettings,
        now: float,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        transaction_ids: dict[int, str] | None = None,
        inherited_transactions: Mapping[int, Mapping[str, Any]] | None = None,
    ) -> None:
        """``transaction_ids`` maps every transactionId the CSMS gave so far in the run to the transaction it
        was given to; the engine adds this case's and fails a CSMS that gives one id to two transactions.
        ``inherited_transactions`` (transactionId -> its StartTransaction request) are open on the CSMS from an
        earlier case whose cleanup could not stop them: this case's cleanup stops them too."""
        self.scenario = scenario
        self.settings = settings
        self.variables: dict[str, Any] = dict(variables)
        self._new_id = new_id
        self._transaction_ids = transaction_ids if transaction_ids is not None else {}
        # The station's clock runs behind by what `simulated_offline_s` adds to its offline periods, so that
        # what it queues offline is that old when it is delivered (TC_037, TC_039) without waiting for it.
        self._clock_offset_s = -sum(
            step.simulated_offline_s for step in scenario.steps if isinstance(step, Act) and step.simulated_offline_s
        )
        spec = replace(station_spec, config={**station_spec.config, **scenario.configuration})
        if scenario.optional_fields is not None:
            spec = replace(spec, optional_fields=scenario.optional_fields)
        self.station = ChargePoint(spec, now=self._station_time(now))
        self.records: list[WireRecord] = []
        self.latencies: list[LatencySample] = []
        self.warnings: list[Finding] = []
        self.step_records: list[StepRecord] = []
        self.cleanup_problems: list[str] = []
        self.outcome: EngineOutcome | None = None
        self._phase: Phase = "steps"
        self._outbox: list[OutFrame] = []
        self._requests: list[DriverRequest] = []
        self._request_steps: dict[int, tuple[int, str]] = {}  # request id -> (step index, operation or action)
        self._driver_outcomes: dict[int, DriverOutcome] = {}
        self._outstanding: set[int] = set()  # driver requests issued and not yet reported done
        self._next_request_id = 0
        self._connected = False
        self._ever_connected = False
        self._powered = False  # leading `configure` steps run before the station is switched on
        self._exchanges: list[_StationExchange] = []
        self._in_flight: _StationExchange | None = None
        self._csms_calls: list[_CsmsCall] = []
        self._csms_ids: set[str] = set()  # message ids of the CSMS's CALLs on the current connection
        # transactionId -> its StartTransaction request, for every transaction the CSMS may still hold open
        self._open_transactions: dict[int, Mapping[str, Any]] = dict(inherited_transactions or {})
        self._index = 0
        self._state = _StepState(started_at=now)
        self._drain_deadline: float | None = None
        self._cleanup: _Cleanup | None = None
        self._pump(now)

    # ----------------------------------------------------------------------------------------------- outputs

    @property
    def finished(self) -> bool:
        """True once the verdict is known and the cleanup is over: the runtime may close the connection."""
        return self._phase == "done"

    @property
    def open_transactions(self) -> Mapping[int, Mapping[str, Any]]:
        """Transactions the CSMS opened in this case and whose StopTransaction it has not acknowledged."""
        return self._open_transactions

    def wants_connection(self) -> bool:
        """Whether the runtime should hold a websocket open. False while the station has dropped a link that
        the runtime still holds (go_offline then go_online at once): that one is closed first."""
        if self.finished or not self._powered:
            return False
        if self._connected and not self.station.link_up:
            return False
        return self.station.wants_connection()

    def data_to_send(self) -> list[OutFrame]:
        """Frames to put on the wire, in order (text, or a :class:`RawFrame`); report each with :meth:`sent` once
        it is written."""
        out, self._outbox = self._outbox, []
        return out

    def driver_requests(self) -> list[DriverRequest]:
        out, self._requests = self._requests, []
        return out

    def transfers(self, now: float) -> list[TransferJob]:
        """File transfers the station starts now (a firmware download, a diagnostics upload, OCPP 1.6 §5.19,
        §5.6): the runtime performs each over HTTP and reports it with :meth:`transfer_done`."""
        if not self._powered or self.finished:
            return []
        jobs = list(self.station.take_transfers(self._station_time(now)))
        for job in jobs:
            self.records.append(WireRecord("*", now, f"transfer {job.job_id}: {job.kind} {job.url}"))
        return jobs

    def next_deadline(self) -> float | None:
        if self.finished:
            return None
        candidates = [self._drain_deadline]
        if self._phase == "steps":
            candidates.append(self._state.deadline)
        if self._cleanup is not None:
            candidates.append(self._cleanup.deadline)
        if self._in_flight is not None:
            candidates.append(self._in_flight.sent_at + self.settings.response_timeout_s)
        if self._powered and self._state.raw_sent_at is None:
            # While a raw step's frames wait for their answers the station sends nothing, so a CALL it has due
            # is no deadline: counted, it would be due at once, again and again, and starve the CSMS's answer.
            station = self.station.next_deadline()
            candidates.append(None if station is None else station - self._clock_offset_s)
        present = [c for c in candidates if c is not None]
        return min(present) if present else None

    def current_step_label(self) -> str | None:
        if self._index >= len(self.scenario.steps):
            return None
        return self._label(self._index)

    # ------------------------------------------------------------------------------------------------ inputs

    def sent(self, frame: OutFrame, now: float) -> None:
        """The runtime wrote ``frame`` to the websocket: only now is it traced, and a CALL's response time (or a
        raw step's wait) is counted from here."""
        self.records.append(WireRecord(">", now, frame if isinstance(frame, str) else frame.describe()))
        flight = self._in_flight
        if flight is not None and flight.frame.raw == frame:
            flight.sent_at = now
        if isinstance(frame, RawFrame) and self._state.raw_sent_at is not None:
            self._state.raw_sent_at = now

    def connection_settings(self, now: float) -> ConnectionSettings:
        """How the station wants to connect now (security profile, password, trust anchors, client certificate):
        read before every connection attempt, since a case may change them (TC_073, TC_074, TC_083)."""
        return self.station.connection_settings(self._station_time(now))

    def connection_opened(self, now: float, *, url: str, subprotocol: str | None) -> None:
        def run() -> None:
            self._connected = True
            self._ever_connected = True
            self._csms_ids.clear()  # OCPP-J 1.6 §4.1.4: ids are unique per connection
            self.records.append(WireRecord("*", now, f"connected to {url} (subprotocol {subprotocol!r})"))
            if subprotocol != "ocpp1.6":
                raise ConformanceFailure(
                    "the CSMS did not select the 'ocpp1.6' websocket subprotocol",
                    reference="OCPP-J 1.6 §3.2; TC_088_CSMS",
                    expected="Sec-WebSocket-Protocol: ocpp1.6",
                    actual=f"Sec-WebSocket-Protocol: {subprotocol}" if subprotocol else "no header",
                )
            self.station.connected(self._station_time(now))

        self._guard(now, run)

    def connection_failed(self, now: float, *, url: str, detail: str) -> None:
        """A connection the station wanted did not open. Refused with HTTP 401/403 after the station had been
        admitted in this case, it is the CSMS's doing: it turned down the credentials it gave the station itself
        (a new password, TC_073, A01.FR.03; a certificate it issued, TC_074) or the profile it raised (TC_083).
        Anything else, and a first connection refused, is the harness's or the target's (ERROR)."""

        def run() -> None:
            self.records.append(WireRecord("*", now, f"connection to {url} failed: {detail}"))
            self.station.connection_failed(self._station_time(now), detail)
            if self._ever_connected and self._phase in ("steps", "drain") and _REFUSED.match(detail):
                raise ConformanceFailure(
                    f"the CSMS refused the station's reconnection to {url} ({detail}), made with the credentials, "
                    "certificate and security profile the case left it with",
                    reference=self._scenario_reference(),
                    expected="the upgrade (HTTP 101)",
                    actual=detail,
                )
            raise HarnessError(f"cannot open the websocket {url}: {detail}")

        self._guard(now, run)

    def connection_closed(self, now: float, *, by_peer: bool, detail: str) -> None:
        def run() -> None:
            was_connected = self._connected
            self._connected = False
            self.records.append(
                WireRecord("*", now, f"connection closed by {'the CSMS' if by_peer else 'the station'}: {detail}")
            )
            self._in_flight = None
            if was_connected:
                self.station.disconnected(self._station_time(now))
            if by_peer and self._raw_step() is not None:
                self._raw_closed(now)
                return
            if by_peer and self._phase in ("steps", "drain"):
                if self.station.registration == "Rejected":
                    self.warnings.append(
                        Finding(
                            "should",
                            f"the CSMS closed the connection after rejecting the boot ({detail})",
                            "OCPP 1.6 §4.2",
                        )
                    )
                    return
                raise ConformanceFailure(
                    f"the CSMS closed the websocket during the scenario ({detail})",
                    reference="OCPP-J 1.6 §3",
                )

        self._guard(now, run)

    def receive(self, text: str, now: float) -> None:
        def run() -> None:
            self.records.append(WireRecord("<", now, text))
            try:
                frame = parse_frame(text)
            except FrameError as exc:
                if exc.unique_id is not None:
                    self._send_frame(encode_error(exc.unique_id, exc.error_code.value, str(exc)).raw)
                raise ConformanceFailure(
                    f"the CSMS sent a malformed OCPP-J frame: {exc}",
                    reference="OCPP-J 1.6 §4",
                    actual=text,
                ) from None
            if isinstance(frame, Call):
                self._on_csms_call(frame, now)
            elif self._answers_raw(frame):
                self._on_raw_answer(frame, now)
            else:
                self._on_station_answer(frame, now)

        self._guard(now, run)

    def driver_done(self, request_id: int, outcome: DriverOutcome, now: float) -> None:
        if not outcome.request:
            outcome = replace(outcome, request=self._request_steps.get(request_id, (-1, ""))[1])

        def run() -> None:
            self._outstanding.discard(request_id)
            self._driver_outcomes[request_id] = outcome
            self.records.append(WireRecord("*", now, f"{outcome.describe()} (request {request_id})"))
            cleanup = self._cleanup
            if cleanup is not None:
                if not outcome.ok:
                    self.cleanup_problems.append(outcome.describe())
                if cleanup.awaited_request == request_id:
                    cleanup.awaited_request = None
                    cleanup.index += 1
                return
            if not outcome.ok:
                raise HarnessError(outcome.describe())
            if self._state.awaited_request == request_id:
                step = self._current_step()
                if isinstance(step, Handshake):
                    self._judge_handshake(step, outcome.handshake)
                elif isinstance(step, Connect):
                    self._judge_connect(step, outcome.connect)
                self._complete_step(now)

        self._guard(now, run)

    def transfer_done(self, job_id: int, *, ok: bool, detail: str, now: float, sha256: bytes | None = None) -> None:
        """A transfer the station asked for ended; ``sha256``: the digest of a downloaded body, over which a signed
        firmware image is verified (whitepaper L01.FR.03)."""

        def run() -> None:
            self.records.append(WireRecord("*", now, f"transfer {job_id}: {'done' if ok else 'failed'} {detail}"))
            self.station.transfer_finished(job_id, ok=ok, detail=detail, now=self._station_time(now), sha256=sha256)

        self._guard(now, run)

    def tick(self, now: float) -> None:
        def run() -> None:
            flight = self._in_flight
            if flight is not None and now >= flight.sent_at + self.settings.response_timeout_s:
                self._in_flight = None
                self.station.call_timeout(flight.call, self._station_time(now))
                raise ConformanceFailure(
                    f"the CSMS did not answer {flight.frame.action} within {self.settings.response_timeout_s:g} s",
                    reference="OCPP-J 1.6 §4.1.1; certificate 'OCPP response time'",
                    actual="no CALLRESULT",
                )
            if self._powered:
                self.station.tick(self._station_time(now))
            if self._phase == "steps":
                self._check_step_deadline(now)
            if self._phase == "drain" and self._drain_deadline is not None and now >= self._drain_deadline:
                self._finish(now)
            cleanup = self._cleanup
            if cleanup is not None and now >= cleanup.deadline:
                self._give_up_cleanup(now)

        self._guard(now, run)

    # ------------------------------------------------------------------------------------------ main machinery

    def _station_time(self, now: float) -> float:
        return now + self._clock_offset_s

    def _guard(self, now: float, action: Callable[[], None]) -> None:
        """Run one input, then everything it makes possible. A rule broken while the case runs decides the
        verdict; one broken during the cleanup is a cleanup problem (the verdict is already known)."""
        if self.finished:
            return
        try:
            action()
        except _BROKEN_RULES as error:
            self._on_error(error, now)
        for _ in range(_MAX_ERRORS_PER_INPUT):
            try:
                self._pump(now)
                return
            except _BROKEN_RULES as error:
                self._on_error(error, now)
        self.cleanup_problems.append("the cleanup stopped: every attempt to go on broke a rule")
        self._end_cleanup(now)

    def _on_error(self, error: Exception, now: float) -> None:
        if self._phase == "cleanup":
            self.cleanup_problems.append(error.message if isinstance(error, ConformanceFailure) else str(error))
            if isinstance(error, HarnessError) and not self._connected:
                self._end_cleanup(now)  # the station cannot reach the CSMS: nothing more can be cleaned up
        elif self.finished:
            return
        elif isinstance(error, ConformanceFailure):
            self._set_outcome(Verdict.FAIL, error, now)
        elif isinstance(error, HarnessError):
            self._set_outcome(Verdict.ERROR, error, now)
        else:
            message = f"variable ${{{error.args[0]}}} has no value at this step"
            self._set_outcome(Verdict.ERROR, HarnessError(message), now)

    def _record_step(self, index: int, status: Literal["passed", "failed", "not_run"], now: float) -> None:
        step = self.scenario.steps[index]
        started = self._state.started_at if status != "not_run" else now
        record = StepRecord(
            index + 1, step.kind, step_subject(step), self._label(index), status, started, now, step.description
        )
        self.step_records.append(record)

    def _set_outcome(self, verdict: Verdict, error: Exception, now: float) -> None:
        if self._index < len(self.scenario.steps):
            self._record_step(self._index, "failed", now)
            for index in range(self._index + 1, len(self.scenario.steps)):
                self._record_step(index, "not_run", now)
        if isinstance(error, ConformanceFailure):
            self.outcome = EngineOutcome(
                verdict,
                message=error.message + self._driver_context(),
                step=self.current_step_label(),
                reference=error.reference or None,
                expected=None if error.expected is None else _show(error.expected),
                actual=None if error.actual is None else _show(error.actual),
            )
        else:
            self.outcome = EngineOutcome(verdict, message=str(error), step=self.current_step_label())
        self._begin_cleanup(now)

    def _driver_context(self) -> str:
        """A failure right after the driver made the CSMS act names that request and its answer: a request the
        CSMS read differently than the target file meant is then visible as such (not as a CSMS bug alone)."""
        recent = [
            self._driver_outcomes[request_id]
            for request_id, (index, name) in self._request_steps.items()
            if self._index - 2 <= index <= self._index
            and request_id in self._driver_outcomes
            and name not in (HANDSHAKE, CONNECT)
        ]
        return f" (after {recent[-1].describe()})" if recent else ""

    def _set_time_variables(self, now: float) -> None:
        """``${time.*}``: date-times on the CSMS's clock (the real one), as of the step that uses them."""
        offsets = {
            "time.now": 0.0,
            "time.reservation_expiry": self.variables.get("test.reservation_expiry_s"),
            "time.schedule_end": self.variables.get("test.duration_s"),
            "time.yesterday": -86_400.0,
            "time.tomorrow": 86_400.0,
        }
        for name, offset in offsets.items():
            if isinstance(offset, int | float):
                self.variables[name] = format_time(now + offset)

    def _pump(self, now: float) -> None:
        """Run steps (or the cleanup) and send station CALLs until everything waits for an input. After the
        last step, finish once the station has nothing in flight and nothing more to send."""
        self._set_time_variables(now)
        while not self.finished:
            progressed = self._advance_cleanup(now) if self._phase == "cleanup" else self._advance_steps(now)
            if (
                self._connected
                and self._powered
                and self._in_flight is None
                and self._state.raw_sent_at is None
                and not self.finished
            ):
                call = self.station.next_call(self._station_time(now))
                if call is not None:
                    self._send_station_call(call, now)
                    progressed = True
            if not progressed:
                if self._phase == "drain" and self._in_flight is None and not self._outstanding:
                    self._finish(now)
                    continue
                return

    def _finish(self, now: float) -> None:
        """Every step passed and nothing is left in flight: PASS, then the cleanup."""
        if _OCTT_CASE.match(self.scenario.id):
            for pending in self._csms_calls:
                if not pending.consumed:
                    self.warnings.append(
                        Finding(
                            "octt",
                            f"the CSMS sent {pending.call.action} which no step expected; OCTT fails a test on "
                            "unsolicited CSMS calls",
                            "OCTT quirk: no unsolicited CSMS->CP traffic",
                        )
                    )
        self.outcome = EngineOutcome(Verdict.PASS)
        self._begin_cleanup(now)

    # ------------------------------------------------------------------------------------------------ cleanup

    def _begin_cleanup(self, now: float) -> None:
        self._drain_deadline = None
        if not self._ever_connected:
            self._phase = "done"  # nothing reached the CSMS, so nothing is left behind
            return
        self._phase = "cleanup"
        self._powered = True
        self._cleanup = _Cleanup(deadline=now + self.settings.cleanup_timeout_s)
        self.records.append(WireRecord("*", now, f"verdict {self.outcome.verdict if self.outcome else '?'}; cleanup"))

    def _settled(self) -> bool:
        return self._in_flight is None and not self._outstanding and self.station.settled()

    def _advance_cleanup(self, now: float) -> bool:
        cleanup = self._cleanup
        assert cleanup is not None
        stage_before, index_before = cleanup.stage, cleanup.index
        if cleanup.stage == 0:
            self._clock_offset_s = 0.0  # a simulated offline period ends with the case
            self.station.wind_down(self._station_time(now))
            cleanup.stage = 1
        if cleanup.stage in (1, 3, 5) and self._settled():
            cleanup.stage += 1
        if cleanup.stage == 2:
            self._stop_unknown_transactions(now)
            cleanup.stage = 3
        if cleanup.stage == 4:
            self._run_cleanup_steps(now)
        if cleanup.stage == 6:
            self._end_cleanup(now)
        return (cleanup.stage, cleanup.index) != (stage_before, index_before)

    def _stop_unknown_transactions(self, now: float) -> None:
        """Transactions the CSMS opened that the station does not run (a scenario's own StartTransaction the
        CSMS refused, a transaction the station lost): a StopTransaction for each, as an operator would."""
        for transaction_id, start in list(self._open_transactions.items()):
            meter = start.get("meterStart")
            payload = {
                "transactionId": transaction_id,
                "meterStop": meter if isinstance(meter, int) else 0,
                "timestamp": format_time(self._station_time(now)),
                "reason": "Local",
            }
            self.records.append(WireRecord("*", now, f"cleanup: stopping transaction {transaction_id}"))
            self.station.enqueue("StopTransaction", payload)

    def _run_cleanup_steps(self, now: float) -> None:
        cleanup = self._cleanup
        assert cleanup is not None
        while cleanup.awaited_request is None and cleanup.index < len(self.scenario.cleanup):
            step = self.scenario.cleanup[cleanup.index]
            try:
                if isinstance(step, Trigger | Configure):
                    kind: Literal["trigger", "configure"] = "trigger" if isinstance(step, Trigger) else "configure"
                    name = step.action if isinstance(step, Trigger) else step.operation
                    cleanup.awaited_request = self._issue_request(kind, name, step.payload, step_index=-1)
                    return
                if isinstance(step, Act):
                    self._run_act(step, now)
            except matchers.UnresolvedVariable as missing:
                self.cleanup_problems.append(
                    f"cleanup step at {step.location} skipped: ${{{missing.args[0]}}} has no value (the case "
                    "ended before the step that captures it)"
                )
            except HarnessError as error:
                self.cleanup_problems.append(f"cleanup step at {step.location} failed: {error}")
            cleanup.index += 1
        if cleanup.awaited_request is None:
            cleanup.stage = 5

    def _give_up_cleanup(self, now: float) -> None:
        self.cleanup_problems.append(
            f"cleanup did not finish within {self.settings.cleanup_timeout_s:g} s"
            + (f" (the station still had {self._in_flight.frame.action} unanswered)" if self._in_flight else "")
        )
        self._end_cleanup(now)

    def _end_cleanup(self, now: float) -> None:
        for transaction_id in self._open_transactions:
            self.cleanup_problems.append(
                f"transaction {transaction_id} may still be open on the CSMS (its StopTransaction was not acknowledged)"
            )
        self.records.append(
            WireRecord("*", now, "cleanup done" + ("" if not self.cleanup_problems else " with problems"))
        )
        self._phase = "done"

    def _send_frame(self, frame: OutFrame) -> None:
        self._outbox.append(frame)

    def _send_station_call(self, call: OutgoingCall, now: float) -> None:
        frame = encode_call(self._new_id(), call.action, call.payload)
        self._in_flight = _StationExchange(len(self._exchanges), call, frame, now)
        self._exchanges.append(self._in_flight)
        step = self._current_step()
        if (
            self._phase == "steps"
            and isinstance(step, ExpectNoCall)
            and step.source == "station"
            and _action_matches(step.action, call)
        ):
            raise HarnessError(f"the simulated station sent {call.action} inside a {step.for_s:g} s silence window")
        self._send_frame(frame.raw)

    # ---------------------------------------------------------------------------------------- station CALLs

    def _on_station_answer(self, frame: CallResult | CallError, now: float) -> None:
        flight = self._in_flight
        if flight is None or frame.unique_id != flight.frame.unique_id:
            raise ConformanceFailure(
                f"the CSMS answered message id {frame.unique_id!r}, which is not the id of the station's "
                "outstanding CALL",
                reference="OCPP-J 1.6 §4.1.4",
                expected=flight.frame.unique_id if flight else "no answer (nothing outstanding)",
                actual=frame.unique_id,
            )
        self._in_flight = None
        action = flight.frame.action
        self.latencies.append(LatencySample(action, now - flight.sent_at))
        station_now = self._station_time(now)
        if isinstance(frame, CallError):
            flight.error = frame
            self.station.call_error(flight.call, frame.error_code, frame.error_description, station_now)
            if frame.error_code not in {code.value for code in ErrorCode}:
                raise ConformanceFailure(
                    f"the CSMS answered {action} with the unknown CALLERROR code {frame.error_code!r}",
                    reference="OCPP-J 1.6 §4.2.3",
                    actual=frame.raw,
                )
            if self._phase != "steps" or (not self._error_expected(flight) and not self._checked_later(flight)):
                raise _unexpected_error(action, frame)
            return
        violations = schemas.validate(action, frame.payload, response=True)
        flight.response = frame.payload
        if violations:
            raise ConformanceFailure(
                f"the CSMS's {action}.conf breaks the OCPP 1.6 schema: " + "; ".join(str(v) for v in violations),
                reference=f"OCPP 1.6 JSON schema {action}Response; OCTT D24 §1.2",
                actual=frame.payload,
            )
        self.station.call_result(flight.call, frame.payload, station_now)
        if action == "StartTransaction":
            self._transaction_started(flight.frame.payload, frame.payload["transactionId"])
        elif action == "StopTransaction":
            self._open_transactions.pop(flight.frame.payload.get("transactionId"), None)  # type: ignore[arg-type]

    def _transaction_started(self, request: Mapping[str, Any], transaction_id: int) -> None:
        """Keep the transaction for the cleanup, and fail a transactionId the CSMS already gave to another
        transaction in this run (a resent StartTransaction, the same one, may get the same id)."""
        self._open_transactions[transaction_id] = request
        described = (
            f"connector {request.get('connectorId')} of {self.settings.station_id}, idTag {request.get('idTag')}, "
            f"started {request.get('timestamp')}"
        )
        earlier = self._transaction_ids.setdefault(transaction_id, described)
        if earlier != described:
            raise ConformanceFailure(
                f"the CSMS gave transactionId {transaction_id} to a new transaction ({described}), but it had "
                f"given it to another one already ({earlier}); transactionIds must differ",
                reference="OCPP 1.6 §4.10 StartTransaction.conf transactionId; reference §5.5",
                expected="a transactionId not given before in this run",
                actual=transaction_id,
            )

    def _checked_later(self, flight: _StationExchange) -> bool:
        """Whether an ``exchange`` step before the next causal step will take this exchange: its CALLERROR then
        fails that step, the one a reader looks for (StopTransaction may arrive before the Finishing
        StatusNotification a scenario lists first, D24 §1.2)."""
        for index in range(self._index, len(self.scenario.steps)):
            step = self.scenario.steps[index]
            if index > self._index and isinstance(step, _CAUSAL):
                return False
            if isinstance(step, Exchange) and step.action == flight.frame.action:
                pattern = matchers.resolve(step.request, self.variables) if step.request is not None else None
                if pattern is None or not matchers.match(pattern, flight.frame.payload):
                    return True
        return False

    def _error_expected(self, flight: _StationExchange) -> bool:
        for step in self.scenario.steps[self._index :]:
            if (
                isinstance(step, Send)
                and step.action == flight.frame.action
                and self._state.awaited_call is flight.call
            ):
                return step.expect_error is not None
            if isinstance(step, Exchange) and step.action == flight.frame.action:
                return step.expect_error is not None
        return False

    # ------------------------------------------------------------------------------------------- CSMS CALLs

    def _on_csms_call(self, call: Call, now: float) -> None:
        if call.unique_id in self._csms_ids:
            self._answer_csms_call(call, None, None, now)
            raise ConformanceFailure(
                f"the CSMS reused message id {call.unique_id!r} for {call.action}: a CALL's id must differ from "
                "every id the CSMS used for another CALL on this connection",
                reference="OCPP-J 1.6 §4.1.4",
                expected="a message id not used before on the connection",
                actual=call.raw,
            )
        self._csms_ids.add(call.unique_id)
        violations = schemas.validate(call.action, call.payload, response=False)
        if violations:
            code = schemas.error_code_for(violations)
            self._send_frame(encode_error(call.unique_id, code.value, "; ".join(str(v) for v in violations)[:255]).raw)
            raise ConformanceFailure(
                f"the CSMS sent an invalid {call.action}: " + "; ".join(str(v) for v in violations),
                reference=f"OCPP 1.6 JSON schema {call.action}; OCTT D24 §1.2",
                actual=call.payload,
            )
        step = self._current_step() if self._phase == "steps" else None
        if isinstance(step, ExpectNoCall) and step.source == "csms" and _action_matches(step.action, call):
            self._answer_csms_call(call, None, None, now)
            raise ConformanceFailure(
                f"the CSMS sent {call.action} while nothing was expected for {step.for_s:g} s",
                reference=step.ref or "OCPP 1.6 §4.2",
                actual=call.raw,
            )
        if isinstance(step, ExpectCall) and step.action == call.action:
            self._run_expect_call(step, call, now)
            return
        answered = self._answer_csms_call(call, None, None, now)
        if self._phase == "steps":
            self._csms_calls.append(_CsmsCall(call, answered=answered))

    def _answer_csms_call(
        self, call: Call, reply: Mapping[str, Any] | None, reply_error: str | None, now: float
    ) -> Mapping[str, Any] | None:
        """Answer the CSMS's CALL as the station (or the step) does; the CALLRESULT payload, None for a CALLERROR."""
        payload: Mapping[str, Any] | None = None
        if reply_error is not None:
            frame_text = encode_error(call.unique_id, reply_error, "answer set by the scenario").raw
        else:
            try:
                payload = self.station.handle_call(call.action, call.payload, self._station_time(now), answer=reply)
            except CallRefused as refused:
                frame_text = encode_error(call.unique_id, refused.error_code, refused.description).raw
            else:
                problems = schemas.validate(call.action, payload, response=True)
                if problems:
                    raise HarnessError(
                        f"the station's answer to {call.action} breaks the 1.6 schema: "
                        + "; ".join(str(p) for p in problems)
                    )
                frame_text = encode_result(call.unique_id, payload).raw
        self._send_frame(frame_text)
        return payload

    def _run_expect_call(self, step: ExpectCall, call: Call, now: float) -> None:
        reply = matchers.resolve(step.reply, self.variables) if step.reply is not None else None
        answered = self._answer_csms_call(call, reply, step.reply_error, now)
        self._csms_calls.append(_CsmsCall(call, consumed=True))
        self._accept_expected_call(step, call, now, answered=answered)

    def _accept_expected_call(
        self, step: ExpectCall, call: Call, now: float, *, answered: Mapping[str, Any] | None = None
    ) -> None:
        """Check the CSMS's CALL against ``match`` (OCTT's field-by-field check), capture (``response.``: the
        station's answer, e.g. the hash data of GetInstalledCertificateIds that DeleteCertificate must repeat,
        TC_076), complete the step."""
        if step.match is not None:
            self._require(step, step.match, call.payload, what=call.action)
        if step.station_answer is not None:
            expected = matchers.resolve(step.station_answer, self.variables)
            mismatches = matchers.match(expected, answered if answered is not None else {})
            if mismatches:
                raise ConformanceFailure(
                    f"the station did not take the CSMS's {call.action}: its answer "
                    + (matchers.render(answered) if answered is not None else "was a CALLERROR")
                    + " does not match: "
                    + "; ".join(str(m) for m in mismatches),
                    reference=step.ref or self._scenario_reference(),
                    expected=expected,
                    actual=answered,
                )
        self._capture(step.capture, request=call.payload, response=answered)
        self._complete_step(now)

    def _require(self, step: Step, pattern: Any, actual: Any, *, what: str) -> None:
        """FAIL unless ``actual`` matches ``pattern``, naming every difference."""
        expected = matchers.resolve(pattern, self.variables)
        mismatches = matchers.match(expected, actual)
        if mismatches:
            raise ConformanceFailure(
                f"{what} from the CSMS does not match: " + "; ".join(str(m) for m in mismatches),
                reference=step.ref or self._scenario_reference(),
                expected=expected,
                actual=actual,
            )

    # ----------------------------------------------------------------------------------------------- steps

    def _current_step(self) -> Step | None:
        return self.scenario.steps[self._index] if self._index < len(self.scenario.steps) else None

    def _advance_steps(self, now: float) -> bool:
        """Start or finish steps that need no input; True when the step pointer moved."""
        moved = False
        while self._phase == "steps" and self._index < len(self.scenario.steps):
            step = self.scenario.steps[self._index]
            if not self._powered and not isinstance(step, Configure | Handshake | Connect):
                self._powered = True
            if not self._try_step(step, now):
                break
            moved = True
        if self._phase == "steps" and self._index >= len(self.scenario.steps):
            self._powered = True
            self._phase = "drain"
            self._drain_deadline = now + self.settings.drain_timeout_s
            moved = True
        return moved

    def _try_step(self, step: Step, now: float) -> bool:
        """Start ``step`` if it has not started, or complete it if it can; True when it completed."""
        state = self._state
        index_before = self._index
        if isinstance(step, Act):
            self._run_act(step, now)
            self._complete_step(now)
        elif isinstance(step, Wait):
            if state.deadline is None:
                state.deadline = now + self._wait_seconds(step)
            if now >= state.deadline:
                self._complete_step(now)
        elif isinstance(step, ExpectNoCall):
            if state.deadline is None:
                state.deadline = now + step.for_s
            if now >= state.deadline:
                self._complete_step(now)
        elif isinstance(step, Trigger):
            self._issue_request("trigger", step.action, step.payload, step_index=self._index)
            self._complete_step(now)
        elif isinstance(step, Configure):
            if state.awaited_request is None:
                state.awaited_request = self._issue_request(
                    "configure", step.operation, step.payload, step_index=self._index
                )
                state.deadline = now + self._timeout(step)
        elif isinstance(step, Send):
            self._try_send(step, now)
        elif isinstance(step, Exchange):
            self._try_exchange(step, now)
        elif isinstance(step, ExpectCall):
            self._try_expect_call(step, now)
        elif isinstance(step, Raw):
            self._try_raw(step, now)
        elif isinstance(step, Handshake) and state.awaited_request is None:
            wait_s = self._timeout(step)
            payload = {
                "station_id": step.station_id,
                "subprotocols": list(step.subprotocols),
                "timeout_s": wait_s,
                "await_close": step.expect_close or step.expect_refusal,
            }
            state.awaited_request = self._issue_request("configure", HANDSHAKE, payload, step_index=self._index)
            state.deadline = now + 2 * wait_s + self.settings.response_timeout_s
        elif isinstance(step, Connect) and state.awaited_request is None:
            wait_s = self._timeout(step)
            payload = {
                "station_id": step.station_id,
                "profile": step.profile,
                "auth": step.auth,
                "username": step.username,
                "password": step.password,
                "certificate": step.certificate,
                "tls_version": step.tls_version,
                "check_tls": step.check_tls,
                "timeout_s": wait_s,
            }
            state.awaited_request = self._issue_request("configure", CONNECT, payload, step_index=self._index)
            # a TLS check makes some twenty handshakes, each within the step's time
            state.deadline = now + (25 if step.check_tls else 2) * wait_s + self.settings.response_timeout_s
        return self._index != index_before

    def _issue_request(
        self, kind: Literal["trigger", "configure"], name: str, payload: Mapping[str, Any], *, step_index: int
    ) -> int:
        resolved = matchers.resolve(dict(payload), self.variables)
        self._next_request_id += 1
        self._request_steps[self._next_request_id] = (step_index, f"trigger {name}" if kind == "trigger" else name)
        self._outstanding.add(self._next_request_id)
        self._requests.append(DriverRequest(self._next_request_id, kind, name, resolved, self.settings.station_id))
        return self._next_request_id

    def _run_act(self, step: Act, now: float) -> None:
        connector = self._connector(step.connector)
        station = self.station
        try:
            if step.act == "go_online" and step.simulated_offline_s:
                self._clock_offset_s += step.simulated_offline_s  # the station's clock catches up
            at = self._station_time(now)
            if step.act == "plug":
                station.plug(connector, at)
            elif step.act == "unplug":
                station.unplug(connector, at)
            elif step.act == "present_token":
                token = matchers.resolve(step.token, self.variables) if step.token else self.variables["token"]
                station.present_token(connector, str(token), at)
            elif step.act == "fault":
                station.fault(connector, step.error_code or "OtherError", at)
            elif step.act == "clear_fault":
                station.clear_fault(connector, at)
            elif step.act == "power_cycle":
                station.power_cycle(at)
            elif step.act == "go_offline":
                station.go_offline(at)
            elif step.act == "go_online":
                station.go_online(at)
            else:
                raise HarnessError(f"unknown act {step.act!r}")
        except ValueError as exc:
            raise HarnessError(f"act {step.act} cannot be done: {exc}") from None

    def _connector(self, value: int | str | None) -> int:
        if value is None:
            return self.settings.connector_id
        resolved = matchers.resolve(value, self.variables)
        try:
            return int(resolved)
        except (TypeError, ValueError):
            raise HarnessError(f"connector {resolved!r} is not an integer") from None

    def _try_send(self, step: Send, now: float) -> None:
        state = self._state
        if state.awaited_call is None:
            token = self.variables.get("token")
            try:
                payload = self.station.default_payload(
                    step.action, connector_id=self.settings.connector_id, id_tag=token, now=self._station_time(now)
                )
                if step.payload is not None:
                    payload.update(matchers.resolve(dict(step.payload), self.variables))
                state.awaited_call = self.station.enqueue(step.action, payload)
            except ValueError as exc:
                raise HarnessError(f"the station cannot send {step.action}: {exc}") from None
            state.deadline = now + self._timeout(step) + self.settings.response_timeout_s
            return
        for exchange in self._exchanges:
            if exchange.call is state.awaited_call and exchange.done:
                exchange.consumed = True
                self._check_exchange(step, exchange)
                self._complete_step(now)
                return

    def _try_exchange(self, step: Exchange, now: float) -> None:
        state = self._state
        if state.deadline is None:
            state.deadline = now + self._timeout(step)
        request_pattern = matchers.resolve(step.request, self.variables) if step.request is not None else None
        for exchange in self._exchanges[state.exchange_window :]:
            if exchange.consumed or not exchange.done or exchange.frame.action != step.action:
                continue
            if request_pattern is not None and matchers.match(request_pattern, exchange.frame.payload):
                continue
            exchange.consumed = True
            self._check_exchange(step, exchange)
            self._complete_step(now)
            return

    def _try_expect_call(self, step: ExpectCall, now: float) -> None:
        state = self._state
        if state.deadline is None:
            state.deadline = now + self._timeout(step)
        for early in self._csms_calls[state.csms_window :]:
            if early.consumed or early.call.action != step.action:
                continue
            early.consumed = True
            if step.reply is not None or step.reply_error is not None:
                raise HarnessError(
                    f"the CSMS sent {step.action} before this step started, so its reply could not be set; "
                    "put the expect_call right after the step that causes the call"
                )
            self._accept_expected_call(step, early.call, now, answered=early.answered)
            return

    # ------------------------------------------------------------------------------------------ raw frames

    def _raw_step(self) -> Raw | None:
        """The current step when it is a raw step whose frame is out."""
        step = self._current_step() if self._phase == "steps" else None
        return step if isinstance(step, Raw) and self._state.raw_sent_at is not None else None

    def _try_raw(self, step: Raw, now: float) -> None:
        """Send the frame once nothing else is in flight (one CALL at a time, OCPP-J 1.6 §4.1.1), then wait for
        the CSMS's reaction until the step's deadline."""
        state = self._state
        if state.raw_sent_at is not None or not self._connected or self._in_flight is not None:
            return
        self._send_frame(RawFrame(step.data, text=not step.binary))
        for data, _ in step.more:  # back to back: the next goes out before the first is answered
            self._send_frame(RawFrame(data, text=not step.binary))
        state.raw_sent_at = now
        state.raw_awaited = [step.message_id, *(unique_id for _, unique_id in step.more)]
        wait_s = step.expect_silence_s if step.expect_silence_s is not None else self._timeout(step)
        state.deadline = now + wait_s

    def _answers_raw(self, frame: CallResult | CallError) -> bool:
        step = self._raw_step()
        awaited = self._state.raw_awaited or []
        return step is not None and (frame.unique_id in awaited or None in awaited)

    def _on_raw_answer(self, frame: CallResult | CallError, now: float) -> None:
        """One answer to the raw frames: judged, then the step waits for the others (each readable CALL gets its
        own answer, OCPP-J 1.6 §4.1.1) or completes. A miss completes it at once."""
        step = self._raw_step()
        awaited = self._state.raw_awaited
        assert step is not None and awaited is not None
        awaited.remove(frame.unique_id if frame.unique_id in awaited else None)
        if step.expect_silence_s is not None:
            self._raw_miss(step, "the CSMS answered a frame OCPP-J says to ignore", actual=frame.raw)
        elif step.expect_close:
            self._raw_miss(step, "the CSMS answered where it must close the connection", actual=frame.raw)
        elif isinstance(frame, CallError):
            codes = step.expect_error or ()
            if "any" not in codes and frame.error_code not in codes:
                self._raw_miss(step, f"the CSMS answered with CALLERROR {frame.error_code}", actual=frame.raw)
        elif step.expect is None:
            self._raw_miss(step, "the CSMS answered with a CALLRESULT", actual=frame.raw)
        else:
            expected = matchers.resolve(step.expect, self.variables)
            mismatches = matchers.match(expected, frame.payload)
            if mismatches:
                self._raw_miss(step, "; ".join(str(m) for m in mismatches), actual=frame.payload)
        if not awaited:
            self._complete_step(now)

    def _raw_closed(self, now: float) -> None:
        step = self._raw_step()
        assert step is not None
        if not step.expect_close:
            self._raw_miss(step, "the CSMS closed the connection", actual="connection closed")
        self._complete_step(now)

    def _raw_miss(self, step: Raw, message: str, *, actual: Any) -> None:
        """A CSMS that reacted otherwise than the spec says: FAIL, or a warning where the spec says SHOULD."""
        answers = []
        if step.expect_error is not None:
            answers.append("CALLERROR " + " or ".join(step.expect_error))
        if step.expect is not None:
            answers.append(f"CALLRESULT matching {matchers.render(step.expect)}")
        if answers:
            expected = ", or ".join(answers)
        elif step.expect_close:
            expected = "the connection closed"
        else:
            expected = f"no answer for {step.expect_silence_s:g} s"
        self._miss(step, f"{message} to the raw frame {_short(step.label)}", expected=expected, actual=actual)

    def _miss(self, step: Raw | Handshake, text: str, *, expected: str, actual: Any) -> None:
        """A rule of a robustness step missed: FAIL, or a warning where the spec says SHOULD (``level: should``)."""
        reference = step.ref or self._scenario_reference()
        if step.should:
            self.warnings.append(Finding("should", f"{text}; expected {expected}", reference))
            return
        raise ConformanceFailure(text, reference=reference, expected=expected, actual=actual)

    def _judge_handshake(self, step: Handshake, reply: HandshakeReply | None) -> None:
        """OCPP-J 1.6 §3.2: the CSMS answers the status it must, selects exactly one offered subprotocol, or
        completes the handshake without one and closes; a miss FAILs, or warns where the spec says SHOULD."""
        if reply is None:
            raise HarnessError("the handshake step got no handshake result from the runtime")
        shown = (
            f"HTTP {reply.status}"
            + (f", Sec-WebSocket-Protocol: {', '.join(reply.protocols)}" if reply.protocols else "")
            + ("" if reply.close_code is None else f", then close {reply.close_code}")
        )
        if step.expect_refusal:
            self._judge_refusal(step, reply, shown)
            return
        if step.expect_status is not None:
            expected, met = f"HTTP {step.expect_status}", reply.status == step.expect_status
        elif step.expect_subprotocol is not None:
            expected = f"HTTP 101 with Sec-WebSocket-Protocol: {step.expect_subprotocol}"
            met = reply.status == 101 and reply.protocols == (step.expect_subprotocol,)
        else:
            expected = "HTTP 101 without Sec-WebSocket-Protocol, then a close"
            met = reply.status == 101 and not reply.protocols and reply.close_code is not None
        if met:
            return
        offered = " / ".join(step.subprotocols) or "no subprotocol"
        self._miss(
            step, f"the CSMS answered {shown} to a handshake offering {offered}", expected=expected, actual=shown
        )

    def _judge_refusal(self, step: Handshake, reply: HandshakeReply, shown: str) -> None:
        """OCPP-J 1.6 §3.2 says to upgrade without a Sec-WebSocket-Protocol header and close; OCTT's TC_088_CSMS
        (as SteVe and EVtivity run it) takes a refused upgrade as well. Either passes; which one the CSMS chose is
        reported on the OCTT-compatibility axis."""
        offered = " / ".join(step.subprotocols) or "no subprotocol"
        if reply.status >= 400:
            self.warnings.append(
                Finding(
                    "octt",
                    f"the CSMS refused the upgrade offering {offered} with HTTP {reply.status}: TC_088_CSMS accepts "
                    "it; OCPP-J 1.6 §3.2 asks for HTTP 101 without Sec-WebSocket-Protocol, then a close",
                    "TC_088_CSMS; OCPP-J 1.6 §3.2",
                )
            )
            return
        if reply.status == 101 and not reply.protocols and reply.close_code is not None:
            self.warnings.append(
                Finding(
                    "octt",
                    f"the CSMS upgraded a handshake offering {offered} without Sec-WebSocket-Protocol and closed it "
                    f"({reply.close_code}), as OCPP-J 1.6 §3.2 says; TC_088_CSMS accepts it",
                    "TC_088_CSMS; OCPP-J 1.6 §3.2",
                )
            )
            return
        self._miss(
            step,
            f"the CSMS answered {shown} to a handshake offering {offered}",
            expected="an HTTP status >= 400, or HTTP 101 without Sec-WebSocket-Protocol and then a close",
            actual=shown,
        )

    def _judge_connect(self, step: Connect, reply: ConnectReply | None) -> None:
        """The endpoint's TLS properties, each (TC_086, TC_087), then whether the CSMS upgraded the connection or
        refused it before any OCPP message."""
        if reply is None:
            raise HarnessError("the connect step got no connection result from the runtime")
        reference = step.ref or self._scenario_reference()
        failed = [p for p in reply.properties if p.ok is False]
        for unchecked in (p for p in reply.properties if p.ok is None):
            self.warnings.append(
                Finding(
                    "should",
                    f"TLS property '{unchecked.name}' not checked on this machine: {unchecked.actual}",
                    unchecked.reference,
                )
            )
        if failed:
            raise ConformanceFailure(
                "the TLS endpoint fails "
                + "; ".join(f"{p.name}: expected {p.expected}, got {p.actual} ({p.reference})" for p in failed),
                reference=reference,
                expected="; ".join(f"{p.name}: {p.expected}" for p in failed),
                actual="; ".join(f"{p.name}: {p.actual}" for p in failed),
            )
        shown = (
            "upgraded (HTTP 101)"
            if reply.opened
            else (f"refused with HTTP {reply.status}" if reply.status is not None else "refused")
            + (f": {reply.detail}" if reply.detail else "")
        )
        if reply.opened != (step.expect == "accepted"):
            made = _describe_connect(step)
            expected = (
                "the upgrade (HTTP 101, ocpp1.6)" if step.expect == "accepted" else "a refusal before the upgrade"
            )
            raise ConformanceFailure(
                f"the CSMS {'upgraded' if reply.opened else 'refused'} a connection {made}"
                + ("" if reply.opened else f" ({shown})"),
                reference=reference,
                expected=expected,
                actual=shown,
            )
        self.records.append(WireRecord("*", self._state.started_at, f"connect {_describe_connect(step)}: {shown}"))

    def _check_exchange(self, step: StationCallStep, exchange: _StationExchange) -> None:
        action = exchange.frame.action
        if exchange.error is not None:
            code = exchange.error.error_code
            if step.expect_error is None:
                raise _unexpected_error(action, exchange.error)
            if step.expect_error not in ("any", code):
                raise ConformanceFailure(
                    f"the CSMS answered {action} with CALLERROR {code}",
                    reference=step.ref or "OCPP-J 1.6 §4.2.3",
                    expected=f"CALLERROR {step.expect_error}",
                    actual=exchange.error.raw,
                )
            return
        if step.expect_error is not None:
            raise ConformanceFailure(
                f"the CSMS answered {action} with a CALLRESULT where a CALLERROR {step.expect_error} was expected",
                reference=step.ref or "OCPP-J 1.6 §4.2.3",
                expected=f"CALLERROR {step.expect_error}",
                actual=exchange.response,
            )
        if step.expect is not None:
            self._require(step, step.expect, exchange.response, what=f"{action}.conf")
        if step.should is not None:
            wanted = matchers.resolve(step.should, self.variables)
            misses = matchers.match(wanted, exchange.response)
            if misses:
                self.warnings.append(
                    Finding(
                        "should",
                        f"{action}.conf from the CSMS passes but should match {matchers.render(wanted)}: "
                        + "; ".join(str(m) for m in misses),
                        step.ref or self._scenario_reference(),
                    )
                )
        self._capture(step.capture, request=exchange.frame.payload, response=exchange.response)

    def _capture(self, capture: Mapping[str, str], *, request: Any, response: Any) -> None:
        for name, path in capture.items():
            try:
                self.variables[name] = matchers.extract(path, request=request, response=response)
            except KeyError:
                raise ConformanceFailure(
                    f"cannot capture {name}: {path} is not in the message",
                    expected=path,
                    actual={"request": request, "response": response},
                ) from None

    def _complete_step(self, now: float) -> None:
        step = self.scenario.steps[self._index]
        self._record_step(self._index, "passed", now)
        self._index += 1
        state = _StepState(started_at=now)
        previous = self._state
        if isinstance(step, _CAUSAL):
            state.exchange_window = self._first_open_exchange(previous)
            state.csms_window = len(self._csms_calls)
        else:
            state.exchange_window = previous.exchange_window
            state.csms_window = previous.csms_window
        self._state = state

    def _first_open_exchange(self, previous: _StepState) -> int:
        """Exchanges from here on are visible to the next exchange steps: those sent since the causal step
        started, plus any still unconsumed that were sent while it ran (e.g. StopTransaction right after
        RemoteStop.conf)."""
        start = len(self._exchanges)
        for exchange in self._exchanges[previous.exchange_window :]:
            if exchange.sent_at >= previous.started_at and not exchange.consumed:
                start = min(start, exchange.seq)
        return start

    def _check_step_deadline(self, now: float) -> None:
        state = self._state
        if state.deadline is None or now < state.deadline or self._index >= len(self.scenario.steps):
            return
        step = self.scenario.steps[self._index]
        if isinstance(step, Wait | ExpectNoCall):
            self._complete_step(now)
            return
        if isinstance(step, Raw):
            if step.expect_silence_s is None:
                waited_s = now - (state.raw_sent_at or state.started_at)
                what = "close the connection" if step.expect_close else "answer"
                self._raw_miss(step, f"the CSMS did not {what} within {waited_s:.1f} s", actual="nothing")
            self._complete_step(now)
            return
        waited = now - state.started_at
        if isinstance(step, ExpectCall):
            raise ConformanceFailure(
                f"the CSMS did not send {step.action} within {waited:.1f} s",
                reference=step.ref or self._scenario_reference(),
                expected=f"CALL {step.action}",
                actual="nothing",
            )
        if isinstance(step, Configure):
            raise HarnessError(f"the driver did not complete '{step.operation}' within {waited:.1f} s")
        if isinstance(step, Send | Exchange):
            if self._in_flight is not None:
                # A CALL is still out: its own response timeout decides first.
                state.deadline = self._in_flight.sent_at + self.settings.response_timeout_s
                return
            seen = [e.frame.action for e in self._exchanges[state.exchange_window :] if not e.consumed]
            raise ConformanceFailure(
                f"no {step.action} exchange completed within {waited:.1f} s"
                + (f" (unmatched exchanges since the last action: {', '.join(seen)})" if seen else ""),
                reference=step.ref or self._scenario_reference(),
                expected=f"{step.action}"
                + (f" matching {matchers.render(step.request)}" if isinstance(step, Exchange) and step.request else ""),
                actual=", ".join(seen) or "nothing",
            )

    def _wait_seconds(self, step: Wait) -> float:
        if not isinstance(step.seconds, str):
            return step.seconds
        value = matchers.resolve(step.seconds, self.variables)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise HarnessError(f"wait {step.seconds}: {matchers.render(value)} is not a number of seconds")
        return float(value)

    def _timeout(self, step: Send | Exchange | ExpectCall | Configure | Raw | Handshake | Connect) -> float:
        own = getattr(step, "timeout_s", None)
        if own is not None:
            return float(own)
        if self.scenario.timeout_s is not None:
            return self.scenario.timeout_s
        return self.settings.step_timeout_s

    def _scenario_reference(self) -> str:
        return "; ".join(self.scenario.references) or self.scenario.id

    def _label(self, index: int) -> str:
        step = self.scenario.steps[index]
        origin = f", from state '{step.origin}'" if step.origin else ""
        return f"step {index + 1} ({step.kind} {step_subject(step)}{origin}) at {step.location}"


def step_subject(step: Step) -> str:
    """What a step is about, for labels: its action, operation, act or duration."""
    if isinstance(step, Send | Exchange | ExpectCall | Trigger):
        return step.action
    if isinstance(step, Configure):
        return step.operation
    if isinstance(step, Act):
        return step.act
    if isinstance(step, Wait):
        return step.seconds if isinstance(step.seconds, str) else f"{step.seconds:g} s"
    if isinstance(step, ExpectNoCall):
        return step.action or "any"
    if isinstance(step, Raw):
        return _short(step.label, 40)
    if isinstance(step, Handshake):
        return f"{step.station_id} offering {' / '.join(step.subprotocols) or 'no subprotocol'}"
    if isinstance(step, Connect):
        return f"{step.station_id} {_describe_connect(step)}, expecting it {step.expect}"
    return ""


def _describe_connect(step: Connect) -> str:
    """How a connect step's connection differs from the station's own, in words."""
    parts = [f"on the profile-{step.profile} endpoint" if step.profile is not None else "on the station's endpoint"]
    if step.auth == "none":
        parts.append("without Basic credentials")
    elif step.auth == "target":
        parts.append("with the target's (initial) password")
    if step.username is not None:
        parts.append(f"as user {step.username!r}")
    if step.password is not None:
        parts.append("with another password")
    if step.certificate != "station":
        parts.append(
            "without a client certificate" if step.certificate == "none" else f"with the {step.certificate} certificate"
        )
    if step.tls_version is not None:
        parts.append(f"offering TLS {step.tls_version} at most")
    if step.check_tls:
        parts.append("after checking its TLS properties")
    return ", ".join(parts)


def _unexpected_error(action: str, frame: CallError) -> ConformanceFailure:
    return ConformanceFailure(
        f"the CSMS answered {action} with CALLERROR {frame.error_code} "
        f"({frame.error_description!r}); a valid request must get a CALLRESULT",
        reference="OCPP-J 1.6 §4.2.3",
        expected=f"CALLRESULT for {action}",
        actual=frame.raw,
    )


def _action_matches(action: str | None, call: Call | OutgoingCall) -> bool:
    return action is None or action == call.action


def _short(text: str, limit: int = 80) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def _show(value: Any) -> str:
    return value if isinstance(value, str) else matchers.render(value)
