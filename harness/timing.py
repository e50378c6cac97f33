"""CSMS response-time statistics, as in the "Performance Measurement Result" of an OCA certificate.

The certificate reports min / max / average for "OCPP response time" (every station CALL answered by the
CSMS) and "Response time Authorize", next to the 30 s response timeout the lab configures; percentiles are
added because an average hides the slow tail that eventually trips such a timeout.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.results import ScenarioResult

AUTHORIZE = "Authorize"
_DECIMALS = 4


def nearest_rank(sorted_samples: Sequence[float], percent: int) -> float:
    """The ``percent`` percentile of ascending ``sorted_samples`` by the nearest-rank method.

    The value of rank ``ceil(percent / 100 * n)`` (1-based, at least 1): always one of the samples, never an
    interpolation, so a p99 over 10 samples is the slowest response actually seen.
    """
    if not sorted_samples:
        raise ValueError("no samples")
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be within 0..100, not {percent}")
    count = len(sorted_samples)
    rank = max(1, -(-percent * count // 100))  # integer ceiling: no float rounding at exact ranks
    return sorted_samples[rank - 1]


@dataclass(frozen=True)
class LatencyStats:
    """Statistics of response times, all in seconds; percentiles by the nearest-rank method (see
    :func:`nearest_rank`)."""

    count: int
    min_s: float
    avg_s: float
    max_s: float
    p50_s: float
    p95_s: float
    p99_s: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> LatencyStats | None:
        """Statistics of ``samples`` (seconds); ``None`` when there are none, so "no data" never reads 0."""
        if not samples:
            return None
        ordered = sorted(samples)
        return cls(
            count=len(ordered),
            min_s=ordered[0],
            avg_s=statistics.fmean(ordered),
            max_s=ordered[-1],
            p50_s=nearest_rank(ordered, 50),
            p95_s=nearest_rank(ordered, 95),
            p99_s=nearest_rank(ordered, 99),
        )

    def as_dict(self) -> dict[str, int | float]:
        """``{"count", "min_s", "avg_s", "max_s", "p50_s", "p95_s", "p99_s"}``, seconds rounded to 0.1 ms."""
        return {
            "count": self.count,
            "min_s": round(self.min_s, _DECIMALS),
            "avg_s": round(self.avg_s, _DECIMALS),
            "max_s": round(self.max_s, _DECIMALS),
            "p50_s": round(self.p50_s, _DECIMALS),
            "p95_s": round(self.p95_s, _DECIMALS),
            "p99_s": round(self.p99_s, _DECIMALS),
        }


def _stats_dict(stats: LatencyStats | None) -> dict[str, int | float] | None:
    return None if stats is None else stats.as_dict()


@dataclass(frozen=True)
class PerformanceStats:
    """The performance table of a run: all CALLs, Authorize alone, and every action apart."""

    ocpp_response_time: LatencyStats | None
    authorize: LatencyStats | None
    per_action: Mapping[str, LatencyStats]

    @classmethod
    def of(cls, results: Iterable[ScenarioResult]) -> PerformanceStats:
        every: list[float] = []
        by_action: dict[str, list[float]] = {}
        for result in results:
            for sample in result.latencies:
                every.append(sample.latency_s)
                by_action.setdefault(sample.action, []).append(sample.latency_s)
        per_action: dict[str, LatencyStats] = {}
        for action in sorted(by_action):
            stats = LatencyStats.of(by_action[action])
            if stats is not None:
                per_action[action] = stats
        return cls(
            ocpp_response_time=LatencyStats.of(every),
            authorize=per_action.get(AUTHORIZE),
            per_action=per_action,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ocpp_response_time": _stats_dict(self.ocpp_response_time),
            "authorize": _stats_dict(self.authorize),
            "per_action": {action: stats.as_dict() for action, stats in self.per_action.items()},
        }


def performance(results: Iterable[ScenarioResult]) -> dict[str, Any]:
    """``{"ocpp_response_time": stats | None, "authorize": stats | None, "per_action": {action: stats}}``.

    ``ocpp_response_time`` covers every sample, ``authorize`` the ``Authorize`` CALLs only; a stats value is
    :meth:`LatencyStats.as_dict` (seconds, 4 decimals) and ``None`` when there was no sample.
    """
    return PerformanceStats.of(results).as_dict()
