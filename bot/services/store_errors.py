"""A store's last error, kept as a stable code plus a short, secret-free detail.

Every writer (the store health checker, the connect flows, the action server's lookups) records
errors through :func:`from_exception` / :func:`error_values`; the dashboard turns the code into
words in one place (:func:`bot.dashboard.words.store_error_phrase`). Nothing parses the detail.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict

#: code -> the detail recorded when the exception gives none
DETAILS = {
    "store_auth": "credentials rejected by the store",
    "store_unreachable": "store did not answer",
    "timeout": "store did not answer in time",
    "circuit_open": "store failing repeatedly; calls paused",
    "store_address_refused": "store address is not a public internet address",
    "rate_limited": "store rate limit",
    "malformed_response": "store answered with an unexpected response",
    "store_config": "store settings cannot work",
    "credentials_unreadable": "stored credentials cannot be decrypted with the key ring",
    "keys_rejected": "credentials from the authorization did not work",
}
CODE_MAX = 40
DETAIL_MAX = 500


@dataclass(frozen=True)
class StoreError:
    """``code`` is one of :data:`DETAILS` or a platform error's own code; ``detail`` is for people."""

    code: str
    detail: str = ""

    @classmethod
    def of(cls, code: str, detail: str = "") -> "StoreError":
        return cls(code[:CODE_MAX], (detail or DETAILS.get(code, "store call failed"))[:DETAIL_MAX])


def from_exception(exc: BaseException) -> StoreError:
    """The error a failed store call leaves (platform errors carry ``code``; timeouts are ``timeout``)."""
    if isinstance(exc, asyncio.TimeoutError):
        return StoreError.of("timeout")
    code = getattr(exc, "code", None)
    return StoreError.of(str(code) if isinstance(code, str) and code else "store_error")


def error_values(error: StoreError, now: datetime) -> Dict[str, Any]:
    """Column values of ``store_integrations`` recording ``error`` at ``now``."""
    return {"last_error_code": error.code, "last_error": error.detail, "last_error_at": now}
