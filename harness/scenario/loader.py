"""Scenario files (format v1) -> the frozen model of :mod:`harness.scenario.model`.

Every mistake is reported at once, each at its ``file:line:column`` (design §3): a scenario file error must be
fixable from the collection report alone, before any socket opens. The structure of a file is checked against
``schema.json`` (the same schema editors use for completion); what a JSON Schema cannot say — OCPP action
directions, ``${name}`` references in flattened step order, reusable states, include cycles — is checked here.

Positions come from the YAML node tree (``yaml.compose``): PyYAML's constructed values forget where they came
from and silently keep the last of two duplicate keys.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, best_match

from harness.config import TEST_DATA_VARIABLES, TIME_VARIABLES, TOKEN_STATES, TOKEN_TYPES
from harness.outcomes import ScenarioError, ScenarioProblem
from harness.scenario.model import (
    Act,
    Configure,
    Connect,
    Exchange,
    ExpectCall,
    ExpectNoCall,
    Handshake,
    Location,
    Raw,
    Scenario,
    Send,
    Step,
    Trigger,
    Wait,
)
from harness.suite import display_path, shipped_scenarios
from ocppj.schemas import CHARGE_POINT_ACTIONS, actions
from ocppj.timefmt import parse_time

__all__ = ["SCHEMA_PATH", "load_scenario", "load_scenarios", "validate_paths"]

SCHEMA_PATH = Path(__file__).with_name("schema.json")

STATES_DIR = "_states"

# OCPP 1.6 §4 (operations initiated by the charge point) plus the security whitepaper's; DataTransfer
# (OCPP 1.6 §4.3 and §5.6) goes both ways.

BUILTIN_VARIABLES = (
    "station_id",
    "connector",
    "connectors",
    "unknown_connector",
    "token",
    "blocked_token",
    "expired_token",
    "invalid_token",
    "id_tag_parent",
    "station.basic_auth_password",
    "station.security_profile",
    *(f"tokens.{kind}.{state}" for kind in TOKEN_TYPES for state in TOKEN_STATES),
    *TEST_DATA_VARIABLES,
    *TIME_VARIABLES,
)

JsonPath = tuple[str | int, ...]
Position = tuple[int, int]

_SCENARIO = "scenario_file"
_STATE_FILE = "state_file"
_ACTION_KINDS = ("send", "exchange", "expect_call", "trigger")
_CLEANUP_KINDS = ("trigger", "configure", "act")
_PATTERN_FIELDS = {
    "send": ("expect", "should"),
    "exchange": ("request", "expect", "should"),
    "expect_call": ("match", "station_answer"),
    "raw": ("expect",),
}
_RAW_EXPECTATIONS = ("expect_error", "expect", "expect_silence_s", "expect_close")
_HANDSHAKE_EXPECTATIONS = ("expect_status", "expect_subprotocol", "expect_close", "expect_refusal")
_VARIABLE_FIELDS = ("payload", "expect", "should", "match", "request", "reply", "token", "connector", "wait")
_CONSTRAINT_KEYS = frozenset({"schema", "absent", "optional", "not", "after", "equals", "default"})
_RESOLVED_CONSTRAINT_KEYS = frozenset({"not", "after", "equals", "default"})  # values compared with, so resolved
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_REFERENCE = re.compile(r"\$\{([^{}]*)\}")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
_RESERVED_CAPTURES = frozenset(name.split(".")[0] for name in BUILTIN_VARIABLES)
_YAML_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(_YAML_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp"))

# Draft 7 keywords: anything else in a constraint's schema is almost always a typo that would silently never
# be checked (validators ignore unknown keywords, json-schema-core draft-07 §4.3.1).
_SCHEMA_KEYWORDS = frozenset(jsonschema.Draft7Validator.META_SCHEMA["properties"]) | {"writeOnly"}
_SUBSCHEMA_KEYWORDS = frozenset(
    {"additionalItems", "contains", "additionalProperties", "propertyNames", "if", "then", "else", "not"}
)
_SUBSCHEMA_LIST_KEYWORDS = frozenset({"allOf", "anyOf", "oneOf"})
_SUBSCHEMA_MAP_KEYWORDS = frozenset({"properties", "patternProperties", "definitions"})

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


# ----------------------------------------------------------------------------------------------------------
# Public API


def load_scenario(path: str | Path) -> Scenario:
    """Load one scenario file; :class:`ScenarioError` lists every problem of it and of the states it uses."""
    return _Session().scenario(os.fspath(path))


def load_scenarios(paths: Iterable[str | Path]) -> tuple[list[Scenario], list[ScenarioProblem]]:
    """Load scenario files and directories (searched recursively for ``*.yaml``/``*.yml``, not ``_states``).

    Files are loaded independently: one bad file does not hide the others, and the good ones are returned.
    """
    session = _Session()
    scenarios: list[Scenario] = []
    problems: list[ScenarioProblem] = []
    first_by_id: dict[str, Scenario] = {}
    for display in _scenario_files(paths, problems):
        try:
            scenario = session.scenario(display)
        except ScenarioError as error:
            problems.extend(error.problems)
            continue
        first = first_by_id.setdefault(scenario.id, scenario)
        if first is not scenario:
            line, column = session.document(display, _SCENARIO).at(("id",))
            problems.append(
                ScenarioProblem(display, line, column, f"duplicate scenario id {scenario.id!r} (also {first.path})")
            )
            continue
        scenarios.append(scenario)
    return scenarios, _finish(problems)


def validate_paths(paths: Iterable[str | Path]) -> list[ScenarioProblem]:
    """Every problem of the scenario files under ``paths`` (``ocpp-harness validate``); [] when all load."""
    return load_scenarios(paths)[1]


# ----------------------------------------------------------------------------------------------------------
# Files and YAML


def _scenario_files(paths: Iterable[str | Path], problems: list[ScenarioProblem]) -> Iterator[str]:
    seen: set[str] = set()
    for given in paths:
        display = os.fspath(given)
        root = Path(display)
        if root.is_dir():
            found = sorted(
                (
                    candidate
                    for candidate in root.rglob("*")
                    if candidate.suffix in (".yaml", ".yml")
                    and candidate.is_file()
                    and STATES_DIR not in candidate.relative_to(root).parts[:-1]
                    and STATES_DIR not in root.parts
                ),
                key=lambda candidate: candidate.parts,
            )
            files = [str(candidate) for candidate in found]
        elif root.exists():
            files = [display]
        else:
            problems.append(ScenarioProblem(display, 1, 1, "no such file or directory"))
            continue
        for file in files:
            key = os.path.abspath(file)
            if key not in seen:
                seen.add(key)
                yield file


def _finish(problems: Iterable[ScenarioProblem]) -> list[ScenarioProblem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda problem: (problem.path, problem.line, problem.column))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    options = list(choices)
    for option in options:
        if option.lower() == word.lower():
            return option
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _did_you_mean(word: str, choices: Iterable[str], *, template: str = "{}") -> str:
    suggestion = _suggest(word, choices)
    return f"; did you mean {template.format(suggestion)!r}?" if suggestion else ""


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({_show(value)})"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _mark_position(mark: yaml.Mark | None) -> Position:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


@dataclass(eq=False)
class _Document:
    """One parsed file: the plain JSON-like value plus where each value and each mapping key starts."""

    path: str  # as shown in problems: relative stays relative
    file: Path  # absolute, for finding the states folder and spotting include cycles
    value: Any = None
    values: dict[JsonPath, Position] = field(default_factory=dict)
    keys: dict[JsonPath, Position] = field(default_factory=dict)
    problems: list[ScenarioProblem] = field(default_factory=list)
    readable: bool = True

    def at(self, path: JsonPath) -> Position:
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, (1, 1))

    def key_at(self, path: JsonPath) -> Position:
        return self.keys[path] if path in self.keys else self.at(path)

    def problem(self, path: JsonPath, message: str, *, at_key: bool = False) -> None:
        line, column = self.key_at(path) if at_key else self.at(path)
        self.problems.append(ScenarioProblem(self.path, line, column, message))

    def get(self, path: JsonPath) -> Any:
        value = self.value
        for part in path:
            value = value[part]
        return value


def _read(document: _Document) -> None:
    try:
        data = document.file.read_bytes()
    except OSError as error:
        document.problems.append(ScenarioProblem(document.path, 1, 1, f"cannot read: {error.strerror or error}"))
        document.readable = False
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line, column = before.count(b"\n") + 1, error.start - before.rfind(b"\n")
        document.problems.append(
            ScenarioProblem(document.path, line, column, f"not UTF-8 text: byte {data[error.start]:#04x}")
        )
        document.readable = False
        return
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        document.problems.append(_syntax_problem(document.path, error, text))
        document.readable = False
        return
    except yaml.YAMLError as error:  # reader errors (control characters) carry a character offset only
        position = int(getattr(error, "position", 0))
        prefix = text[:position]
        line, column = prefix.count("\n") + 1, position - prefix.rfind("\n")
        reason = getattr(error, "reason", str(error))
        document.problems.append(ScenarioProblem(document.path, line, column, _one_line(f"YAML: {reason}")))
        document.readable = False
        return
    if root is None:
        document.values[()] = (1, 1)
        return
    document.value = _Builder(document).build(root, ())


def _syntax_problem(path: str, error: yaml.MarkedYAMLError, text: str) -> ScenarioProblem:
    mark = error.problem_mark or error.context_mark
    line, column = _mark_position(mark)
    message = f"YAML syntax error: {error.problem or error.context or 'invalid YAML'}"
    if error.context and error.problem and error.problem.startswith("but "):
        message = f"YAML syntax error: {error.context}, {error.problem}"
    elif error.context and error.problem and error.context_mark is not None:
        context_line, context_column = _mark_position(error.context_mark)
        if (context_line, context_column) != (line, column):
            message += f" ({error.context} at line {context_line}, column {context_column})"
    if mark is not None and 0 < mark.index < len(text) and text[mark.index - 1 : mark.index + 1] == "${":
        message += '; quote ${name} references inside [...] or {...}: "${name}"'
    return ScenarioProblem(path, line, column, _one_line(message))


class _Builder:
    """Node tree -> plain value, recording positions; flags duplicate keys and whatever is not JSON-like."""

    def __init__(self, document: _Document) -> None:
        self._document = document
        self._constructor = yaml.constructor.SafeConstructor()
        self._active: set[int] = set()

    def _problem(self, node: yaml.Node, message: str) -> None:
        line, column = _mark_position(node.start_mark)
        self._document.problems.append(ScenarioProblem(self._document.path, line, column, message))

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        self._document.values[path] = _mark_position(node.start_mark)
        if id(node) in self._active:
            self._problem(node, "a YAML alias cannot refer to a node that contains it")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                self._check_tag(node, _YAML_TAG + "map")
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                self._check_tag(node, _YAML_TAG + "seq")
                return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            return self._scalar(node)
        finally:
            self._active.discard(id(node))

    def _check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            self._problem(node, f"YAML tag {self._tag_name(node.tag)} is not supported: use plain YAML")

    @staticmethod
    def _tag_name(tag: str) -> str:
        return "!!" + tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else tag

    def _scalar(self, node: yaml.Node) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self._problem(node, f"YAML tag {self._tag_name(node.tag)} is not supported: use plain YAML")
            return node.value
        if node.tag == _YAML_TAG + "timestamp":  # JSON has no dates: keep what was written
            return node.value
        try:
            value = self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError as error:
            self._problem(node, _one_line(f"invalid value: {error}"))
            return node.value
        return value

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        explicit: dict[str, Any] = {}
        first_key: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _YAML_TAG + "merge":
                merged.update({k: v for k, v in self._merge(value_node, path).items() if k not in merged})
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, "a mapping key must be a plain name, not a list or mapping")
                continue
            key = str(key_node.value)
            if key in first_key:
                first_line = first_key[key].start_mark.line + 1
                self._problem(key_node, f"duplicate key {key!r} (first at line {first_line})")
            else:
                first_key[key] = key_node
            self._document.keys[(*path, key)] = _mark_position(key_node.start_mark)
            explicit[key] = self.build(value_node, (*path, key))
        return {**{k: v for k, v in merged.items() if k not in explicit}, **explicit}

    def _merge(self, node: yaml.Node, path: JsonPath) -> dict[str, Any]:
        """YAML 1.1 merge keys (``<<: *defaults``): earlier sources win, explicit keys win over all."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        result: dict[str, Any] = {}
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self._problem(source, "a merge key ('<<') takes a mapping or a list of mappings")
                continue
            for key, value in self._mapping(source, path).items():
                result.setdefault(key, value)
        return result


# ----------------------------------------------------------------------------------------------------------
# Schema


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@functools.cache
def _validator(definition: str) -> jsonschema.Draft7Validator:
    """A validator for one file kind. The schema's root picks the kind from the keys present, which suits
    editors; the loader knows the kind from where the file is, and so gets errors without the if/then layer."""
    definitions = _schema()["definitions"]
    return jsonschema.Draft7Validator({"$ref": f"#/definitions/{definition}", "definitions": definitions})


@functools.cache
def _step_kinds() -> tuple[str, ...]:
    """The step kinds in the order of the step schema's ``oneOf`` (each branch requires its kind first)."""
    definitions = _schema()["definitions"]
    kinds = []
    for branch in definitions["step"]["oneOf"]:
        name = branch["$ref"].rsplit("/", 1)[-1]
        kinds.append(str(definitions[name]["required"][0]))
    return tuple(kinds)


@functools.cache
def _metaschema_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(jsonschema.Draft7Validator.META_SCHEMA)


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeio" else "a"


def _single_kind(step: Any) -> str | None:
    if not isinstance(step, dict):
        return None
    kinds = [kind for kind in _step_kinds() if kind in step]
    return kinds[0] if len(kinds) == 1 else None


def _leaf(error: ValidationError) -> ValidationError:
    """The most specific reason under an anyOf/oneOf: prefer the branch whose type matched."""
    while error.context:
        typed = [child for child in error.context if child.validator != "type"]
        error = best_match(typed or error.context)
    return error


class _SchemaProblems:
    """jsonschema errors -> one-line problems at the best position."""

    def __init__(self, document: _Document) -> None:
        self._document = document
        definitions = _schema()["definitions"]
        self._step = definitions["step"]
        self._action_definitions = [definitions[name] for name in ("cp_action", "csms_action", "any_action")]
        self._kind_index = {kind: index for index, kind in enumerate(_step_kinds())}

    def check(self, definition: str) -> None:
        self._emit(list(_validator(definition).iter_errors(self._document.value)))

    def _emit(self, errors: list[ValidationError]) -> None:
        typed = {tuple(error.absolute_path) for error in errors if error.validator == "type"}
        for error in errors:
            if error.validator == "type" or tuple(error.absolute_path) not in typed:
                self._one(error)

    def _subject(self, path: JsonPath) -> str:
        if not path:
            return "the file"
        last = path[-1]
        if isinstance(last, int):
            return f"item {last + 1} of {path[-2]!r}" if len(path) > 1 else f"item {last + 1}"
        if len(path) > 1 and path[-2] == "capture":
            return f"capture {last!r}"
        return repr(last)

    def _where(self, path: JsonPath) -> str:
        if len(path) == 2 and path[0] == "steps" and isinstance(path[1], int):
            kind = _single_kind(self._document.get(path))
            if kind is not None:
                return f" in {_article(kind)} {kind!r} step" if kind != "use" else " in a 'use' step"
        if path:
            return f" in {self._subject(path)}"
        return ""

    def _one(self, error: ValidationError) -> None:
        document = self._document
        path = tuple(error.absolute_path)
        validator = str(error.validator)
        schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
        custom = schema.get("errorMessage")
        instance: Any = error.instance
        expected: Any = error.validator_value

        if validator == "oneOf" and schema is self._step:
            self._step_problem(error, path)
        elif validator == "enum" and any(schema is action for action in self._action_definitions):
            return  # action names and directions are checked with better messages in _Semantics
        elif "propertyNames" in error.schema_path:
            document.problem((*path, instance), f"invalid key {instance!r}: {custom or error.message}", at_key=True)
        elif validator == "additionalProperties" and isinstance(instance, dict):
            allowed = list(schema.get("properties", {}))
            for key in instance:
                if key not in allowed:
                    hint = _did_you_mean(key, allowed) or f"; expected one of: {', '.join(allowed)}"
                    document.problem((*path, key), f"unknown key {key!r}{self._where(path)}{hint}", at_key=True)
        elif validator == "required" and isinstance(instance, dict):
            for key in expected:
                if key not in instance:
                    document.problem(path, f"missing required key {key!r}{self._where(path)}")
        elif validator == "type":
            self._type_problem(error, path)
        elif validator == "enum":
            choices = [str(choice) for choice in expected]
            hint = _did_you_mean(instance, choices) if isinstance(instance, str) else ""
            document.problem(
                path,
                f"{self._subject(path)} must be one of: {', '.join(choices)}; got {_show(instance)}{hint}",
            )
        elif validator == "not" and custom:
            document.problem(path, str(custom))
        elif validator in ("anyOf", "oneOf", "pattern") and custom:
            document.problem(path, f"{self._subject(path)} {custom}; got {_show(instance)}")
        elif validator in ("anyOf", "oneOf") and error.context:
            self._one(_leaf(error))
        elif validator == "pattern":
            document.problem(path, f"{self._subject(path)} must match {expected}; got {_show(instance)}")
        elif validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
            relation = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
            document.problem(
                path,
                f"{self._subject(path)} must be {relation[validator]} {expected}; got {instance}",
            )
        elif validator in ("minItems", "minLength") and expected == 1:
            document.problem(path, f"{self._subject(path)} must not be empty")
        elif validator == "uniqueItems":
            document.problem(path, f"{self._subject(path)} lists the same value twice")
        else:
            document.problem(path, _one_line(f"{self._subject(path)}: {custom or error.message}"))

    def _type_problem(self, error: ValidationError, path: JsonPath) -> None:
        value: Any = error.validator_value
        expected = value if isinstance(value, list) else [value]
        names = " or ".join(_TYPE_NAMES.get(str(name), str(name)) for name in expected)
        actual = _kind_of(error.instance)
        if error.schema is self._step:
            kinds = ", ".join(_step_kinds())
            message = f"a step must be a mapping with one kind key ({kinds}), not {actual}"
        elif not path:
            required = ", ".join(error.schema.get("required", ())) if isinstance(error.schema, Mapping) else ""
            if error.instance is None:
                message = f"the file is empty; expected a mapping with {required}"
            else:
                message = f"the file must be a mapping with {required}, not {actual}"
        else:
            message = f"{self._subject(path)} must be {names}, not {actual}"
        self._document.problem(path, message)

    def _step_problem(self, error: ValidationError, path: JsonPath) -> None:
        step = error.instance
        if not isinstance(step, dict):
            return  # reported by the step schema's "type"
        kinds = [kind for kind in _step_kinds() if kind in step]
        listing = ", ".join(_step_kinds())
        if len(kinds) == 1:
            index = self._kind_index[kinds[0]]
            self._emit([child for child in error.context if child.relative_schema_path[0] == index])
        elif not kinds:
            near = [(key, _suggest(key, _step_kinds())) for key in step if isinstance(key, str)]
            hints = [f"{key!r} is unknown; did you mean {kind!r}?" for key, kind in near if kind]
            hint = f" ({hints[0]})" if hints else ""
            self._document.problem(path, f"step has no kind key{hint}; a step takes exactly one of: {listing}")
        else:
            named = ", ".join(repr(kind) for kind in kinds)
            self._document.problem(
                path, f"step has {len(kinds)} kind keys ({named}); a step takes exactly one of: {listing}"
            )


# ----------------------------------------------------------------------------------------------------------
# Checks a schema cannot express


def _action_direction(action: str, *, charge_point: bool) -> str | None:
    """None when ``action`` may be sent by that side, else why not (OCPP 1.6 §4 vs §5)."""
    if charge_point and action not in CHARGE_POINT_ACTIONS:
        return "is sent by the CSMS"
    if not charge_point and action in CHARGE_POINT_ACTIONS and action != "DataTransfer":
        return "is sent by the charge point"
    return None


class _Semantics:
    """Per-file checks that do not depend on where the file is used: actions, constraints, captures, id."""

    def __init__(self, document: _Document) -> None:
        self._document = document

    def check(self, *, scenario: bool) -> None:
        value = self._document.value
        if not isinstance(value, dict):
            return
        if scenario:
            self._check_id(value.get("id"))
        for section in ("steps", "cleanup"):
            steps = value.get(section)
            if not isinstance(steps, list):
                continue
            for index, step in enumerate(steps):
                kind = _single_kind(step)
                if kind is None:
                    continue
                if section == "cleanup" and kind not in _CLEANUP_KINDS:
                    self._document.problem(
                        (section, index, kind),
                        f"a cleanup step is {' or '.join(map(repr, _CLEANUP_KINDS))}, not {kind!r}: cleanup makes the "
                        "CSMS act or the station move, it checks nothing",
                        at_key=True,
                    )
                    continue
                self._check_step((section, index), kind, step)

    def _check_id(self, scenario_id: Any) -> None:
        file = self._document.file
        if not isinstance(scenario_id, str) or STATES_DIR in file.parts[:-1]:
            return
        if scenario_id != file.stem:
            self._document.problem(
                ("id",), f"id {scenario_id!r} does not match the file name {file.name!r}; rename one of them"
            )

    def _check_step(self, path: JsonPath, kind: str, step: dict[str, Any]) -> None:
        action = step[kind]
        if kind == "raw":
            given = [name for name in _RAW_EXPECTATIONS if name in step]
            alone = [name for name in given if name in ("expect_silence_s", "expect_close")]
            if not given or (alone and len(given) > 1):
                self._document.problem(
                    path,
                    f"a raw step needs one of {', '.join(_RAW_EXPECTATIONS)} (expect_error and expect may go "
                    "together)" + (f"; it has {', '.join(given)}" if given else ""),
                )
            if isinstance(action, list):
                for name in ("hex", "message_id"):
                    if name in step:
                        self._document.problem(
                            (*path, name), f"{name} goes with a single raw frame, not a list", at_key=True
                        )
        if kind == "handshake":
            given = [name for name in _HANDSHAKE_EXPECTATIONS if name in step]
            if len(given) != 1:
                self._document.problem(
                    path,
                    f"a handshake step needs exactly one of {', '.join(_HANDSHAKE_EXPECTATIONS)}"
                    + (f"; it has {', '.join(given)}" if given else ""),
                )
        if kind == "expect_call" and "station_answer" in step and ("reply" in step or "reply_error" in step):
            self._document.problem(
                (*path, "station_answer"), "station_answer judges the station's own answer: drop reply", at_key=True
            )
        if kind == "connect" and step.get("auth") == "none" and ("username" in step or "password" in step):
            self._document.problem(path, "a connect step with 'auth: none' sends no username or password")
        if kind == "act" and "simulated_offline_s" in step and action != "go_online":
            self._document.problem(
                (*path, "simulated_offline_s"), "simulated_offline_s goes with 'act: go_online' only", at_key=True
            )
        if kind in _ACTION_KINDS:
            self._check_action((*path, kind), action, charge_point=kind in ("send", "exchange"), kind=kind)
        elif kind == "expect_no_call" and action != "any":
            source = step.get("from", "csms")
            if source in ("csms", "station"):
                self._check_action((*path, kind), action, charge_point=source == "station", kind=kind)
        for name in _PATTERN_FIELDS.get(kind, ()):
            if name in step:
                self._check_pattern((*path, name), step[name])
        capture = step.get("capture")
        if isinstance(capture, dict):
            for name in capture:
                if name in _RESERVED_CAPTURES:
                    self._document.problem(
                        (*path, "capture", name),
                        f"capture {name!r} would hide the built-in variable '${{{name}}}'; rename it",
                        at_key=True,
                    )

    def _check_action(self, path: JsonPath, action: Any, *, charge_point: bool, kind: str) -> None:
        if not isinstance(action, str):
            return  # the schema reports the type
        if action not in actions():
            same_side = [name for name in actions() if _action_direction(name, charge_point=charge_point) is None]
            suggestion = _suggest(action, sorted(same_side)) or _suggest(action, sorted(actions()))
            hint = f"; did you mean {suggestion!r}?" if suggestion else ""
            self._document.problem(path, f"unknown OCPP 1.6 action {action!r}{hint}")
            return
        reason = _action_direction(action, charge_point=charge_point)
        if reason is None:
            return
        if kind == "expect_no_call":
            fix = "add 'from: station'" if charge_point is False else "remove 'from: station'"
        else:
            fix = "use 'send' or 'exchange'" if charge_point is False else "use 'expect_call' or 'trigger'"
        self._document.problem(path, f"{action} {reason}; {fix}")

    def _check_pattern(self, path: JsonPath, pattern: Any) -> None:
        if isinstance(pattern, list):
            for index, item in enumerate(pattern):
                self._check_pattern((*path, index), item)
        elif isinstance(pattern, dict):
            if pattern and set(pattern) <= _CONSTRAINT_KEYS:
                self._check_constraint(path, pattern)
            else:
                for key, item in pattern.items():
                    self._check_pattern((*path, key), item)

    def _check_constraint(self, path: JsonPath, constraint: dict[str, Any]) -> None:
        document = self._document
        if "absent" in constraint:
            if constraint["absent"] is not True:
                document.problem((*path, "absent"), f"'absent' must be true; got {_show(constraint['absent'])}")
            if len(constraint) > 1:
                document.problem(
                    path,
                    "'absent: true' cannot be combined with 'schema', 'optional', 'not', 'after', 'equals' or "
                    "'default'",
                )
        if "optional" in constraint:
            if not isinstance(constraint["optional"], bool):
                document.problem(
                    (*path, "optional"),
                    f"'optional' must be true or false, not {_kind_of(constraint['optional'])}",
                )
            if not {"schema", "absent", "not", "after", "equals"} & constraint.keys():
                document.problem(path, "'optional' needs a 'schema' next to it (e.g. {optional: true, schema: {...}})")
            if "default" in constraint:
                document.problem(
                    path,
                    "'optional' and 'default' cannot be used together: a missing member either passes or "
                    "counts as the default",
                )
        if "default" in constraint and not {"schema", "not", "equals", "absent"} & constraint.keys():
            document.problem(
                path,
                "'default' needs 'equals', 'schema' or 'not' next to it, which check it when the member is missing "
                '(e.g. {equals: "${test.number_phases}", default: 3})',
            )
        for key, example in (
            ("not", "'not' takes a value to differ from (e.g. {not: \"${tx_a}\"})"),
            ("equals", "'equals' takes a value to match (e.g. {equals: \"${test.number_phases}\", default: 3})"),
            ("default", "'default' takes the value a missing member counts as (e.g. {equals: 1, default: 3})"),
        ):
            if key not in constraint:
                continue
            other = constraint[key]
            if isinstance(other, dict) and other and set(other) <= _CONSTRAINT_KEYS:
                document.problem((*path, key), f"{example}, not another constraint")
            else:
                self._check_pattern((*path, key), other)
        if "after" in constraint:
            self._check_after((*path, "after"), constraint["after"])
        if "schema" in constraint:
            self._check_json_schema((*path, "schema"), constraint["schema"])

    def _check_after(self, path: JsonPath, bound: Any) -> None:
        """``after`` compares with a number or a date-time: a literal one, or a ``${name}`` reference to one."""
        if isinstance(bound, str) and "${" in bound:
            return  # the reference is checked with the others; its value is known when the step runs
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            return
        if isinstance(bound, str):
            try:
                parse_time(bound)
            except ValueError:
                pass
            else:
                return
        self._document.problem(
            path,
            "'after' takes a number or an RFC 3339 date-time to come after (e.g. {after: \"${time.now}\"}), "
            f"not {_show(bound)}",
        )

    def _check_json_schema(self, path: JsonPath, schema: Any) -> None:
        document = self._document
        if not isinstance(schema, dict | bool):
            document.problem(path, f"'schema' must be a JSON Schema (a mapping), not {_kind_of(schema)}")
            return
        for error in _metaschema_validator().iter_errors(schema):
            leaf = _leaf(error)
            hint = ""
            if leaf.validator == "enum" and isinstance(leaf.instance, str):
                choices: Any = leaf.validator_value
                hint = _did_you_mean(leaf.instance, [str(choice) for choice in choices])
            document.problem((*path, *leaf.absolute_path), _one_line(f"invalid JSON Schema: {leaf.message}{hint}"))
        self._check_keywords(path, schema)

    def _check_keywords(self, path: JsonPath, schema: Any) -> None:
        if not isinstance(schema, dict):
            return
        for key, value in schema.items():
            if key not in _SCHEMA_KEYWORDS and not key.startswith("x-"):
                hint = _did_you_mean(key, sorted(_SCHEMA_KEYWORDS))
                self._document.problem((*path, key), f"unknown JSON Schema keyword {key!r}{hint}", at_key=True)
            elif key in _SUBSCHEMA_KEYWORDS:
                self._check_keywords((*path, key), value)
            elif key in _SUBSCHEMA_LIST_KEYWORDS or (key == "items" and isinstance(value, list)):
                for index, item in enumerate(value if isinstance(value, list) else ()):
                    self._check_keywords((*path, key, index), item)
            elif key == "items":
                self._check_keywords((*path, key), value)
            elif key in _SUBSCHEMA_MAP_KEYWORDS or key == "dependencies":
                for name, item in value.items() if isinstance(value, dict) else ():
                    self._check_keywords((*path, key, name), item)


# ----------------------------------------------------------------------------------------------------------
# States, variables and the model


@dataclass(frozen=True)
class _StepRef:
    document: _Document
    path: JsonPath
    origin: str | None


@dataclass(frozen=True)
class _Use:
    name: str
    file: Path


def _strings(value: Any, path: JsonPath, *, constraint: bool = False) -> Iterator[tuple[JsonPath, str, bool]]:
    """Every string value with its path, and whether it sits inside a constraint (which is not resolved)."""
    if isinstance(value, str):
        yield path, value, constraint
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index), constraint=constraint)
    elif isinstance(value, dict):
        here = bool(value and set(value) <= _CONSTRAINT_KEYS)
        for key, item in value.items():
            # A constraint's 'not', 'after', 'equals' and 'default' values are compared with the actual value, so
            # they are resolved.
            inside = constraint or (here and key not in _RESOLVED_CONSTRAINT_KEYS)
            yield from _strings(item, (*path, key), constraint=inside)


class _Session:
    """One load call: parses each file once, even when many scenarios use the same state."""

    def __init__(self) -> None:
        self._documents: dict[tuple[str, str], _Document] = {}

    def document(self, display: str, definition: str) -> _Document:
        file = Path(os.path.abspath(display))
        key = (str(file), definition)
        if key not in self._documents:
            document = _Document(path=display, file=file)
            _read(document)
            if document.readable:
                _SchemaProblems(document).check(definition)
                _Semantics(document).check(scenario=definition == _SCENARIO)
            self._documents[key] = document
        return self._documents[key]

    def scenario(self, display: str) -> Scenario:
        document = self.document(display, _SCENARIO)
        problems = list(document.problems)
        flat: list[_StepRef] = []
        cleanup: list[_StepRef] = []
        if document.readable:
            self._expand(document, None, (), flat, problems)
            raw_cleanup = document.value.get("cleanup") if isinstance(document.value, dict) else None
            if isinstance(raw_cleanup, list):
                cleanup = [_StepRef(document, ("cleanup", index), None) for index in range(len(raw_cleanup))]
            self._check_variables(flat, cleanup, problems)
        if problems:
            raise ScenarioError(_finish(problems))
        return _build_scenario(document, flat, cleanup)

    def _expand(
        self,
        document: _Document,
        origin: str | None,
        stack: tuple[_Use, ...],
        flat: list[_StepRef],
        problems: list[ScenarioProblem],
    ) -> None:
        steps = document.value.get("steps") if isinstance(document.value, dict) else None
        if not isinstance(steps, list):
            return
        for index, step in enumerate(steps):
            kind = _single_kind(step)
            if kind is None:
                continue
            if kind != "use":
                flat.append(_StepRef(document, ("steps", index), origin))
                continue
            name = step["use"]
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]*", name):
                continue  # the schema reports it
            where = ("steps", index, "use")
            state_file = self._find_state(document, where, name, problems)
            if state_file is None:
                continue
            cycle = [use.file for use in stack]
            if state_file in cycle:
                names = [use.name for use in stack[cycle.index(state_file) :]]
                line, column = document.at(where)
                chain = " -> ".join([*names, name])
                problems.append(ScenarioProblem(document.path, line, column, f"include cycle: {chain}"))
                continue
            state = self.document(_display(state_file, document.path), _STATE_FILE)
            problems.extend(state.problems)
            if state.readable:
                self._expand(state, name, (*stack, _Use(name, state_file)), flat, problems)

    @staticmethod
    def _find_state(document: _Document, where: JsonPath, name: str, problems: list[ScenarioProblem]) -> Path | None:
        """The nearest ``_states`` folder at or above the file has the first say, then the shipped states: a
        folder of one's own can ``use: booted`` without a copy of it, and can still override it."""
        line, column = document.at(where)
        local = next((folder / STATES_DIR for folder in document.file.parents if (folder / STATES_DIR).is_dir()), None)
        shipped = shipped_scenarios() / STATES_DIR
        folders = [] if local is None else [local]
        if local is None or local.resolve() != shipped:  # in a checkout, the shipped states are the local ones
            folders.append(shipped)
        for folder in folders:
            for suffix in (".yaml", ".yml"):
                if (folder / (name + suffix)).is_file():
                    return folder / (name + suffix)
        known = sorted(
            {entry.stem for folder in folders for entry in folder.iterdir() if entry.suffix in (".yaml", ".yml")}
        )
        hint = _did_you_mean(name, known) or (f"; known states: {', '.join(known)}" if known else "")
        shown = _display(folders[0] / (name + ".yaml"), document.path)
        also = f" and no shipped state {name!r}" if len(folders) > 1 else ""
        problems.append(
            ScenarioProblem(document.path, line, column, f"unknown state {name!r} (no {shown}{also}){hint}")
        )
        return None

    @staticmethod
    def _check_variables(flat: list[_StepRef], cleanup: list[_StepRef], problems: list[ScenarioProblem]) -> None:
        """``${name}``: a built-in, or captured by an earlier step in flattened order (states included). A
        cleanup step may use any capture: when the case ended before it was captured, the step is skipped."""
        captures: list[tuple[str, _StepRef]] = []
        for ref in flat:
            capture = ref.document.get(ref.path).get("capture")
            if isinstance(capture, dict):
                captures.extend((name, ref) for name in capture if isinstance(name, str))
        first_capture: dict[str, _StepRef] = {}
        for name, ref in captures:
            first_capture.setdefault(name, ref)
        defined: set[str] = set()
        for ref in [*flat, *cleanup]:
            step = ref.document.get(ref.path)
            for name in _VARIABLE_FIELDS:
                if name not in step:
                    continue
                for path, text, constraint in _strings(step[name], (*ref.path, name)):
                    line, column = ref.document.at(path)
                    if constraint:
                        messages: Iterable[str] = (
                            f"{reference!r} is not resolved inside a constraint: compare with the variable "
                            f"directly (member: {reference})"
                            for reference in dict.fromkeys(m.group(0) for m in _REFERENCE.finditer(text))
                        )
                    else:
                        messages = _reference_problems(text, defined, first_capture, ref)
                    for message in messages:
                        problems.append(ScenarioProblem(ref.document.path, line, column, message))
            capture = step.get("capture")
            if isinstance(capture, dict):
                defined.update(
                    name
                    for name in capture
                    if isinstance(name, str) and _IDENTIFIER.match(name) and name not in _RESERVED_CAPTURES
                )


def _reference_problems(
    text: str, defined: set[str], first_capture: Mapping[str, _StepRef], here: _StepRef
) -> Iterator[str]:
    if "${" in _REFERENCE.sub("", text):
        yield f"unterminated '${{' in {_show(text)}: a reference is written ${{name}}"
    for match in _REFERENCE.finditer(text):
        name = match.group(1)
        if not _VARIABLE_NAME.match(name):
            yield f"invalid variable reference {match.group(0)!r}: a reference is written ${{name}}"
        elif name in BUILTIN_VARIABLES or name in defined:
            continue
        elif name in first_capture:
            later = first_capture[name]
            line, _ = later.document.at(later.path)
            if later.document is here.document and later.path == here.path:
                yield f"variable '${{{name}}}' is captured by this same step, so it cannot be used in it"
            else:
                where = f"line {line}" if later.document is here.document else f"{later.document.path}:{line}"
                yield f"variable '${{{name}}}' is used before it is captured (by the step at {where})"
        else:
            hint = _did_you_mean(name, [*BUILTIN_VARIABLES, *sorted(defined)], template="${{{}}}")
            yield f"undefined variable '${{{name}}}'{hint}"


def _display(file: Path, relative_to: str) -> str:
    """Show an included file the way the including file was named: relative stays relative, unless the file is
    outside the current directory (a shipped state in site-packages)."""
    return str(file) if os.path.isabs(relative_to) else display_path(file)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _build_scenario(document: _Document, flat: list[_StepRef], cleanup: list[_StepRef]) -> Scenario:
    value = document.value
    return Scenario(
        id=value["id"],
        title=value["title"],
        profile=value["profile"],
        path=document.path,
        steps=tuple(_build_step(ref) for ref in flat),
        references=tuple(value.get("references", ())),
        description=value.get("description"),
        station=value.get("station", "default"),
        additional_question=value.get("additional_question"),
        parametrize=tuple(value.get("parametrize", ())),
        timeout_s=_number(value.get("timeout_s")),
        configuration={key: _configuration_text(item) for key, item in value.get("configuration", {}).items()},
        optional_fields=value.get("optional_fields"),
        cleanup=tuple(_build_step(ref) for ref in cleanup),
    )


def _configuration_text(value: Any) -> str:
    """OCPP 1.6 §9 configuration values are strings; ``true`` and ``2`` are written as OCPP writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _build_step(ref: _StepRef) -> Step:
    raw: dict[str, Any] = copy.deepcopy(ref.document.get(ref.path))
    line, column = ref.document.at(ref.path)
    common: dict[str, Any] = {
        "location": Location(ref.document.path, line, column),
        "description": raw.get("description"),
        "ref": raw.get("ref"),
        "origin": ref.origin,
    }
    kind = _single_kind(raw)
    if kind in ("send", "exchange"):
        checks = {
            "action": raw[kind],
            "expect": raw.get("expect"),
            "should": raw.get("should"),
            "expect_error": raw.get("expect_error"),
            "capture": raw.get("capture", {}),
            "timeout_s": _number(raw.get("timeout_s")),
        }
        if kind == "send":
            return Send(**common, **checks, payload=raw.get("payload"))
        return Exchange(**common, **checks, request=raw.get("request"))
    if kind == "expect_call":
        return ExpectCall(
            **common,
            action=raw["expect_call"],
            match=raw.get("match"),
            reply=raw.get("reply"),
            reply_error=raw.get("reply_error"),
            station_answer=raw.get("station_answer"),
            capture=raw.get("capture", {}),
            timeout_s=_number(raw.get("timeout_s")),
        )
    if kind == "trigger":
        return Trigger(**common, action=raw["trigger"], payload=raw.get("payload", {}))
    if kind == "configure":
        return Configure(**common, operation=raw["configure"], payload=raw.get("payload", {}))
    if kind == "act":
        connector = raw.get("connector")
        return Act(
            **common,
            act=raw["act"],
            connector=int(connector) if isinstance(connector, float) else connector,
            token=raw.get("token"),
            error_code=raw.get("error_code"),
            simulated_offline_s=_number(raw.get("simulated_offline_s")),
        )
    if kind == "wait":
        seconds = raw["wait"]
        return Wait(**common, seconds=seconds if isinstance(seconds, str) else float(seconds))
    if kind == "raw":
        return _build_raw(common, raw)
    if kind == "handshake":
        return Handshake(
            **common,
            station_id=raw["handshake"],
            subprotocols=tuple(raw.get("subprotocols", ["ocpp1.6"])),
            expect_status=raw.get("expect_status"),
            expect_subprotocol=raw.get("expect_subprotocol"),
            expect_close=bool(raw.get("expect_close", False)),
            expect_refusal=bool(raw.get("expect_refusal", False)),
            should=raw.get("level") == "should",
            timeout_s=_number(raw.get("timeout_s")),
        )
    if kind == "connect":
        return Connect(
            **common,
            station_id=raw["connect"],
            expect=raw["expect"],
            profile=raw.get("profile"),
            auth=raw.get("auth", "station"),
            username=raw.get("username"),
            password=raw.get("password"),
            certificate=raw.get("certificate", "station"),
            tls_version=raw.get("tls_version"),
            check_tls=bool(raw.get("check_tls", False)),
            timeout_s=_number(raw.get("timeout_s")),
        )
    if kind == "expect_no_call":
        action = raw["expect_no_call"]
        return ExpectNoCall(
            **common,
            action=None if action == "any" else action,
            for_s=float(raw["for_s"]),
            source=raw.get("from", "csms"),
        )
    raise AssertionError(f"step kind {kind!r} reached the model builder")  # validated above: unreachable


_REPEAT = re.compile(r"\{\{(.*?)\*(\d+)\}\}", re.S)


def _expanded(text: str, expand: bool) -> str:
    """``{{TEXT*N}}`` as TEXT repeated N times, when the step asks for it (``expand: true``)."""
    return _REPEAT.sub(lambda found: found.group(1) * int(found.group(2)), text) if expand else text


def _build_raw(common: dict[str, Any], raw: dict[str, Any]) -> Raw:
    given = raw["raw"]
    texts = [_expanded(text, bool(raw.get("expand"))) for text in (given if isinstance(given, list) else [given])]
    label = " then ".join(given) if isinstance(given, list) else given
    data = bytes.fromhex(raw["hex"]) if "hex" in raw else texts[0].encode("utf-8", "surrogatepass")
    expect_error = raw.get("expect_error")
    codes = None if expect_error is None else tuple([expect_error] if isinstance(expect_error, str) else expect_error)
    return Raw(
        **common,
        label=label,
        data=data,
        more=tuple((text.encode("utf-8", "surrogatepass"), _frame_id(text)) for text in texts[1:]),
        binary=raw.get("frame") == "binary",
        message_id=raw.get("message_id", _frame_id(texts[0])),
        expect_error=codes,
        expect=raw.get("expect"),
        expect_silence_s=_number(raw.get("expect_silence_s")),
        expect_close=bool(raw.get("expect_close", False)),
        should=raw.get("level") == "should",
        timeout_s=_number(raw.get("timeout_s")),
    )


def _frame_id(text: str) -> str | None:
    """The message id of an OCPP-J frame's text, when it can be read (the second member, a string)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return data[1] if isinstance(data, list) and len(data) > 1 and isinstance(data[1], str) else None
