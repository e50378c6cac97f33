"""How the harness makes a CSMS act: send a CSMS->station CALL (trigger), change a setting such as the
BootNotification answer (configure), and create the stations and tokens a run needs (provision)."""

from __future__ import annotations

from typing import Any, Protocol

from harness.config import Target
from harness.scenario.engine import DriverOutcome


class Driver(Protocol):
    async def trigger(self, *, station_id: str, action: str, payload: dict[str, Any]) -> DriverOutcome: ...

    async def configure(self, *, station_id: str, operation: str, payload: dict[str, Any]) -> DriverOutcome: ...

    async def provision(self, target: Target) -> None: ...

    async def aclose(self) -> None: ...


def make_driver(target: Target) -> Driver:
    """The driver the target file asks for (``driver.kind``)."""
    kind = target.driver.kind
    if kind == "http":
        from harness.drivers.http import HttpDriver

        return HttpDriver(target)
    if kind == "manual":
        from harness.drivers.manual import ManualDriver

        return ManualDriver(target)
    from harness.drivers.python import PythonDriver

    return PythonDriver(target)
