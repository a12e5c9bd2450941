"""Shopify OAuth/webhook and WooCommerce webhook HMAC vectors (tests/api/data/hmac_vectors.json)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugins.shopify.oauth import fresh_timestamp, query_hmac, signed_message, verify_query_hmac, verify_webhook_hmac
from plugins.woocommerce.webhooks import signature as woo_signature

DATA = json.loads((Path(__file__).parent / "data" / "hmac_vectors.json").read_text())
OAUTH = [v for v in DATA["shopify"] if v["kind"] == "oauth_query_hmac_hex"]
WEBHOOK = [v for v in DATA["shopify"] if v["kind"] == "webhook_body_hmac_base64"]


@pytest.mark.parametrize("vector", OAUTH, ids=[v["id"] for v in OAUTH])
def test_shopify_oauth_query_vectors(vector):
    params = vector.get("params") or dict(vector["params_in_order"])
    if "expected_hmac" in vector and "hmac" not in params:
        signed = {**params, "hmac": vector["expected_hmac"]}
    else:
        signed = params
    expected_valid = vector.get("expect_valid", vector.get("expect_valid_with_sorted_keys"))
    assert verify_query_hmac(vector["secret"], signed) is expected_valid
    if expected_valid and "signed_message" in vector:
        assert signed_message(params) == vector["signed_message"]
        assert query_hmac(vector["secret"], params) == vector["expected_hmac"]
    # a tampered value never verifies
    if expected_valid:
        key = next(k for k in params if k != "hmac")
        tampered = {**signed, key: params[key] + "x" if isinstance(params[key], str) else params[key] + ["3"]}
        assert verify_query_hmac(vector["secret"], tampered) is False
        assert verify_query_hmac(vector["secret"] + "x", signed) is False


def test_list_params_order_matters_and_upper_case_hex_is_accepted():
    vector = next(v for v in OAUTH if v["id"] == "shopify-oauth-docs-hush")
    signed = {**vector["params"], "hmac": vector["expected_hmac"].upper()}
    assert verify_query_hmac(vector["secret"], signed)
    assert verify_query_hmac(vector["secret"], list(reversed(list(signed.items()))))
    assert not verify_query_hmac(vector["secret"], {**vector["params"]})
    assert not verify_query_hmac(vector["secret"], {**vector["params"], "hmac": "zz" * 200})


def test_timestamp_window():
    assert fresh_timestamp({"timestamp": "1000"}, 600, now=1500)
    assert not fresh_timestamp({"timestamp": "1000"}, 600, now=1700)
    assert not fresh_timestamp({"timestamp": "1700"}, 600, now=1000)
    assert not fresh_timestamp({}, 600, now=1000)
    assert not fresh_timestamp({"timestamp": "soon"}, 600, now=1000)


@pytest.mark.parametrize("vector", WEBHOOK, ids=[v["id"] for v in WEBHOOK])
def test_shopify_webhook_vectors(vector):
    body = vector["body"].encode("utf-8")
    assert verify_webhook_hmac(vector["secret"], body, vector["expected_hmac"]) is vector["expect_valid"]
    assert verify_webhook_hmac(vector["secret"], body, None) is False
    assert verify_webhook_hmac(vector["secret"], body, "é" * 44) is False  # non-ASCII: refused, not an error


@pytest.mark.parametrize("vector", DATA["woocommerce_webhook"], ids=[v["id"] for v in DATA["woocommerce_webhook"]])
def test_woocommerce_webhook_vectors(vector):
    assert woo_signature(vector["secret"], vector["payload"].encode()) == vector["expected_signature"]
