"""BigCommerce V2 Orders API payloads → the normalized order model.

Shapes: ``GET /v2/orders/{id}`` (order), ``GET /v2/orders/{id}/products`` (order products) and
``GET /v2/orders/{id}/shipments`` (shipments). Dates are RFC 2822 strings
(``"Tue, 05 Mar 2019 21:40:11 +0000"``), money amounts decimal strings.
"""
from __future__ import annotations

import email.utils
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from plugins.carriers import find_carrier
from plugins.errors import MalformedResponse
from plugins.model import LineItem, Order, OrderStatus, Shipment, ShipmentStatus
from plugins.text import clean_text, clean_tracking_number, clean_url, parse_datetime, to_decimal, to_int

PLATFORM = "bigcommerce"

#: BigCommerce's order status ids (``GET /v2/order_statuses``) → (normalized status, system label)
STATUS_MAP: Dict[int, Tuple[OrderStatus, str]] = {
    0: (OrderStatus.PENDING, "Incomplete"),
    1: (OrderStatus.PENDING, "Pending"),
    2: (OrderStatus.SHIPPED, "Shipped"),
    3: (OrderStatus.PARTIALLY_SHIPPED, "Partially Shipped"),
    4: (OrderStatus.REFUNDED, "Refunded"),
    5: (OrderStatus.CANCELLED, "Cancelled"),
    6: (OrderStatus.FAILED, "Declined"),
    7: (OrderStatus.PENDING, "Awaiting Payment"),
    8: (OrderStatus.PROCESSING, "Awaiting Pickup"),
    9: (OrderStatus.PROCESSING, "Awaiting Shipment"),
    10: (OrderStatus.DELIVERED, "Completed"),
    11: (OrderStatus.PROCESSING, "Awaiting Fulfillment"),
    12: (OrderStatus.ON_HOLD, "Manual Verification Required"),
    13: (OrderStatus.ON_HOLD, "Disputed"),
    14: (OrderStatus.PROCESSING, "Partially Refunded"),
}
#: statuses where the store may already have sent parcels although the status does not say so:
#: ``items_shipped`` decides between processing, partially shipped and shipped
OPEN_STATUS_IDS = frozenset({8, 9, 11, 14})
#: statuses after which a shopper may ask for tracking (shipments are fetched)
SHIPPING_STATUSES = frozenset({OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.DELIVERED})
MAX_ORDER_ID = 2**31 - 1


def to_order_id(value: Any) -> Optional[int]:
    """A positive V2 order id from an int or a digit string (leading zeros allowed), else ``None``."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, (int, str)) else ""
    if not text.isdigit() or not text.isascii() or len(text) > 12:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ORDER_ID else None


def parse_rfc2822(value: Any) -> Optional[datetime]:
    """An aware datetime from BigCommerce's RFC 2822 dates (ISO 8601 accepted too); ``''`` → ``None``."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return parse_datetime(value)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def map_status(status_id: Any, *, label: Any = None, items_shipped: Any = None, items_total: Any = None,
               options: Optional[Mapping[str, Any]] = None) -> Tuple[OrderStatus, str]:
    """``(normalized status, label)`` for a BigCommerce status id.

    The label is the store's own words (``custom_status``, passed as ``label``), else the system
    label. Open statuses (awaiting fulfillment/shipment/pickup, partially refunded) become
    ``partially_shipped`` or ``shipped`` when ``items_shipped`` says parcels left. The store option
    ``status_map`` (``{"11": "on_hold"}``) overrides the normalized status of an id; unknown ids are
    ``processing``.
    """
    options = options or {}
    number = to_int(status_id)
    status, system_label = STATUS_MAP.get(number if number is not None else -1, (OrderStatus.PROCESSING, "Unknown"))
    custom = options.get("status_map") or {}
    if isinstance(custom, Mapping) and str(number) in custom:
        try:
            status = OrderStatus(custom[str(number)])
        except ValueError:
            pass
    elif number in OPEN_STATUS_IDS:
        shipped, total = to_int(items_shipped, 0) or 0, to_int(items_total, 0) or 0
        if shipped > 0:
            status = OrderStatus.SHIPPED if total and shipped >= total else OrderStatus.PARTIALLY_SHIPPED
    return status, clean_text(label, 60) or system_label


def _variant(options: Any) -> Optional[str]:
    if not isinstance(options, list):
        return None
    parts = []
    for option in options[:10]:
        if not isinstance(option, dict):
            continue
        name = clean_text(option.get("display_name_customer") or option.get("display_name"), 40)
        value = clean_text(option.get("display_value_customer") or option.get("display_value"), 60)
        if name and value:
            parts.append(f"{name}: {value}")
    return ", ".join(parts) or None


def line_items(products: Any, *, tax_inclusive: bool = False) -> List[LineItem]:
    """Order products (``GET /v2/orders/{id}/products``) as line items; bundled children skipped."""
    if not isinstance(products, list):
        return []
    suffix = "inc_tax" if tax_inclusive else "ex_tax"
    items = []
    for product in products[:200]:
        if not isinstance(product, dict) or product.get("parent_order_product_id"):
            continue
        quantity = to_int(product.get("quantity"), 1)
        items.append(
            LineItem(
                name=clean_text(product.get("name_customer") or product.get("name")) or "Item",
                quantity=quantity if quantity is not None and quantity >= 0 else 1,
                sku=clean_text(product.get("sku"), 64),
                variant=_variant(product.get("product_options")),
                unit_price=to_decimal(product.get(f"price_{suffix}")),
                total=to_decimal(product.get(f"total_{suffix}")),
            )
        )
    return items


def _product_names(products: Any) -> Dict[int, str]:
    names: Dict[int, str] = {}
    for product in products if isinstance(products, list) else []:
        if isinstance(product, dict):
            key = to_int(product.get("id"))
            name = clean_text(product.get("name_customer") or product.get("name"))
            if key is not None and name:
                names[key] = name
    return names


def parse_shipments(shipments: Any, *, products: Any = None, delivered: bool = False) -> List[Shipment]:
    """Shipments (``GET /v2/orders/{id}/shipments``) as parcels.

    The URL is the merchant's custom ``tracking_link``, else BigCommerce's
    ``generated_tracking_link``, else the registered carrier's template. The carrier is
    ``shipping_provider_display_name``, ``tracking_carrier`` or ``shipping_provider`` (a known
    carrier's clean name when the registry knows it). Shipments with neither a tracking number nor
    a link are kept only when they list known products (a parcel sent without tracking).
    """
    if not isinstance(shipments, list):
        return []
    names = _product_names(products)
    parcels: List[Shipment] = []
    for raw in shipments[:50]:
        if not isinstance(raw, dict):
            continue
        number = clean_tracking_number(raw.get("tracking_number"))
        spellings = [clean_text(raw.get(k), 60) for k in ("tracking_carrier", "shipping_provider", "shipping_provider_display_name")]
        carrier = next((c for c in (find_carrier(s) for s in spellings if s) if c is not None), None)
        display = clean_text(raw.get("shipping_provider_display_name"), 60) or next((s for s in spellings if s), None)
        url = clean_url(raw.get("tracking_link")) or clean_url(raw.get("generated_tracking_link"))
        if url is None and carrier is not None and number:
            url = carrier.tracking_url(number)
        items = []
        for entry in raw.get("items") if isinstance(raw.get("items"), list) else []:
            name = names.get(to_int(entry.get("order_product_id"), -1)) if isinstance(entry, dict) else None
            if name:
                items.append(LineItem(name=name, quantity=max(to_int(entry.get("quantity"), 1) or 1, 1)))
        if not number and not url and not items:
            continue
        parcels.append(
            Shipment(
                carrier=carrier.name if carrier else display,
                carrier_code=carrier.code if carrier else None,
                tracking_number=number,
                tracking_url=url,
                status=ShipmentStatus.DELIVERED if delivered else ShipmentStatus.SHIPPED,
                shipped_at=parse_rfc2822(raw.get("date_created")),
                items=items,
            )
        )
    return parcels


def status_page_url(storefront_url: Optional[str], order_id: int) -> Optional[str]:
    """The customer account's order page on the storefront (needs the shopper to sign in)."""
    base = clean_url(storefront_url or "")
    return clean_url(f"{base.rstrip('/')}/account.php?action=view_order&order_id={order_id}") if base else None


def embedded_list(value: Any) -> Optional[List[Any]]:
    """A sub-resource given inline (a list, as in seed files) rather than as a ``{"url", "resource"}`` link."""
    return value if isinstance(value, list) else None


def order_from_payload(payload: Any, *, products: Optional[Iterable[Any]] = None, shipments: Optional[Iterable[Any]] = None,
                       storefront_url: Optional[str] = None, options: Optional[Mapping[str, Any]] = None) -> Order:
    """Normalize one V2 order object; :class:`MalformedResponse` when it is unusable.

    ``products`` / ``shipments`` are the sub-resource lists when fetched separately; lists embedded
    in the order (seed files) are used otherwise.
    """
    if not isinstance(payload, dict):
        raise MalformedResponse("order is not a JSON object", platform=PLATFORM)
    order_id = to_int(payload.get("id"))
    if order_id is None or order_id <= 0:
        raise MalformedResponse("order without a valid id", platform=PLATFORM)
    product_list = list(products) if products is not None else embedded_list(payload.get("products")) or []
    shipment_list = list(shipments) if shipments is not None else embedded_list(payload.get("shipments")) or []
    status, label = map_status(payload.get("status_id"), label=payload.get("custom_status") or payload.get("status"),
                               items_shipped=payload.get("items_shipped"), items_total=payload.get("items_total"), options=options)
    tax_inclusive = payload.get("is_tax_inclusive_pricing") is True
    created = parse_rfc2822(payload.get("date_created"))
    currency = payload.get("default_currency_code") or payload.get("currency_code")
    billing = payload.get("billing_address") if isinstance(payload.get("billing_address"), dict) else {}
    suffix = "inc_tax" if tax_inclusive else "ex_tax"
    return Order(
        platform=PLATFORM,
        number=str(order_id),
        platform_id=str(order_id),
        status=status,
        status_label=label,
        created_at=created,
        updated_at=parse_rfc2822(payload.get("date_modified")) or created,
        currency=currency.upper()[:3] if isinstance(currency, str) and currency.isalpha() else None,
        subtotal=to_decimal(payload.get(f"subtotal_{suffix}")),
        shipping=to_decimal(payload.get(f"shipping_cost_{suffix}")),
        tax=to_decimal(payload.get("total_tax")),
        total=to_decimal(payload.get("total_inc_tax")),
        items=line_items(product_list, tax_inclusive=tax_inclusive),
        shipments=parse_shipments(shipment_list, products=product_list, delivered=status is OrderStatus.DELIVERED),
        status_page_url=status_page_url(storefront_url, order_id),
        email=billing.get("email") if isinstance(billing.get("email"), str) else None,
        billing_postcode=clean_text(billing.get("zip"), 16),
        billing_last_name=billing.get("last_name") if isinstance(billing.get("last_name"), str) else None,
        phone=billing.get("phone") if isinstance(billing.get("phone"), str) else None,
        cancelled_at=parse_rfc2822(payload.get("date_modified")) if status is OrderStatus.CANCELLED else None,
    )
