"""Signed (not encrypted) JSON values for cookies and state: ``<base64url(JSON)>.<base64url(HMAC)>``.

Used for the dashboard session cookie and the install flows' state cookie. Each use derives its own
key from a deployment secret and a purpose string, so a value minted for one purpose never verifies
for another.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Dict, Optional


def b64encode(raw: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def b64decode(text: str) -> bytes:
    """Inverse of :func:`b64encode` (raises ValueError on bad input)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def derive_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose, derived from a deployment secret."""
    return hashlib.sha256(f"trulybot/{purpose}/".encode("utf-8") + secret.encode("utf-8")).digest()


def _mac(key: bytes, body: str) -> str:
    return b64encode(hmac.new(key, body.encode("ascii", "replace"), hashlib.sha256).digest())


def seal(key: bytes, payload: Dict[str, Any]) -> str:
    """Sign ``payload`` (a JSON object)."""
    body = b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{body}.{_mac(key, body)}"


def unseal(key: bytes, value: Optional[str], max_chars: int = 2000) -> Optional[Dict[str, Any]]:
    """The payload of a value made by :func:`seal` with ``key``, or None when it is not authentic."""
    if not isinstance(value, str) or not value or len(value) > max_chars or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    if not hmac.compare_digest(_mac(key, body).encode("ascii"), mac.encode("ascii", "replace")):
        return None
    try:
        payload = json.loads(b64decode(body))
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None
