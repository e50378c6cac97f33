"""A CSMS API test double on 127.0.0.1 (port 0): it records every request and answers what the test says."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Seen:
    """One request as the API received it: method, path with query, JSON body (None without one), and the
    Authorization and X-API-Key headers."""

    method: str
    path: str
    body: Any = None
    authorization: str | None = None
    api_key: str | None = None


Answer = Callable[[Seen], tuple[int, Any]]


def ok(seen: Seen) -> tuple[int, Any]:
    return 200, {"ok": True}


@dataclass
class ApiDouble:
    answer: Answer = ok
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    async def _handle(self, request: web.Request) -> web.Response:
        text = await request.text()
        seen = Seen(
            request.method,
            request.path_qs,
            json.loads(text) if text else None,
            request.headers.get("Authorization"),
            request.headers.get("X-API-Key"),
        )
        self.seen.append(seen)
        status, data = self.answer(seen)
        return web.json_response(data, status=status)

    async def __aenter__(self) -> ApiDouble:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()
