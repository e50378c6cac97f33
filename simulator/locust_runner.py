"""``ocpp-harness load --locust master|worker``: Locust started with this project's locustfile and the load
options turned into Locust's (``--host``, ``--users``, ``--spawn-rate``, ``--run-time``) and the locustfile's
own (``--ocpp-*``); whatever follows ``--`` goes to Locust as it is (``--headless``, ``--expect-workers 2``,
``--csv out/locust``, ``--master-host``, ...).

The master's options reach the workers through Locust (custom arguments travel with each spawn message), so a
worker needs only ``--master-host``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def locust_command(args: argparse.Namespace) -> list[str]:
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
    passed = [arg for arg in (args.locust_args or []) if arg != "--"]
    if args.locust == "worker":
        return [*command, "--worker", *passed]
    spawn_rate = args.stations / args.ramp if args.ramp > 0 else args.stations
    command += [
        "--master",
        "--host",
        args.url,
        "--users",
        str(args.stations),
        "--spawn-rate",
        f"{spawn_rate:g}",
        "--run-time",
        f"{max(1, round(args.duration))}s",
        "--stop-timeout",
        "30",
        "--ocpp-connectors",
        str(args.connectors),
        "--ocpp-seed",
        str(args.seed),
        "--ocpp-sessions-per-hour",
        f"{args.sessions_per_hour or 0:g}",
        "--ocpp-session-s",
        f"{args.session_s:g}",
        "--ocpp-meter-interval-s",
        str(args.meter_interval_s),
        "--ocpp-response-timeout-s",
        f"{args.response_timeout_s:g}",
        "--ocpp-id-prefix",
        args.id_prefix,
        "--ocpp-token-prefix",
        args.token_prefix,
    ]
    if args.password:
        command += ["--ocpp-password", args.password]
    if args.api_url not in ("none", "auto"):
        command += ["--ocpp-api-url", args.api_url]
    elif args.api_url == "auto":
        from simulator.load import default_api_url

        command += ["--ocpp-api-url", default_api_url(args.url)]
    return [*command, *passed]


def run_locust(args: argparse.Namespace) -> int:
    """A worker runs its stations on asyncio, without gevent's monkey-patching; the master keeps it."""
    from simulator.load import API_TOKEN_ENV

    environment = dict(os.environ)
    if args.api_token:  # to the workers through their environment: a token on a command line is visible to ps
        environment[API_TOKEN_ENV] = args.api_token
    if args.locust == "worker":
        environment["LOCUST_SKIP_MONKEY_PATCH"] = "1"
    try:
        return subprocess.run(locust_command(args), env=environment, check=False).returncode
    except KeyboardInterrupt:
        return 130
