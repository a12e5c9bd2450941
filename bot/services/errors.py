"""Errors the services raise: an HTTP status, a stable machine code and a message for people.

The JSON API answers them as ``{"error": {"code", "message", "details"}}`` (:mod:`bot.api.errors`);
the dashboard shows the message (:mod:`bot.dashboard.words` for store errors).
"""
from __future__ import annotations

from typing import Any, Dict, Optional

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


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")
