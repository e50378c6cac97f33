"""Structural matching of OCPP payloads against scenario patterns (design §3).

Matching works on parsed JSON, never on text or member order. Literals match equal values of the same JSON type;
a mapping match is a subset match (extra members in the actual payload are fine, as OCTT checks only the fields a
test case names). A constraint mapping — keys only among ``schema``, ``absent``, ``optional``, ``not``, ``after``,
``equals``, ``default`` — checks the value with a JSON Schema, requires the member to be missing, (``not``) requires
it to differ from a value, e.g. ``{not: "${tx_a}"}`` for a second transaction whose id must not be the first one's
(two transactions at once on one station, OCPP 1.6 §4.10: the transactionId identifies the transaction), or
(``after``) requires it to come after a value: a greater number (a SendLocalList listVersion above the station's,
OCPP 1.6 §5.15) or a later date-time (a ReserveNow expiryDate in the future, ``{after: "${time.now}"}``, §5.13).
``equals`` matches like a literal and ``default`` is what a missing member counts as, for the optional fields whose
absence OCPP gives a meaning: ``numberPhases: {equals: "${test.number_phases}", default: 3}`` (OCPP 1.6 §7
ChargingSchedulePeriod: 3 phases are assumed unless another number is given; OCTT TC_056 lets a CSMS omit it when
3 is configured). ``not``, ``after``, ``equals`` and ``default`` are the constraint members whose ``${name}``
references are resolved, since their point is to compare with a variable; a JSON Schema is left as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from harness.outcomes import HarnessError
from ocppj.schemas import FORMAT_CHECKER
from ocppj.timefmt import parse_time

CONSTRAINT_KEYS = frozenset({"schema", "absent", "optional", "not", "after", "equals", "default"})
# The constraint members that hold values to compare with, so ``${name}`` references in them are resolved.
RESOLVED_CONSTRAINT_KEYS = frozenset({"not", "after", "equals", "default"})
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")


class UnresolvedVariable(KeyError):
    """A ``${name}`` that no built-in or earlier capture defines at run time."""


@dataclass(frozen=True)
class Mismatch:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or 'payload'}: {self.message}"


def is_constraint(value: object) -> bool:
    return isinstance(value, Mapping) and bool(value) and set(value) <= CONSTRAINT_KEYS


def resolve(value: Any, variables: Mapping[str, Any]) -> Any:
    """Replace ``${name}`` references. A string that is exactly one reference takes the variable's value with its
    type (``transactionId: ${tx_id}`` stays an integer); references inside longer strings are interpolated."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), variables)
        return _REFERENCE.sub(lambda m: _text(_lookup(m.group(1), variables)), value)
    if isinstance(value, Mapping):
        if is_constraint(value):
            resolved = dict(value)  # JSON Schema keywords are not resolved
            for key in RESOLVED_CONSTRAINT_KEYS & resolved.keys():
                resolved[key] = resolve(resolved[key], variables)
            return resolved
        return {key: resolve(item, variables) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(item, variables) for item in value]
    return value


def _lookup(name: str, variables: Mapping[str, Any]) -> Any:
    if name not in variables:
        raise UnresolvedVariable(name)
    return variables[name]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def match(pattern: Any, actual: Any, path: str = "") -> list[Mismatch]:
    """Every way ``actual`` differs from ``pattern`` ([] when it matches). ``pattern`` must be resolved."""
    if is_constraint(pattern):
        return _check_constraint(pattern, actual, path)
    if isinstance(pattern, Mapping):
        if not isinstance(actual, Mapping):
            return [Mismatch(path, f"expected an object, got {_render(actual)}")]
        found: list[Mismatch] = []
        for key, expected in pattern.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                if is_constraint(expected) and (expected.get("absent") or expected.get("optional")):
                    continue
                if is_constraint(expected) and "default" in expected:
                    found.extend(_check_constraint(expected, expected["default"], where, defaulted=True))
                    continue
                found.append(Mismatch(where, f"missing; expected {_render(expected)}"))
                continue
            found.extend(match(expected, actual[key], where))
        return found
    if isinstance(pattern, list | tuple):
        if not isinstance(actual, list | tuple):
            return [Mismatch(path, f"expected an array, got {_render(actual)}")]
        if len(pattern) != len(actual):
            return [Mismatch(path, f"expected {len(pattern)} items, got {len(actual)}: {_render(actual)}")]
        found = []
        for index, (expected, item) in enumerate(zip(pattern, actual, strict=True)):
            found.extend(match(expected, item, f"{path}[{index}]"))
        return found
    if _json_type(pattern) != _json_type(actual) or pattern != actual:
        return [Mismatch(path, f"expected {_render(pattern)}, got {_render(actual)}")]
    return []


def _check_constraint(
    constraint: Mapping[str, Any], actual: Any, path: str, *, defaulted: bool = False
) -> list[Mismatch]:
    """``defaulted``: the member is missing and ``actual`` is the constraint's ``default``, which messages say."""
    if constraint.get("absent"):
        return [Mismatch(path, f"must be absent, got {_render(actual)}")]
    got = f"missing, which counts as {_render(actual)}" if defaulted else _render(actual)
    found: list[Mismatch] = []
    if "equals" in constraint and match(constraint["equals"], actual, path):
        found.append(Mismatch(path, f"expected {_render(constraint['equals'])}, got {got}"))
    if "not" in constraint and not match(constraint["not"], actual, path):
        found.append(Mismatch(path, f"must differ from {_render(constraint['not'])}, got {got}"))
    if "after" in constraint:
        found.extend(_check_after(constraint["after"], actual, path))
    schema = constraint.get("schema")
    if schema is None:
        return found
    validator = jsonschema.Draft7Validator(schema, format_checker=FORMAT_CHECKER)
    return found + [
        Mismatch(
            ".".join([path, *(str(p) for p in error.absolute_path)]).strip("."),
            f"{error.message} (schema {_render(schema)})",
        )
        for error in validator.iter_errors(actual)
    ]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _instant(value: Any) -> float | None:
    """POSIX seconds of an RFC 3339 date-time with a time zone, None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def _check_after(bound: Any, actual: Any, path: str) -> list[Mismatch]:
    """``{after: bound}``: a number greater than a number, or a date-time later than a date-time. A bound that is
    neither is the scenario's mistake (or a variable of the wrong kind), never the CSMS's."""
    if _is_number(bound):
        if _is_number(actual) and actual > bound:
            return []
        return [Mismatch(path, f"must be a number greater than {_render(bound)}, got {_render(actual)}")]
    since = _instant(bound)
    if since is None:
        raise HarnessError(
            f"{path or 'payload'}: 'after' compares with a number or an RFC 3339 date-time, not {_render(bound)}"
        )
    moment = _instant(actual)
    if moment is not None and moment > since:
        return []
    return [Mismatch(path, f"must be a date-time after {_render(bound)}, got {_render(actual)}")]


def _render(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def render(value: Any) -> str:
    """Compact one-line JSON for messages."""
    return _render(value)


def extract(path: str, *, request: Any, response: Any) -> Any:
    """The value at ``request.a.b`` / ``response.a.0.b`` (a capture path); KeyError naming the path when absent."""
    root, _, rest = path.partition(".")
    current = {"request": request, "response": response}.get(root)
    if current is None:
        raise KeyError(path)
    for part in rest.split(".") if rest else []:
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise KeyError(path)
    return current
