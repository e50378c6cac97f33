"""Python driver: the target names a class (``driver.class: package.module:Name``) built with
``driver.options``; it must provide ``async trigger(station_id, action, payload)`` returning the station's answer
(or raising), and may provide ``async configure(station_id, operation, payload)`` and ``async provision(target)``."""

from __future__ import annotations

import importlib
from typing import Any

from harness.config import Target
from harness.outcomes import TargetError
from harness.scenario.engine import DriverOutcome


class PythonDriver:
    def __init__(self, target: Target) -> None:
        spec = target.driver.python_class or ""
        module_name, _, class_name = spec.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise TargetError(f"{target.path}: driver.class {spec!r} cannot be loaded: {exc}") from None
        self.impl: Any = cls(**dict(target.driver.options))

    async def trigger(self, *, station_id: str, action: str, payload: dict[str, Any]) -> DriverOutcome:
        try:
            answer = await self.impl.trigger(station_id, action, payload)
        except Exception as exc:  # the user's code: any failure is a driver failure
            return DriverOutcome(False, f"{type(exc).__name__}: {exc}")
        return DriverOutcome(True, repr(answer)[:300])

    async def configure(self, *, station_id: str, operation: str, payload: dict[str, Any]) -> DriverOutcome:
        method = getattr(self.impl, "configure", None)
        if method is None:
            return DriverOutcome(False, f"{type(self.impl).__name__} has no configure() for '{operation}'")
        try:
            await method(station_id, operation, payload)
        except Exception as exc:
            return DriverOutcome(False, f"{type(exc).__name__}: {exc}")
        return DriverOutcome(True, operation)

    async def provision(self, target: Target) -> None:
        method = getattr(self.impl, "provision", None)
        if method is not None:
            await method(target)

    async def aclose(self) -> None:
        method = getattr(self.impl, "aclose", None)
        if method is not None:
            await method()
