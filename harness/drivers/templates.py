"""Request templates: the one way the harness writes an HTTP request to a CSMS API and judges its answer.

A template is a method, a path, optional query, headers and JSON body, and the conditions an answer must meet.
Strings hold ``{name}`` placeholders (``{{`` and ``}}`` are literal braces):

* a string that is exactly one placeholder takes the value with its JSON type (an integer stays an integer, an
  object stays an object); inside a longer string the value is interpolated (in a path, percent-encoded);
* ``{payload.a.b}`` reaches into the payload (``{payload.key.0}`` into a list);
* a value that needs an absent field (missing, or null) is left out of the body or query, so optional OCPP fields
  can be mapped without sending ``null``; a path that needs one cannot be built, which is a driver failure;
* a body key ``"..."`` spreads a mapping into the object around it (``{stationId: "{station_id}", "...":
  "{payload}"}``); the template's own keys win.

Which names a request offers is fixed per request (:data:`REQUEST_NAMES`); the target file is checked against
it when it is loaded, and ``{payload.x}`` against the JSON schema of the payload where one is known (OCPP 1.6
JSON schemas for trigger routes, the scenario schema for configure operations). This module does no I/O.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

from harness.scenario.model import CONFIGURE_OPERATIONS
from ocppj.schemas import kebab_case

Fail = Callable[[str, str], Exception]  # (key path, message) -> the error to raise

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SPREAD = "..."
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_WHOLE = re.compile(r"\{([^{}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")

TRIGGER_NAMES = ("station_id", "action", "action_camel", "action_kebab", "action_snake", "payload")
_TOKEN_NAMES = ("id_tag", "status", "token_type", "parent_id_tag", "expiry_date")
_CASE_NAMES = ("case_id", "scenario_id", "station_id", "token_type")
REQUEST_NAMES: dict[str, tuple[str, ...]] = {
    "trigger": TRIGGER_NAMES,
    "create_station": ("station_id", "connectors"),
    "set_basic_auth_password": ("station_id", "password"),
    "create_token": _TOKEN_NAMES,
    "read_token": _TOKEN_NAMES,
    "before_case": _CASE_NAMES,
    "after_case": (*_CASE_NAMES, "verdict"),
    **{operation: ("station_id", "operation", "payload") for operation in CONFIGURE_OPERATIONS},
}

# The public trigger contract (``octt``) and the bundled CSMS's own routes (``bundled``), as a target file would
# write them; they are parsed and checked like any target file's templates.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "octt": {
        "trigger": {"method": "POST", "path": "/api/octt/1.6/{station_id}/{action_kebab}", "body": "{payload}"},
        "create_token": {
            "method": "POST",
            "path": "/api/octt/create-token",
            "body": {"token_id": "{id_tag}", "status": "{status}"},
        },
        "set_basic_auth_password": {
            "method": "POST",
            "path": "/api/octt/set-basic-auth-password",
            "body": {"station_id": "{station_id}", "password": "{password}"},
        },
        "basic_auth_password": {
            "method": "POST",
            "path": "/api/octt/set-basic-auth-password",
            "body": {"station_id": "{station_id}", "password": "{payload.password}"},
        },
    },
    "bundled": {
        "trigger": {"method": "POST", "path": "/api/octt/1.6/{station_id}/{action_kebab}", "body": "{payload}"},
        "create_station": {"method": "POST", "path": "/api/stations", "body": {"id": "{station_id}"}},
        "create_token": {
            "method": "POST",
            "path": "/api/octt/create-token",
            "body": {"token_id": "{id_tag}", "status": "{status}", "parent_id_tag": "{parent_id_tag}"},
        },
        "set_basic_auth_password": {
            "method": "POST",
            "path": "/api/octt/set-basic-auth-password",
            "body": {"station_id": "{station_id}", "password": "{password}"},
        },
        "boot_answer": {"method": "PUT", "path": "/api/stations/{station_id}/boot-answer", "body": "{payload}"},
        "basic_auth_password": {
            "method": "POST",
            "path": "/api/octt/set-basic-auth-password",
            "body": {"station_id": "{station_id}", "password": "{payload.password}"},
        },
        "security_profile": {
            "method": "PUT",
            "path": "/api/stations/{station_id}/security-profile",
            "body": {"security_profile": "{payload.security_profile}"},
        },
    },
}


class _Absent(Enum):
    ABSENT = "absent"


ABSENT = _Absent.ABSENT


class MissingValue(Exception):
    """A path (or header) needs a field the request does not have."""


@dataclass(frozen=True)
class Condition:
    """What an answer must be: an HTTP status in ``status`` (empty: any 2xx) and, at each dotted JSON path of
    ``json``, one of the listed values (templates, rendered with the request's values; a value whose field the
    request does not have is not checked). ``true`` matches only ``true``, not ``1``."""

    status: tuple[int, ...] = ()
    json: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def unmet(self, status: int, data: Any, values: Mapping[str, Any]) -> str | None:
        """None when the answer meets the condition, else what it lacks, for the driver-failure message."""
        if self.status and status not in self.status:
            return f"expected HTTP {' or '.join(str(s) for s in self.status)}"
        if not self.status and not 200 <= status < 300:
            return "expected HTTP 2xx"
        for path, accepted in self.json.items():
            actual = lookup(data, path)
            wanted = [value for value in (render(item, values) for item in accepted) if value is not ABSENT]
            if wanted and not any(_same(actual, value) for value in wanted):
                shown = "nothing" if actual is ABSENT else _json(actual)
                return f"expected {path} = {' or '.join(_json(w) for w in wanted)}, got {shown}"
        return None


# How the bundled CSMS (and the trigger contract) says "the CSMS sent the CALL and the station answered CALLERROR".
DEFAULT_CALLERROR = Condition(status=(502,), json={"error": ("CALLERROR", "CallError")})


@dataclass(frozen=True)
class Built:
    """A request with its placeholders filled; ``body`` is :data:`ABSENT` for a request without a body."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: Any


@dataclass(frozen=True, kw_only=True)
class RequestTemplate:
    method: str = "POST"
    path: str
    query: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = ABSENT
    success: Condition | None = None  # None: the driver's ``success``
    callerror: Condition | None = None  # None: the driver's ``callerror`` (trigger requests only)

    def build(self, base_url: str, values: Mapping[str, Any]) -> Built:
        """The request to send; :class:`MissingValue` when the path or a header needs an absent field."""
        path = interpolate(self.path, values, what="path", encode=True)
        url = path if path.startswith(("http://", "https://")) else base_url + path
        query = render(dict(self.query), values)
        if query:
            pairs = [(k, _text(item)) for k, v in query.items() for item in (v if isinstance(v, list) else [v])]
            url += ("&" if "?" in url else "?") + urlencode(pairs)
        headers = {name: interpolate(value, values, what=f"header {name}") for name, value in self.headers.items()}
        return Built(self.method, url, headers, render(self.body, values))


# ------------------------------------------------------------------------------------------------- values


def action_names(action: str) -> dict[str, str]:
    """``RemoteStartTransaction`` as the placeholders of a trigger template spell it."""
    kebab = kebab_case(action)
    return {
        "action": action,
        "action_camel": action[:1].lower() + action[1:],
        "action_kebab": kebab,
        "action_snake": kebab.replace("-", "_"),
    }


def lookup(root: Any, name: str) -> Any:
    """The value at a dotted name (``payload.chargingProfile.chargingProfileId``, ``key.0``); :data:`ABSENT` when
    it is not there or is null."""
    current = root
    for part in name.split("."):
        if isinstance(current, Mapping):
            current = current.get(part, ABSENT)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return ABSENT
        if current is None or current is ABSENT:
            return ABSENT
    return current


def render(template: Any, values: Mapping[str, Any]) -> Any:
    """Fill a body, query or condition value; :data:`ABSENT` where a value needs an absent field."""
    if isinstance(template, str):
        whole = _WHOLE.fullmatch(template)
        if whole:
            return lookup(values, whole.group(1))
        try:
            return interpolate(template, values, what="value")
        except MissingValue:
            return ABSENT
    if isinstance(template, Mapping):
        out: dict[str, Any] = {}
        if SPREAD in template:
            spread = render(template[SPREAD], values)
            if isinstance(spread, Mapping):
                out.update(spread)
        for key, value in template.items():
            rendered = render(value, values)
            if key != SPREAD and rendered is not ABSENT:
                out[key] = rendered
        return out
    if isinstance(template, list):
        return [item for item in (render(value, values) for value in template) if item is not ABSENT]
    return template


def interpolate(text: str, values: Mapping[str, Any], *, what: str, encode: bool = False) -> str:
    """Placeholders inside a string; a value needing an absent field is :class:`MissingValue`."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        value = lookup(values, match.group(1))
        if value is ABSENT:
            raise MissingValue(f"the {what} {text!r} needs {token}, which this request does not have")
        shown = _text(value)
        return quote(shown, safe="") if encode else shown

    return _TOKEN.sub(one, text)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else _json(value)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _same(actual: Any, wanted: Any) -> bool:
    """JSON equality: ``true`` is not ``1``."""
    return actual is not ABSENT and isinstance(actual, bool) == isinstance(wanted, bool) and actual == wanted


# ------------------------------------------------------------------------------------------------ parsing


def parse_request(
    raw: Any,
    where: str,
    *,
    names: tuple[str, ...],
    payload_schema: Mapping[str, Any] | None,
    fail: Fail,
    trigger: bool,
) -> RequestTemplate:
    """One request of the target file, with every placeholder checked against ``names``."""
    allowed = ("method", "path", "query", "headers", "body", "success", *(("callerror",) if trigger else ()))
    entry = _mapping(raw, where, fail, allowed=allowed)
    if "path" not in entry:
        raise fail(where, "missing required key 'path'")
    method = str(entry.get("method", "POST")).upper()
    if method not in METHODS:
        raise fail(f"{where}.method", f"expected one of {', '.join(METHODS)}, got {entry.get('method')!r}")
    path = entry["path"]
    if not isinstance(path, str) or not path.startswith(("/", "http://", "https://")):
        raise fail(f"{where}.path", f"expected a path starting with / or an http(s):// URL, got {path!r}")
    query = _mapping(entry.get("query"), f"{where}.query", fail)
    headers = _mapping(entry.get("headers"), f"{where}.headers", fail)
    for name, value in headers.items():
        if not isinstance(value, str):
            raise fail(f"{where}.headers.{name}", f"expected a string, got {type(value).__name__}")
    body = entry.get("body", ABSENT)
    template = RequestTemplate(
        method=method,
        path=path,
        query=query,
        headers=headers,
        body=ABSENT if body is None else body,
        success=parse_condition(entry["success"], f"{where}.success", fail) if "success" in entry else None,
        callerror=parse_condition(entry["callerror"], f"{where}.callerror", fail) if "callerror" in entry else None,
    )
    parts = {key: entry.get(key) for key in ("path", "query", "headers", "body", "success", "callerror")}
    for location, name in _placeholders(parts, where, fail):
        _check_name(name, location, names=names, payload_schema=payload_schema, fail=fail)
    return template


def parse_condition(raw: Any, where: str, fail: Fail) -> Condition:
    """``{status: [200, 201], json: {success: true, data.state: [Accepted, Pending]}}``: a list means any of."""
    entry = _mapping(raw, where, fail, allowed=("status", "json"))
    status = entry.get("status", [])
    codes = status if isinstance(status, list) else [status]
    for code in codes:
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise fail(f"{where}.status", f"expected an HTTP status code or a list of them, got {code!r}")
    checks: dict[str, tuple[Any, ...]] = {}
    for path, value in _mapping(entry.get("json"), f"{where}.json", fail).items():
        accepted = value if isinstance(value, list) else [value]
        if not accepted or any(isinstance(item, dict | list) for item in accepted):
            raise fail(f"{where}.json.{path}", f"expected a value or a list of values, got {value!r}")
        checks[str(path)] = tuple(accepted)
    return Condition(status=tuple(codes), json=checks)


def _mapping(raw: Any, where: str, fail: Fail, *, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise fail(where, f"expected a mapping, got {type(raw).__name__}")
    for key in raw:
        if allowed is not None and key not in allowed:
            raise fail(where, f"unknown key '{key}'{suggest(str(key), allowed)} (allowed: {', '.join(allowed)})")
    return {str(key): value for key, value in raw.items()}


def _placeholders(value: Any, where: str, fail: Fail) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        for match in _TOKEN.finditer(value):
            name = match.group(1)
            if name is None:
                continue
            if not _NAME.fullmatch(name):
                raise fail(where, f"'{{{name}}}' is not a placeholder (write {{{{ and }}}} for literal braces)")
            yield where, name
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _placeholders(item, f"{where}.{key}", fail)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _placeholders(item, f"{where}[{index}]", fail)


def _check_name(
    name: str, where: str, *, names: tuple[str, ...], payload_schema: Mapping[str, Any] | None, fail: Fail
) -> None:
    head, _, rest = name.partition(".")
    if head not in names or (rest and head != "payload"):
        raise fail(
            where,
            f"unknown placeholder '{{{name}}}'{suggest(name, names)} (this request offers: "
            f"{', '.join('{' + n + '}' for n in names)}{', {payload.<field>}' if 'payload' in names else ''})",
        )
    if rest and payload_schema is not None:
        problem = _schema_path_problem(payload_schema, rest.split("."))
        if problem is not None:
            raise fail(where, f"unknown placeholder '{{{name}}}': {problem}")


def _schema_path_problem(schema: Mapping[str, Any], parts: list[str]) -> str | None:
    """Why ``payload.<parts>`` cannot be in a payload that ``schema`` describes, or None."""
    node = schema
    for depth, part in enumerate(parts):
        while "$ref" in node:
            node = schema["definitions"][str(node["$ref"]).rsplit("/", 1)[-1]]
        here = ".".join(["payload", *parts[:depth]])
        properties = node.get("properties")
        if isinstance(properties, Mapping):
            if part not in properties:
                close = difflib.get_close_matches(part, list(properties), n=1, cutoff=0.6)
                hint = f"; did you mean '{here}.{close[0]}'?" if close else ""
                return f"{here} has no field '{part}'{hint} (fields: {', '.join(properties)})"
            node = properties[part]
        elif node.get("type") == "array":
            if not part.isdigit():
                return f"{here} is a list: use an index such as {here}.0"
            node = node.get("items", {})
        elif node.get("type") in ("string", "integer", "number", "boolean"):
            article = "an" if node["type"] == "integer" else "a"
            return f"{here} is {article} {node['type']}, it has no field '{part}'"
        else:
            return None
    return None


def suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


@functools.cache
def ocpp_request_schema(action: str) -> Mapping[str, Any]:
    """The official OCPP 1.6 JSON schema of ``action``'s request (shipped by the ``ocpp`` package)."""
    text = resources.files("ocpp").joinpath("v16", "schemas", f"{action}.json").read_text(encoding="utf-8")
    schema: Mapping[str, Any] = json.loads(text)
    return schema


@functools.cache
def configure_payload_schema(operation: str) -> Mapping[str, Any] | None:
    """The scenario schema's definition of a configure operation's payload (``boot_answer_payload``)."""
    text = resources.files("harness.scenario").joinpath("schema.json").read_text(encoding="utf-8")
    definition: Mapping[str, Any] | None = json.loads(text)["definitions"].get(f"{operation}_payload")
    return definition
