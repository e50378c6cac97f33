"""The official OCPP 1.6 schemas as ocppj applies them: decimal steps are checked on the decimal values."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from ocppj import schemas
from ocppj.frames import ErrorCode


def profile(limit: float) -> dict[str, object]:
    return {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
            },
        },
    }


@pytest.mark.parametrize("limit", [6.0, 6.3, 10.7, 0.1, 32, 22.2])
def test_a_limit_in_tenths_is_a_multiple_of_0_1(limit: float) -> None:
    assert schemas.validate("SetChargingProfile", profile(limit), response=False) == []


def test_a_limit_in_hundredths_is_not() -> None:
    [violation] = schemas.validate("SetChargingProfile", profile(6.35), response=False)
    assert violation.path == "csChargingProfiles.chargingSchedule.chargingSchedulePeriod.0.limit"
    assert violation.message == "6.35 is not a multiple of 0.1"
    assert violation.error_code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION


# -- the fast check agrees with the full validator (ocppj.schemas: errors identical by construction) ------------

_ODD_VALUES: list[object] = [None, True, False, 0, 1, -1, 1.0, 1.5, 2**70, -(2**63), "", "x" * 600, "\ud800", [], {},
                             [1], {"a": 1}, "2026-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00",
                             "2026-01-01 00:00:00Z", "not a date", "Accepted", 6.3, 0.1, 1e308]  # fmt: skip


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = root["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _valid(schema: dict[str, Any], root: dict[str, Any], rng: random.Random) -> Any:
    """A payload the schema allows, with a random choice of optional members."""
    schema = _resolve(schema, root)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        required = set(schema.get("required", []))
        return {
            name: _valid(member, root, rng)
            for name, member in schema.get("properties", {}).items()
            if name in required or rng.random() < 0.5
        }
    if kind == "array":
        return [
            _valid(schema.get("items", {}), root, rng) for _ in range(max(schema.get("minItems", 0), rng.randint(0, 2)))
        ]
    if kind == "string":
        if schema.get("format") == "date-time":
            return rng.choice(["2026-01-01T00:00:00.000Z", "2026-06-30T23:59:60+02:00", "2026-01-01t00:00:00z"])
        return "x" * rng.randint(0, schema.get("maxLength", 8))
    if kind == "integer":
        return rng.choice([0, 1, 7, 2**40])
    if kind == "number":
        return rng.choice([0, 1, 6.3, 32.5])
    if kind == "boolean":
        return rng.choice([True, False])
    return rng.choice(_ODD_VALUES)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, member in value.items():
            found += _paths(member, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _mutated(payload: Any, rng: random.Random) -> Any:
    """The payload with one member replaced by an odd value, removed, or joined by an unknown one."""
    payload = copy.deepcopy(payload)
    path = rng.choice(_paths(payload))
    if not path:
        return rng.choice(_ODD_VALUES)
    parent = payload
    for part in path[:-1]:
        parent = parent[part]
    move = rng.random()
    if move < 0.15 and isinstance(parent, dict):
        del parent[path[-1]]
    elif move < 0.25 and isinstance(parent, dict):
        parent["unknownMember"] = 1
    else:
        parent[path[-1]] = rng.choice(_ODD_VALUES)
    return payload


@pytest.mark.parametrize("response", [False, True], ids=["request", "response"])
def test_the_fast_check_and_the_full_validator_agree_on_every_schema(response: bool) -> None:
    rng = random.Random(16)
    checked = rejected = 0
    for action in sorted(schemas.actions()):
        root = schemas._schema(action, response)
        for _ in range(40):
            valid = _valid(root, root, rng)
            for payload in (valid, _mutated(valid, rng), _mutated(_mutated(valid, rng), rng)):
                full = schemas.full_validation(action, payload, response=response)
                assert schemas.validate(action, payload, response=response) == full, (action, payload)
                checked += 1
                rejected += bool(full)
    assert rejected > checked // 4  # the broken payloads did reach the full validator's errors
