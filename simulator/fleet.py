"""Many simulated stations in one process: one asyncio task each (:mod:`simulator.station`), started over a
ramp, stopped together, observed by one :class:`~simulator.stats.FleetStats`, and watched by a monitor that
measures the process's own CPU and event-loop lag, so that a saturated generator is never mistaken for a slow
CSMS (a latency measured while the loop ran 40 ms late is 40 ms of the generator's own making).

More than one process (one per core) is :mod:`simulator.load`; more than one machine is Locust
(:mod:`simulator.locustfile`). Both build their stations here.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from simulator.behaviour import BehaviourSettings, Drivers
from simulator.model import StationSpec
from simulator.station import Clock, Observer, RuntimeSettings, Station
from simulator.stats import FleetStats, LatencyHistogram, ProcessLoad
from simulator.transport import LinkSettings, basic_auth_header, client_ssl_context, station_url

LAG_PROBE_S = 0.05
MAX_ID_TAG_LENGTH = 20  # IdToken is CiString20 (OCPP 1.6 §7.27)


@dataclass(frozen=True, kw_only=True)
class TlsFiles:
    """TLS for ``wss://`` as files, so that settings cross a process boundary (an SSLContext does not pickle):
    ``ca_file`` to verify the CSMS (else the system's trust store), ``cert_file``/``key_file`` for the client
    certificate of security profile 3, ``verify`` False to accept any CSMS certificate (a lab only)."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True


@dataclass(frozen=True, kw_only=True)
class FleetSettings:
    """What the stations of a fleet are and how they reach the CSMS.

    Station ``index`` (0-based over the whole run, across processes and machines) is named
    ``{id_prefix}{index:05d}`` and its connector ``c`` presents the token ``{token_prefix}{index}-{c}``.
    ``config``: configuration key overrides of every station (OCPP 1.6 §9.1), MeterValueSampleInterval for one.
    """

    endpoint_url: str
    stations: int = 1
    first_index: int = 0
    id_prefix: str = "LOAD-"
    station_ids: tuple[str, ...] = ()  # given ids instead of generated ones (``sim --id``)
    token_prefix: str = "T"
    connectors: int = 1
    password: str | None = None
    tls: TlsFiles | None = None
    connect_timeout_s: float = 10.0
    compression: bool = False
    ramp_s: float = 0.0
    seed: int = 0
    config: tuple[tuple[str, str], ...] = ()
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    behaviour: BehaviourSettings | None = None

    def station_id(self, index: int) -> str:
        if self.station_ids:
            return self.station_ids[index - self.first_index]
        return f"{self.id_prefix}{index:05d}"

    def token_id(self, index: int, connector_id: int) -> str:
        return f"{self.token_prefix}{index}-{connector_id}"

    def indexes(self) -> range:
        return range(self.first_index, self.first_index + self.stations)

    def problems(self) -> list[str]:
        found = []
        if self.stations < 1:
            found.append("there must be at least one station")
        if self.connectors < 1:
            found.append("a station has at least one connector")
        if not self.endpoint_url.startswith(("ws://", "wss://")):
            found.append(f"the CSMS URL must be ws:// or wss://, got {self.endpoint_url!r}")
        if self.station_ids and len(self.station_ids) != self.stations:
            found.append("give one station id per station")
        last = self.first_index + self.stations - 1
        if len(self.token_id(last, self.connectors)) > MAX_ID_TAG_LENGTH:
            found.append(f"token ids such as {self.token_id(last, self.connectors)!r} exceed 20 characters")
        return found

    def sliced(self, first_index: int, stations: int) -> FleetSettings:
        """The part of the fleet one process runs."""
        ids = self.station_ids[first_index - self.first_index : first_index - self.first_index + stations]
        return replace(self, first_index=first_index, stations=stations, station_ids=ids)


def tls_context(settings: FleetSettings) -> ssl.SSLContext | None:
    """One TLS context for a whole fleet (each holds the trust store: hundreds of kilobytes); None for ws://."""
    if not settings.endpoint_url.startswith("wss://"):
        return None
    tls = settings.tls or TlsFiles()
    return client_ssl_context(ca_file=tls.ca_file, cert_file=tls.cert_file, key_file=tls.key_file, verify=tls.verify)


def build_station(
    settings: FleetSettings,
    index: int,
    *,
    clock: Clock,
    observer: Observer,
    rng: random.Random,
    ssl_context: ssl.SSLContext | None,
) -> Station:
    """Station ``index`` of the fleet, with its driver when the fleet has a behaviour."""
    station_id = settings.station_id(index)
    spec = StationSpec(station_id=station_id, connectors=settings.connectors, config=dict(settings.config))
    link = LinkSettings(
        url=station_url(settings.endpoint_url, station_id),
        headers={} if settings.password is None else basic_auth_header(station_id, settings.password),
        ssl_context=ssl_context,
        connect_timeout_s=settings.connect_timeout_s,
        compression=settings.compression,
    )
    behaviour = None
    if settings.behaviour is not None:
        behaviour = Drivers(
            settings.behaviour,
            seed=settings.seed,
            station_index=index,
            connectors=settings.connectors,
            token_for=lambda connector_id: settings.token_id(index, connector_id),
            now=clock.now(),
        )
    return Station(
        spec, link=link, clock=clock, settings=settings.runtime, observer=observer, behaviour=behaviour, rng=rng
    )


@dataclass
class Progress:
    """A snapshot for the progress line: since the start, and over the last interval."""

    elapsed_s: float
    started: int
    connected: int
    calls: int
    errors: int
    interval_calls: int
    interval_s: float
    interval_latency: LatencyHistogram
    interval_lag: LatencyHistogram
    interval_cpu_share: float


class Fleet:
    """The stations of ``settings`` in this process. ``await fleet.run(duration_s=...)`` starts them over the
    ramp, lets them run, stops them cleanly (each delivers what it can, then closes) and fills ``stats``."""

    def __init__(self, settings: FleetSettings, *, stats: FleetStats | None = None, clock: Clock | None = None) -> None:
        problems = settings.problems()
        if problems:
            raise ValueError("; ".join(problems))
        self.settings = settings
        self.stats = stats if stats is not None else FleetStats()
        self.clock = clock or Clock()
        rng = random.Random(settings.seed * 1_000_003 + settings.first_index)
        context = tls_context(settings)
        self.stations = [
            build_station(settings, index, clock=self.clock, observer=self.stats, rng=rng, ssl_context=context)
            for index in settings.indexes()
        ]
        self._by_id = {station.station_id: station for station in self.stations}
        self._stop = asyncio.Event()
        self._load = ProcessLoad()
        self._started = 0

    def station(self, station_id: str) -> Station:
        station = self._by_id.get(station_id)
        if station is None:
            raise KeyError(f"no station {station_id!r} in this fleet")
        return station

    def stop(self) -> None:
        """Stop every station cleanly (Ctrl-C, the end of the run)."""
        self._stop.set()

    @property
    def started(self) -> int:
        return self._started

    async def run(
        self,
        *,
        duration_s: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        progress_every_s: float = 1.0,
    ) -> FleetStats:
        wall0, cpu0 = time.monotonic(), time.process_time()
        async with asyncio.TaskGroup() as group:
            monitor = group.create_task(self._monitor(on_progress, progress_every_s, wall0))
            tasks = []
            count = len(self.stations)
            for number, station in enumerate(self.stations):
                if self._stop.is_set():
                    break
                tasks.append(group.create_task(station.run(), name=station.station_id))
                self._started += 1
                if self.settings.ramp_s > 0 and number + 1 < count:
                    delay = wall0 + self.settings.ramp_s * (number + 1) / count - time.monotonic()
                    if delay > 0:
                        await self._stopped_within(delay)
            await self._stopped_within(None if duration_s is None else wall0 + duration_s - time.monotonic())
            for station in self.stations:
                station.stop()
            await asyncio.gather(*tasks)
            monitor.cancel()
        self._load.wall_s = time.monotonic() - wall0
        self._load.cpu_s = time.process_time() - cpu0
        self.stats.processes.append(self._load)
        return self.stats

    async def _stopped_within(self, timeout_s: float | None) -> None:
        """Wait for :meth:`stop`, or ``timeout_s`` (None: for ever)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=None if timeout_s is None else max(0.0, timeout_s))

    async def _monitor(self, on_progress: Callable[[Progress], None] | None, every_s: float, wall0: float) -> None:
        """Event-loop lag: how late a 50 ms sleep wakes up (the delay every frame and timer of this process
        suffered too); CPU share of the process per interval."""
        loop = asyncio.get_running_loop()
        interval_lag = LatencyHistogram()
        last_report = time.monotonic()
        last_cpu = time.process_time()
        last_calls = 0
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_PROBE_S)
            lag_s = max(0.0, loop.time() - before - LAG_PROBE_S)
            self._load.lag.record(lag_s)
            interval_lag.record(lag_s)
            now = time.monotonic()
            if on_progress is None or now - last_report < every_s:
                continue
            interval_latency, self.stats.window = self.stats.window, LatencyHistogram()
            calls = self.stats.calls()
            cpu = time.process_time()
            on_progress(
                Progress(
                    elapsed_s=now - wall0,
                    started=self._started,
                    connected=sum(1 for station in self.stations if station.state == "connected"),
                    calls=calls,
                    errors=sum(self.stats.errors().values()),
                    interval_calls=calls - last_calls,
                    interval_s=now - last_report,
                    interval_latency=interval_latency,
                    interval_lag=interval_lag,
                    interval_cpu_share=(cpu - last_cpu) / (now - last_report),
                )
            )
            interval_lag = LatencyHistogram()
            last_report, last_cpu, last_calls = now, cpu, calls
