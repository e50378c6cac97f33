"""Benchmark: 10,000 fuzzed frames (tests/fuzz/fuzz_kit.py) against the bundled CSMS over a real websocket on
loopback; every one must keep the properties of the kit (the connection lives, each readable CALL gets exactly one
well-formed answer, nothing else is answered). Prints the machine, the versions, what came back and the rate.

    .venv/bin/python bench/fuzz_csms.py [--examples 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from harness.session import environment  # noqa: E402
from tests.fuzz.fuzz_kit import frames  # noqa: E402
from tests.fuzz.test_fuzz_csms import Rig, start, stop  # noqa: E402
from tests.integration.support import BackgroundLoop  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the CSMS logs every refused frame; the figures are what counts here
    print("environment:", ", ".join(f"{k}={v}" for k, v in environment().items()))
    loop = BackgroundLoop()
    with tempfile.TemporaryDirectory() as folder:
        csms, probe = loop.run(start(Path(folder) / "csms.sqlite3"))
        rig = Rig(loop, csms, probe)
        sent = 0

        @seed(args.seed)
        @settings(max_examples=args.examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(text=frames)
        def fuzz(text: str) -> None:
            nonlocal sent
            sent += 1
            loop.run(rig.probe.check(text))

        started = time.perf_counter()
        try:
            fuzz()
        finally:
            wall = time.perf_counter() - started
            loop.run(stop(rig))
            loop.close()
    print(f"frames sent: {sent} in {wall:.1f} s ({sent / wall:.0f}/s), seed {args.seed}; every property held")
    for name, count in sorted(probe.counts.items()):
        print(f"  {name:<40} {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
