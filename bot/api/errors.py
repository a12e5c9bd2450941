"""API errors and the middleware that turns every failure under ``/api`` into a JSON error body.

Every error answer looks like ``{"error": {"code": "...", "message": "...", "details": ...}}``;
no stack trace ever leaves the process. A database outage becomes 503 with ``Retry-After``.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from aiohttp import web

from bot.services.db import is_database_outage
from bot.services.errors import DB_RETRY_AFTER, ApiError, DatabaseUnavailable, not_found

__all__ = ["ApiError", "DatabaseUnavailable", "DB_RETRY_AFTER", "not_found", "error_response", "error_middleware"]

logger = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: Optional[Dict[str, str]] = None) -> web.Response:
    body: Dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    hdrs = {"Cache-Control": "no-store", **(headers or {})}
    return web.Response(text=json.dumps(body), status=status, content_type="application/json", headers=hdrs)


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path == "/api"


_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 409: "conflict", 411: "length_required", 413: "too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "rate_limited",
}


@web.middleware
async def error_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    if not _is_api(request):
        return await handler(request)
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = exc.reason if exc.status != 413 else "request body is too large"
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After", "WWW-Authenticate")}
        return error_response(exc.status, code, message, headers=headers)
    except Exception as exc:  # noqa: BLE001 - never a stack trace to the client
        if is_database_outage(exc):
            logger.warning("database unavailable during %s %s (%s)", request.method, _route_name(request), type(exc).__name__)
            err = DatabaseUnavailable()
            return error_response(err.status, err.code, err.message, headers=err.headers)
        logger.exception("unexpected error in %s %s", request.method, _route_name(request))
        return error_response(500, "internal_error", "unexpected error; it has been logged")


def _route_name(request: web.Request) -> str:
    try:
        return request.match_info.route.resource.canonical  # type: ignore[union-attr]
    except AttributeError:
        return "?"
