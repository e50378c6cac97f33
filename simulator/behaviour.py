"""Drivers at the chargers of a load run: seeded, realistic, and sans-I/O (it acts on the model only).

Per connector, sessions arrive as a Poisson process (``sessions_per_hour``): the driver plugs in, presents the
connector's token a few seconds later (Authorize, then StartTransaction, OCPP 1.6 §4.1, §4.10), charges for an
exponentially distributed time (``session_s`` on average; MeterValues every MeterValueSampleInterval, §4.7),
presents the token again to stop (StopTransaction, §4.11) and unplugs. Per station, faults (a connector
Faulted for ``fault_s``, §4.9) and network losses (offline for ``offline_s``, then the station reconnects and
delivers its queue, §4.8) arrive at their own rates.

Every draw comes from a generator of its own per connector (and one per station for faults and losses), seeded
from ``seed`` and the station's index, so a run repeats its decisions whatever the CSMS's timing: the same
seed gives the same sessions of the same lengths at the same offsets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from simulator.model import ChargePoint

_MASK = (1 << 64) - 1
_GIVE_UP_S = 120.0  # a session whose transaction did not start by then is abandoned (cable out)


class Draws:
    """splitmix64: one integer of state per generator (a ``random.Random`` costs 2.5 KB, and a fleet has one
    per connector)."""

    __slots__ = ("_state",)

    def __init__(self, *seed: int) -> None:
        state = 0x9E3779B97F4A7C15
        for part in seed:
            state = (state ^ (part & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        self._state = state

    def random(self) -> float:
        """A float in [0, 1)."""
        self._state = (self._state + 0x9E3779B97F4A7C15) & _MASK
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return ((z ^ (z >> 31)) >> 11) / float(1 << 53)

    def exponential_s(self, mean_s: float) -> float:
        return -mean_s * math.log(1.0 - self.random())

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()


@dataclass(frozen=True, kw_only=True)
class BehaviourSettings:
    """Rates of what happens at the chargers. ``None`` disables a kind of event."""

    sessions_per_hour: float | None = 2.0  # per connector
    session_s: float = 600.0  # mean time from the start of charging to the stop
    token_delay_s: tuple[float, float] = (1.0, 5.0)  # from plugging in to presenting the token
    unplug_delay_s: tuple[float, float] = (2.0, 10.0)  # from the stop to unplugging
    faults_per_hour: float | None = None  # per station
    fault_s: float = 30.0
    offline_per_hour: float | None = None  # per station: network losses
    offline_s: float = 20.0


class _Connector:
    __slots__ = ("at", "connector_id", "draws", "phase", "started_at")

    def __init__(self, connector_id: int, draws: Draws) -> None:
        self.connector_id = connector_id
        self.draws = draws
        self.phase = "idle"  # idle -> plugged -> charging -> stopping -> idle
        self.at: float | None = None
        self.started_at = 0.0


class Drivers:
    """The :class:`~simulator.station.Behaviour` of one station in a load run."""

    __slots__ = (
        "_connectors",
        "_events",
        "_fault",
        "_next_event_at",
        "_offline_until",
        "_settings",
        "_token_for",
        "acts",
    )

    def __init__(
        self,
        settings: BehaviourSettings,
        *,
        seed: int,
        station_index: int,
        connectors: int,
        token_for: Callable[[int], str],
        now: float,
    ) -> None:
        self._settings = settings
        self._token_for = token_for
        self._connectors = [_Connector(c, Draws(seed, station_index, c)) for c in range(1, connectors + 1)]
        for connector in self._connectors:
            connector.at = self._next_arrival(connector, now)
        self._events = Draws(seed, station_index, 0)
        self._fault: tuple[int, float] | None = None  # (connector, clear at)
        self._offline_until: float | None = None
        self._next_event_at = self._draw_event_at(now)
        self.acts = 0

    def _next_arrival(self, connector: _Connector, now: float) -> float | None:
        rate = self._settings.sessions_per_hour
        return None if not rate else now + connector.draws.exponential_s(3600.0 / rate)

    def next_at(self) -> float | None:
        times = [c.at for c in self._connectors if c.at is not None]
        for at in (self._next_event_at, self._offline_until, None if self._fault is None else self._fault[1]):
            if at is not None:
                times.append(at)
        return min(times) if times else None

    def act(self, station: ChargePoint, now: float) -> None:
        for connector in self._connectors:
            if connector.at is not None and connector.at <= now:
                self._step(station, connector, now)
        if self._fault is not None and self._fault[1] <= now:
            connector_id = self._fault[0]
            self._fault = None
            self._try(station.clear_fault, connector_id, now)
        if self._offline_until is not None and self._offline_until <= now:
            self._offline_until = None
            if not station.wants_connection():
                self._try(station.go_online, now)
        if self._next_event_at is not None and self._next_event_at <= now:
            self._station_event(station, now)
            self._next_event_at = self._draw_event_at(now)

    def _draw_event_at(self, now: float) -> float | None:
        rate = (self._settings.faults_per_hour or 0.0) + (self._settings.offline_per_hour or 0.0)
        return None if rate <= 0 else now + self._events.exponential_s(3600.0 / rate)

    def _station_event(self, station: ChargePoint, now: float) -> None:
        faults = self._settings.faults_per_hour or 0.0
        offline = self._settings.offline_per_hour or 0.0
        if self._events.random() * (faults + offline) < faults:
            if self._fault is None:
                connector_id = 1 + int(self._events.random() * len(self._connectors))
                if self._try(station.fault, connector_id, "OtherError", now):
                    self._fault = (connector_id, now + self._settings.fault_s)
        elif self._offline_until is None and station.wants_connection() and self._try(station.go_offline, now):
            self._offline_until = now + self._settings.offline_s

    def _try(self, method: Callable[..., None], *arguments: object) -> bool:
        """An act the station may refuse now (the connector went Faulted meanwhile, say): refused acts are
        skipped, as a person would shrug and carry on."""
        try:
            method(*arguments)
        except ValueError:
            return False
        self.acts += 1
        return True

    def _step(self, station: ChargePoint, connector: _Connector, now: float) -> None:
        settings = self._settings
        draws = connector.draws
        cid = connector.connector_id
        if connector.phase == "idle":
            if station.connector_status(cid) == "Available" and self._try(station.plug, cid, now):
                connector.phase = "plugged"
                connector.at = now + draws.uniform(*settings.token_delay_s)
            else:
                connector.at = self._next_arrival(connector, now)
        elif connector.phase == "plugged":
            self._try(station.present_token, cid, self._token_for(cid), now)
            connector.phase = "charging"
            connector.started_at = now
            connector.at = now + draws.exponential_s(settings.session_s)
        elif connector.phase == "charging":
            if station.transaction_id(cid) is not None:
                self._try(station.present_token, cid, self._token_for(cid), now)
                connector.phase = "stopping"
                connector.at = now + draws.uniform(*settings.unplug_delay_s)
            elif now - connector.started_at > _GIVE_UP_S:
                connector.phase = "stopping"
                connector.at = now
            else:
                connector.at = now + 5.0  # the StartTransaction is not answered yet (offline, say): wait
        else:
            self._try(station.unplug, cid, now)
            connector.phase = "idle"
            connector.at = self._next_arrival(connector, now)
