"""WooCommerce REST v3 payloads → normalized model."""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Tuple

from plugins.carriers import find_carrier
from plugins.errors import MalformedResponse
from plugins.model import LineItem, Order, OrderStatus, Shipment, ShipmentStatus
from plugins.text import (
    clean_text,
    clean_tracking_number,
    clean_url,
    parse_datetime,
    to_decimal,
    to_int,
)

PLATFORM = "woocommerce"
TRACKING_META_KEY = "_wc_shipment_tracking_items"
ORDER_NUMBER_META_KEYS = ("_order_number_formatted", "_order_number")

#: every documented core status, plus common plugin statuses (Advanced Shipment Tracking,
#: order-status managers, WooCommerce Blocks drafts)
STATUS_MAP: Dict[str, Tuple[OrderStatus, str]] = {
    "pending": (OrderStatus.PENDING, "Pending payment"),
    "processing": (OrderStatus.PROCESSING, "Processing"),
    "on-hold": (OrderStatus.ON_HOLD, "On hold"),
    "completed": (OrderStatus.SHIPPED, "Completed"),
    "cancelled": (OrderStatus.CANCELLED, "Cancelled"),
    "refunded": (OrderStatus.REFUNDED, "Refunded"),
    "failed": (OrderStatus.FAILED, "Failed"),
    "trash": (OrderStatus.CANCELLED, "Deleted"),
    "checkout-draft": (OrderStatus.PENDING, "Draft"),
    "partial-shipped": (OrderStatus.PARTIALLY_SHIPPED, "Partially shipped"),
    "partially-shipped": (OrderStatus.PARTIALLY_SHIPPED, "Partially shipped"),
    "shipped": (OrderStatus.SHIPPED, "Shipped"),
    "delivered": (OrderStatus.DELIVERED, "Delivered"),
}

_TAGS = re.compile(r"<[^>]{0,200}>")


def _plain(value: Any, max_length: int = 200) -> Optional[str]:
    """Product names come with HTML entities (``&ndash;``) and sometimes tags."""
    if not isinstance(value, str):
        return clean_text(value, max_length)
    return clean_text(html.unescape(_TAGS.sub("", value)), max_length)


def map_status(slug: Any, *, has_tracking: bool = False, options: Optional[Mapping[str, Any]] = None) -> Tuple[OrderStatus, str]:
    """``(normalized status, label)`` for a WooCommerce status slug.

    ``processing`` with tracking numbers is ``partially_shipped``; ``completed`` is ``shipped``
    (``delivered`` with the store option ``completed_means_delivered``). Store option
    ``status_map`` (``{"slug": "shipped"}``) maps custom statuses; other unknown slugs are
    ``processing`` with the slug as label.
    """
    options = options or {}
    text = slug.strip().lower() if isinstance(slug, str) else ""
    if text.startswith("wc-"):
        text = text[3:]
    custom = options.get("status_map") or {}
    if isinstance(custom, Mapping) and text in custom:
        try:
            status = OrderStatus(custom[text])
        except ValueError:
            status = OrderStatus.PROCESSING
        return status, clean_text(text.replace("-", " ").capitalize(), 60) or "Processing"
    if text in STATUS_MAP:
        status, label = STATUS_MAP[text]
        if text == "processing" and has_tracking:
            status = OrderStatus.PARTIALLY_SHIPPED
        if text == "completed" and options.get("completed_means_delivered"):
            status = OrderStatus.DELIVERED
        return status, label
    label = clean_text(text.replace("-", " ").replace("_", " ").capitalize(), 60) or "Unknown"
    return OrderStatus.PROCESSING, label


def meta_value(payload: Mapping[str, Any], key: str) -> Any:
    """The value of meta ``key`` in an order's ``meta_data`` list (first one), else ``None``."""
    meta = payload.get("meta_data")
    if not isinstance(meta, list):
        return None
    for entry in meta:
        if isinstance(entry, dict) and entry.get("key") == key:
            return entry.get("value")
    return None


def _shipped_at(value: Any) -> Optional[datetime]:
    """Shipment Tracking stores a unix timestamp in meta and a date string in the REST API."""
    stamp = to_int(value)
    if stamp is not None and 0 < stamp < 32503680000:
        return datetime.fromtimestamp(stamp, tz=timezone.utc)
    return parse_datetime(value) if isinstance(value, str) else None


def parse_tracking_items(items: Any, *, delivered: bool = False) -> List[Shipment]:
    """Shipments from ``_wc_shipment_tracking_items`` meta or the extension's REST list.

    Items that have neither a usable tracking number nor a usable link are dropped.
    """
    if not isinstance(items, list):
        return []
    shipments: List[Shipment] = []
    for item in items[:50]:
        if not isinstance(item, dict):
            continue
        number = clean_tracking_number(item.get("tracking_number"))
        provider = clean_text(item.get("custom_tracking_provider"), 60) or clean_text(item.get("tracking_provider"), 60)
        carrier = find_carrier(provider) if provider else None
        url = clean_url(item.get("custom_tracking_link")) or clean_url(item.get("tracking_link"))
        if url is None and carrier is not None and number:
            url = carrier.tracking_url(number)
        if not number and not url:
            continue
        shipments.append(
            Shipment(
                carrier=carrier.name if carrier else provider,
                carrier_code=carrier.code if carrier else None,
                tracking_number=number,
                tracking_url=url,
                status=ShipmentStatus.DELIVERED if delivered else ShipmentStatus.SHIPPED,
                shipped_at=_shipped_at(item.get("date_shipped")),
            )
        )
    return shipments


def _variant(meta: Any) -> Optional[str]:
    if not isinstance(meta, list):
        return None
    parts = []
    for entry in meta[:10]:
        if not isinstance(entry, dict):
            continue
        key = entry.get("display_key") or entry.get("key")
        value = entry.get("display_value", entry.get("value"))
        if not isinstance(key, str) or key.startswith("_") or not isinstance(value, (str, int, float)):
            continue
        key_text, value_text = _plain(key, 40), _plain(str(value), 60)
        if key_text and value_text:
            parts.append(f"{key_text.replace('pa_', '').capitalize()}: {value_text}")
    return ", ".join(parts) or None


def _line_items(items: Any) -> List[LineItem]:
    if not isinstance(items, list):
        return []
    result = []
    for item in items[:200]:
        if not isinstance(item, dict):
            continue
        name = _plain(item.get("name")) or "Item"
        quantity = to_int(item.get("quantity"), 1)
        result.append(
            LineItem(
                name=name,
                quantity=quantity if quantity is not None and quantity >= 0 else 1,
                sku=clean_text(item.get("sku"), 64),
                variant=_variant(item.get("meta_data")),
                unit_price=to_decimal(item.get("price")),
                total=to_decimal(item.get("total")),
            )
        )
    return result


def display_number(payload: Mapping[str, Any]) -> str:
    """The number the store shows: ``number``, else sequential-number meta, else the id."""
    for candidate in (payload.get("number"), *(meta_value(payload, k) for k in ORDER_NUMBER_META_KEYS), payload.get("id")):
        text = clean_text(candidate, 40)
        if text:
            return text.lstrip("#")
    raise MalformedResponse("order without id or number", platform=PLATFORM)


def order_from_payload(payload: Any, *, store_url: str = "", options: Optional[Mapping[str, Any]] = None) -> Order:
    """Normalize one WooCommerce v3 order object; :class:`MalformedResponse` when unusable."""
    if not isinstance(payload, dict):
        raise MalformedResponse("order is not a JSON object", platform=PLATFORM)
    order_id = to_int(payload.get("id"))
    if order_id is None or order_id <= 0:
        raise MalformedResponse("order without a valid id", platform=PLATFORM)
    options = options or {}
    tracking = parse_tracking_items(meta_value(payload, TRACKING_META_KEY))
    status, label = map_status(payload.get("status"), has_tracking=bool(tracking), options=options)
    if status is OrderStatus.DELIVERED:
        for shipment in tracking:
            shipment.status = ShipmentStatus.DELIVERED
    billing = payload.get("billing") if isinstance(payload.get("billing"), dict) else {}
    items = _line_items(payload.get("line_items"))
    subtotals = [to_decimal(i.get("subtotal")) for i in payload.get("line_items") or [] if isinstance(i, dict)]
    subtotal = sum((s for s in subtotals if s is not None), to_decimal("0")) if subtotals else None
    created = parse_datetime(payload.get("date_created_gmt")) or parse_datetime(payload.get("date_created"))
    updated = parse_datetime(payload.get("date_modified_gmt")) or parse_datetime(payload.get("date_modified"))
    currency = payload.get("currency")
    status_page = None
    base = store_url.rstrip("/")
    if base:
        status_page = clean_url(f"{base}/my-account/view-order/{order_id}/")
    return Order(
        platform=PLATFORM,
        number=display_number(payload),
        platform_id=str(order_id),
        status=status,
        status_label=label,
        created_at=created,
        updated_at=updated or created,
        currency=currency.upper()[:3] if isinstance(currency, str) and currency.isalpha() else None,
        subtotal=subtotal,
        shipping=to_decimal(payload.get("shipping_total")),
        tax=to_decimal(payload.get("total_tax")),
        total=to_decimal(payload.get("total")),
        items=items,
        shipments=tracking,
        status_page_url=status_page,
        email=billing.get("email") if isinstance(billing.get("email"), str) else None,
        billing_postcode=billing.get("postcode") if isinstance(billing.get("postcode"), (str, int)) else None,
        billing_last_name=billing.get("last_name") if isinstance(billing.get("last_name"), str) else None,
        phone=billing.get("phone") if isinstance(billing.get("phone"), str) else None,
    )
