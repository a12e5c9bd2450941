"""Shopify Admin GraphQL order nodes → normalized model."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from plugins.carriers import find_carrier
from plugins.errors import MalformedResponse
from plugins.model import LineItem, Order, OrderStatus, Shipment, ShipmentStatus
from plugins.text import clean_text, clean_tracking_number, clean_url, parse_datetime, to_decimal, to_int

PLATFORM = "shopify"

FINANCIAL_LABELS = {
    "PENDING": "Payment pending",
    "AUTHORIZED": "Authorized",
    "PARTIALLY_PAID": "Partially paid",
    "PARTIALLY_REFUNDED": "Partially refunded",
    "VOIDED": "Voided",
    "PAID": "Paid",
    "REFUNDED": "Refunded",
    "EXPIRED": "Expired",
}
FULFILLMENT_LABELS = {
    "UNFULFILLED": "Unfulfilled",
    "PARTIALLY_FULFILLED": "Partially fulfilled",
    "FULFILLED": "Fulfilled",
    "RESTOCKED": "Restocked",
    "PENDING_FULFILLMENT": "Pending fulfillment",
    "OPEN": "Open",
    "IN_PROGRESS": "In progress",
    "ON_HOLD": "On hold",
    "SCHEDULED": "Scheduled",
    "REQUEST_DECLINED": "Request declined",
}
SHIPMENT_STATUS = {
    "LABEL_PRINTED": ShipmentStatus.LABEL_CREATED,
    "LABEL_PURCHASED": ShipmentStatus.LABEL_CREATED,
    "CONFIRMED": ShipmentStatus.LABEL_CREATED,
    "SUBMITTED": ShipmentStatus.SHIPPED,
    "FULFILLED": ShipmentStatus.SHIPPED,
    "MARKED_AS_FULFILLED": ShipmentStatus.SHIPPED,
    "PICKED_UP": ShipmentStatus.IN_TRANSIT,
    "IN_TRANSIT": ShipmentStatus.IN_TRANSIT,
    "OUT_FOR_DELIVERY": ShipmentStatus.OUT_FOR_DELIVERY,
    "ATTEMPTED_DELIVERY": ShipmentStatus.ATTEMPTED_DELIVERY,
    "READY_FOR_PICKUP": ShipmentStatus.READY_FOR_PICKUP,
    "DELIVERED": ShipmentStatus.DELIVERED,
    "FAILURE": ShipmentStatus.FAILURE,
    "NOT_DELIVERED": ShipmentStatus.FAILURE,
    "CANCELED": ShipmentStatus.CANCELLED,
    "LABEL_VOIDED": ShipmentStatus.CANCELLED,
}
#: fulfillments in these states never left: not shown as parcels
DEAD_FULFILLMENTS = {"CANCELLED", "ERROR"}
WAITING_FULFILLMENT = {"UNFULFILLED", "PENDING_FULFILLMENT", "OPEN", "IN_PROGRESS", "SCHEDULED", "REQUEST_DECLINED"}


def map_status(
    financial: Any, fulfillment: Any, *, cancelled: bool = False, all_delivered: bool = False
) -> Tuple[OrderStatus, str]:
    """``(normalized status, label)`` from ``displayFinancialStatus`` / ``displayFulfillmentStatus``.

    The label is Shopify's own words: ``"Paid · Partially fulfilled"``.
    """
    fin = financial if isinstance(financial, str) else ""
    ful = fulfillment if isinstance(fulfillment, str) else ""
    label = " · ".join(x for x in (FINANCIAL_LABELS.get(fin), FULFILLMENT_LABELS.get(ful)) if x) or "Unknown"
    if cancelled:
        return (OrderStatus.REFUNDED if fin == "REFUNDED" else OrderStatus.CANCELLED), "Cancelled · " + label
    if fin == "REFUNDED":
        return OrderStatus.REFUNDED, label
    if fin == "VOIDED":
        return OrderStatus.CANCELLED, label
    if fin == "EXPIRED":
        return OrderStatus.FAILED, label
    if ful == "FULFILLED":
        return (OrderStatus.DELIVERED if all_delivered else OrderStatus.SHIPPED), label
    if ful == "PARTIALLY_FULFILLED":
        return OrderStatus.PARTIALLY_SHIPPED, label
    if ful == "RESTOCKED":
        return OrderStatus.CANCELLED, label
    if ful == "ON_HOLD":
        return OrderStatus.ON_HOLD, label
    if fin == "PENDING":
        return OrderStatus.PENDING, label
    return OrderStatus.PROCESSING, label


def _money(value: Any) -> Optional[Any]:
    if isinstance(value, dict) and isinstance(value.get("shopMoney"), dict):
        return to_decimal(value["shopMoney"].get("amount"))
    return None


def _nodes(connection: Any) -> List[Dict[str, Any]]:
    if isinstance(connection, dict):
        items = connection.get("nodes")
        if items is None and isinstance(connection.get("edges"), list):
            items = [e.get("node") for e in connection["edges"] if isinstance(e, dict)]
        connection = items
    if not isinstance(connection, list):
        return []
    return [n for n in connection if isinstance(n, dict)]


def _line_items(connection: Any) -> List[LineItem]:
    items = []
    for node in _nodes(connection)[:200]:
        quantity = to_int(node.get("quantity"), 1)
        items.append(
            LineItem(
                name=clean_text(node.get("title")) or "Item",
                quantity=quantity if quantity is not None and quantity >= 0 else 1,
                sku=clean_text(node.get("sku"), 64),
                variant=clean_text(node.get("variantTitle"), 100),
                unit_price=_money(node.get("originalUnitPriceSet")),
                total=_money(node.get("discountedTotalSet")),
            )
        )
    return items


def parse_fulfillments(fulfillments: Any) -> List[Shipment]:
    """One :class:`Shipment` per tracking number of every live fulfillment."""
    if not isinstance(fulfillments, list):
        return []
    shipments: List[Shipment] = []
    for fulfillment in fulfillments[:50]:
        if not isinstance(fulfillment, dict) or fulfillment.get("status") in DEAD_FULFILLMENTS:
            continue
        display = fulfillment.get("displayStatus")
        status = SHIPMENT_STATUS.get(display if isinstance(display, str) else "", ShipmentStatus.SHIPPED)
        contents = [
            LineItem(name=clean_text((n.get("lineItem") or {}).get("title")) or "Item", quantity=to_int(n.get("quantity"), 1) or 1)
            for n in _nodes(fulfillment.get("fulfillmentLineItems"))
            if isinstance(n.get("lineItem"), dict) or n.get("lineItem") is None
        ]
        infos = [i for i in fulfillment.get("trackingInfo") or [] if isinstance(i, dict)] or [{}]
        for info in infos[:10]:
            company = clean_text(info.get("company"), 60)
            carrier = find_carrier(company) if company else None
            number = clean_tracking_number(info.get("number"))
            url = clean_url(info.get("url"))
            if url is None and carrier is not None and number:
                url = carrier.tracking_url(number)
            shipments.append(
                Shipment(
                    carrier=carrier.name if carrier else company,
                    carrier_code=carrier.code if carrier else None,
                    tracking_number=number,
                    tracking_url=url,
                    status=status,
                    shipped_at=parse_datetime(fulfillment.get("inTransitAt")) or parse_datetime(fulfillment.get("createdAt")),
                    delivered_at=parse_datetime(fulfillment.get("deliveredAt")),
                    estimated_delivery_at=parse_datetime(fulfillment.get("estimatedDeliveryAt")),
                    items=list(contents),
                )
            )
    return shipments


def order_from_node(node: Any, *, email_redacted: bool = False) -> Order:
    """Normalize one GraphQL ``Order`` node; :class:`MalformedResponse` when unusable."""
    if not isinstance(node, dict):
        raise MalformedResponse("order is not a JSON object", platform=PLATFORM)
    name = clean_text(node.get("name"), 40)
    gid = node.get("id")
    if not name or not isinstance(gid, str):
        raise MalformedResponse("order without id or name", platform=PLATFORM)
    shipments = parse_fulfillments(node.get("fulfillments"))
    cancelled_at = parse_datetime(node.get("cancelledAt"))
    all_delivered = bool(shipments) and all(s.status is ShipmentStatus.DELIVERED for s in shipments)
    status, label = map_status(
        node.get("displayFinancialStatus"), node.get("displayFulfillmentStatus"),
        cancelled=cancelled_at is not None, all_delivered=all_delivered,
    )
    billing = node.get("billingAddress") if isinstance(node.get("billingAddress"), dict) else {}
    shipping = node.get("shippingAddress") if isinstance(node.get("shippingAddress"), dict) else {}
    postcode = billing.get("zip") or shipping.get("zip")
    last_name = billing.get("lastName") or shipping.get("lastName")
    phone = node.get("phone") or billing.get("phone") or shipping.get("phone")
    email = node.get("email") if isinstance(node.get("email"), str) else None
    currency = node.get("currencyCode")
    created = parse_datetime(node.get("createdAt"))
    legacy = node.get("legacyResourceId")
    return Order(
        platform=PLATFORM,
        number=name.lstrip("#"),
        platform_id=str(legacy) if isinstance(legacy, (str, int)) and str(legacy).isdigit() else gid,
        status=status,
        status_label=label,
        created_at=created,
        updated_at=parse_datetime(node.get("updatedAt")) or created,
        currency=currency if isinstance(currency, str) and len(currency) == 3 else None,
        subtotal=_money(node.get("subtotalPriceSet")),
        shipping=_money(node.get("totalShippingPriceSet")),
        tax=_money(node.get("totalTaxSet")),
        total=_money(node.get("totalPriceSet")),
        items=_line_items(node.get("lineItems")),
        shipments=shipments,
        status_page_url=clean_url(node.get("statusPageUrl")),
        email=email,
        billing_postcode=postcode if isinstance(postcode, str) else None,
        billing_last_name=last_name if isinstance(last_name, str) else None,
        phone=phone if isinstance(phone, str) else None,
        customer_data_redacted=email_redacted or email is None,
        cancelled_at=cancelled_at,
    )
