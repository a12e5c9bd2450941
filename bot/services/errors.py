"""Errors the services raise: an HTTP status, a stable machine code and a message for people.

The JSON API answers them as ``{"error": {"code", "message", "details"}}`` (:mod:`bot.api.errors`);
the dashboard turns them into messages on its pages (a :class:`FieldInvalid` next to its field, a
:class:`StoreCallFailed` next to the field the store refused, :mod:`bot.dashboard.words` for store
health). Every subclass is an :class:`ApiError`, so a handler that lets one through answers it.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

DB_RETRY_AFTER = 5


class ApiError(Exception):
    """An error answer: HTTP status, stable machine code, human message."""

    def __init__(self, status: int, code: str, message: str, *, details: Any = None,
                 headers: Optional[Dict[str, str]] = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


class DatabaseUnavailable(ApiError):
    def __init__(self) -> None:
        super().__init__(503, "database_unavailable", "the database is not answering; try again shortly",
                         headers={"Retry-After": str(DB_RETRY_AFTER)})


class NotFound(ApiError):
    """404: the thing does not exist or belongs to another merchant (the same answer for both)."""

    def __init__(self, what: str = "resource") -> None:
        super().__init__(404, "not_found", f"{what} not found")


class UnknownPlatform(ApiError):
    """404: no installed plugin provides the platform; ``installed`` lists the ones that are."""

    def __init__(self, name: str, installed: List[str]) -> None:
        super().__init__(404, "unknown_platform",
                         f"platform {name[:40]!r} is not installed (installed: {', '.join(installed)})",
                         details=[{"installed": list(installed)}])
        self.installed = list(installed)


class FieldInvalid(ApiError):
    """422: input does not satisfy its rules. ``fields`` maps each field (a ``/`` path for nested
    values) to the first message for it; ``details`` list every problem for the JSON answer."""

    def __init__(self, message: str, details: Optional[List[Dict[str, Any]]] = None) -> None:
        super().__init__(422, "validation_error", message, details=details)

    @property
    def fields(self) -> Dict[str, str]:
        out: Dict[str, str] = {}
        for item in self.details or []:
            if isinstance(item, dict) and item.get("field"):
                out.setdefault(str(item["field"]), str(item.get("message") or self.message))
        return out

    @property
    def field(self) -> Optional[str]:
        """The first field named, if any."""
        return next(iter(self.fields), None)


class StoreCallFailed(ApiError):
    """The store refused or failed a call made for the merchant: 422 when the merchant's input is
    the cause (rejected credentials, an address that cannot be used), 502 when the store did not
    answer properly, 429 when it asked to slow down. ``code`` is the store error code."""


class Conflict(ApiError):
    """409: the request cannot be done in the resource's current state."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(409, code, message)


def not_found(what: str = "resource") -> ApiError:
    return NotFound(what)
