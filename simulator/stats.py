"""What a fleet measures: response times per action in mergeable histograms, outcomes by kind, connections,
the transactions the CSMS acknowledged, and the generator's own CPU and event-loop lag.

Pure data, no I/O: each process of a load run fills one :class:`FleetStats` and the parent merges them
(:meth:`FleetStats.merge`), so a million samples cost a few kilobytes, and percentiles over the whole fleet are
exact to the histogram's resolution (1 %), never an average of per-process percentiles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_FLOOR_S = 1e-6  # everything faster than a microsecond shares the first bucket
_GROWTH = 1.02  # bucket width: a value is known to within 1 % (half a bucket)
_LOG_GROWTH = math.log(_GROWTH)


def _bucket(value_s: float) -> int:
    if value_s <= _FLOOR_S:
        return 0
    return 1 + int(math.log(value_s / _FLOOR_S) / _LOG_GROWTH)


def bucket_value_s(index: int) -> float:
    """The value a bucket stands for: the geometric middle of its bounds."""
    if index <= 0:
        return _FLOOR_S
    value_s: float = _FLOOR_S * _GROWTH ** (index - 0.5)
    return value_s


class LatencyHistogram:
    """Durations in seconds in logarithmic buckets (an HDR-style histogram): count, sum, exact min and max,
    and percentiles by the nearest-rank method (as :mod:`harness.timing` computes them over raw samples)
    within 1 %."""

    __slots__ = ("buckets", "count", "max_s", "min_s", "sum_s")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.sum_s = 0.0
        self.min_s = math.inf
        self.max_s = 0.0

    def record(self, value_s: float) -> None:
        index = _bucket(value_s)
        self.buckets[index] = self.buckets.get(index, 0) + 1
        self.count += 1
        self.sum_s += value_s
        self.min_s = min(self.min_s, value_s)
        self.max_s = max(self.max_s, value_s)

    def merge(self, other: LatencyHistogram) -> None:
        for index, count in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + count
        self.count += other.count
        self.sum_s += other.sum_s
        self.min_s = min(self.min_s, other.min_s)
        self.max_s = max(self.max_s, other.max_s)

    def percentile_s(self, percent: float) -> float:
        """The nearest-rank ``percent`` percentile (rank ``ceil(percent / 100 * n)``), clamped to the exact min
        and max so that p0 and p100 are the values actually seen."""
        if not self.count:
            raise ValueError("no samples")
        rank = max(1, math.ceil(percent / 100 * self.count))
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return min(self.max_s, max(self.min_s, bucket_value_s(index)))
        return self.max_s

    def samples(self) -> Iterable[tuple[float, int]]:
        """(value the bucket stands for, count) in ascending order: what a report draws."""
        for index in sorted(self.buckets):
            yield min(self.max_s, max(self.min_s, bucket_value_s(index))), self.buckets[index]

    def summary(self) -> dict[str, float | int]:
        """``count``, ``min_s``, ``avg_s``, ``p50_s``, ``p95_s``, ``p99_s``, ``max_s`` (seconds, 0.1 ms
        rounding as in the conformance report), or only ``count`` 0."""
        if not self.count:
            return {"count": 0}
        return {
            "count": self.count,
            "min_s": round(self.min_s, 6),
            "avg_s": round(self.sum_s / self.count, 6),
            "p50_s": round(self.percentile_s(50), 6),
            "p95_s": round(self.percentile_s(95), 6),
            "p99_s": round(self.percentile_s(99), 6),
            "max_s": round(self.max_s, 6),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "buckets": {str(k): v for k, v in sorted(self.buckets.items())},
            "count": self.count,
            "sum_s": self.sum_s,
            "min_s": None if not self.count else self.min_s,
            "max_s": self.max_s,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LatencyHistogram:
        histogram = cls()
        histogram.buckets = {int(k): int(v) for k, v in data["buckets"].items()}
        histogram.count = int(data["count"])
        histogram.sum_s = float(data["sum_s"])
        histogram.min_s = math.inf if data["min_s"] is None else float(data["min_s"])
        histogram.max_s = float(data["max_s"])
        return histogram


RESULT = "CALLRESULT"
TIMEOUT = "timeout"
LOST = "connection lost"


def _add(counts: dict[str, int], key: str, amount: int = 1) -> None:
    counts[key] = counts.get(key, 0) + amount


@dataclass
class ProcessLoad:
    """One generator process: CPU seconds it used over ``wall_s`` and how late its event loop ran timers."""

    cpu_s: float = 0.0
    wall_s: float = 0.0
    lag: LatencyHistogram = field(default_factory=LatencyHistogram)

    @property
    def cpu_share(self) -> float:
        """CPU time over wall time: 1.0 is one core kept busy the whole run."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0


@dataclass
class FleetStats:
    """Everything a fleet observed (it is the stations' :class:`~simulator.station.Observer`).

    ``latency``: per action, the response times of the CALLs that were answered (CALLRESULT or CALLERROR),
    from the write of the CALL to the receipt of the answer. ``outcomes``: per action, how each CALL ended
    (``CALLRESULT``, ``CALLERROR <code>``, ``timeout``, ``connection lost``, ``schema`` for an answer that
    breaks its 1.6 schema). ``connections``: opened, closed and failed attempts by kind. ``transactions``:
    (station id, transactionId) of every StartTransaction the CSMS answered, mapped to whether its
    StopTransaction was answered too.
    """

    latency: dict[str, LatencyHistogram] = field(default_factory=dict)
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    connections: dict[str, int] = field(default_factory=dict)
    csms_calls: dict[str, int] = field(default_factory=dict)
    transactions: dict[tuple[str, int], bool] = field(default_factory=dict)
    undelivered: dict[str, int] = field(default_factory=dict)
    processes: list[ProcessLoad] = field(default_factory=list)
    window: LatencyHistogram = field(default_factory=LatencyHistogram)  # since the last progress line

    # ------------------------------------------------------------------ the Observer interface

    def exchange(self, station_id: str, action: str, outcome: str, latency_s: float | None) -> None:
        if latency_s is not None:
            histogram = self.latency.get(action)
            if histogram is None:
                histogram = self.latency[action] = LatencyHistogram()
            histogram.record(latency_s)
            self.window.record(latency_s)
        _add(self.outcomes.setdefault(action, {}), outcome)

    def connection(self, station_id: str, event: str) -> None:
        _add(self.connections, event)

    def csms_call(self, station_id: str, action: str, outcome: str) -> None:
        _add(self.csms_calls, f"{action} {outcome}")

    def transaction(self, station_id: str, transaction_id: int, *, stopped: bool) -> None:
        key = (station_id, transaction_id)
        self.transactions[key] = stopped or self.transactions.get(key, False)

    def stopped_with(self, station_id: str, queued: Iterable[tuple[str, dict[str, Any]]]) -> None:
        for action, _ in queued:
            _add(self.undelivered, action)

    # ------------------------------------------------------------------ merging and reading

    def merge(self, other: FleetStats) -> None:
        for action, histogram in other.latency.items():
            self.latency.setdefault(action, LatencyHistogram()).merge(histogram)
        for action, counts in other.outcomes.items():
            mine = self.outcomes.setdefault(action, {})
            for kind, count in counts.items():
                _add(mine, kind, count)
        for mine, theirs in (
            (self.connections, other.connections),
            (self.csms_calls, other.csms_calls),
            (self.undelivered, other.undelivered),
        ):
            for key, count in theirs.items():
                _add(mine, key, count)
        for tx_key, stopped in other.transactions.items():
            self.transactions[tx_key] = stopped or self.transactions.get(tx_key, False)
        self.processes.extend(other.processes)

    def calls(self) -> int:
        return sum(sum(counts.values()) for counts in self.outcomes.values())

    def errors(self) -> dict[str, int]:
        """Every CALL that did not end in a CALLRESULT, by kind over all actions."""
        out: dict[str, int] = {}
        for counts in self.outcomes.values():
            for kind, count in counts.items():
                if kind != RESULT:
                    _add(out, kind, count)
        return out

    def overall(self) -> LatencyHistogram:
        everything = LatencyHistogram()
        for histogram in self.latency.values():
            everything.merge(histogram)
        return everything
