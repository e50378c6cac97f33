"""Python driver: the target names a class (``driver.class: my_module:MyDriver``), found first in the target
file's folder, then on the Python path. It is imported and its options checked when the target is loaded, so a
missing module, class or option is a target-file error before any case runs.

The class is built as ``MyDriver(target, options)``. It may declare ``Options``, a dataclass: ``driver.options``
is then read into it, each value converted to the field's type (``${ENV}`` values arrive as text) with an error
naming the key; without ``Options`` it gets the mapping as written. It must have ``async trigger(*, station_id,
action, payload)``; ``configure``, ``provision``, ``before_case``, ``after_case`` and ``aclose`` are optional (the
:class:`harness.drivers.Driver` protocol). ``trigger`` and ``configure`` may return a :class:`DriverOutcome` or
anything else (success) or raise (a driver failure, an ERROR of the case). A subclass of
:class:`harness.drivers.http.HttpDriver` is a complete driver and is used as it is.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import sys
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.config import Target
from harness.drivers.templates import Fail, suggest
from harness.scenario.engine import DriverOutcome

if TYPE_CHECKING:
    from harness.drivers import Driver
    from harness.results import Verdict
    from harness.session import Case

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def load_driver_class(spec: str, folder: Path, *, fail: Fail) -> type[Any]:
    """Import ``module:ClassName`` with ``folder`` (the target file's) searched first."""
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise fail("driver.class", f"expected 'module:ClassName', got {spec!r}")
    sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise fail("driver.class", f"no module '{module_name}' in {folder} or on the Python path") from None
        raise fail("driver.class", f"importing '{module_name}' failed: {type(exc).__name__}: {exc}") from None
    except Exception as exc:
        raise fail("driver.class", f"importing '{module_name}' failed: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.remove(str(folder))
    found = getattr(module, class_name, None)
    if not isinstance(found, type):
        classes = [name for name, value in vars(module).items() if isinstance(value, type)]
        what = "no class" if found is None else "something that is not a class:"
        raise fail("driver.class", f"module '{module_name}' has {what} '{class_name}'{suggest(class_name, classes)}")
    if not inspect.iscoroutinefunction(getattr(found, "trigger", None)):
        raise fail("driver.class", f"{class_name} has no 'async def trigger(self, *, station_id, action, payload)'")
    return found


def driver_options(cls: type[Any], raw: Mapping[str, Any], fail: Fail) -> Any:
    """``driver.options`` as the class declares them (its ``Options`` dataclass), or the mapping as written."""
    declared = getattr(cls, "Options", None)
    if declared is None:
        return dict(raw)
    if not (isinstance(declared, type) and dataclasses.is_dataclass(declared)):
        raise fail("driver.class", f"{cls.__name__}.Options must be a dataclass")
    try:
        hints = typing.get_type_hints(declared)
    except Exception as exc:
        raise fail("driver.class", f"{cls.__name__}.Options has annotations that do not resolve: {exc}") from None
    fields = {f.name: f for f in dataclasses.fields(declared) if f.init}
    for key in raw:
        if key not in fields:
            raise fail(
                "driver.options",
                f"unknown option '{key}'{suggest(str(key), fields)} (allowed: {', '.join(fields) or 'none'})",
            )
    for name, spec in fields.items():
        if name not in raw and spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise fail("driver.options", f"missing required option '{name}'")
    values = {key: _convert(value, hints[key], f"driver.options.{key}", fail) for key, value in raw.items()}
    try:
        return declared(**values)
    except (TypeError, ValueError) as exc:
        raise fail("driver.options", str(exc)) from None


def _convert(value: Any, kind: Any, where: str, fail: Fail) -> Any:
    """``value`` as ``kind``: YAML gives booleans and numbers, ``${ENV}`` gives their text; both are accepted."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [arg for arg in args if arg is not type(None)]
        if len(options) == 1:
            return _convert(value, options[0], where, fail)
    if origin is typing.Literal:
        for choice in args:
            if value == choice or (isinstance(value, str | int | float) and str(value) == str(choice)):
                return choice
        raise fail(where, f"expected one of {', '.join(str(a) for a in args)}, got {value!r}")
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in (*_TRUE, *_FALSE):
            return value.strip().lower() in _TRUE
        raise fail(where, f"expected true or false, got {value!r}")
    if kind in (int, float):
        if isinstance(value, int | float) and not isinstance(value, bool) and (kind is float or isinstance(value, int)):
            return kind(value)
        if isinstance(value, str):
            try:
                return kind(value.strip())
            except ValueError:
                pass
        raise fail(where, f"expected {'an integer' if kind is int else 'a number'}, got {value!r}")
    if kind is str:
        if isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool)):
            return str(value)
        raise fail(where, f"expected a string, got {value!r}")
    if origin in (list, tuple) or kind in (list, tuple):
        if not isinstance(value, list):
            raise fail(where, f"expected a list, got {value!r}")
        item = args[0] if args else Any
        items = [_convert(v, item, f"{where}[{i}]", fail) for i, v in enumerate(value)]
        return tuple(items) if (origin or kind) is tuple else items
    if origin in (dict, Mapping) or kind in (dict, Mapping):
        if not isinstance(value, dict):
            raise fail(where, f"expected a mapping, got {value!r}")
        return value
    raise fail(
        where,
        f"the option's type {kind!r} cannot be read from a target file "
        "(use str, int, float, bool, a Literal, a list, a dict, or one of these | None)",
    )


def python_driver(target: Target) -> Driver:
    """The class of ``driver.class`` built with the target and its options; wrapped unless it is an
    :class:`HttpDriver`, so a plain class only needs ``trigger``."""
    from harness.drivers.http import HttpDriver

    factory = target.driver.python_factory
    assert factory is not None, "load_target loads the class of a python driver"
    impl = factory(target, target.driver.options)
    return impl if isinstance(impl, HttpDriver) else PythonDriver(impl)


class PythonDriver:
    """Adapts a user class to :class:`harness.drivers.Driver`: its exceptions become driver failures naming the
    request, and what it lacks is a no-op (hooks) or a failure (configure)."""

    def __init__(self, impl: Any) -> None:
        self.impl = impl

    async def trigger(self, *, station_id: str, action: str, payload: dict[str, Any]) -> DriverOutcome:
        return await self._outcome(
            f"trigger {action}", lambda: self.impl.trigger(station_id=station_id, action=action, payload=payload)
        )

    async def configure(self, *, station_id: str, operation: str, payload: dict[str, Any]) -> DriverOutcome:
        if getattr(self.impl, "configure", None) is None:
            return DriverOutcome(False, f"{type(self.impl).__name__} has no configure()", request=operation)
        return await self._outcome(
            operation, lambda: self.impl.configure(station_id=station_id, operation=operation, payload=payload)
        )

    async def provision(self, target: Target) -> None:
        await self._optional("provision", target)

    async def before_case(self, case: Case) -> None:
        await self._optional("before_case", case)

    async def after_case(self, case: Case, verdict: Verdict) -> None:
        await self._optional("after_case", case, verdict)

    async def aclose(self) -> None:
        await self._optional("aclose")

    async def _optional(self, name: str, *args: Any) -> None:
        method = getattr(self.impl, name, None)
        if method is not None:
            await method(*args)

    @staticmethod
    async def _outcome(request: str, call: Callable[[], Awaitable[Any]]) -> DriverOutcome:
        try:
            answer = await call()
        except Exception as exc:  # the user's code: any failure is a driver failure
            return DriverOutcome(False, f"{type(exc).__name__}: {exc}", request=request)
        if isinstance(answer, DriverOutcome):
            return answer if answer.request else replace(answer, request=request)
        return DriverOutcome(True, "" if answer is None else repr(answer)[:300], request=request)
