"""How the harness makes a CSMS act: send a CSMS->station CALL (trigger), change a setting such as the
BootNotification answer (configure), and create the stations and tokens a run needs (provision).

Three drivers ship: ``http`` (request templates in the target file, with the ``octt`` and ``bundled`` presets),
``manual`` (an operator, as OCTT's "Manual Action" steps) and ``python`` (a class of the user's). A driver that
cannot make the CSMS act says so (:class:`DriverOutcome` with ``ok`` False, or a raised exception): the case is
then an ERROR naming the request, never a FAIL of the CSMS (design §4). docs/drivers.md is the user's guide.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol

from harness.outcomes import DriverError
from harness.scenario.engine import DriverOutcome

if TYPE_CHECKING:
    from harness.config import Target
    from harness.results import Verdict
    from harness.session import Case

__all__ = ["Driver", "DriverDefaults", "DriverOutcome", "call_hook", "make_driver"]


class Driver(Protocol):
    """What the session and the engine ask of a driver, one instance per case (and one for provisioning)."""

    async def trigger(self, *, station_id: str, action: str, payload: dict[str, Any]) -> DriverOutcome:
        """Make the CSMS send the CALL ``action`` with ``payload`` to the station. ``ok`` once the CSMS has sent it
        (or, through an API that waits for the station, once the station answered, even with a CALLERROR); the
        engine itself checks the CALL on the wire."""
        ...

    async def configure(self, *, station_id: str, operation: str, payload: dict[str, Any]) -> DriverOutcome:
        """Change a CSMS setting that is not an OCPP message (scenario step ``configure: <operation>``, e.g.
        ``boot_answer`` for AQ-1); ``ok`` once the setting holds."""
        ...

    async def provision(self, target: Target) -> None:
        """Create the target's stations and tokens (``provision: true``); raise to stop the run."""
        ...

    async def before_case(self, case: Case) -> None:
        """Called in the case's event loop before its station connects; raising makes the case an ERROR."""
        ...

    async def after_case(self, case: Case, verdict: Verdict) -> None:
        """Called in the case's event loop after it ran, with its verdict; raising makes the case an ERROR."""
        ...

    async def aclose(self) -> None: ...


class DriverDefaults:
    """The hooks and ``aclose`` of a driver that needs none."""

    async def before_case(self, case: Case) -> None:
        return None

    async def after_case(self, case: Case, verdict: Verdict) -> None:
        return None

    async def aclose(self) -> None:
        return None


async def call_hook(name: str, hook: Awaitable[None]) -> None:
    """Await a driver hook; its failure is a :class:`DriverError` naming the hook (an ERROR of the case)."""
    try:
        await hook
    except Exception as exc:
        detail = str(exc) if isinstance(exc, DriverError) else f"{type(exc).__name__}: {exc}"
        raise DriverError(f"driver hook '{name}' failed: {detail}") from exc


def make_driver(target: Target) -> Driver:
    """The driver the target file asks for (``driver.kind``)."""
    kind = target.driver.kind
    if kind == "http":
        from harness.drivers.http import HttpDriver

        return HttpDriver(target)
    if kind == "manual":
        from harness.drivers.manual import ManualDriver

        return ManualDriver(target)
    from harness.drivers.python import python_driver

    return python_driver(target)
