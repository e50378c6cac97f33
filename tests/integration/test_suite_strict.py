"""The whole suite against the strict mode of the bundled CSMS, twice in a row in one session (the second time in
shuffled order): every case PASSes both times and cleans up after itself. A strict CSMS handles one exchange at a
time per station, answers ConcurrentTx for an idTag already in a transaction, sends CALLs to a Pending station
and needs a moment before a station id reconnects; a harness that left an answer unsent, a transaction open or
state behind for the next case fails here (DESIGN §3: cases are independent)."""

from __future__ import annotations

from pathlib import Path

from harness.config import load_target
from harness.results import Verdict
from harness.scenario.loader import load_scenarios
from harness.session import Session, expand, shuffled

ROOT = Path(__file__).resolve().parents[2]
STRICT = load_target(ROOT / "targets" / "bundled-strict.yaml")
SEED = 20261201


def test_the_suite_passes_against_the_strict_csms_twice_in_a_row_the_second_time_shuffled(tmp_path: Path) -> None:
    scenarios, problems = load_scenarios([ROOT / "scenarios"])
    assert problems == [] and STRICT.strict
    cases = expand(scenarios, STRICT)
    with Session(STRICT, out_dir=tmp_path / "run") as session:
        rounds = [[session.run(case) for case in order] for order in (cases, shuffled(cases, SEED))]
    for number, results in enumerate(rounds, start=1):
        broken = [f"{r.id}: {r.verdict} {r.failed_step}: {r.message}" for r in results if r.verdict is not Verdict.PASS]
        assert broken == [], f"round {number} (seed {SEED} for round 2)"
        left = [f"{r.id}: {w.message}" for r in results for w in r.warnings if w.category == "cleanup"]
        assert left == [], f"round {number}"
    assert [r.id for r in rounds[0]] != [r.id for r in rounds[1]]
    assert sorted(r.id for r in rounds[0]) == sorted(r.id for r in rounds[1]) == sorted(c.id for c in cases)
