"""Locust users that are simulated charge points: ``ocpp-harness load`` past one machine.

Locust gives the distribution (a master, workers on other machines, its web UI, CSV files and merged
statistics); each user is one station of :mod:`simulator.fleet`, built and run exactly as in a local load run,
with the same seeded drivers, on an asyncio event loop in a thread of each worker process. A worker runs
without gevent's monkey-patching (``LOCUST_SKIP_MONKEY_PATCH``, which ``ocpp-harness load --locust worker``
sets): the stations use asyncio and the real socket module, and what a worker needs of Locust (ZeroMQ to the
master, greenlets for the users) is gevent-native. The master runs no station and keeps Locust as it is (its
headless wait for workers sleeps through the patched ``time.sleep``). Every CALL's outcome becomes a Locust
request of type ``OCPP`` named after its action, with the response time measured from the write of the CALL to
the receipt of its answer; a CALLERROR, a timeout or a lost connection is a failure; failed connection attempts
are requests of type ``WS``.

Station ``i`` of worker ``w`` has the index ``w * 100000 + i``; when ``--ocpp-api-url`` is given (the bundled
CSMS's API), each station and its tokens are provisioned there before it connects.

Run it through ``ocpp-harness load --locust master|worker`` (see ``docs/benchmarks.md``), or directly::

    locust -f simulator/locustfile.py --master --host ws://csms:9000/ocpp
    LOCUST_SKIP_MONKEY_PATCH=1 locust -f simulator/locustfile.py --worker --master-host MASTER
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import random
import threading
from typing import Any

import gevent
import gevent.monkey
from locust import User, constant, events, task
from locust.env import Environment

from simulator.behaviour import BehaviourSettings
from simulator.fleet import FleetSettings, build_station, tls_context
from simulator.load import API_TOKEN_ENV, CsmsApi, provision
from simulator.station import Clock, RuntimeSettings, Station
from simulator.stats import RESULT

STATIONS_PER_WORKER = 100_000
_PUMP_EVERY_S = 0.2


class _Reports:
    """An Observer that queues what the stations report (from the asyncio thread) for Locust's greenlet to
    fire; a deque's append and popleft are thread-safe."""

    def __init__(self) -> None:
        self.queue: collections.deque[tuple[str, str, float, str | None]] = collections.deque()

    def exchange(self, station_id: str, action: str, outcome: str, latency_s: float | None) -> None:
        failure = None if outcome == RESULT else outcome
        self.queue.append(("OCPP", action, (latency_s or 0.0) * 1000, failure))

    def connection(self, station_id: str, event: str) -> None:
        if event.startswith("failed"):
            self.queue.append(("WS", "connect", 0.0, event))

    def csms_call(self, station_id: str, action: str, outcome: str) -> None:
        return None

    def transaction(self, station_id: str, transaction_id: int, *, stopped: bool) -> None:
        return None

    def stopped_with(self, station_id: str, queued: tuple[tuple[str, dict[str, Any]], ...]) -> None:
        for action, _ in queued:
            self.queue.append(("OCPP", action, 0.0, "undelivered at the stop"))

    def pump(self, environment: Environment) -> None:
        fire = environment.events.request.fire
        while self.queue:
            request_type, name, response_ms, failure = self.queue.popleft()
            fire(
                request_type=request_type,
                name=name,
                response_time=response_ms,
                response_length=0,
                exception=None if failure is None else RuntimeError(failure),
                context={},
            )


class _Host:
    """The asyncio event loop of this worker process, in a thread of its own, and what the users share."""

    def __init__(self, environment: Environment) -> None:
        if gevent.monkey.is_module_patched("socket"):
            raise RuntimeError(
                "the stations run on asyncio and need the real socket module: start Locust workers with "
                "LOCUST_SKIP_MONKEY_PATCH=1, or through `ocpp-harness load --locust worker`"
            )
        self.environment = environment
        self.reports = _Reports()
        self.loop = asyncio.new_event_loop()
        self.clock = Clock()
        self.rng = random.Random()
        self.numbers = itertools.count()
        self._thread = threading.Thread(target=self.loop.run_forever, name="ocpp-stations", daemon=True)
        self._thread.start()
        self._pump = gevent.spawn(self._pumping)
        self._context: Any = None

    def _pumping(self) -> None:
        while True:
            gevent.sleep(_PUMP_EVERY_S)
            self.reports.pump(self.environment)

    def options(self) -> Any:
        options = self.environment.parsed_options
        assert options is not None, "Locust parses its options before any user starts"
        return options

    def settings(self) -> FleetSettings:
        options = self.options()
        interval_s = options.ocpp_meter_interval_s
        config = (("MeterValueSampleInterval", str(interval_s)),) if interval_s else ()
        return FleetSettings(
            endpoint_url=self.environment.host or "",
            id_prefix=options.ocpp_id_prefix,
            token_prefix=options.ocpp_token_prefix,
            connectors=options.ocpp_connectors,
            password=options.ocpp_password or None,
            seed=options.ocpp_seed,
            config=config,
            runtime=RuntimeSettings(response_timeout_s=options.ocpp_response_timeout_s),
            behaviour=BehaviourSettings(
                sessions_per_hour=options.ocpp_sessions_per_hour or None, session_s=options.ocpp_session_s
            ),
        )

    def station_index(self) -> int:
        runner = self.environment.runner
        worker = getattr(runner, "worker_index", 0) or 0
        return worker * STATIONS_PER_WORKER + next(self.numbers)

    def start(self, settings: FleetSettings, index: int) -> tuple[Station, threading.Event]:
        """Build station ``index`` and run it on the loop; the event is set once it has stopped."""
        done = threading.Event()
        if self._context is None:
            self._context = tls_context(settings)
        station = build_station(
            settings,
            index,
            clock=self.clock,
            observer=self.reports,
            rng=self.rng,
            ssl_context=self._context,
        )
        api_url = self.options().ocpp_api_url

        async def run() -> None:
            try:
                if api_url:
                    api = CsmsApi(api_url.rstrip("/"), os.environ.get(API_TOKEN_ENV) or None)
                    problems = await provision(api, settings.sliced(index, 1))
                    for problem in problems:
                        self.reports.queue.append(("API", "provision", 0.0, problem))
                await station.run()
            finally:
                done.set()

        asyncio.run_coroutine_threadsafe(run(), self.loop)
        return station, done


_HOST = "_ocpp_harness_host"  # the environment's attribute holding its _Host (none on a master)


def _host(environment: Environment, *, create: bool = True) -> _Host | None:
    """The stations' host of this Locust environment, started with its first user."""
    host: _Host | None = getattr(environment, _HOST, None)
    if host is None and create:
        host = _Host(environment)
        setattr(environment, _HOST, host)
    return host


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    group = parser.add_argument_group("ocpp-harness stations")
    group.add_argument("--ocpp-connectors", type=int, default=1, help="connectors per station")
    group.add_argument("--ocpp-seed", type=int, default=0, help="seed of the drivers")
    group.add_argument("--ocpp-sessions-per-hour", type=float, default=2.0, help="per connector")
    group.add_argument("--ocpp-session-s", type=float, default=600.0, help="mean charging time")
    group.add_argument("--ocpp-meter-interval-s", type=int, default=60, help="MeterValueSampleInterval")
    group.add_argument("--ocpp-response-timeout-s", type=float, default=30.0, help="wait for an answer")
    group.add_argument("--ocpp-id-prefix", default="LOAD-", help="station id prefix")
    group.add_argument("--ocpp-token-prefix", default="T", help="token id prefix")
    group.add_argument("--ocpp-password", default="", help="Basic auth password of every station")
    group.add_argument("--ocpp-api-url", default="", help="bundled-CSMS API: provision stations and tokens")


@events.test_stopping.add_listener
def _flush_on_stopping(environment: Environment, **_: Any) -> None:
    host = _host(environment, create=False)
    if host is not None:
        host.reports.pump(environment)


class ChargePointUser(User):
    """One simulated charge point: it connects when the user starts and stops cleanly when the user stops
    (transactions stopped, queue delivered while possible, closing handshake)."""

    wait_time = constant(1)

    def on_start(self) -> None:
        host = _host(self.environment)
        assert host is not None
        settings = host.settings()
        self._station, self._done = host.start(settings, host.station_index())

    @task
    def charge(self) -> None:
        """The station lives on the asyncio loop; the user only keeps it for as long as Locust wants."""
        host = _host(self.environment, create=False)
        if host is not None:
            host.reports.pump(self.environment)

    def on_stop(self) -> None:
        host = _host(self.environment, create=False)
        if host is None:
            return
        host.loop.call_soon_threadsafe(self._station.stop)
        while not self._done.is_set():
            gevent.sleep(0.05)
        host.reports.pump(self.environment)
