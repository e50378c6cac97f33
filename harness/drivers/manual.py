"""Manual driver: tells the operator what to make the CSMS do, as OCTT does with its "Manual Action" steps
(D24 §1.2). A trigger returns at once (the following expect_call step waits for the CALL, with its timeout);
a configure step waits for the operator to press Enter."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, TextIO

from harness.config import Target
from harness.drivers import DriverDefaults
from harness.scenario.engine import DriverOutcome


class ManualDriver(DriverDefaults):
    def __init__(self, target: Target, *, out: TextIO | None = None, stdin: TextIO | None = None) -> None:
        self.target = target
        self.out = out or sys.stdout
        self.stdin = stdin or sys.stdin
        self.timeout_s = target.driver.timeout_s

    def _say(self, text: str) -> None:
        print(f"\n>>> OPERATOR: {text}", file=self.out, flush=True)

    async def trigger(self, *, station_id: str, action: str, payload: dict[str, Any]) -> DriverOutcome:
        self._say(f"make the CSMS send {action} to station {station_id} with {json.dumps(payload)}")
        return DriverOutcome(True, "operator asked", request=f"trigger {action}")

    async def configure(self, *, station_id: str, operation: str, payload: dict[str, Any]) -> DriverOutcome:
        if not self.stdin.isatty():
            return DriverOutcome(
                False, "an operator must confirm it at a terminal (stdin is not one)", request=operation
            )
        self._say(f"set '{operation}' for station {station_id} to {json.dumps(payload)}, then press Enter")
        try:
            await asyncio.wait_for(asyncio.to_thread(self.stdin.readline), timeout=self.timeout_s)
        except TimeoutError:
            return DriverOutcome(
                False, f"no confirmation from the operator within {self.timeout_s:g} s", request=operation
            )
        return DriverOutcome(True, "operator confirmed", request=operation)

    async def provision(self, target: Target) -> None:
        self._say(
            "make sure the CSMS knows the stations and tokens of the target file "
            f"{target.path} (valid tokens Accepted, blocked Blocked, expired with a past expiry date)"
        )
