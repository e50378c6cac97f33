from __future__ import annotations

import pytest

from harness.results import LatencySample, ScenarioResult, Verdict
from harness.timing import LatencyStats, PerformanceStats, nearest_rank, performance


def _result(*samples: tuple[str, float]) -> ScenarioResult:
    return ScenarioResult(
        id="TC_X",
        scenario_id="TC_X",
        title="x",
        profile="Core",
        path="x.yaml",
        verdict=Verdict.PASS,
        duration_s=1.0,
        latencies=tuple(LatencySample(action, latency_s) for action, latency_s in samples),
    )


def test_no_samples_is_none() -> None:
    assert LatencyStats.of([]) is None


def test_one_sample_is_every_statistic() -> None:
    assert LatencyStats.of([0.25]) == LatencyStats(1, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25)


def test_ten_samples_nearest_rank() -> None:
    # unsorted input; ranks for n=10: p50 -> ceil(5) = 5th, p95 -> ceil(9.5) = 10th, p99 -> ceil(9.9) = 10th
    samples = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 1.0, 0.4, 0.8, 0.6]
    stats = LatencyStats.of(samples)
    assert stats is not None
    assert stats.count == 10
    assert stats.min_s == 0.1
    assert stats.max_s == 1.0
    assert stats.avg_s == pytest.approx(0.55)
    assert stats.p50_s == 0.5
    assert stats.p95_s == 1.0
    assert stats.p99_s == 1.0


def test_hundred_samples_percentiles_are_samples_not_interpolations() -> None:
    samples = [float(i) for i in range(1, 101)]  # 1..100
    stats = LatencyStats.of(samples)
    assert stats is not None
    assert (stats.p50_s, stats.p95_s, stats.p99_s) == (50.0, 95.0, 99.0)
    assert stats.avg_s == 50.5


@pytest.mark.parametrize(
    ("percent", "expected"),
    [(0, 15.0), (5, 15.0), (30, 20.0), (40, 20.0), (50, 35.0), (100, 50.0)],
)
def test_nearest_rank_textbook_example(percent: int, expected: float) -> None:
    # the classic nearest-rank example: 15, 20, 35, 40, 50
    assert nearest_rank([15.0, 20.0, 35.0, 40.0, 50.0], percent) == expected


def test_nearest_rank_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        nearest_rank([], 50)
    with pytest.raises(ValueError):
        nearest_rank([1.0], 101)


def test_as_dict_rounds_to_four_decimals() -> None:
    stats = LatencyStats.of([0.123456, 0.2, 0.3])
    assert stats is not None
    assert stats.as_dict() == {
        "count": 3,
        "min_s": 0.1235,
        "avg_s": 0.2078,
        "max_s": 0.3,
        "p50_s": 0.2,
        "p95_s": 0.3,
        "p99_s": 0.3,
    }


def test_performance_all_authorize_and_per_action() -> None:
    results = [
        _result(("Authorize", 0.07), ("StatusNotification", 0.02)),
        _result(("Authorize", 0.21), ("Authorize", 0.12)),
        _result(("BootNotification", 0.10)),
        _result(),
    ]
    report = performance(iter(results))  # any iterable, consumed once
    assert report["ocpp_response_time"] == {
        "count": 5,
        "min_s": 0.02,
        "avg_s": 0.104,
        "max_s": 0.21,
        "p50_s": 0.1,
        "p95_s": 0.21,
        "p99_s": 0.21,
    }
    assert report["authorize"] == {
        "count": 3,
        "min_s": 0.07,
        "avg_s": 0.1333,
        "max_s": 0.21,
        "p50_s": 0.12,
        "p95_s": 0.21,
        "p99_s": 0.21,
    }
    assert list(report["per_action"]) == ["Authorize", "BootNotification", "StatusNotification"]
    assert report["per_action"]["Authorize"] == report["authorize"]
    assert report["per_action"]["BootNotification"]["count"] == 1


def test_performance_without_samples() -> None:
    assert performance([_result()]) == {"ocpp_response_time": None, "authorize": None, "per_action": {}}
    assert performance([]) == {"ocpp_response_time": None, "authorize": None, "per_action": {}}


def test_performance_without_authorize() -> None:
    stats = PerformanceStats.of([_result(("Heartbeat", 0.01))])
    assert stats.authorize is None
    assert stats.ocpp_response_time is not None
    assert stats.ocpp_response_time.count == 1
