"""ocppj.timefmt: RFC 3339 UTC with milliseconds, truncated (as ``microsecond // 1000``)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from ocppj.timefmt import format_time, parse_time


@pytest.mark.parametrize(
    ("epoch_s", "text"),
    [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1_767_225_600.0, "2026-01-01T00:00:00.000Z"),
        (1_767_225_600.9995, "2026-01-01T00:00:00.999Z"),
        (1_767_225_600.9999996, "2026-01-01T00:00:01.000Z"),  # datetime rounds to the microsecond first
        (1_767_225_599.123, "2025-12-31T23:59:59.123Z"),
    ],
)
def test_format_time(epoch_s: float, text: str) -> None:
    assert format_time(epoch_s) == text
    assert abs(parse_time(text) - epoch_s) < 0.001


def test_format_time_is_strftime_s_text() -> None:
    rng = random.Random(3)
    for _ in range(20_000):
        epoch_s = rng.uniform(0, 4e9)
        moment = datetime.fromtimestamp(epoch_s, UTC)
        assert format_time(epoch_s) == moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
