"""csms.handlers.survey: the one walk of every CALL's payload says what nesting and unrepresentable say."""

from __future__ import annotations

import random
from typing import Any

from csms.handlers import nesting, survey, unrepresentable

ODD: list[Any] = ["x", "é", "\ud800", "a\udfffb", 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, True, 1.5,
                  float("inf"), float("-inf"), float("nan"), None, 10**400]  # fmt: skip


def payload(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 6 and roll < 0.3:
        return {
            rng.choice(["a", "b", "\ud83d", "ü"]) + str(n): payload(rng, depth + 1) for n in range(rng.randint(0, 3))
        }
    if depth < 6 and roll < 0.5:
        return [payload(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return rng.choice(ODD)


def test_survey_agrees_with_nesting_and_unrepresentable() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        value = payload(rng)
        assert survey(value) == (nesting(value), not unrepresentable(value)), value


def test_a_deep_payload_is_surveyed_without_recursion() -> None:
    value: Any = 1
    for _ in range(100_000):
        value = [value]
    assert survey(value) == (100_000, True)
