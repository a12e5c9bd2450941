"""Merchant API tokens: how they look and how they are stored (a SHA-256 hash; shown once)."""
from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "tb_"


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A new random merchant token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)
