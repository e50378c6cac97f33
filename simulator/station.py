"""The asyncio runtime of one simulated charge point: the transport, the timers and the sans-I/O model.

One task per station, so ten thousand of them fit in a process: it waits for the next frame under the model's
next deadline (``asyncio.timeout_at``) and is woken early by :meth:`Station.wake` when a person (the console, the
control API) or the load generator changed something at the charger. Receiving is safe to interrupt
(:class:`simulator.transport.Link`). Everything the station decides, the model decides; the runtime moves
frames, keeps the one CALL in flight (OCPP-J 1.6 §4.1.1) and its timeout, reconnects with back-off, performs
file transfers (:mod:`simulator.transfers`), and tells an :class:`Observer` what happened, with each response
time measured from the write of the CALL to the receipt of its answer.

A clean stop (:meth:`Station.stop`) stops the running transactions (reason Local), delivers what is queued while
the CSMS can be reached, for at most ``drain_timeout_s``, then closes the connection with the closing handshake;
what could not be delivered is reported (:meth:`Observer.stopped_with`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ocppj import schemas
from ocppj.frames import Call, CallError, CallResult, FrameError, encode_call, encode_error, encode_result, parse_frame
from simulator import transfers
from simulator.model import CallRefused, ChargePoint, OutgoingCall, StationSpec, TransferJob
from simulator.stats import LOST, RESULT, TIMEOUT
from simulator.transport import Backoff, CallSlot, ConnectFailure, Link, LinkSettings, open_link


class Clock:
    """A monotonic clock on the POSIX time scale: differences are monotonic (latencies, timers), values are
    wall time (OCPP timestamps)."""

    def __init__(self) -> None:
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0)


class Observer(Protocol):
    """What a station reports; :class:`simulator.stats.FleetStats` keeps it all, a console prints some."""

    def exchange(self, station_id: str, action: str, outcome: str, latency_s: float | None) -> None:
        """A station CALL ended: ``CALLRESULT``, ``CALLERROR <code>``, ``schema`` (an answer breaking its 1.6
        schema), ``timeout`` or ``connection lost``; ``latency_s`` when it was answered."""

    def connection(self, station_id: str, event: str) -> None:
        """``opened``, ``closed by the CSMS``, ``closed by the station``, ``failed <kind>``."""

    def csms_call(self, station_id: str, action: str, outcome: str) -> None:
        """A CALL of the CSMS was answered (``CALLRESULT`` or ``CALLERROR <code>``)."""

    def transaction(self, station_id: str, transaction_id: int, *, stopped: bool) -> None:
        """The CSMS acknowledged a StartTransaction (``stopped`` False) or a StopTransaction (True)."""

    def stopped_with(self, station_id: str, queued: tuple[tuple[str, dict[str, Any]], ...]) -> None:
        """The runtime stopped; ``queued`` is what it could not deliver."""


class Behaviour(Protocol):
    """Someone at the charger: the load generator (:mod:`simulator.behaviour`)."""

    def next_at(self) -> float | None:
        """When :meth:`act` next has something to do (clock time), None for never."""

    def act(self, station: ChargePoint, now: float) -> None:
        """Do at the charger what is due by ``now``."""


@dataclass(frozen=True, kw_only=True)
class RuntimeSettings:
    """``response_timeout_s``: how long a CALL waits for its answer (OCPP-J 1.6 §4.1.1; the certificate's 30 s
    "OCPP response time"). ``heartbeat_interval_s``: when set, the station uses it instead of the interval the
    CSMS gave (as if the operator had changed HeartbeatInterval, OCPP 1.6 §9.1.8). ``validate_answers``: check
    every CSMS answer against its 1.6 schema (costs CPU; a violation counts as ``schema``)."""

    response_timeout_s: float = 30.0
    reconnect_initial_s: float = 1.0
    reconnect_max_s: float = 60.0
    drain_timeout_s: float = 10.0
    validate_answers: bool = False
    heartbeat_interval_s: int | None = None


class _Quiet:
    """An Observer that keeps nothing."""

    def exchange(self, station_id: str, action: str, outcome: str, latency_s: float | None) -> None:
        return None

    def connection(self, station_id: str, event: str) -> None:
        return None

    def csms_call(self, station_id: str, action: str, outcome: str) -> None:
        return None

    def transaction(self, station_id: str, transaction_id: int, *, stopped: bool) -> None:
        return None

    def stopped_with(self, station_id: str, queued: tuple[tuple[str, dict[str, Any]], ...]) -> None:
        return None


_WOKEN = object()


@dataclass(frozen=True)
class StationStatus:
    """What a status line or the control API shows of a station."""

    station_id: str
    state: str  # "offline", "connecting", "connected", "stopped"
    registration: str | None
    connectors: tuple[tuple[str, int | None], ...]  # per connector 1..n: (status, transactionId)
    queued: int
    last_event: str
    in_flight: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "station_id": self.station_id,
            "state": self.state,
            "registration": self.registration,
            "connectors": [
                {"connector_id": index, "status": status, "transaction_id": tx_id}
                for index, (status, tx_id) in enumerate(self.connectors, start=1)
            ],
            "queued": self.queued,
            "in_flight": self.in_flight,
            "last_event": self.last_event,
        }


class Station:
    """One simulated charge point connected through :mod:`simulator.transport`; ``await station.run()`` until
    :meth:`stop`. ``model`` is the sans-I/O :class:`~simulator.model.ChargePoint`: physical acts are made on it
    (then :meth:`wake`), or through :meth:`act`."""

    __slots__ = (
        "_backoff",
        "_behaviour",
        "_call",
        "_clock",
        "_drain_until",
        "_group",
        "_link",
        "_next_id",
        "_observer",
        "_retry_at",
        "_settings",
        "_slot",
        "_state",
        "_stopping",
        "_timeout",
        "_woken",
        "last_event",
        "link_settings",
        "model",
    )

    def __init__(
        self,
        spec: StationSpec,
        *,
        link: LinkSettings,
        clock: Clock,
        settings: RuntimeSettings | None = None,
        observer: Observer | None = None,
        behaviour: Behaviour | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.model = ChargePoint(spec, now=clock.now())
        self.link_settings = link
        self.last_event = "created"
        self._clock = clock
        self._settings = settings or RuntimeSettings()
        self._observer: Observer = observer or _Quiet()
        self._behaviour = behaviour
        self._backoff = Backoff(
            initial_s=self._settings.reconnect_initial_s,
            max_s=self._settings.reconnect_max_s,
            rng=rng or random.Random(spec.station_id),
        )
        self._slot = CallSlot()
        self._call: OutgoingCall | None = None
        self._link: Link | None = None
        self._next_id = 0
        self._retry_at = 0.0
        self._state = "offline"
        self._stopping = False
        self._drain_until: float | None = None
        self._timeout: asyncio.Timeout | None = None
        self._woken = False
        self._group: asyncio.TaskGroup | None = None

    @property
    def station_id(self) -> str:
        return self.model.spec.station_id

    @property
    def state(self) -> str:
        """``offline``, ``connecting``, ``connected`` or ``stopped``."""
        return self._state

    # ------------------------------------------------------------------ control

    def wake(self) -> None:
        """Something changed at the charger: the station looks at its model again now."""
        self._woken = True
        if self._timeout is not None and not self._timeout.expired():  # an expiring one wakes the task anyway
            self._timeout.reschedule(asyncio.get_running_loop().time())

    def stop(self) -> None:
        """A clean stop: transactions stopped (reason Local), the queue delivered while possible, then closed."""
        self._stopping = True
        self.wake()

    def act(self, name: str, **arguments: Any) -> None:
        """A physical act on the model (``plug``, ``unplug``, ``present_token``, ``fault``, ``clear_fault``,
        ``power_cycle``, ``go_offline``, ``go_online``) at the current time; raises ValueError as the model
        does when the act makes no sense now (plugging a plugged connector)."""
        acts: dict[str, Callable[..., None]] = {
            "plug": self.model.plug,
            "unplug": self.model.unplug,
            "present_token": self.model.present_token,
            "fault": self.model.fault,
            "clear_fault": self.model.clear_fault,
            "power_cycle": self.model.power_cycle,
            "go_offline": self.model.go_offline,
            "go_online": self.model.go_online,
        }
        method = acts.get(name)
        if method is None:
            raise ValueError(f"unknown act {name!r}; expected one of {', '.join(acts)}")
        method(now=self._clock.now(), **arguments)
        self.last_event = name.replace("_", " ") + "".join(f" {value}" for value in arguments.values())
        self.wake()

    def status(self) -> StationStatus:
        model = self.model
        connectors = tuple(
            (model.connector_status(index), model.transaction_id(index))
            for index in range(1, model.spec.connectors + 1)
        )
        return StationStatus(
            station_id=self.station_id,
            state=self._state,
            registration=model.registration,
            connectors=connectors,
            queued=len(model.queued()),
            last_event=self.last_event,
            in_flight=self._slot.action if self._slot.busy else None,
        )

    # ------------------------------------------------------------------ the task

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                await self._live()
        finally:
            self._group = None
            link, self._link = self._link, None
            if link is not None:
                await link.close()
                self._closed("closed by the station")
            self._state = "stopped"
            self._observer.stopped_with(self.station_id, self.model.queued())

    async def _live(self) -> None:
        model = self.model
        clock = self._clock
        while True:
            now = clock.now()
            if self._stopping:
                if self._drain_until is None:
                    model.stop_transactions(now)
                    self._drain_until = now + self._settings.drain_timeout_s
                idle = not self._slot.busy and model.settled()
                if idle or now >= self._drain_until or not model.wants_connection():
                    return
            elif self._behaviour is not None:
                behaviour_at = self._behaviour.next_at()
                if behaviour_at is not None and behaviour_at <= now:
                    self._behaviour.act(model, now)
            link = self._link
            if link is not None and (not model.link_up or not model.wants_connection()):
                self._link = None
                await link.close()
                self._closed("closed by the station")
                continue
            if link is None and model.wants_connection():
                if now >= self._retry_at:
                    await self._connect()
                    continue
            elif link is not None:
                if self._slot.busy and self._slot.expired():
                    self._timed_out(now)
                if not self._slot.busy and await self._send_next(link, now):
                    continue
            received = await self._wait(link)
            now = clock.now()
            if received is None:
                self._closed("closed by the CSMS")
                self._retry_at = now + self._backoff.next_s()
            elif received is _WOKEN:
                model.tick(now)
                self._start_transfers(now)
            else:
                assert isinstance(received, str)
                await self._on_text(received, now)

    async def _connect(self) -> None:
        self._state = "connecting"
        try:
            link = await open_link(self.link_settings)
        except ConnectFailure as failure:
            self._state = "offline"
            self.last_event = f"connection failed: {failure.detail}"
            self._observer.connection(self.station_id, f"failed {failure.kind}")
            self._retry_at = self._clock.now() + self._backoff.next_s()
            return
        self._link = link
        self._state = "connected"
        self.last_event = "connected"
        self._backoff.reset()
        self._observer.connection(self.station_id, "opened")
        self.model.connected(self._clock.now())

    def _closed(self, event: str) -> None:
        self._link = None
        self._state = "offline"
        self.last_event = event
        if self._slot.busy:
            self._observer.exchange(self.station_id, self._slot.action, LOST, None)
            self._slot.clear()
        self._call = None
        self._observer.connection(self.station_id, event)
        self.model.disconnected(self._clock.now())

    def _timed_out(self, now: float) -> None:
        call, self._call = self._call, None
        self._observer.exchange(self.station_id, self._slot.action, TIMEOUT, None)
        self.last_event = f"{self._slot.action} timed out"
        self._slot.clear()
        if call is not None:
            self.model.call_timeout(call, now)

    async def _send_next(self, link: Link, now: float) -> bool:
        call = self.model.next_call(now)
        if call is None:
            return False
        self._next_id += 1
        unique_id = str(self._next_id)
        text = encode_call(unique_id, call.action, call.payload).raw
        self._call = call
        self._slot.start(unique_id, call.action, timeout_s=self._settings.response_timeout_s)
        await link.send(text)  # a closed link is noticed by the next receive
        return True

    async def _wait(self, link: Link | None) -> str | None | object:
        """The next frame (str), None when the connection closed, or _WOKEN at the next deadline or wake()."""
        if self._woken:
            self._woken = False
            return _WOKEN
        loop = asyncio.get_running_loop()
        self._timeout = asyncio.timeout_at(self._deadline(loop.time()))
        try:
            async with self._timeout:
                if link is None:
                    await asyncio.sleep(3600)
                    return _WOKEN
                return await link.receive()
        except TimeoutError:
            return _WOKEN
        finally:
            self._timeout = None
            self._woken = False

    def _deadline(self, loop_now: float) -> float | None:
        now = self._clock.now()
        candidates: list[float] = []
        at = self.model.next_deadline()
        if at is not None:
            candidates.append(at)
        if self._behaviour is not None and not self._stopping:
            at = self._behaviour.next_at()
            if at is not None:
                candidates.append(at)
        if self._link is None:
            candidates.append(self._retry_at)
        if self._drain_until is not None:
            candidates.append(self._drain_until)
        if self._slot.busy:
            candidates.append(now + self._slot.deadline_s - time.perf_counter())
        if not candidates:
            return None
        return loop_now + max(0.0, min(candidates) - now)

    async def _on_text(self, text: str, now: float) -> None:
        try:
            frame = parse_frame(text)
        except FrameError as exc:
            self.last_event = f"malformed frame from the CSMS: {exc}"
            if exc.unique_id is not None and self._link is not None:
                await self._link.send(encode_error(exc.unique_id, exc.error_code.value, str(exc)).raw)
            return
        if isinstance(frame, Call):
            await self._on_csms_call(frame, now)
            return
        latency_s = self._slot.answered(frame.unique_id)
        call = self._call
        if latency_s is None or call is None:
            return  # an answer to a CALL the station no longer waits for (OCPP-J 1.6 §4.1.4)
        self._call = None
        if isinstance(frame, CallResult):
            self._on_result(call, frame, latency_s, now)
        else:
            assert isinstance(frame, CallError)
            self._observer.exchange(self.station_id, call.action, f"CALLERROR {frame.error_code}", latency_s)
            self.last_event = f"{call.action}: CALLERROR {frame.error_code}"
            self.model.call_error(call, frame.error_code, frame.error_description, now)

    def _on_result(self, call: OutgoingCall, frame: CallResult, latency_s: float, now: float) -> None:
        outcome = RESULT
        if self._settings.validate_answers and schemas.validate(call.action, frame.payload, response=True):
            outcome = "schema"
        self._observer.exchange(self.station_id, call.action, outcome, latency_s)
        self.model.call_result(call, frame.payload, now)
        self.last_event = f"{call.action} answered"
        if call.action == "StartTransaction":
            tx_id = frame.payload.get("transactionId")
            if isinstance(tx_id, int) and not isinstance(tx_id, bool):
                self._observer.transaction(self.station_id, tx_id, stopped=False)
        elif call.action == "StopTransaction":
            tx_id = call.payload.get("transactionId")
            if isinstance(tx_id, int) and not isinstance(tx_id, bool):
                self._observer.transaction(self.station_id, tx_id, stopped=True)
        elif call.action == "BootNotification":
            self._override_heartbeat(now)

    def _override_heartbeat(self, now: float) -> None:
        interval_s = self._settings.heartbeat_interval_s
        if interval_s is None or self.model.registration != "Accepted":
            return
        if self.model.configuration().get("HeartbeatInterval") != str(interval_s):
            self.model.handle_call("ChangeConfiguration", {"key": "HeartbeatInterval", "value": str(interval_s)}, now)

    async def _on_csms_call(self, frame: Call, now: float) -> None:
        try:
            reply = encode_result(frame.unique_id, self.model.handle_call(frame.action, frame.payload, now)).raw
            outcome = RESULT
        except CallRefused as refusal:
            reply = encode_error(frame.unique_id, refusal.error_code, refusal.description).raw
            outcome = f"CALLERROR {refusal.error_code}"
        self._observer.csms_call(self.station_id, frame.action, outcome)
        self.last_event = f"{frame.action} from the CSMS: {outcome}"
        if self._link is not None:
            await self._link.send(reply)
        self._start_transfers(now)

    def _start_transfers(self, now: float) -> None:
        group = self._group
        if group is None:
            return
        for job in self.model.take_transfers(now):
            group.create_task(self._transfer(job))

    async def _transfer(self, job: TransferJob) -> None:
        outcome = await transfers.perform(job)
        self.model.transfer_finished(job.job_id, ok=outcome.ok, detail=outcome.detail, now=self._clock.now())
        self.wake()
