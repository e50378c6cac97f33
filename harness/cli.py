"""``ocpp-harness`` command line: thin wrappers that build arguments and call the same session as the plugin.

Exit codes: 0 nothing FAILed or ERRORed; 1 some case FAILed or ERRORed, or a declared deviation passed (or
``validate`` found mistakes); 2 bad usage, target file or scenario file; 3 the CSMS cannot be reached. A FAIL the
target file declares as a known deviation does not fail the run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from harness.config import Target, load_target
from harness.outcomes import HarnessError, ScenarioError, TargetError
from harness.scenario.model import PROFILES

REPO_ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def _default(path: str) -> Path:
    local = Path.cwd() / path
    return local if local.exists() else REPO_ROOT / path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ocpp-harness", description="OCPP 1.6J conformance harness for a CSMS")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="replay scenarios against a CSMS described by a target file")
    run.add_argument("paths", nargs="*", help="scenario files or folders (default: scenarios/)")
    run.add_argument("--target", help="target file (default: targets/bundled.yaml, the bundled CSMS)")
    run.add_argument("--profile", action="append", choices=PROFILES, help="only this profile (repeatable)")
    run.add_argument("-k", dest="keywords", action="append", help="only cases whose id contains this (repeatable)")
    run.add_argument("--out", default="reports", help="report folder; each run writes <out>/<run-id>/")

    validate = commands.add_parser("validate", help="check scenario files without opening a socket")
    validate.add_argument("paths", nargs="+")

    csms = commands.add_parser("csms", help="run the bundled CSMS")
    csms.add_argument("--host", default="127.0.0.1")
    csms.add_argument("--port", type=int, default=9000)
    csms.add_argument("--db", default="csms.sqlite3", help="SQLite file")
    csms.add_argument(
        "--strict",
        action="store_true",
        help="behave like a strict third-party CSMS (the rules are listed in csms/policy.py)",
    )

    args = parser.parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(args.paths)
        if args.command == "csms":
            return _csms(args.host, args.port, args.db, strict=args.strict)
        return _run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _validate(paths: Sequence[str]) -> int:
    from harness.scenario.loader import validate_paths

    missing = [p for p in paths if not Path(p).exists()]
    for path in missing:
        print(f"{path}: no such file or folder", file=sys.stderr)
    problems = validate_paths([p for p in paths if Path(p).exists()])
    for problem in problems:
        print(problem)
    if problems or missing:
        print(f"{len(problems) + len(missing)} problem(s)", file=sys.stderr)
        return EXIT_FAILED
    print("ok")
    return EXIT_OK


def _csms(host: str, port: int, db: str, *, strict: bool = False) -> int:
    from csms.app import serve

    try:
        asyncio.run(serve(host=host, port=port, db_path=db, strict=strict))
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    return EXIT_OK


async def _reachable(target: Target) -> str | None:
    """None when every endpoint the stations use accepts a TCP connection, else a one-line reason."""
    for station in target.stations.values():
        url = target.endpoint(station).ws_url
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), target.timeouts.connect_s)
        except (OSError, TimeoutError) as exc:
            return f"cannot reach the CSMS at {url} (station '{station.role}'): {exc.__class__.__name__} {exc}".strip()
        writer.close()
    return None


def _run(args: argparse.Namespace) -> int:
    from harness.report.terminal import format_result_line, format_running_line, format_summary_table
    from harness.scenario.loader import load_scenarios
    from harness.session import Session, expand, new_run_id

    try:
        target = load_target(args.target or _default("targets/bundled.yaml"))
    except TargetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    paths = args.paths or [str(_default("scenarios"))]
    for path in paths:
        if not Path(path).exists():
            print(f"error: {path}: no such file or folder", file=sys.stderr)
            return EXIT_USAGE
    scenarios, problems = load_scenarios(paths)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"error: {len(problems)} problem(s) in scenario files; nothing was run", file=sys.stderr)
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
    if not target.bundled:
        reason = asyncio.run(_reachable(target))
        if reason is not None:
            print(f"error: {reason}", file=sys.stderr)
            return EXIT_UNREACHABLE

    run_id = new_run_id()
    out_dir = Path(args.out) / run_id
    print(f"ocpp-harness: {len(cases)} case(s) against {target.name} ({target.path}); reports in {out_dir}")
    live = sys.stdout.isatty()  # a CI log gets plain lines: no carriage returns, no escape sequences
    try:
        with Session(target, out_dir=out_dir, run_id=run_id) as session:
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


if __name__ == "__main__":
    sys.exit(main())
