"""Dashboard sessions: a signed cookie, CSRF tokens bound to it, and one-time form ids.

The cookie ``tb_dash`` holds ``{"n": nonce, "m": merchant id, "t": token id, "exp": ...}`` as
base64url JSON plus an HMAC-SHA256 keyed from ``settings.session_secret``. It is HttpOnly,
SameSite=Lax, limited to ``/dashboard`` and Secure unless the public URL is a loopback address.
The CSRF token of every form is an HMAC of the session nonce; a new nonce is issued at sign-in
(no fixation) and the merchant's token is checked on every request (revoking it signs out).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlsplit

from aiohttp import web

from bot import appkeys
from bot.core.sealed import b64encode, derive_key, seal, unseal

COOKIE = "tb_dash"
COOKIE_PATH = "/dashboard"
SESSION_SECONDS = 8 * 3600
ANON_SECONDS = 2 * 3600
MAX_COOKIE = 1500


def _key(app: web.Application, purpose: str) -> bytes:
    return derive_key(app[appkeys.SETTINGS].session_secret or "", f"dashboard/{purpose}")


@dataclass
class DashSession:
    nonce: str
    exp: float
    merchant_id: Optional[int] = None
    token_id: Optional[int] = None
    expired: bool = False  # a signed-in session whose time ran out (shown as "session expired")

    @property
    def signed_in(self) -> bool:
        return self.merchant_id is not None and not self.expired


def encode(app: web.Application, payload: Dict[str, Any]) -> str:
    return seal(_key(app, "cookie"), payload)


def decode(app: web.Application, value: Optional[str], now: Optional[float] = None) -> Optional[DashSession]:
    data = unseal(_key(app, "cookie"), value, MAX_COOKIE)
    if data is None or not isinstance(data.get("n"), str) or not isinstance(data.get("exp"), (int, float)):
        return None
    merchant = data.get("m") if isinstance(data.get("m"), int) else None
    token = data.get("t") if isinstance(data.get("t"), int) else None
    expired = data["exp"] < (time.time() if now is None else now)
    if expired and merchant is None:
        return None
    return DashSession(data["n"], data["exp"], merchant, token, expired)


def new_session(merchant_id: Optional[int] = None, token_id: Optional[int] = None) -> DashSession:
    ttl = SESSION_SECONDS if merchant_id is not None else ANON_SECONDS
    return DashSession(secrets.token_urlsafe(18), time.time() + ttl, merchant_id, token_id)


def secure_cookie(app: web.Application) -> bool:
    """Secure everywhere except a loopback public URL (local development and tests over http)."""
    from plugins.text import is_loopback_host

    host = urlsplit(app[appkeys.SETTINGS].public_url).hostname or ""
    return not is_loopback_host(host)


def set_cookie(app: web.Application, resp: web.StreamResponse, session: DashSession) -> None:
    payload: Dict[str, Any] = {"n": session.nonce, "exp": int(session.exp)}
    if session.merchant_id is not None:
        payload.update(m=session.merchant_id, t=session.token_id)
    resp.set_cookie(COOKIE, encode(app, payload), path=COOKIE_PATH, httponly=True, samesite="Lax",
                    secure=secure_cookie(app), max_age=int(max(60, session.exp - time.time())))


def clear_cookie(app: web.Application, resp: web.StreamResponse) -> None:
    resp.del_cookie(COOKIE, path=COOKIE_PATH)


def csrf_token(app: web.Application, session: DashSession) -> str:
    return b64encode(hmac.new(_key(app, "csrf"), session.nonce.encode("ascii"), hashlib.sha256).digest())


def csrf_ok(app: web.Application, session: Optional[DashSession], given: Any) -> bool:
    if session is None or not isinstance(given, str) or not given or len(given) > 100:
        return False
    return hmac.compare_digest(csrf_token(app, session).encode("ascii"), given.encode("ascii", "replace"))


class UsedForms:
    """One-time form ids: a form posted twice (double click, back + resubmit) is refused the second time.

    In-process (per replica); the actions behind the forms are idempotent anyway."""

    def __init__(self, size: int = 20000, ttl: float = 6 * 3600) -> None:
        self._seen: "OrderedDict[Tuple[int, str], float]" = OrderedDict()
        self._size = size
        self._ttl = ttl

    def seen(self, merchant_id: int, form_id: str) -> bool:
        self._expire()
        return (merchant_id, form_id) in self._seen

    def use(self, merchant_id: int, form_id: str) -> None:
        self._expire()
        self._seen[(merchant_id, form_id)] = time.monotonic() + self._ttl

    def _expire(self) -> None:
        now = time.monotonic()
        while self._seen and (len(self._seen) >= self._size or next(iter(self._seen.values())) < now):
            self._seen.popitem(last=False)


def new_form_id() -> str:
    return secrets.token_urlsafe(12)
