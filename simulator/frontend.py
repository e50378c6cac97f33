"""The command lines of ``ocpp-harness sim`` and ``ocpp-harness load``: arguments to settings, then the run.

``harness/cli.py`` stays thin: it adds these arguments to its subcommands and calls :func:`load_command` or
:func:`sim_command` (the load report's HTML is drawn by the harness's report package, handed in as a function,
since the simulator does not import the harness).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulator.behaviour import BehaviourSettings
from simulator.fleet import FleetSettings, TlsFiles
from simulator.load import API_TOKEN_ENV, CsmsApi, FleetProgress, LoadSettings, default_api_url, run_load, summary
from simulator.station import RuntimeSettings

DEFAULT_URL = "ws://127.0.0.1:9000/ocpp"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _rate(text: str) -> float | None:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("a rate cannot be negative")
    return value or None


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("the CSMS")
    group.add_argument("--url", default=DEFAULT_URL, help=f"websocket endpoint without the station id ({DEFAULT_URL})")
    group.add_argument(
        "--api-url",
        default="auto",
        help="an API like the bundled CSMS's, to provision stations and tokens and reconcile transactions: a URL, "
        "'auto' (http(s)://host:port of --url, used when it answers GET /api/settings) or 'none'",
    )
    group.add_argument(
        "--api-token",
        default=None,
        help=f"bearer token of that API (default: ${API_TOKEN_ENV}; the bundled CSMS prints its own at start)",
    )
    group.add_argument("--password", help="HTTP Basic auth password of every station (security profiles 1 and 2)")
    group.add_argument("--ca-file", help="wss://: CA certificates to verify the CSMS (default: the system's)")
    group.add_argument("--cert-file", help="wss://: client certificate (security profile 3)")
    group.add_argument("--key-file", help="wss://: key of the client certificate")
    group.add_argument("--insecure", action="store_true", help="wss://: accept any CSMS certificate (a lab only)")
    group.add_argument("--connectors", type=int, default=1, help="connectors per station (1)")
    group.add_argument("--response-timeout-s", type=float, default=30.0, help="wait for an answer (30 s)")
    group.add_argument("--heartbeat-s", type=int, help="heartbeat interval instead of the one the CSMS gives")
    group.add_argument("--meter-interval-s", type=int, default=60, help="MeterValueSampleInterval (60 s; 0: none)")
    group.add_argument("--validate", action="store_true", help="check every CSMS answer against its 1.6 schema")
    group.add_argument("--compression", action="store_true", help="offer permessage-deflate (about 50 KB a station)")


def add_behaviour_arguments(parser: argparse.ArgumentParser, *, sessions_per_hour: float) -> None:
    group = parser.add_argument_group("the drivers (seeded)")
    group.add_argument("--seed", type=int, default=0, help="same seed, same decisions (0)")
    group.add_argument(
        "--sessions-per-hour", type=_rate, default=sessions_per_hour, help=f"per connector ({sessions_per_hour:g})"
    )
    group.add_argument("--session-s", type=float, default=600.0, help="mean charging time (600 s)")
    group.add_argument("--faults-per-hour", type=_rate, default=0.0, help="per station (0)")
    group.add_argument("--fault-s", type=float, default=30.0, help="how long a fault lasts (30 s)")
    group.add_argument("--offline-per-hour", type=_rate, default=0.0, help="network losses per station (0)")
    group.add_argument("--offline-s", type=float, default=20.0, help="how long a network loss lasts (20 s)")


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(parser)
    add_behaviour_arguments(parser, sessions_per_hour=2.0)
    group = parser.add_argument_group("the fleet")
    group.add_argument("--stations", type=int, default=100, help="stations (100)")
    group.add_argument("--duration", type=float, default=60.0, help="seconds from the first connection (60)")
    group.add_argument("--ramp", type=float, default=10.0, help="seconds over which the stations connect (10)")
    group.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="generator processes (one per core)")
    group.add_argument("--id-prefix", default="LOAD-", help="station ids are PREFIX00000, PREFIX00001, ... (LOAD-)")
    group.add_argument("--token-prefix", default="T", help="connector c of station i presents PREFIXi-c (T)")
    group.add_argument("--out", help="folder for load.json and load.html (default: reports/load-<time>)")
    group.add_argument(
        "--locust",
        choices=("master", "worker"),
        help="run on Locust instead, past one machine: this machine is its master (web UI, CSV) or a worker; "
        "arguments after -- go to Locust",
    )


def api_of(args: argparse.Namespace) -> CsmsApi | None:
    if args.api_url == "none":
        return None
    url = default_api_url(args.url) if args.api_url == "auto" else str(args.api_url).rstrip("/")
    return CsmsApi(url, args.api_token or os.environ.get(API_TOKEN_ENV) or None)


def fleet_settings(args: argparse.Namespace, *, stations: int, ids: tuple[str, ...] = ()) -> FleetSettings:
    config = []
    if args.meter_interval_s:
        config.append(("MeterValueSampleInterval", str(args.meter_interval_s)))
    behaviour = None
    if (
        getattr(args, "sessions_per_hour", None)
        or getattr(args, "faults_per_hour", None)
        or getattr(args, "offline_per_hour", None)
    ):
        behaviour = BehaviourSettings(
            sessions_per_hour=args.sessions_per_hour,
            session_s=args.session_s,
            faults_per_hour=args.faults_per_hour,
            fault_s=args.fault_s,
            offline_per_hour=args.offline_per_hour,
            offline_s=args.offline_s,
        )
    tls = None
    if args.url.startswith("wss://"):
        tls = TlsFiles(ca_file=args.ca_file, cert_file=args.cert_file, key_file=args.key_file, verify=not args.insecure)
    return FleetSettings(
        endpoint_url=args.url,
        stations=stations,
        station_ids=ids,
        id_prefix=getattr(args, "id_prefix", "SIM-"),
        token_prefix=getattr(args, "token_prefix", "T"),
        connectors=args.connectors,
        password=args.password,
        tls=tls,
        compression=args.compression,
        ramp_s=getattr(args, "ramp", 0.0),
        seed=args.seed,
        config=tuple(config),
        runtime=RuntimeSettings(
            response_timeout_s=args.response_timeout_s,
            heartbeat_interval_s=args.heartbeat_s,
            validate_answers=args.validate,
        ),
        behaviour=behaviour,
    )


class ProgressPrinter:
    """The progress line: rewritten in place on a terminal, one plain line every ``every_s`` otherwise (a CI
    log gets no carriage returns)."""

    def __init__(self, *, live: bool, every_s: float = 10.0) -> None:
        self._live = live
        self._every_s = every_s
        self._last = -every_s

    def __call__(self, progress: FleetProgress) -> None:
        if self._live:
            print("\r\x1b[K" + progress.line(), end="", flush=True)
        elif progress.elapsed_s - self._last >= self._every_s:
            self._last = progress.elapsed_s
            print(progress.line(), flush=True)

    def done(self) -> None:
        if self._live:
            print(flush=True)


def load_command(args: argparse.Namespace, *, write_html: Callable[[Mapping[str, Any], Path], None]) -> int:
    if args.locust is not None:
        from simulator.locust_runner import run_locust

        return run_locust(args)
    settings = LoadSettings(
        fleet=fleet_settings(args, stations=args.stations),
        duration_s=args.duration,
        processes=max(1, args.processes),
        api=api_of(args),
    )
    problems = settings.fleet.problems()
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.out) if args.out else Path("reports") / ("load-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
    print(
        f"ocpp-harness load: {args.stations} stations x {args.connectors} connectors against {args.url}, "
        f"{args.duration:g} s (ramp {args.ramp:g} s), seed {args.seed}, {settings.processes} process(es)",
        flush=True,
    )
    printer = ProgressPrinter(live=sys.stdout.isatty())
    result = run_load(settings, on_progress=printer)
    printer.done()
    print(summary(result))
    report = result.as_json()
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_html(report, out / "load.html")
    print(f"\nReport: {out}/load.html (and load.json)")
    return EXIT_OK if result.reconciliation.ok else EXIT_FAILED
