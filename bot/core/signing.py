"""HMAC signing of requests from the bot service to Rasa's TrulyBot input channel.

The signature is ``v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`` in ``X-TrulyBot-Signature``
with the Unix timestamp in ``X-TrulyBot-Timestamp``. The verifier accepts a timestamp within
``max_skew`` seconds and rejects a signature it has already seen (replay). This module is imported by
the Rasa process, so it depends on the standard library only.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections import OrderedDict
from typing import Dict, Optional

TIMESTAMP_HEADER = "X-TrulyBot-Timestamp"
SIGNATURE_HEADER = "X-TrulyBot-Signature"
DEFAULT_MAX_SKEW = 300.0
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v1=[0-9a-f]{64}")


class SignatureError(ValueError):
    """A request's signature is missing, stale, replayed or wrong."""


def sign(secret: str, body: bytes, timestamp: Optional[int] = None) -> Dict[str, str]:
    """Headers that authenticate ``body`` as coming from the bot service."""
    ts = str(int(time.time() if timestamp is None else timestamp))
    digest = hmac.new(secret.encode("utf-8"), ts.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: f"v1={digest}"}


class SignatureVerifier:
    """Checks signatures made by :func:`sign`, with a timestamp window and replay cache."""

    def __init__(self, secret: str, max_skew: float = DEFAULT_MAX_SKEW, replay_cache_size: int = 100_000) -> None:
        if not secret:
            raise ValueError("a signing secret is required")
        self._secret = secret.encode("utf-8")
        self._max_skew = max_skew
        self._seen: "OrderedDict[str, float]" = OrderedDict()
        self._cache_size = replay_cache_size

    def verify(self, body: bytes, timestamp: Optional[str], signature: Optional[str], now: Optional[float] = None) -> None:
        """Raise :class:`SignatureError` unless the headers authenticate ``body``."""
        if not timestamp or not signature:
            raise SignatureError("missing signature headers")
        # ASCII digits only: int() also reads Arabic-Indic or full-width digits, which then fail to encode.
        if not _TIMESTAMP.fullmatch(timestamp):
            raise SignatureError("malformed timestamp")
        if not _SIGNATURE.fullmatch(signature):
            raise SignatureError("malformed signature")
        ts = int(timestamp)
        current = time.time() if now is None else now
        if abs(current - ts) > self._max_skew:
            raise SignatureError("stale timestamp")
        expected = "v1=" + hmac.new(self._secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise SignatureError("bad signature")
        self._remember(signature, current)

    def _remember(self, signature: str, now: float) -> None:
        if signature in self._seen:
            raise SignatureError("replayed request")
        self._seen[signature] = now
        while self._seen and (len(self._seen) > self._cache_size or next(iter(self._seen.values())) < now - 2 * self._max_skew):
            self._seen.popitem(last=False)
