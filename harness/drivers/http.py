"""HTTP driver: makes the CSMS act through its HTTP API, with the request templates of the target file.

The ``octt`` preset is the public trigger contract used by existing CSMS test suites:
``POST /api/octt/1.6/{station_id}/{kebab-case-action}`` with the OCPP payload as the JSON body,
``POST /api/octt/create-token`` and ``POST /api/octt/set-basic-auth-password``. The ``bundled`` preset adds the
bundled CSMS's own routes (stations, boot answer). ``driver.requests`` replaces any of them and
``driver.routes`` gives an action its own request, so a CSMS with a REST API of its own is driven from the
target file alone (docs/drivers.md). A subclass may override one method and keep the rest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from harness.config import MASK, TOKEN_TYPES, Target
from harness.drivers.templates import ABSENT, MissingValue, RequestTemplate, action_names
from harness.outcomes import DriverError, TargetError
from harness.scenario.engine import DriverOutcome
from ocppj.timefmt import format_time

if TYPE_CHECKING:
    from harness.results import Verdict
    from harness.session import Case

ANSWER_EXCERPT_CHARS = 300
_EXPIRED_AGE_S = 86_400.0  # an expired token's expiry date lies one day in the past


class HttpDriver:
    def __init__(self, target: Target, options: Any = None) -> None:
        config = target.driver
        base = config.base_url or target.endpoint(target.station("default")).api_url
        if not base:
            raise TargetError(
                f"{target.path}: driver http needs driver.base_url or an api_url on the default station's endpoint"
            )
        self.target = target
        self.options = options
        self.base_url = base.rstrip("/")
        self.requests: Mapping[str, RequestTemplate] = config.requests
        self.routes: Mapping[str, RequestTemplate] = config.routes
        self.headers = dict(config.headers)
        if config.auth is not None:
            self.headers["Authorization"] = config.auth.header()
        self.timeout = aiohttp.ClientTimeout(total=config.timeout_s)
        self._secrets = config.secrets()
        self._session: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------------------------------ the protocol

    async def trigger(self, *, station_id: str, action: str, payload: dict[str, Any]) -> DriverOutcome:
        label = f"trigger {action}"
        template = self.routes.get(action) or self.requests.get("trigger")
        if template is None:
            return DriverOutcome(
                False,
                f"no route for {action}: add driver.routes.{action} or a fallback driver.requests.trigger "
                "to the target file",
                request=label,
            )
        values = {"station_id": station_id, **action_names(action), "payload": payload}
        return await self.request("trigger", values, template=template, label=label)

    async def configure(self, *, station_id: str, operation: str, payload: dict[str, Any]) -> DriverOutcome:
        return await self.request(operation, {"station_id": station_id, "operation": operation, "payload": payload})

    async def provision(self, target: Target) -> None:
        """Create the target's stations and tokens so the CSMS answers as the scenarios expect (OCTT D24 §1:
        valid tag Accepted, blocked tag Blocked, expired tag with an expiry date in the past)."""
        if "create_station" in self.requests:
            for station in target.stations.values():
                await self.must("create_station", {"station_id": station.id, "connectors": station.connectors})
        for station in target.stations.values():
            if station.basic_auth_password:
                await self.must(
                    "set_basic_auth_password", {"station_id": station.id, "password": station.basic_auth_password}
                )
            if station.security_profile > 0 and "security_profile" in self.requests:
                payload = {"security_profile": station.security_profile}
                await self.must(
                    "security_profile", {"station_id": station.id, "operation": "provision", "payload": payload}
                )
        for kind in TOKEN_TYPES:
            tokens = target.tokens.get(kind)
            if tokens is None:
                continue
            for id_tag, status in (
                (tokens.valid, "Accepted"),
                (tokens.blocked, "Blocked"),
                (tokens.expired, "Expired"),
            ):
                if id_tag is not None:
                    await self.must("create_token", self.token_values(id_tag, status, token_type=kind))

    async def before_case(self, case: Case) -> None:
        if "before_case" in self.requests:
            await self.must("before_case", self._case_values(case))

    async def after_case(self, case: Case, verdict: Verdict) -> None:
        if "after_case" in self.requests:
            await self.must("after_case", {**self._case_values(case), "verdict": str(verdict)})

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ----------------------------------------------------------------------------------------- the requests

    def token_values(self, id_tag: str, status: str, *, token_type: str) -> dict[str, Any]:
        """A token as ``create_token`` / ``read_token`` see it; only an Accepted token carries the parent."""
        return {
            "id_tag": id_tag,
            "status": status,
            "token_type": token_type,
            "parent_id_tag": self.target.parent_id_tag if status == "Accepted" else None,
            "expiry_date": format_time(time.time() - _EXPIRED_AGE_S) if status == "Expired" else None,
        }

    def _case_values(self, case: Case) -> dict[str, Any]:
        return {
            "case_id": case.id,
            "scenario_id": case.scenario.id,
            "station_id": self.target.station(case.scenario.station).id,
            "token_type": case.token_type,
        }

    async def must(self, name: str, values: Mapping[str, Any]) -> None:
        """A request that must work for the run to go on (provisioning, hooks)."""
        outcome = await self.request(name, values)
        if not outcome.ok:
            raise DriverError(outcome.describe())

    async def request(
        self,
        name: str,
        values: Mapping[str, Any],
        *,
        template: RequestTemplate | None = None,
        label: str | None = None,
    ) -> DriverOutcome:
        """Make the request ``name`` of the target file and judge its answer by its ``success`` condition (for a
        trigger, an answer that relays a station's CALLERROR is a success too: the CSMS did send the CALL)."""
        label = label or name
        template = template or self.requests.get(name)
        if template is None:
            return DriverOutcome(
                False,
                f"the http driver has no '{name}' request; add driver.requests.{name} to the target file",
                request=label,
            )
        try:
            built = template.build(self.base_url, values)
        except MissingValue as exc:
            return DriverOutcome(False, str(exc), request=label)
        url = self._mask(built.url)
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self.headers, timeout=self.timeout)
        body = {} if built.body is ABSENT else {"json": built.body}
        try:
            async with self._session.request(
                built.method, URL(built.url, encoded=True), headers=dict(built.headers), **body
            ) as response:
                status, raw = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = f"{type(exc).__name__} {exc}".strip()
            return DriverOutcome(False, reason, request=label, method=built.method, url=url)
        text = raw.decode("utf-8", "replace")
        try:
            data = json.loads(text) if text.strip() else None
        except ValueError:
            data = None
        answer = self._mask(text[:ANSWER_EXCERPT_CHARS])

        def outcome(ok: bool, detail: str = "") -> DriverOutcome:
            return DriverOutcome(
                ok, detail, request=label, method=built.method, url=url, http_status=status, answer=answer
            )

        unmet = (template.success or self.target.driver.success).unmet(status, data, values)
        if unmet is None:
            return outcome(True)
        if name == "trigger":
            relayed = (template.callerror or self.target.driver.callerror).unmet(status, data, values)
            if relayed is None:
                return outcome(True, "the station's CALLERROR, relayed")
        return outcome(False, unmet)

    def _mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text
