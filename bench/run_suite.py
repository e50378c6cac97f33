"""Benchmark: the whole scenario suite against the bundled CSMS, several rounds, in one process.

Prints the machine and versions, wall time per round, cases per second, CSMS response-time statistics (as the
certificate reports them, plus p50/p95/p99) and the peak resident memory. Figures only; nothing is asserted.

    .venv/bin/python bench/run_suite.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.config import load_target  # noqa: E402
from harness.results import Verdict  # noqa: E402
from harness.scenario.loader import load_scenarios  # noqa: E402
from harness.session import Session, environment, expand  # noqa: E402
from harness.timing import LatencyStats  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    target = load_target(ROOT / "targets" / "bundled.yaml")
    scenarios, problems = load_scenarios([ROOT / "scenarios"])
    if problems:
        print("\n".join(map(str, problems)))
        return 2
    cases = expand(scenarios, target)
    print("environment:", ", ".join(f"{k}={v}" for k, v in environment().items()))
    print(f"cases per round: {len(cases)}; rounds: {args.rounds}")
    samples: dict[str, list[float]] = {}
    verdicts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as out, Session(target, out_dir=Path(out) / "run") as session:
        for round_no in range(1, args.rounds + 1):
            started = time.perf_counter()
            for case in cases:
                result = session.run(case)
                verdicts[result.verdict] = verdicts.get(result.verdict, 0) + 1
                for sample in result.latencies:
                    samples.setdefault(sample.action, []).append(sample.latency_s)
            wall = time.perf_counter() - started
            print(f"round {round_no}: {wall:.2f} s wall, {len(cases) / wall:.1f} cases/s")
    print("verdicts:", ", ".join(f"{k}={v}" for k, v in sorted(verdicts.items())))
    everything = [value for values in samples.values() for value in values]
    rows = [("OCPP response time", everything), ("Response time Authorize", samples.get("Authorize", []))]
    rows += [(f"  {action}", values) for action, values in sorted(samples.items())]
    print(f"{'(milliseconds)':28} {'n':>6} {'min':>8} {'avg':>8} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}")
    for name, values in rows:
        stats = LatencyStats.of(values)
        if stats is None:
            continue
        cells = (stats.min_s, stats.avg_s, stats.p50_s, stats.p95_s, stats.p99_s, stats.max_s)
        print(f"{name:28} {stats.count:6d} " + " ".join(f"{1000 * c:8.2f}" for c in cells))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (harness + bundled CSMS in one process): {peak_mib:.1f} MiB")
    return 0 if verdicts.get(Verdict.FAIL, 0) + verdicts.get(Verdict.ERROR, 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
