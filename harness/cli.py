"""``ocpp-harness`` command line: thin wrappers that build arguments and call the same session as the plugin.

Without paths, ``run`` replays the suite shipped with ocpp-harness (:mod:`harness.suite`); with paths, only those;
``--with-shipped`` adds the shipped suite to them. Without ``--target``, the bundled CSMS is the target.

Exit codes: 0 nothing FAILed or ERRORed; 1 some case FAILed or ERRORed, or a declared deviation passed (or
``validate`` found mistakes, or a ``check`` item failed); 2 bad usage, target file or scenario file; 3 the CSMS
cannot be reached. A FAIL the target file declares as a known deviation does not fail the run.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness.config import Target, load_target
from harness.outcomes import HarnessError, ScenarioError, TargetError
from harness.scenario.model import PROFILES, Scenario
from harness.suite import LOCAL_DEFAULT_TARGET, default_target, display_path, shipped_scenarios, starter_target

if TYPE_CHECKING:
    from harness.session import Case

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
STARTER_PATH = "ocpp-harness.yaml"
SCENARIO_RULE = (
    "Scenarios: without paths, the suite shipped with ocpp-harness; with paths, only those; --with-shipped adds the "
    "shipped suite to them. A scenario's 'use: booted' takes the nearest _states folder at or above it, then the "
    "shipped states."
)
TARGET_HELP = (
    f"target file (default: {LOCAL_DEFAULT_TARGET} if the current directory has one, else the shipped one: the "
    "bundled CSMS, started in-process)"
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ocpp-harness", description="OCPP 1.6J conformance harness for a CSMS")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="replay scenarios against a CSMS described by a target file", epilog=SCENARIO_RULE
    )
    run.add_argument("paths", nargs="*", help="scenario files or folders (default: the shipped suite)")
    run.add_argument("--with-shipped", action="store_true", help="run the shipped suite as well as the given paths")
    run.add_argument("--target", help=TARGET_HELP)
    run.add_argument("--profile", action="append", choices=PROFILES, help="only this profile (repeatable)")
    run.add_argument("-k", dest="keywords", action="append", help="only cases whose id contains this (repeatable)")
    run.add_argument("--out", default="reports", help="report folder; each run writes <out>/<run-id>/")
    run.add_argument(
        "--shuffle",
        type=int,
        metavar="SEED",
        help="run the cases in an order decided by SEED (cases must not depend on each other; the same SEED "
        "repeats the order)",
    )

    validate = commands.add_parser(
        "validate", help="check scenario files, and a target file, without opening a socket", epilog=SCENARIO_RULE
    )
    validate.add_argument("paths", nargs="*", help="scenario files or folders (default: the shipped suite)")
    validate.add_argument("--with-shipped", action="store_true", help="check the shipped suite as well")
    validate.add_argument("--target", help="a target file to check as well")

    init = commands.add_parser(
        "init",
        help="write a commented starter target file",
        description="Write a starter target file: the shipped example, shaped like the 'Vendor Specific Settings' "
        "table of an OCA certificate, with a comment on every field.",
    )
    init.add_argument("path", nargs="?", default=STARTER_PATH, help=f"file to write (default: {STARTER_PATH})")
    init.add_argument("--ws-url", help="websocket URL of the CSMS, without the station id (security profile 1)")
    init.add_argument("--api-url", help="base URL of the CSMS API the driver calls (security profile 1)")
    init.add_argument("--station-id", help="charging station id of the default station")
    init.add_argument("--force", action="store_true", help="overwrite the file if it exists")

    check = commands.add_parser(
        "check", help="pre-flight a target: endpoints, a boot, every driver request tried with harmless values"
    )
    check.add_argument(
        "paths", nargs="*", help="scenario files or folders whose driver requests to check (default: the shipped suite)"
    )
    check.add_argument("--target", required=True, help="target file")

    csms = commands.add_parser("csms", help="run the bundled CSMS")
    csms.add_argument("--host", default="127.0.0.1")
    csms.add_argument("--port", type=int, default=9000)
    csms.add_argument("--db", default="csms.sqlite3", help="SQLite file")
    csms.add_argument(
        "--max-connections",
        type=int,
        help="connections held at once, one more is answered 503 (default: 10,000, below the file-descriptor limit)",
    )
    csms.add_argument(
        "--strict",
        action="store_true",
        help="behave like a strict third-party CSMS (the rules are listed in csms/policy.py)",
    )
    tls = csms.add_argument_group("TLS, security profiles 2 and 3 (csms/tls.py)")
    tls.add_argument("--tls-dir", help="the test PKI `ocpp-harness certs` wrote (e.g. certs/): every file below")
    tls.add_argument("--tls-port", type=int, default=9443, help="wss port of security profile 2 (default: 9443)")
    tls.add_argument("--mtls-port", type=int, default=9444, help="wss port of profile 3, mutual TLS (default: 9444)")
    tls.add_argument("--cert", action="append", default=[], help="server certificate (PEM), repeatable: RSA and ECDSA")
    tls.add_argument("--key", action="append", default=[], help="the key of each --cert, in the same order")
    tls.add_argument("--ca", help="CA that profile-3 client certificates chain to")
    tls.add_argument("--ca-key", help="the key of --ca: the CSMS signs the stations' CSRs with it")
    tls.add_argument("--firmware-signing", nargs=2, default=[], metavar=("CERT", "KEY"), help="signs firmware (L01)")
    tls.add_argument("--cpo-name", help="the O that client certificates and CSRs must contain (A00.FR.404)")
    tls.add_argument(
        "--no-cn-binding", action="store_true", help="accept a client certificate whose CN is not the station's"
    )

    certs = commands.add_parser(
        "certs",
        help="write a test PKI for security profiles 2 and 3 (test material only)",
        description="Write a test PKI: a root CA, the CSMS's RSA and ECDSA server certificates, a client certificate "
        "per profile-3 station, the bad certificates of the negative tests, and a manifest.json describing each file. "
        "Test material only: the keys are not protected.",
    )
    certs.add_argument("--out", default="certs", help="folder to write (default: certs)")
    certs.add_argument(
        "--host",
        dest="hosts",
        action="append",
        help="host stations connect to, repeatable; the first is the server certificates' CN (default: localhost "
        "and 127.0.0.1)",
    )
    certs.add_argument(
        "--cpo-name",
        help="organisation (O) of the certificates, the stations' CpoName (default: ocpp-harness Test CPO)",
    )
    certs.add_argument(
        "--station", dest="stations", action="append", help="profile-3 station id (the CN), repeatable (default: CP_1)"
    )
    certs.add_argument("--force", action="store_true", help="replace a test PKI already in the folder")

    from simulator import frontend

    load = commands.add_parser(
        "load",
        help="a fleet of simulated stations against a CSMS: per-action latency histograms, errors, reconciliation",
        description="Seeded load against any CSMS: a boot storm over --ramp, then heartbeats, sessions "
        "(Authorize, StartTransaction, MeterValues, StopTransaction), faults and network losses at the rates "
        "given; one process per core, or Locust (--locust) past one machine.",
    )
    frontend.add_load_arguments(load)
    load.add_argument("locust_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    from simulator import console

    sim = commands.add_parser(
        "sim",
        help="simulated stations against any CSMS, headless: a console and a control API to act at the charger",
        description="One or many simulated stations against a CSMS URL. Type at the console as a person at the "
        "charger would act (plug, token, unplug, fault, offline, ...; 'help'), or script it through the control "
        "API (--control-port); --sessions-per-hour lets the seeded generator drive sessions. Ctrl-C stops "
        "cleanly.",
    )
    console.add_sim_arguments(sim)

    args = parser.parse_args(argv)
    try:
        if args.command == "sim":
            return console.sim_command(args)
        if args.command == "load":
            from harness.report.load_html import write_load_html

            return frontend.load_command(args, write_html=write_load_html)
        if args.command == "validate":
            return _validate(_scenario_paths(args.paths, with_shipped=args.with_shipped), target=args.target)
        if args.command == "init":
            return _init(args)
        if args.command == "csms":
            return _csms(args)
        if args.command == "certs":
            return _certs(args)
        if args.command == "check":
            return _check(args.target, _scenario_paths(args.paths, with_shipped=False))
        return _run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _scenario_paths(given: Sequence[str], *, with_shipped: bool) -> list[str]:
    """The shipped suite comes first, so a given file that repeats one of its test case ids is the duplicate."""
    shipped = [display_path(shipped_scenarios())] if with_shipped or not given else []
    return [*shipped, *given]


def _validate(paths: Sequence[str], *, target: str | None) -> int:
    from harness.scenario.loader import validate_paths

    missing = [p for p in paths if not Path(p).exists()]
    for path in missing:
        print(f"{path}: no such file or folder", file=sys.stderr)
    problems = [str(problem) for problem in validate_paths([p for p in paths if Path(p).exists()])]
    if target is not None:
        try:
            load_target(target)
        except TargetError as exc:
            problems.append(str(exc))
    for problem in problems:
        print(problem)
    if problems or missing:
        print(f"{len(problems) + len(missing)} problem(s)", file=sys.stderr)
        return EXIT_FAILED
    print("ok")
    return EXIT_OK


def _init(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.exists() and not args.force:
        print(f"error: {path} exists; pass --force to overwrite it", file=sys.stderr)
        return EXIT_USAGE
    if args.ws_url is not None and not args.ws_url.startswith(("ws://", "wss://")):
        print(f"error: --ws-url: expected a ws:// or wss:// URL, got {args.ws_url!r}", file=sys.stderr)
        return EXIT_USAGE
    text = starter_target(ws_url=args.ws_url, api_url=args.api_url, station_id=args.station_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    shown = shlex.quote(str(path))
    print(f"wrote {path}: fill in your CSMS, then check it with `ocpp-harness validate --target {shown}`")
    print(f"and run the suite with `ocpp-harness run --target {shown}`")
    return EXIT_OK


def _csms(args: argparse.Namespace) -> int:
    """The API token comes from ``OCPP_HARNESS_CSMS_TOKEN`` (a target file reads the same variable with
    ``driver.auth.bearer: ${OCPP_HARNESS_CSMS_TOKEN}``), else the CSMS draws one and prints it."""
    import os

    from csms.access import TOKEN_ENV
    from csms.app import serve
    from csms.tls import TlsError, TlsSettings

    host, port = args.host, args.port
    if args.max_connections is not None and args.max_connections < 1:
        print("error: --max-connections must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        tls = TlsSettings.from_options(
            tls_dir=args.tls_dir,
            certificates=args.cert,
            keys=args.key,
            ca=args.ca,
            ca_key=args.ca_key,
            firmware_signing=args.firmware_signing,
            cpo_name=args.cpo_name,
            bind_common_name=not args.no_cn_binding,
        )
    except TlsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        asyncio.run(
            serve(
                host=host,
                port=port,
                db_path=args.db,
                strict=args.strict,
                api_token=os.environ.get(TOKEN_ENV) or None,
                tls=tls,
                tls_port=args.tls_port,
                mtls_port=args.mtls_port,
                max_connections=args.max_connections,
            )
        )
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    return EXIT_OK


def _certs(args: argparse.Namespace) -> int:
    """``ocpp-harness certs``: :func:`csms.pki.write_test_pki`, one summary line, or one error line."""
    from csms import pki

    out = Path(args.out)
    try:
        files = pki.write_test_pki(
            out,
            hosts=args.hosts or pki.DEFAULT_HOSTS,
            cpo_name=pki.DEFAULT_CPO_NAME if args.cpo_name is None else args.cpo_name,
            station_ids=args.stations or pki.DEFAULT_STATION_IDS,
            force=args.force,
        )
    except pki.PkiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"wrote a test PKI in {out}: CA, CSMS server certificates (RSA, ECDSA) for {', '.join(files.hosts)}, "
        f"a firmware signing certificate, {len(files.stations)} station certificate(s), bad/ for the negative tests; "
        f"{files.manifest.name} describes each file. Test material only."
    )
    return EXIT_OK


async def _reachable(target: Target) -> str | None:
    """None when every endpoint the stations use accepts a TCP connection and answers HTTP, else a one-line
    reason."""
    from harness.check import http_probe, tcp_probe

    for station in target.stations.values():
        url = target.endpoint(station).ws_url
        reason = await tcp_probe(url, target.timeouts.connect_s) or await http_probe(url, target.timeouts.connect_s)
        if reason is not None:
            return f"cannot reach the CSMS at {url} (station '{station.role}'): {reason}"
    return None


def _load_scenarios(paths: Sequence[str]) -> list[Scenario] | None:
    """The scenarios of ``paths``; None, with the problems printed, when a path is missing or a file is wrong."""
    from harness.scenario.loader import load_scenarios

    for path in paths:
        if not Path(path).exists():
            print(f"error: {path}: no such file or folder", file=sys.stderr)
            return None
    scenarios, problems = load_scenarios(paths)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"error: {len(problems)} problem(s) in scenario files; nothing was run", file=sys.stderr)
        return None
    return scenarios


def _check(path: str, scenario_paths: Sequence[str]) -> int:
    """``ocpp-harness check``: the pre-flight of :mod:`harness.check`, one verdict line per item."""
    import tempfile

    from harness.check import run_check
    from harness.session import BundledCsms

    try:
        target = load_target(path)
    except TargetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    scenarios = _load_scenarios(scenario_paths)
    if scenarios is None:
        return EXIT_USAGE
    print(f"ocpp-harness check: {target.name} ({target.path})", flush=True)
    with tempfile.TemporaryDirectory(prefix="ocpp-harness-check-") as folder:
        csms = None
        try:
            if target.bundled:
                csms, target = BundledCsms.start_for(target, Path(folder) / "csms.sqlite3")
            result = asyncio.run(run_check(target, scenarios, say=lambda item: print(item, flush=True)))
        except TargetError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        finally:
            if csms is not None:
                csms.stop()
    print(result.summary())
    return result.exit_code


def _run(args: argparse.Namespace) -> int:
    from harness.report.terminal import format_result_line, format_running_line, format_summary_table
    from harness.session import Session, expand, new_run_id, shuffled

    try:
        target = load_target(args.target or default_target())
    except TargetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    scenarios = _load_scenarios(_scenario_paths(args.paths, with_shipped=args.with_shipped))
    if scenarios is None:
        return EXIT_USAGE
    every_case = expand(scenarios, target)
    for unknown in target.unknown_deviations([c.id for c in every_case], [s.id for s in scenarios]):
        print(f"warning: {unknown}", file=sys.stderr)
    if args.profile:
        scenarios = [s for s in scenarios if s.profile in args.profile]
    cases = expand(sorted(scenarios, key=lambda s: (s.path, s.id)), target)
    if args.keywords:
        cases = [c for c in cases if any(k.lower() in c.id.lower() for k in args.keywords)]
    if not cases:
        print("error: no scenario matches the selection", file=sys.stderr)
        return EXIT_USAGE
    if args.shuffle is not None:
        cases = shuffled(cases, args.shuffle)
    if not target.bundled:
        reason = asyncio.run(_reachable(target))
        if reason is not None:
            print(f"error: {reason}", file=sys.stderr)
            return EXIT_UNREACHABLE

    run_id = new_run_id()
    out_dir = Path(args.out) / run_id
    print(f"ocpp-harness: {len(cases)} case(s) against {target.name} ({target.path}); reports in {out_dir}")
    if args.shuffle is not None:
        print(f"order shuffled with seed {args.shuffle} (--shuffle {args.shuffle} repeats it)")
    live = sys.stdout.isatty()  # a CI log gets plain lines: no carriage returns, no escape sequences
    try:
        with Session(target, out_dir=out_dir, run_id=run_id, reproduce=_reproduce(args, target)) as session:
            for done, case in enumerate(cases, start=1):
                if live:
                    print(format_running_line(case.id, done, len(cases)), end="", flush=True)
                result = session.run(case)
                erase = "\r\x1b[K" if live else ""
                print(erase + format_result_line(result, progress=(done, len(cases))), flush=True)
            run = session.finish()
    except (HarnessError, ScenarioError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE if isinstance(exc, HarnessError) else EXIT_USAGE
    print()
    print(format_summary_table(run))
    print(f"\nReports: {out_dir}/summary.html (also summary.md, summary.json, junit.xml, allure-results/, traces/)")
    return EXIT_OK if run.ok else EXIT_FAILED


def _reproduce(args: argparse.Namespace, target: Target) -> Callable[[Case], str] | None:
    """The command that re-runs one case names the folders it came from (None: the session's, for the shipped
    suite)."""
    if not args.paths:
        return None
    selection = " ".join([*map(shlex.quote, args.paths), *(["--with-shipped"] if args.with_shipped else [])])
    return lambda case: f"ocpp-harness run {selection} --target {target.path} -k '{case.id}'"


if __name__ == "__main__":
    sys.exit(main())
