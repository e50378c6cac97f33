"""Validation of OCPP 1.6 payloads against the official JSON schemas shipped by the ``ocpp`` package.

The ``ocpp`` package is used for its schema files only; its error type says ``FormatViolation`` (an OCPP 2.x
name), so this module maps schema errors to the OCPP-J 1.6 §4.2.3 codes itself.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from ocppj.frames import ErrorCode

# RFC 3339 §5.6 date-time: the offset is mandatory (OCPP 1.6 §3.3 recommends UTC).
_RFC3339 = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?"
    r"([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)

FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


@FORMAT_CHECKER.checks("date-time")
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_RFC3339.match(value))


@functools.cache
def _schema_dir() -> Any:
    return resources.files("ocpp").joinpath("v16", "schemas")


@functools.cache
def actions() -> frozenset[str]:
    """Every OCPP 1.6 (+ security whitepaper) action with a request schema."""
    names = (entry.name for entry in _schema_dir().iterdir())
    return frozenset(
        name[: -len(".json")] for name in names if name.endswith(".json") and not name.endswith("Response.json")
    )


# Actions a charge point initiates (OCPP 1.6 §4 and the security whitepaper); DataTransfer goes both ways (§4.3,
# §5.6), every other action is initiated by the Central System.
CHARGE_POINT_ACTIONS: frozenset[str] = frozenset(
    {
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
    }
)


def csms_actions() -> frozenset[str]:
    """Actions a Central System may send: all but the charge point's own, plus DataTransfer."""
    return (actions() - CHARGE_POINT_ACTIONS) | {"DataTransfer"}


def kebab_case(action: str) -> str:
    """``RemoteStartTransaction`` -> ``remote-start-transaction`` (action names of the HTTP trigger contract)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", action).lower()


def _multiple_of(validator: Any, step: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """``multipleOf`` on the decimal text of the numbers: the 1.6 schemas give limits as ``multipleOf: 0.1``,
    and in binary floating point 6.3 / 0.1 is 62.99999999999999, so jsonschema's own check refuses valid limits
    (the ``ocpp`` package parses with Decimal for the same reason)."""
    if not validator.is_type(instance, "number"):
        return
    if Decimal(repr(instance)) % Decimal(repr(step)) != 0:
        yield ValidationError(f"{instance!r} is not a multiple of {step!r}")


_Draft4 = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft4Validator, {"multipleOf": _multiple_of}
)


@functools.cache
def _validator(action: str, response: bool) -> Any:
    name = f"{action}Response.json" if response else f"{action}.json"
    schema = json.loads(_schema_dir().joinpath(name).read_text(encoding="utf-8"))
    return _Draft4(schema, format_checker=FORMAT_CHECKER)


@dataclass(frozen=True)
class SchemaViolation:
    """One way a payload breaks its schema; ``path`` is a JSON-pointer-like location such as ``idTagInfo.status``."""

    path: str
    message: str
    error_code: ErrorCode

    def __str__(self) -> str:
        where = self.path or "payload"
        return f"{where}: {self.message}"


_CODE_BY_VALIDATOR = {
    "required": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "type": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "additionalProperties": ErrorCode.FORMATION_VIOLATION,
    "enum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "maxLength": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "minLength": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "format": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "minimum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "maximum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "minItems": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "maxItems": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "multipleOf": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
}


def validate(action: str, payload: Any, *, response: bool) -> list[SchemaViolation]:
    """Check a request (``response=False``) or a CALLRESULT payload of ``action``; [] when it conforms.

    An unknown action yields one violation with code NotImplemented (OCPP-J 1.6 §4.2.3).
    """
    if action not in actions():
        return [SchemaViolation("", f"unknown OCPP 1.6 action {action!r}", ErrorCode.NOT_IMPLEMENTED)]
    validator = _validator(action, response)
    found = []
    for error in sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(part) for part in error.absolute_path)
        code = _CODE_BY_VALIDATOR.get(str(error.validator), ErrorCode.FORMATION_VIOLATION)
        found.append(SchemaViolation(path, error.message, code))
    return found


def error_code_for(violations: list[SchemaViolation]) -> ErrorCode:
    """The CALLERROR code that answers a request with these violations (the first one decides)."""
    return violations[0].error_code if violations else ErrorCode.GENERIC_ERROR
