"""The station's state machine: transport, registration, timers, reset and power, the public interface.

Sans-I/O (DESIGN §5.1-5.2): every method takes ``now`` (POSIX seconds) and first runs the timers that fell due
before it, in time order and at their own times, so that timestamps, meter readings and message order come out
the same however coarsely the runtime ticks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ocppj import schemas
from simulator.model import payloads
from simulator.model.base import ACCEPTED, FAULT_CODES, MAX_ID_TAG_LENGTH, PENDING, REJECTED, PendingReset
from simulator.model.calls import OutgoingCall, is_transactional
from simulator.model.queue import Entry
from simulator.model.sessions import Sessions

REBOOT_DELAY_S = 2.0
"""How long a reset or power cycle keeps the station off the network before it connects and boots again."""

RESET_GRACE_S = 1.0
"""Reset.conf must reach the CSMS before the station goes down (OCPP 1.6 §5.14); the station also waits for
its StopTransactions to be delivered when connected."""

BOOT_RETRY_INTERVAL_S = 60.0
"""BootNotification retry when the CSMS gives no usable interval: an interval of 0 with Pending/Rejected, a
CALLERROR or no answer (OCPP 1.6 §4.2 leaves the wait to the charge point in those cases)."""


class StationMachine(Sessions):
    """Transport, registration and time on top of the sessions; see :class:`simulator.model.station.ChargePoint`."""

    # ------------------------------------------------------------------ transport

    def connected(self, now: float) -> None:
        """The websocket is open. After power-on the first CALL is BootNotification (§4.2); after a mere
        reconnect the station reports the connectors whose status changed while it was offline (§4.8)."""
        self._advance(now)
        if self._connected:
            return
        self._connected = True
        self._heartbeat_anchor = now
        if self._online():
            for connector in self._connectors:
                if connector.status != connector.delivered:
                    self._queue_status(connector, connector.status_since)

    def disconnected(self, now: float) -> None:
        self._advance(now)
        self._drop_transport(now, "connection closed", fallback=True)
        self._maybe_go_down(now)

    def next_call(self, now: float) -> OutgoingCall | None:
        """The CALL to send now, if any (OCPP-J 1.6 §4.1.1: one at a time). Order: a BootNotification that is
        owed, then explicit calls, then the outbox, then a Heartbeat when HeartbeatInterval has passed since
        the last CALL (§4.6 lets any message stand in for a heartbeat)."""
        self._advance(now)
        if not self._connected or not self.wants_connection() or self._in_flight is not None:
            return None
        if self._boot_due_at is not None and self._boot_due_at <= now:
            head = self._outbox.explicit_head()
            if head is not None and head.action == "BootNotification":
                return self._send(head, now)
            return self._send(Entry("BootNotification", payloads.boot_notification(self._spec), now), now)
        if not self._boot_sent:
            return None
        entry = self._outbox.pick(now, self._may_send)
        if entry is not None:
            return self._send(entry, now)
        due = self._heartbeat_due()
        if due is not None and due <= now:
            return self._send(Entry("Heartbeat", {}, now), now)
        return None

    def call_result(self, call: OutgoingCall, payload: dict[str, Any], now: float) -> None:
        """A CALLRESULT. Answers to calls the station no longer waits for (dropped at a disconnect) are ignored."""
        self._advance(now)
        entry = self._take_in_flight(call)
        if entry is None:
            return
        if not self._on_result(entry, payload, now):
            self._on_failure(entry, f"unusable {entry.action} answer {payload!r}", now)
        self._maybe_go_down(now)

    def call_error(self, call: OutgoingCall, error_code: str, description: str, now: float) -> None:
        self._advance(now)
        entry = self._take_in_flight(call)
        if entry is None:
            return
        self._on_failure(entry, f"CALLERROR {error_code}" + (f": {description}" if description else ""), now)
        self._maybe_go_down(now)

    def call_timeout(self, call: OutgoingCall, now: float) -> None:
        self._advance(now)
        entry = self._take_in_flight(call)
        if entry is None:
            return
        self._on_failure(entry, "no answer (timeout)", now)
        self._maybe_go_down(now)

    def next_deadline(self) -> float | None:
        """When ``tick`` must next be called. Send-related times count only while a CALL could be sent, so the
        runtime never spins on a deadline that a tick cannot serve."""
        times = [at for at, _ in self._timers()]
        if self._connected and self.wants_connection() and self._in_flight is None:
            if self._boot_due_at is not None:
                times.append(self._boot_due_at)
            if self._boot_sent:
                ready = self._outbox.ready_at(self._may_send)
                if ready is not None:
                    times.append(ready)
                heartbeat = self._heartbeat_due()
                if heartbeat is not None:
                    times.append(heartbeat)
        return max(min(times), self._now) if times else None

    def tick(self, now: float) -> None:
        self._advance(now)

    def wind_down(self, now: float) -> None:
        """Leave the station as a test case found it (OCTT general preconditions, D24 §1.2: idle, connected,
        free of faults): identifications are dropped, every running transaction stops with reason Local,
        cables are taken out, faults cleared and the network is back. Messages still queued are delivered as
        usual; :meth:`settled` says when they are."""
        self._advance(now)
        self._network_up = True
        self._end_sessions("Local", now)
        for connector in self._connectors:
            connector.plugged = False
            connector.finishing = False
            connector.fault = None
            self._sync(connector, now)

    def stop_transactions(self, now: float, *, reason: str = "Local") -> None:
        """The station is being switched off by its operator (a runtime's clean stop): identifications in
        progress are dropped and every running transaction stops with ``reason`` (§7.33; "Local": stopped at the
        charge point). The StopTransactions wait in the queue like any other (§4.8); nothing else changes, so a
        station that is offline stays offline and :meth:`queued` tells what it could not deliver."""
        self._advance(now)
        self._end_sessions(reason, now)

    def queued(self) -> tuple[tuple[str, dict[str, Any]], ...]:
        """The CALLs waiting to be sent, in order, as (action, payload as it would be sent now): what a runtime
        that stops reports as undelivered (§4.8: transaction messages are kept while offline)."""
        return tuple((entry.action, entry.render()) for entry in self._outbox)

    def settled(self) -> bool:
        """Nothing in flight, nothing queued, no transaction running: all the station had to say is said."""
        return (
            self._in_flight is None
            and not any(True for _ in self._outbox)
            and all(connector.transaction is None for connector in self._connectors)
        )

    # ------------------------------------------------------------------ explicit sends from a scenario

    def enqueue(self, action: str, payload: dict[str, Any]) -> OutgoingCall:
        """Queue a scenario's CALL ahead of everything the station generated; ``next_call`` returns this very
        object (after a BootNotification that is owed). Its answer is processed like the station's own: an
        Accepted StartTransaction is adopted as the connector's running transaction (the cable is then taken
        as plugged in), a StopTransaction ends the transaction it names, an Authorize fills the cache.
        A transactional one is retried and queued offline like any other (§4.8)."""
        if action not in schemas.actions():
            raise ValueError(f"unknown OCPP 1.6 action {action!r}")
        body = dict(payload)
        transactional = is_transactional(action, body)
        call = OutgoingCall(action, body, transactional)
        self._outbox.add(Entry(action, body, self._now, transactional=transactional, explicit=True, call=call))
        return call

    def default_payload(self, action: str, *, connector_id: int, id_tag: str | None, now: float) -> dict[str, Any]:
        """What the station would put in ``action`` now; a scenario's ``send`` step overlays its own fields."""
        payload = self._default_payload(action, connector_id=connector_id, id_tag=id_tag, now=now)
        return payload if self._spec.optional_fields else payloads.required_only(action, payload)

    def _default_payload(self, action: str, *, connector_id: int, id_tag: str | None, now: float) -> dict[str, Any]:
        if action == "BootNotification":
            return payloads.boot_notification(self._spec)
        if action == "Heartbeat":
            return {}
        if action == "Authorize":
            return payloads.authorize(self._require_tag(action, id_tag))
        if action == "StatusNotification":
            connector = self._connector(connector_id, allow_zero=True)
            return payloads.status_notification(connector_id, connector.status, connector.error_code, now)
        if action == "StartTransaction":
            self._connector(connector_id)
            tag = self._require_tag(action, id_tag)
            return payloads.start_transaction(connector_id, tag, self._register(connector_id, now), now)
        if action == "StopTransaction":
            tx = self._connector(connector_id).transaction
            tx_id = tx.transaction_id if tx is not None and tx.transaction_id is not None else 0
            return payloads.stop_transaction(
                meter_stop_wh=self._register(connector_id, now),
                at=now,
                reason="Local",
                id_tag=id_tag,
                transaction_id=tx_id,
            )
        if action == "MeterValues":
            connector = self._connector(connector_id, allow_zero=True)
            measurands = self._config.get_list("MeterValuesSampledData") or ("Energy.Active.Import.Register",)
            values = self._sampled(connector_id, now, measurands, "Sample.Periodic")
            tx = connector.transaction
            return payloads.meter_values(connector_id, now, values, None if tx is None else tx.transaction_id)
        if action == "DataTransfer":
            return payloads.data_transfer(self._spec.vendor)
        if action == "DiagnosticsStatusNotification":
            return payloads.diagnostics_status(self._diagnostics_status)
        if action == "FirmwareStatusNotification":
            return payloads.firmware_status(self._firmware_status)
        raise ValueError(f"no default payload for {action!r}: the charge point does not send it")

    # ------------------------------------------------------------------ physical events

    def plug(self, connector_id: int, now: float) -> None:
        connector = self._connector(connector_id)
        if connector.plugged:
            raise ValueError(f"connector {connector_id} is already plugged in")
        self._advance(now)
        connector.plugged = True
        authorization = connector.authorization
        if authorization is not None and connector.transaction is None:
            self._start_transaction(connector, authorization.id_tag, authorization.parent_id_tag, now)
        else:
            self._sync(connector, now)

    def unplug(self, connector_id: int, now: float) -> None:
        """EV-side disconnect. With StopTransactionOnEVSideDisconnect the transaction stops with reason
        EVDisconnected and the connector reports SuspendedEV, Finishing, Available (TC_005_1, §9.1.21);
        without it the transaction goes on in SuspendedEV until the cable is back (TC_005_3).

        UnlockConnectorOnEVSideDisconnect (§9.1.27) decides whether a socket releases the cable then: when
        false, the cable stays locked in the socket after the stop, so the connector stays Finishing until an
        UnlockConnector frees it (a fixed cable is never locked at the station side)."""
        connector = self._connector(connector_id)
        if not connector.plugged:
            raise ValueError(f"connector {connector_id} is not plugged in")
        self._advance(now)
        connector.plugged = False
        if connector.transaction is not None and self._config.get_bool("StopTransactionOnEVSideDisconnect"):
            locked = not self._spec.fixed_cable and not self._config.get_bool("UnlockConnectorOnEVSideDisconnect")
            self._sync(connector, now)
            self._stop_transaction(connector, "EVDisconnected", now, cable_locked=locked)
            return
        connector.finishing = False
        self._sync(connector, now)

    def present_token(self, connector_id: int, id_tag: str, now: float) -> None:
        """An idTag at the connector's reader: starts authorization, or stops the running transaction when it
        is the tag that started it or, with a matching parentIdTag, one of its group (§3.4, TC_068, TC_069).
        Ignored, as by a real reader, while the station reboots or the connector is faulted or unavailable."""
        connector = self._connector(connector_id)
        if not isinstance(id_tag, str) or not id_tag:
            raise ValueError("present_token needs a non-empty id tag")
        if len(id_tag) > MAX_ID_TAG_LENGTH:
            raise ValueError(f"id tag {id_tag!r} is longer than {MAX_ID_TAG_LENGTH} characters (OCPP 1.6 §7.27)")
        self._advance(now)
        if not self._accepting_sessions():
            return
        if connector.transaction is not None:
            self._token_on_transaction(connector, id_tag, now)
        elif connector.idle(station_inoperative=self._station_blocked()):
            self._begin_authorization(connector, id_tag, now)

    def fault(self, connector_id: int, error_code: str, now: float) -> None:
        """A hardware fault (§7.6 ChargePointErrorCode, e.g. ConnectorLockFailure, TC_024): Faulted. It cancels
        an identification in progress; a running transaction survives but no energy flows."""
        connector = self._connector(connector_id, allow_zero=True)
        if error_code not in FAULT_CODES:
            raise ValueError(f"unknown error code {error_code!r}; expected one of {', '.join(sorted(FAULT_CODES))}")
        if connector.fault is not None:
            raise ValueError(f"connector {connector_id} is already faulted ({connector.fault})")
        self._advance(now)
        connector.fault = error_code
        connector.authorization = None
        connector.pending = None
        self._sync(connector, now)

    def clear_fault(self, connector_id: int, now: float) -> None:
        connector = self._connector(connector_id, allow_zero=True)
        if connector.fault is None:
            raise ValueError(f"connector {connector_id} is not faulted")
        self._advance(now)
        connector.fault = None
        self._sync(connector, now)

    def power_cycle(self, now: float) -> None:
        """Sudden power loss and restart (TC_032_1): volatile state is lost; configuration, availability, the
        authorization cache, the plug state and the transaction-message queue survive (they are
        non-volatile on a real charger). Running transactions are stopped with reason PowerLoss once the
        station is registered again, with the register and time of the power loss."""
        self._advance(now)
        self._drop_transport(now, "power loss", fallback=False)
        for connector in self._connectors[1:]:
            tx = connector.transaction
            if tx is None:
                continue
            self._lost.append((tx, connector.meter.register_wh(now), now))
            tx.ended = True
            tx.next_sample_at = None
            connector.transaction = None
            connector.finishing = connector.plugged
        self._go_down(now, "power loss")

    def go_offline(self, now: float) -> None:
        """Network lost: wants_connection() is False until go_online (§4.8 offline behaviour)."""
        if not self._network_up:
            raise ValueError("the station is already offline")
        self._advance(now)
        self._network_up = False
        self._drop_transport(now, "network lost", fallback=True)
        self._maybe_go_down(now)

    def go_online(self, now: float) -> None:
        if self._network_up:
            raise ValueError("the station is already online")
        self._advance(now)
        self._network_up = True

    # ------------------------------------------------------------------ time

    def _timers(self) -> list[tuple[float, Callable[[float], None]]]:
        timers: list[tuple[float, Callable[[float], None]]] = []
        if self._down_until is not None:
            timers.append((self._down_until, self._power_on))
        if self._reset is not None and not self._reset.armed:
            timers.append((self._reset.at, self._arm_reset))
        for connector in self._connectors[1:]:
            authorization = connector.authorization
            if authorization is not None and authorization.expires_at is not None:
                timers.append((authorization.expires_at, functools.partial(self._connection_timeout, connector)))
            tx = connector.transaction
            if tx is not None and tx.next_sample_at is not None:
                timers.append((tx.next_sample_at, functools.partial(self._sample_periodic, connector)))
        if self._next_aligned_at is not None:
            timers.append((self._next_aligned_at, self._sample_aligned))
        return timers

    def _advance(self, now: float) -> None:
        if now < self._now:
            raise ValueError(f"time went backwards: {now} < {self._now}")
        while True:
            timers = self._timers()
            if not timers:
                break
            at, fire = min(timers, key=lambda timer: timer[0])
            if at > now:
                break
            fire(at)
        self._now = now
        self._maybe_go_down(now)

    def _power_on(self, at: float) -> None:
        self._down_until = None
        self._boot_due_at = at
        self._heartbeat_anchor = at
        for connector in self._connectors:
            self._sync(connector, at)

    def _heartbeat_due(self) -> float | None:
        if self._registration != ACCEPTED:
            return None
        interval = self._config.get_int("HeartbeatInterval")
        return self._heartbeat_anchor + interval if interval > 0 else None

    def _configuration_changed(self, name: str, at: float) -> None:
        """Keys that drive timers take effect at once (§5.3: Accepted means applied)."""
        if name == "HeartbeatInterval":
            self._heartbeat_anchor = at
        elif name == "MeterValueSampleInterval":
            interval = self._config.get_int(name)
            for connector in self._connectors[1:]:
                if connector.transaction is not None:
                    connector.transaction.next_sample_at = at + interval if interval > 0 else None
        elif name == "ClockAlignedDataInterval":
            self._next_aligned_at = self._aligned_after(at)

    # ------------------------------------------------------------------ sending and delivery failures

    def _may_send(self, entry: Entry) -> bool:
        """Pending allows only messages the CSMS asked for with TriggerMessage (§4.2); Rejected allows none."""
        if self._registration == ACCEPTED:
            return True
        return self._registration == PENDING and entry.triggered

    def _send(self, entry: Entry, now: float) -> OutgoingCall:
        self._outbox.remove(entry)
        if entry.call is not None:
            call, entry.call = entry.call, None
        else:
            payload = entry.render()
            if not self._spec.optional_fields:
                payload = payloads.required_only(entry.action, payload)
            call = OutgoingCall(entry.action, payload, entry.transactional)
        self._in_flight = (call, entry)
        self._heartbeat_anchor = now
        if entry.action == "BootNotification":
            self._boot_sent = True
        return call

    def _take_in_flight(self, call: OutgoingCall) -> Entry | None:
        if self._in_flight is None or self._in_flight[0] is not call:
            return None
        entry = self._in_flight[1]
        self._in_flight = None
        return entry

    def _drop_transport(self, at: float, reason: str, *, fallback: bool) -> None:
        """The connection is gone: a transaction message (or a persistent one, such as a security event,
        whitepaper A04.FR.02) in flight stays queued (not delivered, not a failed attempt); other messages are
        dropped, and an Authorize that cannot be answered falls back to local authorization (§3.5, §4.8) when
        ``fallback``. StatusNotifications are not kept: the changes are reported on reconnect by comparing with
        what the CSMS acknowledged."""
        if not self._connected:
            return
        self._connected = False
        lost: list[Entry] = []
        if self._in_flight is not None:
            entry = self._in_flight[1]
            self._in_flight = None
            if entry.transactional or entry.persistent:
                self._outbox.put_back(entry)
            else:
                lost.append(entry)
        lost.extend(self._outbox.remove_where(lambda e: not e.transactional and not e.explicit and not e.persistent))
        for entry in lost:
            if entry.authorize is not None and fallback:
                self._authorize_unanswered(entry.authorize, at)
            self._record_drop(entry, reason, at)

    def _on_failure(self, entry: Entry, reason: str, at: float) -> None:
        """CALLERROR, timeout or unusable answer. A registration BootNotification is retried after
        BOOT_RETRY_INTERVAL_S; a transaction message is retried TransactionMessageAttempts times in all, the
        n-th retry TransactionMessageRetryInterval * n seconds after the n-th failure, then dropped (§4.8)."""
        if entry.action == "BootNotification" and self._boot_due_at is not None:
            self._boot_due_at = at + BOOT_RETRY_INTERVAL_S
            return
        if entry.transactional:
            entry.attempts += 1
            tx = entry.transaction
            if entry.action == "StartTransaction" and tx is not None and not tx.ended and not tx.energy_allowed:
                # The CSMS could not take it now: charge on as if offline; the message is retried.
                tx.energy_allowed = True
                self._sync(self._connectors[tx.connector_id], at)
            limit = max(1, self._config.get_int("TransactionMessageAttempts"))
            if entry.attempts >= limit:
                self._give_up(entry, f"{reason}; gave up after {entry.attempts} attempts", at)
            else:
                entry.not_before = at + self._config.get_int("TransactionMessageRetryInterval") * entry.attempts
                self._outbox.put_back(entry)
            return
        if entry.authorize is not None:
            self._authorize_unanswered(entry.authorize, at)
        self._record_drop(entry, reason, at)

    def _give_up(self, entry: Entry, reason: str, at: float) -> None:
        self._record_drop(entry, reason, at)
        tx = entry.transaction
        if entry.action == "StartTransaction" and tx is not None:
            tx.start_dropped = True
            for dependent in self._outbox.remove_where(lambda e: e.transaction is tx):
                self._record_drop(dependent, "its StartTransaction was dropped, so it has no transactionId", at)

    # ------------------------------------------------------------------ answers from the CSMS

    def _on_result(self, entry: Entry, payload: dict[str, Any], at: float) -> bool:
        """Apply a CALLRESULT; False when the answer is unusable (a CSMS under test may send anything)."""
        if entry.action == "BootNotification":
            return self._boot_answered(payload, at)
        if entry.action == "Authorize":
            return self._authorize_answered(entry, payload, at)
        if entry.action == "StartTransaction":
            return self._start_answered(entry, payload, at)
        if entry.action == "StopTransaction":
            self._stop_answered(entry, payload, at)
        elif entry.action == "StatusNotification":
            self._status_answered(entry)
        return True

    def _boot_answered(self, payload: dict[str, Any], at: float) -> bool:
        """BootNotification.conf (§4.2, §6.3): Accepted registers the station (then every connector's status,
        and the PowerLoss stops of TC_032_1); Pending/Rejected wait ``interval`` seconds before retrying."""
        status = payload.get("status")
        interval = payload.get("interval")
        if status not in (ACCEPTED, PENDING, REJECTED):
            return False
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            return False
        interval_s = int(interval)
        self._registration = str(status)
        if status != ACCEPTED:
            self._boot_due_at = at + (interval_s if interval_s > 0 else BOOT_RETRY_INTERVAL_S)
            return True
        self._boot_due_at = None
        if interval_s > 0:
            self._config.set_heartbeat_interval(interval_s)
        self._heartbeat_anchor = at
        if not self._full_report_due:
            # Registered again without a reboot (a triggered BootNotification answered Pending, then
            # Accepted): report what changed meanwhile, as after a reconnect.
            for connector in self._connectors:
                if connector.status != connector.delivered:
                    self._queue_status(connector, connector.status_since)
        else:
            self._full_report_due = False
            for connector in self._connectors:
                self._queue_status(connector, at)
            for tx, meter_stop, lost_at in self._lost:
                payload_stop = payloads.stop_transaction(meter_stop_wh=meter_stop, at=lost_at, reason="PowerLoss")
                self._queue_entry(Entry("StopTransaction", payload_stop, lost_at, transactional=True, transaction=tx))
            self._lost.clear()
        return True

    def _status_answered(self, entry: Entry) -> None:
        connector_id = entry.payload.get("connectorId")
        status = entry.payload.get("status")
        if isinstance(connector_id, int) and 0 <= connector_id <= self._spec.connectors and isinstance(status, str):
            self._connectors[connector_id].delivered = status

    # ------------------------------------------------------------------ reset, reboot

    def _request_reset(self, kind: str, at: float) -> None:
        """Reset accepted (§5.14): transactions stop with reason SoftReset/HardReset, identifications in
        progress are dropped, and the station goes down once the stops are delivered (TC_013, TC_014)."""
        if self._reset is not None:
            return
        reason = "HardReset" if kind == "Hard" else "SoftReset"
        for connector in self._connectors[1:]:
            connector.authorization = None
            connector.pending = None
            if connector.transaction is not None:
                self._stop_transaction(connector, reason, at)
            else:
                self._sync(connector, at)
        self._reset = PendingReset(kind, at + RESET_GRACE_S)

    def _arm_reset(self, at: float) -> None:
        if self._reset is not None:
            self._reset.armed = True
            self._maybe_go_down(at)

    def _maybe_go_down(self, at: float) -> None:
        reset = self._reset
        if reset is None or not reset.armed:
            return
        if self._connected and self.wants_connection() and not self._said_all(at):
            return
        self._go_down(at, f"{reset.kind} reset")

    def _said_all(self, at: float) -> bool:
        """Nothing in flight and nothing to send now: a reset (or a reconnect) may close the connection."""
        if self._in_flight is not None:
            return False
        ready = self._outbox.ready_at(self._may_send) if self._boot_sent else None
        return ready is None or ready > at

    def _end_sessions(self, reason: str, at: float) -> None:
        """Identifications in progress are dropped; running transactions stop with ``reason`` (§7.33)."""
        for connector in self._connectors[1:]:
            connector.authorization = None
            connector.pending = None
            if connector.transaction is not None:
                self._stop_transaction(connector, reason, at)

    def _go_down(self, at: float, reason: str) -> None:
        """Reboot: off the network for REBOOT_DELAY_S, then a new BootNotification (§4.2). Volatile state
        (explicit calls, identifications in progress) is lost; a transaction still running is stopped with
        reason Reboot and the stop waits in the (non-volatile) queue, as persistent messages do."""
        self._drop_transport(at, reason, fallback=False)
        for entry in self._outbox.remove_where(lambda e: not e.transactional and not e.persistent):
            self._record_drop(entry, reason, at)
        self._end_sessions("Reboot", at)
        self._reset = None
        self._registration = None
        self._boot_due_at = None
        self._boot_sent = False
        self._full_report_due = True
        self._down_until = at + REBOOT_DELAY_S
        for connector in self._connectors:
            self._sync(connector, at)
