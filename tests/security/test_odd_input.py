"""Odd characters at the signed boundaries: refused as bad input, never an exception escaping."""
from __future__ import annotations

import time

import pytest

from bot.core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, SignatureVerifier, sign
from bot.gateway.tokens import TokenError, TokenSigner

SECRET = "s" * 40

ODD_TIMESTAMPS = [
    "".join(chr(0x0660 + int(d)) for d in str(int(time.time()))),  # Arabic-Indic digits: int() accepts them
    "".join(chr(0xFF10 + int(d)) for d in str(int(time.time()))),  # full-width digits
    " " + str(int(time.time())),
    str(int(time.time())) + "\n",
    "+" + str(int(time.time())),
    str(int(time.time())).replace("1", "_1", 1) if "1" in str(int(time.time()))[1:] else "1_0",
    "",
    "\x00",
    "é",
    "9" * 400,
]


@pytest.mark.parametrize("timestamp", ODD_TIMESTAMPS)
def test_a_timestamp_that_is_not_plain_ascii_digits_is_a_signature_error(timestamp):
    verifier = SignatureVerifier(SECRET)
    with pytest.raises(SignatureError):
        verifier.verify(b"{}", timestamp, "v1=" + "0" * 64)


def test_a_signature_with_odd_characters_is_a_signature_error():
    headers = sign(SECRET, b"{}")
    for signature in ("v1=é" + "0" * 63, "v1=\u0660" * 3, "\x00", "v1=" + "ａ" * 64):
        with pytest.raises(SignatureError):
            SignatureVerifier(SECRET).verify(b"{}", headers[TIMESTAMP_HEADER], signature)


def test_plain_timestamps_still_verify():
    headers = sign(SECRET, b"{}")
    SignatureVerifier(SECRET).verify(b"{}", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])


ODD_TOKENS = ["v1.é.x", "v1.\u0660\u0661.\u0662", "v1.abc.ａｂｃ", "v1.\x00.\x00", "v1.abc.é", "v1.🙂.🙂", "v1.a\ud800.b"]


@pytest.mark.parametrize("token", ODD_TOKENS)
def test_a_non_ascii_session_token_is_a_token_error(token):
    signer = TokenSigner(SECRET, 3600, 86400)
    with pytest.raises(TokenError) as caught:
        signer.verify(token, 1, "w-a")
    assert caught.value.reason == "malformed"


def test_a_token_whose_payload_is_not_utf8_json_is_malformed():
    import base64
    import hashlib
    import hmac

    signer = TokenSigner(SECRET, 3600, 86400)
    body = base64.urlsafe_b64encode(b"\xff\xfe{").rstrip(b"=").decode()
    key = hmac.new(SECRET.encode(), b"trulybot widget session v1", hashlib.sha256).digest()
    mac = base64.urlsafe_b64encode(hmac.new(key, f"v1.{body}".encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    with pytest.raises(TokenError):
        signer.verify(f"v1.{body}.{mac}", 1, "w-a")
