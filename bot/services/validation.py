"""Validating values from outside: data against JSON Schemas (the schemas the OpenAPI document
publishes), store URLs, origins, colors, return paths. Failures are :class:`FieldInvalid` naming the field."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

from jsonschema import Draft7Validator

from bot.services.errors import FieldInvalid
from plugins.netguard import PRIVATE_SUFFIXES, canonical_ip, is_numeric_host, is_public_address
from plugins.text import is_loopback_host

COLOR_RE = r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"
_HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


_validators: Dict[int, Draft7Validator] = {}


def _validator(schema: Dict[str, Any]) -> Draft7Validator:
    key = id(schema)
    v = _validators.get(key)
    if v is None:
        v = _validators[key] = Draft7Validator(schema)
    return v


def validation_error(message: str, field: Optional[str] = None) -> FieldInvalid:
    """A 422 naming ``field`` (the error is returned, the caller raises it)."""
    details = [{"field": field, "message": message}] if field else None
    return FieldInvalid(message, details=details)


def check(schema: Dict[str, Any], data: Any) -> Any:
    """Validate ``data`` against ``schema``; 422 listing every problem otherwise."""
    errors = sorted(_validator(schema).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        details = []
        for err in errors[:20]:
            where = "/".join(str(p) for p in err.path) or None
            details.append({"field": where, "message": _short(err)})
        first = details[0]
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        raise FieldInvalid(message, details=details)
    return data


def _short(err: Any) -> str:
    validator = err.validator
    if validator == "required":
        return err.message.replace("'", "")
    if validator == "additionalProperties":
        return "unknown field(s): " + err.message.split("(")[-1].rstrip(")").replace(" were unexpected", "").replace(" was unexpected", "")
    if validator == "type":
        return f"must be of type {err.validator_value}"
    if validator == "maxLength":
        return f"must be at most {err.validator_value} characters"
    if validator == "minLength":
        return f"must be at least {err.validator_value} characters" if err.validator_value > 1 else "must not be empty"
    if validator == "enum":
        return "must be one of " + ", ".join(map(str, err.validator_value))
    if validator == "pattern":
        return "has an invalid format"
    if validator == "maxItems":
        return f"must have at most {err.validator_value} items"
    if validator in ("minimum", "maximum"):
        return f"is out of range ({validator} {err.validator_value})"
    return "is invalid"


# --- URLs ---------------------------------------------------------------------------------------


def _is_private_literal(host: str) -> bool:
    """True for an IP literal that is not a public internet address (see :mod:`plugins.netguard`)."""
    ip = canonical_ip(host)
    return ip is not None and not is_public_address(ip)


def _check_host(host: Optional[str], field: str) -> str:
    if not host:
        raise validation_error("must contain a host name", field)
    bare = host.strip("[]")
    if canonical_ip(bare) is not None:
        return bare.lower()
    if is_numeric_host(bare):
        raise validation_error("has a numeric host in an unusual form; write an IPv4 address as four decimal numbers", field)
    try:
        ascii_host = bare.encode("idna").decode("ascii")
    except UnicodeError:
        raise validation_error("has an invalid host name", field) from None
    if not _HOST_RE.match(ascii_host):
        raise validation_error("has an invalid host name", field)
    return ascii_host.lower()


def store_base_url(value: str, field: str, *, allow_http_loopback: bool) -> str:
    """A store's base URL: https (http only for loopback emulators when allowed), no credentials,
    query or fragment; normalised without the trailing slash."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise validation_error("is not a valid URL", field) from None
    if parts.scheme not in ("http", "https"):
        raise validation_error("must be an https:// URL", field)
    if parts.username or parts.password:
        raise validation_error("must not contain credentials", field)
    if parts.query or parts.fragment:
        raise validation_error("must not contain a query string or fragment", field)
    host = _check_host(parts.hostname, field)
    loopback = is_loopback_host(host)
    if parts.scheme == "http" and not (loopback and allow_http_loopback):
        raise validation_error("must use https:// (plain http is only accepted for local emulators in demo mode)", field)
    if not loopback and (host.endswith(PRIVATE_SUFFIXES) or _is_private_literal(host)):
        raise validation_error("must be a public store address", field)
    if loopback and not allow_http_loopback:
        raise validation_error("must be a public store address", field)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{netloc}{path}"


def origin(value: str, field: str) -> str:
    """An exact ``scheme://host[:port]`` origin (no path, query, fragment or credentials)."""
    if not isinstance(value, str) or value != value.strip() or not value:
        raise validation_error("must be an origin like https://shop.example", field)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise validation_error("must be an origin like https://shop.example", field) from None
    if parts.scheme not in ("http", "https") or parts.path or parts.query or parts.fragment \
            or parts.username or parts.password or "@" in parts.netloc or value.endswith("?") or value.endswith("#"):
        raise validation_error("must be exactly scheme://host[:port], like https://shop.example", field)
    host = _check_host(parts.hostname, field)
    if port is not None and port == 0:
        raise validation_error("has an invalid port", field)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and not ((parts.scheme == "https" and port == 443) or (parts.scheme == "http" and port == 80)):
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}"


def https_url(value: str, field: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port
    except ValueError:
        raise validation_error("is not a valid URL", field) from None
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise validation_error("must be an https:// URL", field)
    _check_host(parts.hostname, field)
    return value


def unique(items: List[str]) -> List[str]:
    seen: List[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen



# Where a merchant's browser may be sent back after an install or approval: dashboard pages only.
RETURN_TO_SCHEMA = {"type": "string", "maxLength": 100, "pattern": "^/dashboard/[a-z/-]*$"}


def safe_return_to(value: object) -> "str | None":
    """``value`` when it is an allowed return path, else None (no open redirects)."""
    if isinstance(value, str) and len(value) <= 100 and re.fullmatch(r"/dashboard/[a-z/-]*", value):
        return value
    return None
