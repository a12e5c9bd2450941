"""Reading requests: JSON bodies validated against JSON Schemas, query and path parameters.

The value rules (URLs, origins, colors, schemas) live in :mod:`bot.services.validation`, shared with
the dashboard; they are re-exported here for the API's modules."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Dict, Optional

from aiohttp import web

from bot.api.errors import ApiError
from bot.services.validation import (  # noqa: F401 - re-exported for the API's modules
    COLOR_RE,
    RETURN_TO_SCHEMA,
    check,
    https_url,
    origin,
    safe_return_to,
    store_base_url,
    unique,
    validation_error,
)

MAX_BODY_BYTES = 64 * 1024


async def read_json(request: web.Request, schema: Dict[str, Any]) -> Dict[str, Any]:
    """The request body as JSON validated against ``schema``.

    400 ``invalid_json`` when the body is not JSON, 413 when too large, 415 when another media
    type is declared, 422 ``validation_error`` when it does not match.
    """
    ctype = request.headers.get("Content-Type", "")
    if ctype and not ctype.split(";")[0].strip().lower() in ("application/json", "text/json", ""):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "too_large", f"request body is larger than {MAX_BODY_BYTES} bytes") from None
    if not raw.strip():
        raise ApiError(400, "invalid_json", "request body is empty; send a JSON object")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "request body is not valid JSON") from None
    return check(schema, data)


# --- query parameters ---------------------------------------------------------------------------

def query_int(request: web.Request, name: str, *, required: bool = False, default: Optional[int] = None,
              minimum: int = 1, maximum: int = 2**31 - 1) -> Optional[int]:
    raw = request.query.get(name)
    if raw is None or raw == "":
        if required:
            raise validation_error(f"query parameter {name} is required", name)
        return default
    if not re.fullmatch(r"[0-9]{1,10}", raw):
        raise validation_error(f"query parameter {name} must be an integer", name)
    value = int(raw)
    if not minimum <= value <= maximum:
        raise validation_error(f"query parameter {name} must be between {minimum} and {maximum}", name)
    return value


def query_str(request: web.Request, name: str, *, required: bool = False, max_length: int = 200,
              pattern: Optional[str] = None) -> Optional[str]:
    raw = request.query.get(name)
    if raw is None or raw == "":
        if required:
            raise validation_error(f"query parameter {name} is required", name)
        return None
    if len(raw) > max_length:
        raise validation_error(f"query parameter {name} must be at most {max_length} characters", name)
    if pattern and not re.fullmatch(pattern, raw):
        raise validation_error(f"query parameter {name} has an invalid format", name)
    return raw


def query_datetime(request: web.Request, name: str) -> Optional[datetime]:
    raw = query_str(request, name, max_length=40)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise validation_error(f"query parameter {name} must be an ISO 8601 date or date-time", name) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


def path_int(request: web.Request, name: str) -> int:
    raw = request.match_info.get(name, "")
    if not re.fullmatch(r"[0-9]{1,10}", raw) or not 0 < int(raw) < 2**31:
        raise ApiError(404, "not_found", "store not found")
    return int(raw)


__all__ = ["read_json", "check", "query_int", "query_str", "query_datetime", "path_int", "store_base_url",
           "origin", "https_url", "validation_error", "COLOR_RE", "RETURN_TO_SCHEMA", "safe_return_to", "unique"]
