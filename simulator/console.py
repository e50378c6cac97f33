"""``ocpp-harness sim``: one or many simulated stations against any CSMS, headless.

A person at the charger types at the console (``plug 1``, ``token 1 TAG``, ``unplug 1``, ``fault 1``,
``offline``, ...); a script uses the control API on loopback (``GET /stations``, ``POST /stations/{id}/act``,
``POST /stop``); the seeded generator of ``load`` can drive the sessions instead (``--generate``). Each
exchange is a status line (with many stations, a summary line every few seconds instead). Ctrl-C, ``quit`` or
``POST /stop`` stop cleanly: running transactions are stopped (reason Local) and delivered while the CSMS can be
reached; what stays queued is listed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from simulator.fleet import Fleet, FleetSettings
from simulator.load import CsmsApi, api_problem, provision
from simulator.station import Station
from simulator.stats import FleetStats

HELP = """commands (connector defaults to 1; '@ID' before a command picks a station, 'use ID' for the rest):
  plug [C]              cable in                    unplug [C]          cable out
  token [C] [IDTAG]     present a token (start or stop; default: the connector's own token)
  fault [C] [CODE]      a hardware fault (OtherError) clear [C]           clear it
  offline / online      network lost / back         reboot              power cycle
  status                every station               quit                stop cleanly and exit"""
_SUMMARY_EVERY_S = 10.0
_VERBOSE_STATIONS = 10


class _Printing(FleetStats):
    """FleetStats that also print each event, for a handful of stations."""

    def __init__(self, say: Callable[[str], None], *, verbose: bool) -> None:
        super().__init__()
        self._say = say
        self._verbose = verbose

    def exchange(self, station_id: str, action: str, outcome: str, latency_s: float | None) -> None:
        super().exchange(station_id, action, outcome, latency_s)
        if self._verbose:
            took = "" if latency_s is None else f" in {latency_s * 1000:.1f} ms"
            self._say(f"{station_id}: {action} -> {outcome}{took}")

    def connection(self, station_id: str, event: str) -> None:
        super().connection(station_id, event)
        if self._verbose:
            self._say(f"{station_id}: connection {event}")

    def csms_call(self, station_id: str, action: str, outcome: str) -> None:
        super().csms_call(station_id, action, outcome)
        if self._verbose:
            self._say(f"{station_id}: CSMS sent {action} <- {outcome}")


def status_line(station: Station) -> str:
    status = station.status()
    connectors = ", ".join(
        f"{index}:{state}" + (f" tx {tx}" if tx is not None else "")
        for index, (state, tx) in enumerate(status.connectors, start=1)
    )
    return (
        f"{status.station_id}: {status.state}, {status.registration or 'not registered'}; {connectors}; "
        f"queued {status.queued}; last: {status.last_event}"
    )


class Console:
    """The person at the chargers: commands in, status out."""

    def __init__(self, fleet: Fleet, say: Callable[[str], None]) -> None:
        self.fleet = fleet
        self.say = say
        self.current = fleet.stations[0].station_id
        self.quit = asyncio.Event()

    def command(self, line: str) -> None:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            self.say(f"? {exc}")
            return
        if not words:
            return
        station_id = self.current
        if words[0].startswith("@"):
            station_id, words = words[0][1:], words[1:]
        if not words:
            return
        verb, rest = words[0].lower(), words[1:]
        try:
            self._run(verb, rest, station_id)
        except (ValueError, KeyError) as exc:
            self.say(f"? {exc.args[0] if exc.args else exc}")

    def _run(self, verb: str, rest: list[str], station_id: str) -> None:
        if verb in ("help", "?"):
            self.say(HELP)
        elif verb in ("quit", "exit"):
            self.quit.set()
        elif verb == "status":
            for station in self.fleet.stations:
                self.say(status_line(station))
        elif verb == "use":
            self.fleet.station(rest[0])
            self.current = rest[0]
            self.say(f"now at {self.current}")
        else:
            station = self.fleet.station(station_id)
            name, arguments = self._act(verb, rest, station_id)
            station.act(name, **arguments)
            self.say(status_line(station))

    def _act(self, verb: str, rest: list[str], station_id: str) -> tuple[str, dict[str, Any]]:
        connector = int(rest[0]) if rest and rest[0].isdigit() else 1
        extra = rest[1:] if rest and rest[0].isdigit() else rest
        if verb == "plug":
            return "plug", {"connector_id": connector}
        if verb == "unplug":
            return "unplug", {"connector_id": connector}
        if verb == "token":
            index = [s.station_id for s in self.fleet.stations].index(station_id) + self.fleet.settings.first_index
            tag = extra[0] if extra else self.fleet.settings.token_id(index, connector)
            return "present_token", {"connector_id": connector, "id_tag": tag}
        if verb == "fault":
            return "fault", {"connector_id": connector, "error_code": extra[0] if extra else "OtherError"}
        if verb == "clear":
            return "clear_fault", {"connector_id": connector}
        if verb == "offline":
            return "go_offline", {}
        if verb == "online":
            return "go_online", {}
        if verb == "reboot":
            return "power_cycle", {}
        raise ValueError(f"unknown command {verb!r}; 'help' lists them")


def _control_app(fleet: Fleet, console: Console) -> web.Application:
    """The control API: what the console does, for scripts (JSON in, JSON out)."""

    async def stations(request: web.Request) -> web.Response:
        return web.json_response([station.status().as_json() for station in fleet.stations])

    async def one(request: web.Request) -> web.Response:
        try:
            station = fleet.station(request.match_info["station_id"])
        except KeyError as exc:
            return web.json_response({"error": str(exc.args[0])}, status=404)
        return web.json_response(station.status().as_json())

    async def act(request: web.Request) -> web.Response:
        try:
            station = fleet.station(request.match_info["station_id"])
        except KeyError as exc:
            return web.json_response({"error": str(exc.args[0])}, status=404)
        try:
            body = await request.json()
            name = body.pop("act")
            station.act(str(name), **body)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=400)
        return web.json_response(station.status().as_json())

    async def stop(request: web.Request) -> web.Response:
        console.quit.set()
        return web.json_response({"stopping": True})

    app = web.Application()
    app.router.add_get("/stations", stations)
    app.router.add_get("/stations/{station_id}", one)
    app.router.add_post("/stations/{station_id}/act", act)
    app.router.add_post("/stop", stop)
    return app


async def _read_lines(console: Console) -> None:
    """Console lines from stdin without a thread (add_reader): a blocked reader thread would outlive Ctrl-C.
    End of input does not stop the stations (a daemon with the control API reads nothing)."""
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    buffered = b""
    readable = asyncio.Event()
    blocking = os.get_blocking(fd)
    os.set_blocking(fd, False)  # a readiness callback may come after the data was read: never block the loop
    loop.add_reader(fd, readable.set)
    try:
        while True:
            await readable.wait()
            readable.clear()
            try:
                chunk = os.read(fd, 4096)
            except BlockingIOError:
                continue
            if not chunk:
                return
            buffered += chunk
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                console.command(line.decode("utf-8", "replace").strip())
    finally:
        loop.remove_reader(fd)
        os.set_blocking(fd, blocking)


async def _summaries(fleet: Fleet, say: Callable[[str], None]) -> None:
    while True:
        await asyncio.sleep(_SUMMARY_EVERY_S)
        states = [station.state for station in fleet.stations]
        charging = sum(1 for s in fleet.stations for tx in s.status().connectors if tx[1] is not None)
        errors = sum(fleet.stats.errors().values())
        say(
            f"{states.count('connected')}/{len(states)} connected, {charging} transaction(s) running, "
            f"{fleet.stats.calls()} CALLs, {errors} error(s)"
        )


async def run_sim(settings: FleetSettings, *, api: CsmsApi | None, control_host: str, control_port: int | None,
                  console_input: bool) -> int:  # fmt: skip
    def say(text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)

    if api is not None:
        problem = await api_problem(api)
        if problem is None:
            problems = await provision(api, settings)
            say(f"provisioned {settings.stations} station(s) at {api.url}" + (f" ({problems[0]})" if problems else ""))
        else:
            say(f"{problem}: stations not provisioned")
    stats = _Printing(say, verbose=settings.stations <= _VERBOSE_STATIONS)
    fleet = Fleet(settings, stats=stats)
    console = Console(fleet, say)
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, console.quit.set)
        loop.add_signal_handler(signal.SIGTERM, console.quit.set)
    runner: web.AppRunner | None = None
    async with asyncio.TaskGroup() as group:
        if control_port is not None:
            runner = web.AppRunner(_control_app(fleet, console))
            await runner.setup()
            sock = socket.create_server((control_host, control_port))
            await web.SockSite(runner, sock).start()
            host, port = sock.getsockname()[:2]
            say(f"control API on http://{host}:{port} (GET /stations, POST /stations/{{id}}/act, POST /stop)")
        fleet_task = group.create_task(fleet.run())
        helpers = [group.create_task(_summaries(fleet, say))]
        if console_input:
            helpers.append(group.create_task(_read_lines(console)))
            say(f"{len(fleet.stations)} station(s) against {settings.endpoint_url}; 'help' lists the commands")
        await console.quit.wait()
        say("stopping: running transactions are stopped and delivered while the CSMS can be reached")
        fleet.stop()
        await fleet_task
        for helper in helpers:
            helper.cancel()
    if runner is not None:
        await runner.cleanup()
    for station in fleet.stations:
        say(status_line(station))
    undelivered = stats.undelivered
    if undelivered:
        say("not delivered: " + ", ".join(f"{count} {action}" for action, count in sorted(undelivered.items())))
        for station in fleet.stations:
            for action, payload in station.model.queued():
                say(f"  {station.station_id}: {action} {json.dumps(payload, separators=(',', ':'))}")
        return 1
    say(f"stopped cleanly: {stats.calls()} CALLs, nothing left undelivered")
    return 0


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    from simulator.frontend import add_behaviour_arguments, add_connection_arguments

    add_connection_arguments(parser)
    add_behaviour_arguments(parser, sessions_per_hour=0.0)
    group = parser.add_argument_group("the stations")
    group.add_argument("--id", action="append", dest="ids", help="station id (repeatable; default SIM-00000...)")
    group.add_argument("--stations", type=int, help="how many stations (default: one, or one per --id)")
    group.add_argument("--id-prefix", default="SIM-", help="generated station ids are PREFIX00000, ... (SIM-)")
    group.add_argument("--token-prefix", default="T", help="connector c of station i presents PREFIXi-c (T)")
    group.add_argument("--control-port", type=int, help="serve the control API on this port (0: any free one)")
    group.add_argument("--control-host", default="127.0.0.1", help="control API address (loopback)")
    group.add_argument("--no-console", action="store_true", help="do not read commands from standard input")


def sim_command(args: argparse.Namespace) -> int:
    from simulator.frontend import EXIT_USAGE, api_of, fleet_settings

    ids = tuple(args.ids or ())
    count = args.stations or len(ids) or 1
    if ids and count != len(ids):
        print("error: give --stations or --id, not both with different counts", file=sys.stderr)
        return EXIT_USAGE
    args.ramp = 0.0
    settings = fleet_settings(args, stations=count, ids=ids)
    problems = settings.problems()
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(
        run_sim(
            settings,
            api=api_of(args),
            control_host=args.control_host,
            control_port=args.control_port,
            console_input=not args.no_console,
        )
    )
