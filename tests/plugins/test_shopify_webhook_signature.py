"""The Shopify plugin's webhook signature check on its own (the routes add their own empty-secret
guard, so only a direct test pins the plugin's)."""
from __future__ import annotations

from plugins.shopify.webhooks import signature, verify

BODY = b'{"id": 1}'
SECRET = "k" * 32


def test_the_signature_verifies_over_the_raw_bytes():
    assert verify(BODY, {"X-Shopify-Hmac-Sha256": signature(SECRET, BODY)}, SECRET)
    assert verify(BODY, {"x-shopify-hmac-sha256": signature(SECRET, BODY)}, SECRET)  # header names are case-insensitive
    assert not verify(BODY + b" ", {"X-Shopify-Hmac-Sha256": signature(SECRET, BODY)}, SECRET)
    assert not verify(BODY, {"X-Shopify-Hmac-Sha256": signature(SECRET + "x", BODY)}, SECRET)


def test_an_empty_secret_verifies_nothing():
    assert not verify(BODY, {"X-Shopify-Hmac-Sha256": signature("", BODY)}, "")


def test_missing_oversized_and_non_ascii_signatures_are_refused_cleanly():
    good = signature(SECRET, BODY)
    assert not verify(BODY, {}, SECRET)
    assert not verify(BODY, {"X-Shopify-Hmac-Sha256": ""}, SECRET)
    assert not verify(BODY, {"X-Shopify-Hmac-Sha256": good * 4}, SECRET)
    assert not verify(BODY, {"X-Shopify-Hmac-Sha256": good[:-1] + "é"}, SECRET)
    assert not verify(BODY, {"X-Shopify-Hmac-Sha256": "é" * 200}, SECRET)
