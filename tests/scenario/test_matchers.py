"""Structural matching of payloads against scenario patterns, and reference resolution (design §3)."""

from __future__ import annotations

import pytest

from harness.outcomes import HarnessError
from harness.scenario import matchers

VARIABLES = {"tx_a": 7, "token": "TAG_1"}


def test_not_is_resolved_and_schema_is_left_alone() -> None:
    pattern = {"transactionId": {"not": "${tx_a}", "schema": {"const": "${tx_a}"}}, "idTag": "${token}"}
    assert matchers.resolve(pattern, VARIABLES) == {
        "transactionId": {"not": 7, "schema": {"const": "${tx_a}"}},
        "idTag": "TAG_1",
    }


@pytest.mark.parametrize(
    ("actual", "problems"),
    [
        ({"transactionId": 8}, []),
        ({"transactionId": 7}, ["transactionId: must differ from 7, got 7"]),
        ({"transactionId": "7"}, ["transactionId: '7' is not of type 'integer' (schema {\"type\": \"integer\"})"]),
        ({}, ['transactionId: missing; expected {"not": 7, "schema": {"type": "integer"}}']),
    ],
)
def test_not_constraint(actual: dict[str, object], problems: list[str]) -> None:
    pattern = matchers.resolve({"transactionId": {"not": "${tx_a}", "schema": {"type": "integer"}}}, VARIABLES)
    assert [str(m) for m in matchers.match(pattern, actual)] == problems


def test_not_compares_structurally_and_by_json_type() -> None:
    assert matchers.match({"not": {"status": "Accepted"}}, {"status": "Accepted", "extra": 1}) != []
    assert matchers.match({"not": {"status": "Accepted"}}, {"status": "Blocked"}) == []
    assert matchers.match({"not": 1}, True) == []  # a boolean is not the number 1
    assert matchers.match({"x": {"not": 1, "optional": True}}, {}) == []


@pytest.mark.parametrize(
    ("actual", "problems"),
    [
        (8, []),
        (7.5, []),
        (7, ["listVersion: must be a number greater than 7, got 7"]),
        (-1, ["listVersion: must be a number greater than 7, got -1"]),
        ("8", ['listVersion: must be a number greater than 7, got "8"']),
        (True, ["listVersion: must be a number greater than 7, got true"]),  # a boolean is not a number
    ],
)
def test_after_a_number_is_a_greater_number(actual: object, problems: list[str]) -> None:
    """A Differential SendLocalList must carry a listVersion above the station's (OCPP 1.6 §5.15)."""
    pattern = matchers.resolve({"listVersion": {"after": "${tx_a}"}}, VARIABLES)
    assert pattern == {"listVersion": {"after": 7}}
    assert [str(m) for m in matchers.match(pattern, {"listVersion": actual})] == problems


T0 = "2026-01-01T00:00:00.000Z"
LATER = f'expiryDate: must be a date-time after "{T0}", got '


@pytest.mark.parametrize(
    ("actual", "problems"),
    [
        ("2026-01-01T00:00:00.001Z", []),
        ("2026-01-01T01:00:00+02:00", [LATER + '"2026-01-01T01:00:00+02:00"']),  # 23:00 the day before, in UTC
        ("2026-01-01T00:00:00Z", [LATER + '"2026-01-01T00:00:00Z"']),
        ("2026-01-02T00:00:00", [LATER + '"2026-01-02T00:00:00"']),  # no time zone: not an instant
        (1767225601, [LATER + "1767225601"]),
    ],
)
def test_after_a_date_time_is_a_later_instant(actual: object, problems: list[str]) -> None:
    """A ReserveNow expiryDate must lie in the future (OCPP 1.6 §5.13): ``{after: "${time.now}"}``."""
    pattern = matchers.resolve({"expiryDate": {"after": "${now}"}}, {"now": T0})
    assert [str(m) for m in matchers.match(pattern, {"expiryDate": actual})] == problems


def test_after_an_incomparable_bound_is_the_harness_s_mistake_not_the_csms_s() -> None:
    with pytest.raises(HarnessError, match="'after' compares with a number or an RFC 3339 date-time, not \"soon\""):
        matchers.match({"expiryDate": {"after": "soon"}}, {"expiryDate": T0})
    assert matchers.match({"x": {"after": 1, "optional": True}}, {}) == []


def test_equals_and_default_are_resolved() -> None:
    variables = {"test.number_phases": 1}
    pattern = {"numberPhases": {"equals": "${test.number_phases}", "default": 3}}
    assert matchers.resolve(pattern, variables) == {"numberPhases": {"equals": 1, "default": 3}}


@pytest.mark.parametrize(
    ("configured", "actual", "problems"),
    [
        (3, {"numberPhases": 3}, []),
        (3, {}, []),  # OCPP 1.6 §7 ChargingSchedulePeriod: a missing numberPhases means 3
        (3, {"numberPhases": 1}, ["numberPhases: expected 3, got 1"]),
        (1, {"numberPhases": 1}, []),
        (1, {}, ["numberPhases: expected 1, got missing, which counts as 3"]),
        (1, {"numberPhases": "1"}, ['numberPhases: expected 1, got "1"']),
    ],
)
def test_a_missing_member_counts_as_its_default(
    configured: int, actual: dict[str, object], problems: list[str]
) -> None:
    pattern = matchers.resolve({"numberPhases": {"equals": "${n}", "default": 3}}, {"n": configured})
    assert [str(m) for m in matchers.match(pattern, actual)] == problems


def test_default_is_checked_by_schema_and_not_too() -> None:
    assert matchers.match({"x": {"default": 3, "schema": {"maximum": 2}}}, {}) != []
    assert matchers.match({"x": {"default": 3, "not": 3}}, {}) == [
        matchers.Mismatch("x", "must differ from 3, got missing, which counts as 3")
    ]
    assert matchers.match({"x": {"equals": {"a": 1}}}, {"x": {"a": 1, "b": 2}}) == []  # like a literal: a subset
    assert [str(m) for m in matchers.match({"x": {"equals": 1}}, {})] == ['x: missing; expected {"equals": 1}']
