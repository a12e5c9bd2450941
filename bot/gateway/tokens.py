"""Widget session tokens: signed, expiring, bound to one store and one server-issued conversation.

Format: ``v1.<base64url(JSON payload)>.<base64url(HMAC-SHA256)>``. The MAC key is derived from
``TRULYBOT_SESSION_SECRET`` for this purpose only. The payload is
``{"s": store id, "w": widget id, "c": conversation id, "iat": first issue (unix), "exp": expiry (unix)}``.
A token is refreshed (new ``exp``, same ``c`` and ``iat``) each time a session resumes, up to a
maximum age counted from ``iat``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Optional

PREFIX = "v1"
MAX_TOKEN_CHARS = 1024
_TOKEN = re.compile(r"v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class TokenError(ValueError):
    """A session token is malformed, forged, expired or for another store."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Session:
    """What a valid token says."""

    store_id: int
    widget_id: str
    conversation_id: str
    issued_at: int
    expires_at: int


def new_conversation_id() -> str:
    """A fresh random conversation id (also the Rasa sender id)."""
    return "c_" + secrets.token_urlsafe(16)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and verifies session tokens with a key derived from the session secret."""

    def __init__(self, session_secret: str, ttl_seconds: int, max_age_seconds: int) -> None:
        self._key = hmac.new(session_secret.encode("utf-8"), b"trulybot widget session v1", hashlib.sha256).digest()
        self.ttl = ttl_seconds
        self.max_age = max_age_seconds

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, f"{PREFIX}.{body}".encode("ascii"), hashlib.sha256).digest())

    def issue(self, store_id: int, widget_id: str, conversation_id: str, issued_at: Optional[int] = None,
              now: Optional[float] = None) -> str:
        current = int(time.time() if now is None else now)
        iat = current if issued_at is None else int(issued_at)
        exp = min(current + self.ttl, iat + self.max_age)
        payload = {"s": store_id, "w": widget_id, "c": conversation_id, "iat": iat, "exp": exp}
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        return f"{PREFIX}.{body}.{self._mac(body)}"

    def verify(self, token: object, store_id: int, widget_id: str, now: Optional[float] = None) -> Session:
        """The session of ``token`` if it is authentic, unexpired and for this store; else TokenError."""
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS or not _TOKEN.fullmatch(token):
            raise TokenError("malformed")  # also every non-ASCII token: the MAC is computed over ASCII
        _, body, mac = token.split(".")
        if not hmac.compare_digest(self._mac(body), mac):
            raise TokenError("bad_signature")
        try:
            payload = json.loads(_unb64(body))
            if not isinstance(payload, dict):
                raise TypeError("payload is not an object")
            session = Session(int(payload["s"]), str(payload["w"]), str(payload["c"]), int(payload["iat"]), int(payload["exp"]))
        except (ValueError, KeyError, TypeError):
            raise TokenError("malformed") from None
        current = time.time() if now is None else now
        if session.expires_at <= current or session.issued_at + self.max_age <= current:
            raise TokenError("expired")
        if session.store_id != store_id or session.widget_id != widget_id:
            raise TokenError("other_store")
        return session
