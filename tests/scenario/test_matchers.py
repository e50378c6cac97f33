"""Structural matching of payloads against scenario patterns, and reference resolution (design §3)."""

from __future__ import annotations

import pytest

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
