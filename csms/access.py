"""Who may use the CSMS's HTTP surface: the API needs a bearer token, browsers are kept out, and a bind beyond
loopback without TLS is said out loud.

The API (``/api/...``) changes what stations may do (a Basic-auth password, a token that starts a charge, a
Reset), so every request needs ``Authorization: Bearer <token>`` (RFC 6750 §2.1); a missing or wrong one is 401
with ``WWW-Authenticate: Bearer`` (§3). The token is compared in constant time and never logged.

A web page in a local browser is the other way in: it can send a "simple" cross-origin POST (``text/plain``, no
preflight) to ``http://127.0.0.1:9000``, and with DNS rebinding even read the answer. So:

- a request carrying an ``Origin`` other than the CSMS's own is refused with 403 on every route, websocket
  included (RFC 6454 §7; RFC 6455 §10.2: a server not meant for any web page checks the Origin);
- an API request with a body must say ``Content-Type: application/json`` (415 otherwise): no simple request can;
- on a loopback bind the ``Host`` must name a loopback host (421 otherwise, RFC 9110 §15.5.20): a rebound DNS
  name sends its own.

The station routes (``/ocpp/{id}``, ``/files/...``) take no API token: stations have their own credentials
(Basic auth, whitepaper A00.FR.202) and know nothing of the API.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from csms.api import JSON_PREFIXES

log = logging.getLogger(__name__)

API_PREFIX = "/api"
TOKEN_ENV = "OCPP_HARNESS_CSMS_TOKEN"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a bind address or a Host header's name) stays on this machine."""
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """The warning for a bind that other machines can reach, or None on loopback. The bundled CSMS speaks plain
    ws:// and http://: Basic passwords (security profile 1), the API token and every OCPP message would cross the
    network in clear text (whitepaper A00.FR.301: profile 2 and up need TLS)."""
    if is_loopback(host):
        return None
    shown = host or "all interfaces"
    return (
        f"WARNING: the CSMS listens on {shown} without TLS: the API token, stations' Basic passwords and every OCPP "
        "message cross the network in clear text; bind 127.0.0.1, or put a TLS-terminating proxy in front"
    )


def _own_origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}".lower()


def _origin_refusal(request: web.Request) -> str | None:
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    given = origin.strip().lower()
    if given == _own_origin(request):
        return None
    parts = urlsplit(given)
    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(parts.scheme)
    if parts.port is None and default is not None and f"{given}:{default}" == _own_origin(request):
        return None
    return f"Requests from the web origin {origin!r} are refused: this CSMS serves no web pages."


def _host_refusal(request: web.Request, *, loopback_only: bool) -> str | None:
    if not loopback_only:
        return None
    name = urlsplit(f"//{request.host}").hostname or ""
    if is_loopback(name):
        return None
    return f"The Host {request.host!r} is not this CSMS's: it listens on loopback only."


def _bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class Access:
    """The access rules above as one aiohttp middleware; ``token`` is the API's bearer token."""

    def __init__(self, *, token: str, loopback_only: bool) -> None:
        if not token:
            raise ValueError("the API token must not be empty")
        self._token = token.encode("utf-8")
        self._loopback_only = loopback_only

    def authorized(self, request: web.Request) -> bool:
        given = _bearer(request)
        return given is not None and hmac.compare_digest(given.encode("utf-8"), self._token)

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        as_json = request.path.startswith(JSON_PREFIXES)
        refusal = _host_refusal(request, loopback_only=self._loopback_only)
        if refusal is not None:
            return _refuse(421, refusal, as_json=as_json)
        refusal = _origin_refusal(request)
        if refusal is not None:
            log.warning("refused %s %s from the web origin %r", request.method, request.path, request.headers["Origin"])
            return _refuse(403, refusal, as_json=as_json)
        if not (request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")):
            return await handler(request)
        if not self.authorized(request):
            return web.json_response(
                {"error": "The API needs 'Authorization: Bearer <token>' with the CSMS's API token."},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="ocpp-harness CSMS"'},
            )
        if request.method in _BODY_METHODS and request.body_exists and request.content_type != "application/json":
            given = request.content_type
            return web.json_response(
                {"error": f"The request body must be JSON (Content-Type: application/json), not {given}."},
                status=415,
            )
        return await handler(request)


def _refuse(status: int, message: str, *, as_json: bool) -> web.Response:
    if as_json:
        return web.json_response({"error": message}, status=status)
    return web.Response(status=status, text=message + "\n")
