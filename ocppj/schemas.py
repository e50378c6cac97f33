"""Validation of OCPP 1.6 payloads against the official JSON schemas shipped by the ``ocpp`` package.

The ``ocpp`` package is used for its schema files only; its error type says ``FormatViolation`` (an OCPP 2.x
name), so this module maps schema errors to the OCPP-J 1.6 §4.2.3 codes itself.

Two validators per schema. The one that decides is jsonschema's Draft 4 validator (with the decimal
``multipleOf`` and the RFC 3339 ``date-time`` below): it lists every violation, and its messages and paths are
the CALLERRORs' and the reports'. Running it costs 20-170 µs for the payloads a fleet sends most (it walks the
schema through its generic machinery on every call), most of a CSMS's budget for a CALL, so a payload first goes
through the same schema compiled to Python code by fastjsonschema (a few µs), which only says yes or no: a yes
is the answer (no violation), a no runs the full validator, whose list is the answer. The errors are therefore
the full validator's by construction; what must hold is that the fast one never says yes where the full one
says no. It is compiled for that: the same draft (4, whatever ``$schema`` a file names, as the full validator
applies it), the same formats (``date-time`` by the same check, ``uri`` not checked, as jsonschema's checker has
no ``uri`` here), no defaults filled in, and a schema with ``multipleOf`` (only three, none a charge point
sends) has no fast path at all, since fastjsonschema's float division is not the decimal rule.
``tests/test_ocppj_schemas.py`` checks the agreement on every schema with valid and broken payloads.
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

import fastjsonschema
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
def _schema(action: str, response: bool) -> dict[str, Any]:
    name = f"{action}Response.json" if response else f"{action}.json"
    schema: dict[str, Any] = json.loads(_schema_dir().joinpath(name).read_text(encoding="utf-8"))
    return schema


@functools.cache
def _validator(action: str, response: bool) -> Any:
    return _Draft4(_schema(action, response), format_checker=FORMAT_CHECKER)


_DRAFT4 = "http://json-schema.org/draft-04/schema#"
_FAST_FORMATS = {"date-time": _is_date_time, "uri": lambda value: True}


@functools.cache
def _fast_validator(action: str, response: bool) -> Any:
    """The compiled yes/no check of the module docstring, or None where there is none (``multipleOf``)."""
    schema = _schema(action, response)
    if "multipleOf" in json.dumps(schema):
        return None
    return fastjsonschema.compile({**schema, "$schema": _DRAFT4}, formats=_FAST_FORMATS, use_default=False)


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
    fast = _fast_validator(action, response)
    if fast is not None:
        try:
            fast(payload)
        except Exception:  # a no (JsonSchemaException), or a payload the compiled code cannot take: the full one says
            pass
        else:
            return []
    return full_validation(action, payload, response=response)


def full_validation(action: str, payload: Any, *, response: bool) -> list[SchemaViolation]:
    """Every violation of a known action's payload by the full validator alone (what :func:`validate` answers
    whenever the fast check does not say yes)."""
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
