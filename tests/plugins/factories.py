"""Small builders of platform-shaped order records for tests (the project's own test data)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

from plugins.netguard import AddressPolicy

#: retry/breaker settings that keep the tests fast
FAST = dict(
    connect_timeout=1.0,
    total_timeout=2.0,
    max_retries=2,
    backoff_base=0.005,
    backoff_max=0.01,
    max_retry_after=0.5,
    breaker_threshold=3,
    breaker_reset_timeout=0.3,
    policy=AddressPolicy.for_tests(),  # the emulators listen on loopback at free ports
)


def woo_order(
    order_id: int,
    status: str = "processing",
    *,
    number: Optional[str] = None,
    email: str = "pat@example.com",
    postcode: str = "90210",
    created: str = "2026-11-01T10:00:00",
    tracking: Optional[List[Dict[str, Any]]] = None,
    **overrides: Any,
) -> Dict[str, Any]:
    """A WooCommerce v3 order object with the fields the plugin reads."""
    meta: List[Dict[str, Any]] = []
    if tracking is not None:
        meta.append({"id": order_id * 10, "key": "_wc_shipment_tracking_items", "value": tracking})
    order = {
        "id": order_id,
        "parent_id": 0,
        "number": number or str(order_id),
        "status": status,
        "currency": "USD",
        "date_created": created,
        "date_created_gmt": created,
        "date_modified": created,
        "date_modified_gmt": created,
        "shipping_total": "5.00",
        "total": "25.00",
        "total_tax": "0.00",
        "billing": {"first_name": "Pat", "last_name": "Quinn", "email": email, "postcode": postcode, "country": "US"},
        "shipping": {"first_name": "Pat", "last_name": "Quinn", "postcode": postcode, "country": "US"},
        "meta_data": meta,
        "line_items": [
            {"id": order_id * 100, "name": "Widget", "quantity": 2, "sku": "W-1", "subtotal": "20.00", "total": "20.00", "price": 10, "meta_data": []}
        ],
    }
    order.update(overrides)
    return order


def woo_tracking(provider: str = "ups", number: str = "1Z999AA10123456784", **extra: Any) -> Dict[str, Any]:
    item = {
        "tracking_provider": provider,
        "custom_tracking_provider": "",
        "custom_tracking_link": "",
        "tracking_number": number,
        "date_shipped": "1762941600",
        "tracking_id": "abc123",
    }
    item.update(extra)
    return item


def shopify_order(
    order_id: int,
    name: str = "#1001",
    *,
    email: Optional[str] = "pat@example.com",
    zip_code: str = "90210",
    financial_status: str = "paid",
    fulfillment_status: Optional[str] = None,
    fulfillments: Optional[List[Dict[str, Any]]] = None,
    created_at: Optional[str] = None,
    cancelled_at: Optional[str] = None,
    **overrides: Any,
) -> Dict[str, Any]:
    """A Shopify Admin REST order object (with ``fulfillments``)."""
    created = created_at or (datetime.now(timezone.utc) - timedelta(days=3)).replace(microsecond=0).isoformat()
    order = {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": name,
        "order_number": int("".join(ch for ch in name if ch.isdigit()) or 0),
        "email": email,
        "created_at": created,
        "updated_at": created,
        "processed_at": created,
        "cancelled_at": cancelled_at,
        "cancel_reason": "customer" if cancelled_at else None,
        "closed_at": None,
        "currency": "USD",
        "financial_status": financial_status,
        "fulfillment_status": fulfillment_status,
        "subtotal_price": "20.00",
        "total_price": "25.00",
        "total_tax": "0.00",
        "total_shipping_price_set": {"shop_money": {"amount": "5.00", "currency_code": "USD"}},
        "order_status_url": f"https://shop.example/orders/{order_id}/authenticate?key=k{order_id}",
        "billing_address": {"first_name": "Pat", "last_name": "Quinn", "zip": zip_code, "country_code": "US"},
        "shipping_address": {"first_name": "Pat", "last_name": "Quinn", "zip": zip_code, "country_code": "US"},
        "customer": {"id": 1, "email": email, "first_name": "Pat"},
        "line_items": [
            {"id": order_id * 10, "title": "Widget", "name": "Widget - Blue", "variant_title": "Blue", "quantity": 2, "sku": "W-1", "price": "10.00"}
        ],
        "fulfillments": fulfillments or [],
    }
    order.update(overrides)
    return order


def shopify_fulfillment(
    fulfillment_id: int,
    *,
    company: Optional[str] = "UPS",
    number: Optional[str] = "1Z999AA10123456784",
    url: Optional[str] = None,
    shipment_status: Optional[str] = "in_transit",
    status: str = "success",
    line_items: Optional[List[Dict[str, Any]]] = None,
) -> Dict[str, Any]:
    return {
        "id": fulfillment_id,
        "status": status,
        "shipment_status": shipment_status,
        "tracking_company": company,
        "tracking_number": number,
        "tracking_numbers": [number] if number else [],
        "tracking_url": url,
        "tracking_urls": [url] if url else [],
        "created_at": "2026-11-02T10:00:00-05:00",
        "updated_at": "2026-11-03T10:00:00-05:00",
        "line_items": line_items or [{"id": 1, "title": "Widget", "name": "Widget - Blue", "quantity": 1}],
    }
