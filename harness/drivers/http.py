"""HTTP driver: makes the CSMS act through its HTTP API, with request templates.

The ``octt`` preset is the public trigger contract used by existing CSMS test suites:
``POST /api/octt/1.6/{station_id}/{kebab-case-action}`` with the OCPP payload as the JSON body,
``POST /api/octt/create-token`` and ``POST /api/octt/set-basic-auth-password``. The ``bundled`` preset adds the
bundled CSMS's own routes (stations, boot answer, tokens with expiry and parent). Any template can be replaced in
the target file (``driver.requests``) to drive another API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import aiohttp

from harness.config import TOKEN_TYPES, Target
from harness.outcomes import DriverError, TargetError
from harness.scenario.engine import DriverOutcome
from ocppj.schemas import kebab_case

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
    },
}

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def render(template: Any, values: Mapping[str, Any]) -> Any:
    """Fill a template: a string that is exactly ``{name}`` takes the value with its JSON type; placeholders
    inside longer strings are interpolated."""
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            return values.get(whole.group(1))
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), "")), template)
    if isinstance(template, Mapping):
        return {key: render(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [render(value, values) for value in template]
    return template


class HttpDriver:
    def __init__(self, target: Target) -> None:
        config = target.driver
        base = config.base_url or target.endpoint(target.station("default")).api_url
        if not base:
            raise TargetError(
                f"{target.path}: driver http needs driver.base_url or an api_url on the default station's endpoint"
            )
        self.base_url = base.rstrip("/")
        self.templates = {**PRESETS.get(config.preset or "", {}), **config.requests}
        self.headers = dict(config.headers)
        self.timeout = aiohttp.ClientTimeout(total=config.timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def _request(self, name: str, values: Mapping[str, Any]) -> tuple[int, Any, str]:
        template = self.templates.get(name)
        if template is None:
            raise DriverError(f"the http driver has no '{name}' request; add driver.requests.{name} to the target file")
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self.headers, timeout=self.timeout)
        method = str(template.get("method", "POST")).upper()
        url = self.base_url + render(str(template["path"]), values)
        body = render(template.get("body"), values)
        try:
            async with self._session.request(method, url, json=body) as response:
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DriverError(f"{method} {url} failed: {exc.__class__.__name__} {exc}".strip()) from None
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = None
        return response.status, data, f"{method} {url} -> HTTP {response.status} {text[:300]}"

    async def trigger(self, *, station_id: str, action: str, payload: dict[str, Any]) -> DriverOutcome:
        values = {"station_id": station_id, "action": action, "action_kebab": kebab_case(action), "payload": payload}
        try:
            status, data, summary = await self._request("trigger", values)
        except DriverError as exc:
            return DriverOutcome(False, str(exc))
        # 502 with a relayed CALLERROR means the CSMS did send the CALL and the station refused it.
        relayed = status == 502 and isinstance(data, dict) and data.get("error") == "CALLERROR"
        return DriverOutcome(200 <= status < 300 or relayed, summary)

    async def configure(self, *, station_id: str, operation: str, payload: dict[str, Any]) -> DriverOutcome:
        try:
            status, _, summary = await self._request(operation, {"station_id": station_id, "payload": payload})
        except DriverError as exc:
            return DriverOutcome(False, str(exc))
        return DriverOutcome(200 <= status < 300, summary)

    async def provision(self, target: Target) -> None:
        """Create the target's stations and tokens so the CSMS answers as the scenarios expect (OCTT D24 §1:
        valid tag Accepted, blocked tag Blocked, expired tag with an expiry date in the past)."""
        if "create_station" in self.templates:
            for station in target.stations.values():
                await self._must("create_station", {"station_id": station.id})
        for station in target.stations.values():
            if station.basic_auth_password:
                await self._must(
                    "set_basic_auth_password", {"station_id": station.id, "password": station.basic_auth_password}
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
                    await self._must(
                        "create_token",
                        {
                            "id_tag": id_tag,
                            "status": status,
                            "parent_id_tag": target.parent_id_tag if status == "Accepted" else None,
                        },
                    )

    async def _must(self, name: str, values: Mapping[str, Any]) -> None:
        status, _, summary = await self._request(name, values)
        if not 200 <= status < 300:
            raise DriverError(f"provisioning failed: {summary}")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
