"""Normalized model, errors and text cleaning."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from plugins import errors
from plugins.base import Platform
from plugins.http import StoreHttpClient
from plugins.model import LineItem, Order, OrderStatus, Shipment, ShipmentStatus, StoreConnection
from plugins.text import (
    clean_text,
    clean_tracking_number,
    clean_url,
    normalize_email,
    normalize_order_number,
    normalize_postcode,
    order_number_matches,
    parse_datetime,
    to_decimal,
)


def _order(**changes):
    values = dict(
        platform="woocommerce", number="1001", platform_id="55", status=OrderStatus.SHIPPED, status_label="Completed",
        created_at=datetime(2026, 11, 1, tzinfo=timezone.utc), currency="USD", total=Decimal("25.50"),
        items=[LineItem("Tee", 2, unit_price=Decimal("10"))],
        shipments=[Shipment("UPS", "1Z1", "https://ups.example/1Z1", ShipmentStatus.IN_TRANSIT)],
        email="Pat.Quinn@Example.com", billing_postcode="sw1a 1aa",
    )
    values.update(changes)
    return Order(**values)


def test_order_status_set_is_exactly_the_design():
    assert [s.value for s in OrderStatus] == [
        "pending", "processing", "on_hold", "partially_shipped", "shipped", "delivered", "cancelled", "refunded", "failed"]
    assert OrderStatus("shipped") == "shipped" and str(OrderStatus.ON_HOLD) == "on_hold"


def test_public_dict_is_json_safe_and_private_fields_never_leave():
    order = _order()
    public = order.to_public_dict()
    text = json.dumps(public)
    for private in ("email", "billing_postcode", "platform_id"):
        assert private not in public
    assert "pat.quinn" not in text.lower() and "SW1A" not in text and '"55"' not in text
    assert public["total"] == "25.50" and public["status"] == "shipped" and public["created_at"].startswith("2026-11-01")
    assert public["shipments"][0]["status"] == "in_transit"
    assert "pat" not in repr(order).lower() and "sw1a" not in repr(order).lower()


@pytest.mark.parametrize("given, ok", [("pat.quinn@example.com", True), (" PAT.QUINN@EXAMPLE.COM ", True),
                                       ("pat@example.com", False), ("", False), (None, False), (123, False)])
def test_matches_email(given, ok):
    assert _order().matches_email(given) is ok


@pytest.mark.parametrize("given, ok", [("SW1A1AA", True), ("sw1a-1aa", True), (" sw1a 1aa ", True), ("SW1A 1AB", False), ("", False), (None, False)])
def test_matches_postcode(given, ok):
    assert _order().matches_postcode(given) is ok


def test_missing_verification_fields_never_match():
    order = _order(email=None, billing_postcode=None)
    assert not order.matches_email(None) and not order.matches_postcode("")
    assert order.verification_methods == ()
    assert _order(billing_postcode=12345).matches_postcode("12345")


def test_store_connection_hides_credentials():
    conn = StoreConnection(1, "shopify", "https://x.myshopify.com", credentials={"access_token": "shpat_secret"})
    assert "shpat_secret" not in repr(conn) and conn.key == "shopify:1"


def test_platform_repr_hides_credentials():
    from plugins.woocommerce.client import WooCommercePlatform

    conn = StoreConnection(1, "woocommerce", "https://x", credentials={"consumer_secret": "cs_secret"})
    assert "cs_secret" not in repr(WooCommercePlatform(conn, StoreHttpClient()))
    with pytest.raises(TypeError):
        Platform(conn, StoreHttpClient())  # abstract


def test_error_hierarchy():
    for cls in (errors.StoreUnreachable, errors.StoreAuthError, errors.RateLimited, errors.OrderNotFound,
                errors.OrderNotVisible, errors.MalformedResponse, errors.StoreConfigError, errors.CircuitOpen):
        assert issubclass(cls, errors.PlatformError)
    assert issubclass(errors.CircuitOpen, errors.StoreUnreachable)
    assert not issubclass(errors.OrderNotVisible, errors.OrderNotFound)
    limited = errors.RateLimited("slow down", retry_after=2.5, platform="shopify")
    assert limited.retry_after == 2.5 and limited.platform == "shopify" and limited.code == "rate_limited"
    assert errors.RateLimited().retry_after is None and str(errors.OrderNotFound())


@pytest.mark.parametrize(
    "typed, actual, ok",
    [("1001", "1001", True), ("#1001", "1001", True), ("001001", "1001", True), ("1001", "11001", False),
     ("1001", "1001-A", False), ("wc5521", "WC-5521", True), ("5521", "WC-5521", True), ("XY5521", "WC-5521", False),
     ("00123842", "00123842", True), ("123842", "00123842", True), ("TB1001-A", "tb1001-a", True), ("", "1", False)],
)
def test_order_number_matching(typed, actual, ok):
    assert order_number_matches(typed, actual) is ok


@pytest.mark.parametrize("typed", ["", "#", "a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9", "<x>", "1;2", "'1'", "\x00"])
def test_invalid_order_numbers(typed):
    with pytest.raises(ValueError):
        normalize_order_number(typed)


def test_order_number_normalization():
    assert normalize_order_number(" #\u200b1001 ") == "1001"
    assert normalize_order_number("№ 42") == "42"
    assert normalize_order_number(1001) == "1001"


@pytest.mark.parametrize(
    "raw, clean",
    [("1Z 999 AA1", "1Z999AA1"), ("１Ｚ９", "1Z9"), ("\u202eABC\u200b123\x00", "ABC123"), ("😀", None), ("", None),
     (None, None), (12345, "12345"), ("x" * 80, None), ("--", None), ({"a": 1}, None)],
)
def test_clean_tracking_number(raw, clean):
    assert clean_tracking_number(raw) == clean


def test_clean_url_and_text():
    assert clean_url("https://ok.example/a?b=1") == "https://ok.example/a?b=1"
    for bad in ("javascript:alert(1)", "https://a b", "ftp://x", "https://", "http://x/\u202e", 5, None, "https://" + "a" * 3000):
        assert clean_url(bad) is None
    assert clean_text("  a\n\tb\x00c\u200d ") == "a bc"
    assert clean_text("x" * 500, 10) == "x" * 9 + "…"
    assert clean_text(True) is None and clean_text(3) == "3"


def test_parsers():
    assert parse_datetime("2026-11-01T10:00:00Z").tzinfo is not None
    assert parse_datetime("2026-11-01T10:00:00").tzinfo == timezone.utc
    assert parse_datetime("yesterday") is None and parse_datetime(5) is None
    assert to_decimal("12.50") == Decimal("12.50") and to_decimal(3) == Decimal(3)
    assert to_decimal("NaN") is None and to_decimal("abc") is None and to_decimal(True) is None and to_decimal({"x": 1}) is None
    assert normalize_email(" A@B.co ") == "a@b.co" and normalize_email("a@b") is None and normalize_email('"a"@b.co') is None
    assert normalize_email("José@Exämple.com") == "josé@exämple.com" and normalize_email("a b@c.com") is None
    assert normalize_postcode("k1m-1m4") == "K1M1M4" and normalize_postcode("") is None and normalize_postcode(None) is None


def test_verify_needs_the_email_unless_the_store_hides_it():
    visible = _order(email="pat@example.com", billing_postcode="SW1A 1AA", billing_last_name="Lee", phone="020 7946 0000")
    assert visible.verify(email="PAT@example.com") and visible.verification_methods == ("email",)
    assert not visible.verify(postcode="sw1a1aa", second_fact="Lee")  # a postcode never stands in for a visible email
    hidden = _order(email=None, billing_postcode="SW1A 1AA", billing_last_name="García-López", phone="+44 20 7946 0123",
                    customer_data_redacted=True)
    assert hidden.verification_methods == ("postcode", "last_name", "phone")
    assert hidden.verify(postcode="sw1a 1aa", second_fact="garcia lopez")
    assert hidden.verify(postcode="SW1A1AA", second_fact="0123") and hidden.verify(postcode="SW1A1AA", second_fact="7946 0123")
    assert not hidden.verify(postcode="SW1A1AA")  # the postcode alone
    assert not hidden.verify(postcode="SW1A1AA", second_fact="123")  # too few digits
    assert not hidden.verify(postcode="SW1A1AA", second_fact="9999")
    assert not hidden.verify(postcode="SW1A2AA", second_fact="Garcia-Lopez")
    assert not hidden.verify(email="pat@example.com")
    assert not _order(email=None, billing_postcode="1", customer_data_redacted=True).verify(postcode="1", second_fact="x")
