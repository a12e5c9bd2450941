"""Widget session tokens on their own: the exact format (checked against an independent HMAC), the
expiry and maximum-age boundaries, binding to store and widget, and every malformed shape."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import pytest

from bot.gateway.tokens import MAX_TOKEN_CHARS, TokenError, TokenSigner, new_conversation_id

SECRET = "s" * 32
TTL, MAX_AGE = 7200, 86400
T0 = 1_800_000_000


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _independent_token(payload: dict, secret: str = SECRET) -> str:
    key = hmac.new(secret.encode(), b"trulybot widget session v1", hashlib.sha256).digest()
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = _b64(hmac.new(key, f"v1.{body}".encode(), hashlib.sha256).digest())
    return f"v1.{body}.{mac}"


@pytest.fixture()
def signer():
    return TokenSigner(SECRET, TTL, MAX_AGE)


def _reason(signer, token, store_id=1, widget_id="w", now=T0):
    with pytest.raises(TokenError) as caught:
        signer.verify(token, store_id, widget_id, now=now)
    return caught.value.reason


def test_the_format_is_the_documented_one(signer):
    token = signer.issue(1, "w", "c_abc", now=T0)
    assert token == _independent_token({"s": 1, "w": "w", "c": "c_abc", "iat": T0, "exp": T0 + TTL})
    assert "=" not in token
    # a token made by anyone who knows the key derivation and the secret verifies; another secret does not
    assert signer.verify(_independent_token({"s": 2, "w": "x", "c": "c", "iat": T0, "exp": T0 + 5}), 2, "x", now=T0).conversation_id == "c"
    assert _reason(signer, _independent_token({"s": 1, "w": "w", "c": "c", "iat": T0, "exp": T0 + 5}, "t" * 32)) == "bad_signature"


def test_a_resumed_token_keeps_its_first_issue_and_never_outlives_the_maximum_age(signer):
    late = T0 + MAX_AGE - 100
    token = signer.issue(1, "w", "c_abc", issued_at=T0, now=late)
    session = signer.verify(token, 1, "w", now=late)
    assert (session.issued_at, session.expires_at) == (T0, T0 + MAX_AGE)  # capped, not late + TTL
    early = signer.verify(signer.issue(1, "w", "c_abc", issued_at=T0, now=T0 + 10), 1, "w", now=T0 + 10)
    assert early.expires_at == T0 + 10 + TTL


def test_expiry_boundaries(signer):
    token = signer.issue(1, "w", "c_abc", now=T0)
    assert signer.verify(token, 1, "w", now=T0 + TTL - 1).store_id == 1
    assert _reason(signer, token, now=T0 + TTL) == "expired"
    # a token whose exp lies beyond the maximum age (issued by a signer with a longer one) still expires
    long_lived = TokenSigner(SECRET, 10 * MAX_AGE, 10 * MAX_AGE).issue(1, "w", "c", now=T0)
    assert signer.verify(long_lived, 1, "w", now=T0 + MAX_AGE - 1).widget_id == "w"
    assert _reason(signer, long_lived, now=T0 + MAX_AGE) == "expired"


def test_tokens_are_bound_to_store_and_widget(signer):
    token = signer.issue(1, "w", "c_abc", now=T0)
    assert _reason(signer, token, store_id=2) == "other_store"
    assert _reason(signer, token, widget_id="other") == "other_store"
    assert signer.verify(token, 1, "w", now=T0).conversation_id == "c_abc"


@pytest.mark.parametrize("token", [
    None, 42, "", "v1", "v1..", "v2.abc.def", "v1.abc.def.ghi", "v1.ab=c.def", "v1.abc.dé",
    "v1." + "a" * MAX_TOKEN_CHARS + ".b",
])
def test_malformed_tokens(signer, token):
    assert _reason(signer, token) == "malformed"


@pytest.mark.parametrize("payload", [[1, 2], {"s": 1}, {"s": "x", "w": "w", "c": "c", "iat": 1, "exp": 2}])
def test_signed_but_malformed_payloads(signer, payload):
    assert _reason(signer, _independent_token(payload)) == "malformed"


def test_a_longest_valid_token_passes_and_a_tampered_one_does_not(signer):
    token = signer.issue(1, "w" * 200, "c_abc", now=T0)
    assert len(token) <= MAX_TOKEN_CHARS and signer.verify(token, 1, "w" * 200, now=T0)
    head, body, mac = token.split(".")
    assert _reason(signer, f"{head}.{body}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}") == "bad_signature"
    exactly_max = "v1." + "a" * (MAX_TOKEN_CHARS - 5) + ".b"
    assert len(exactly_max) == MAX_TOKEN_CHARS and _reason(signer, exactly_max) == "bad_signature"


def test_conversation_ids_are_random_and_prefixed():
    ids = {new_conversation_id() for _ in range(50)}
    assert len(ids) == 50 and all(re.fullmatch(r"c_[A-Za-z0-9_-]{22}", i) for i in ids)
