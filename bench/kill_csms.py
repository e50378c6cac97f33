"""Benchmark: nothing lost across SIGKILLs (tests/crash/crash_kit.py): 150 simulated stations charge while
``ocpp-harness csms`` is killed with SIGKILL at random moments and restarted on the same database; prints what was
acknowledged against what the CSMS kept (lost, reused transactionIds, phantom sessions), with the machine and the
versions. Exit status 1 if anything was lost, reused or invented.

    .venv/bin/python bench/kill_csms.py [--stations 150] [--sessions 10] [--kills 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.session import environment  # noqa: E402
from tests.crash.crash_kit import run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=150)
    parser.add_argument("--sessions", type=int, default=10, help="sessions per station at least")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("environment:", ", ".join(f"{k}={v}" for k, v in environment().items()))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(
            run(
                Path(folder),
                stations=args.stations,
                sessions=args.sessions,
                kills=args.kills,
                seed=args.seed,
                deadline_s=1800.0,
            )
        )
    print(f"{args.stations} stations, seed {args.seed}, {time.perf_counter() - started:.1f} s")
    print(figures.summary())
    for problem in [*figures.lost, *figures.reused, *figures.phantom][:20]:
        print("  ", problem)
    return 1 if figures.lost or figures.reused or figures.phantom else 0


if __name__ == "__main__":
    sys.exit(main())
