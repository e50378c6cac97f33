"""The HTTP API's conventions: every failure is ``{"error": "<one sentence>"}`` with its status, bodies are JSON
objects, and fields are checked one by one with a message that names the field and what it must be."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, NoReturn

from aiohttp import web

from ocppj.timefmt import parse_time

log = logging.getLogger(__name__)

# Paths whose failures are answered as JSON; the websocket endpoint keeps plain HTTP answers.
JSON_PREFIXES = ("/api", "/files")


class ApiError(Exception):
    """Answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


async def json_body(request: web.Request, *, empty: Any = None) -> Any:
    """The body as JSON: UTF-8 text (RFC 8259 §8.1), without NaN or Infinity (§6); anything else is a 400."""
    try:
        text = (await request.read()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"The request body is not UTF-8 (byte {exc.start}).") from None
    if not text.strip():
        if empty is not None:
            return empty
        raise ApiError(400, "The request body must be a JSON object.")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}.") from None


async def json_object(request: web.Request, *, empty: Any = None) -> dict[str, Any]:
    body = await json_body(request, empty=empty)
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


def known_fields(body: dict[str, Any], allowed: Iterable[str], *, what: str) -> None:
    """A misspelt field is refused rather than ignored: the operator would not get what was asked for."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ApiError(400, f"Unknown {what} field(s): {', '.join(unknown)}.")


def string_field(body: dict[str, Any], key: str, *, required: bool = True, max_length: int | None = None) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise ApiError(400, f"'{key}' is required and must be a non-empty string.")
        return None
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"'{key}' must be a non-empty string.")
    if max_length is not None and len(value) > max_length:
        raise ApiError(400, f"'{key}' must be at most {max_length} characters long.")
    return value


def required_string(body: dict[str, Any], key: str, *, max_length: int | None = None) -> str:
    value = string_field(body, key, max_length=max_length)
    assert value is not None
    return value


def time_field(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"'{key}' must be an RFC 3339 date-time string or null.")
    try:
        return parse_time(value)
    except ValueError:
        raise ApiError(400, f"'{key}' must be an RFC 3339 date-time with a time zone, got {value!r}.") from None


def int_field(value: Any, key: str, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ApiError(400, f"'{key}' must be an integer >= {minimum}.")
    if maximum is not None and value > maximum:
        raise ApiError(400, f"'{key}' must be an integer from {minimum} to {maximum}.")
    return value


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every failure of the API and the file routes is ``{"error": "<one sentence>"}``; the websocket endpoint
    keeps plain HTTP answers."""
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    except web.HTTPException as exc:
        if not request.path.startswith(JSON_PREFIXES) or exc.status < 400:
            raise
        return web.json_response({"error": f"{exc.reason}: {request.method} {request.path}."}, status=exc.status)
    except Exception:
        if not request.path.startswith(JSON_PREFIXES):
            raise
        log.exception("API request %s %s failed", request.method, request.path)
        return web.json_response({"error": "The CSMS failed internally; see its log."}, status=500)
