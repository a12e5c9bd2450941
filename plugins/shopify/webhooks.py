"""Shopify webhooks: GraphQL subscriptions, ``X-Shopify-Hmac-Sha256`` and order events.

Shopify signs every delivery with base64 HMAC-SHA256 of the raw body under the app's client
secret. Order and fulfillment topics carry Admin REST payloads; the privacy topics
(``customers/data_request``, ``customers/redact``, ``shop/redact``) are configured once in the app
settings and post to the app-wide endpoint.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional

from plugins.carriers import find_carrier
from plugins.errors import MalformedResponse, PlatformError
from plugins.integration import (
    OrderEvent,
    OrderEventKind,
    StoreNotice,
    StoreNoticeKind,
    WebhookDelivery,
    WebhookOutcome,
    WebhookRegistration,
    WebhookTarget,
    clean_refs,
    first_header,
)
from plugins.model import OrderStatus, Shipment, ShipmentStatus
from plugins.shopify.normalize import PLATFORM

SHOP_DOMAIN_RE = re.compile(r"^[a-z0-9][a-z0-9\-]{0,60}\.myshopify\.com$")
from plugins.text import clean_text, clean_tracking_number, clean_url, parse_datetime

if TYPE_CHECKING:  # pragma: no cover
    from plugins.shopify.client import ShopifyPlatform

#: GraphQL topic enums registered per shop (privacy topics are app settings, not subscriptions)
SUBSCRIBED_TOPICS = ("ORDERS_UPDATED", "FULFILLMENTS_CREATE", "FULFILLMENTS_UPDATE", "APP_UNINSTALLED")
ORDER_TOPICS = ("orders/updated", "orders/fulfilled", "orders/partially_fulfilled", "orders/cancelled",
                "fulfillments/create", "fulfillments/update")
NOTICE_TOPICS = {
    "app/uninstalled": StoreNoticeKind.UNINSTALLED,
    "customers/data_request": StoreNoticeKind.CUSTOMER_DATA_REQUEST,
    "customers/redact": StoreNoticeKind.CUSTOMER_REDACT,
    "shop/redact": StoreNoticeKind.SHOP_REDACT,
}
#: every topic :func:`parse` understands (others are acknowledged and ignored)
HANDLED_TOPICS = ORDER_TOPICS + tuple(NOTICE_TOPICS)
REGISTRATION_TIMEOUT = 10.0

CREATE_MUTATION = """
mutation webhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
""".strip()
DELETE_MUTATION = """
mutation webhookSubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}
""".strip()


def signature(secret: str, raw_body: bytes) -> str:
    """Base64 HMAC-SHA256 of ``raw_body`` under ``secret`` (``X-Shopify-Hmac-Sha256``)."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()).decode("ascii")


def verify(raw_body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    given = first_header(headers, "X-Shopify-Hmac-Sha256")
    if not given or not secret or len(given) > 128:
        return False
    return hmac.compare_digest(signature(secret, raw_body).encode("ascii"), given.encode("ascii", "replace"))


def read_delivery(raw_body: bytes, headers: Mapping[str, str]) -> WebhookDelivery:
    """Topic, event id (``X-Shopify-Event-Id``, else ``X-Shopify-Webhook-Id``), shop and trigger time.

    The shop named in the body (privacy payloads carry ``shop_domain``) must agree with the header.
    """
    try:
        payload = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedResponse("webhook body is not valid JSON", platform=PLATFORM) from None
    topic = (first_header(headers, "X-Shopify-Topic") or "").lower()[:81]
    shop = (first_header(headers, "X-Shopify-Shop-Domain") or "").lower()[:255] or None
    if shop is not None and not SHOP_DOMAIN_RE.match(shop):
        raise MalformedResponse("the shop header is not a myshopify.com domain", platform=PLATFORM)
    body_shop = payload.get("shop_domain") if isinstance(payload, dict) else None
    if isinstance(body_shop, str) and body_shop.strip().lower() != (shop or ""):
        raise MalformedResponse("the shop in the body is not the shop in the headers", platform=PLATFORM)
    event_id = first_header(headers, "X-Shopify-Event-Id", "X-Shopify-Webhook-Id")
    triggered = parse_datetime(first_header(headers, "X-Shopify-Triggered-At"))
    return WebhookDelivery(topic=topic, event_id=event_id[:128] if event_id else None, shop_domain=shop,
                           triggered_at=triggered, payload=payload)


def _shipments(fulfillments: Any) -> List[Shipment]:
    out: List[Shipment] = []
    if not isinstance(fulfillments, list):
        return out
    for f in fulfillments[:10]:
        if not isinstance(f, dict) or f.get("status") in ("cancelled", "error", "failure"):
            continue
        numbers = f.get("tracking_numbers") if isinstance(f.get("tracking_numbers"), list) else [f.get("tracking_number")]
        urls = f.get("tracking_urls") if isinstance(f.get("tracking_urls"), list) else [f.get("tracking_url")]
        carrier = find_carrier(f.get("tracking_company"))
        status = {"delivered": ShipmentStatus.DELIVERED, "in_transit": ShipmentStatus.IN_TRANSIT,
                  "out_for_delivery": ShipmentStatus.OUT_FOR_DELIVERY}.get(str(f.get("shipment_status")), ShipmentStatus.SHIPPED)
        for i, number in enumerate(numbers or [None]):
            url = clean_url(urls[i]) if i < len(urls or []) and isinstance(urls[i], str) else None
            url = url if url and url.startswith("https://") else None
            tracking = clean_tracking_number(number)
            if not tracking and not url:
                continue
            if not url and tracking and carrier:
                url = carrier.tracking_url(tracking)
            out.append(Shipment(carrier=carrier.name if carrier else clean_text(f.get("tracking_company")),
                                carrier_code=carrier.code if carrier else None, tracking_number=tracking,
                                tracking_url=url, status=status))
    return out


def _number(payload: Dict[str, Any]) -> Optional[str]:
    name = clean_text(payload.get("name"), 100)
    if name:
        return name.lstrip("#").split(".")[0] or None
    return clean_text(payload.get("order_number"), 100)


def order_event(topic: str, payload: Any) -> Optional[OrderEvent]:
    """The normalized event of an order or fulfillment delivery (``None`` when it names no order)."""
    if not isinstance(payload, dict):
        return None
    number = _number(payload)
    if not number:
        return None
    version = clean_text(payload.get("updated_at"), 40)
    occurred = parse_datetime(payload.get("updated_at"))
    if topic.startswith("fulfillments/"):
        kind = OrderEventKind.SHIPMENT_CREATED if topic.endswith("create") else OrderEventKind.SHIPMENT_UPDATED
        label = {"success": "shipped", "cancelled": "fulfillment cancelled"}.get(str(payload.get("status")), "shipping update")
        if payload.get("shipment_status"):
            label = str(payload["shipment_status"]).replace("_", " ")[:40]
        return OrderEvent(kind=kind, order_number=number, status=None, status_label=label,
                          shipments=_shipments([payload]), version=version, occurred_at=occurred)
    financial = str(payload.get("financial_status") or "")
    fulfillment = str(payload.get("fulfillment_status") or "")
    shipments = _shipments(payload.get("fulfillments"))
    if payload.get("cancelled_at"):
        kind, status, label = OrderEventKind.CANCELLED, OrderStatus.CANCELLED, "cancelled"
    elif financial == "refunded":
        kind, status, label = OrderEventKind.REFUNDED, OrderStatus.REFUNDED, "refunded"
    elif fulfillment == "fulfilled":
        kind, status, label = OrderEventKind.STATUS_CHANGED, OrderStatus.SHIPPED, "shipped"
    elif fulfillment == "partial":
        kind, status, label = OrderEventKind.STATUS_CHANGED, OrderStatus.PARTIALLY_SHIPPED, "partially shipped"
    else:
        kind, status, label = OrderEventKind.STATUS_CHANGED, OrderStatus.PROCESSING, "being processed"
    return OrderEvent(kind=kind, order_number=number, status=status, status_label=label, shipments=shipments,
                      version=version, occurred_at=occurred)


def parse(delivery: WebhookDelivery) -> WebhookOutcome:
    topic, payload = delivery.topic, delivery.payload
    if topic in ORDER_TOPICS:
        event = order_event(topic, payload)
        return WebhookOutcome(events=[event] if event else [])
    kind = NOTICE_TOPICS.get(topic)
    if kind is None:
        return WebhookOutcome()
    data = payload if isinstance(payload, dict) else {}
    customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
    email = customer.get("email") if isinstance(customer.get("email"), str) else None
    refs = data.get("orders_requested") if kind is StoreNoticeKind.CUSTOMER_DATA_REQUEST else data.get("orders_to_redact")
    request = data.get("data_request") if isinstance(data.get("data_request"), dict) else {}
    request_id = request.get("id")
    return WebhookOutcome(notice=StoreNotice(
        kind=kind, customer_email=email[:254] if email else None,
        order_refs=clean_refs(refs) if isinstance(refs, list) else [],
        request_id=str(request_id)[:64] if isinstance(request_id, (str, int)) and not isinstance(request_id, bool) else None))


async def _mutation(platform: "ShopifyPlatform", document: str, variables: Dict[str, Any]) -> Any:
    response = await platform.http.request(
        "POST", platform.endpoint, store_key=platform.store.key, platform=PLATFORM,
        json={"query": document, "variables": variables},
        headers={"X-Shopify-Access-Token": platform._token(), "Content-Type": "application/json"},
        timeout=REGISTRATION_TIMEOUT, max_retries=1)
    body = response.json_or_none()
    return response.status, body if isinstance(body, dict) else None


def _already_exists(errors: Any) -> bool:
    return isinstance(errors, list) and bool(errors) and all(
        isinstance(e, dict) and "already" in str(e.get("message", "")).lower() for e in errors)


async def register(platform: "ShopifyPlatform", target: WebhookTarget) -> WebhookRegistration:
    result = WebhookRegistration()
    for topic in SUBSCRIBED_TOPICS:
        try:
            status, body = await _mutation(platform, CREATE_MUTATION, {
                "topic": topic, "webhookSubscription": {"callbackUrl": target.url, "format": "JSON"}})
        except PlatformError as exc:
            result.error = f"{exc.code}: webhook registration failed"
            return result
        if status != 200 or body is None:
            result.error = f"store answered {status} to the webhook registration"
            return result
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        created = data.get("webhookSubscriptionCreate") if isinstance(data.get("webhookSubscriptionCreate"), dict) else {}
        errors = created.get("userErrors") or body.get("errors")
        if errors and not _already_exists(errors):
            result.error = "store refused the webhook registration"
            return result
        result.topics.append(topic)
        sub = created.get("webhookSubscription") if isinstance(created.get("webhookSubscription"), dict) else {}
        if isinstance(sub.get("id"), str):
            result.remote_ids.append(sub["id"])
    return result


async def deregister(platform: "ShopifyPlatform", registration: WebhookRegistration) -> List[str]:
    deleted: List[str] = []
    for remote_id in registration.remote_ids:
        try:
            status, body = await _mutation(platform, DELETE_MUTATION, {"id": remote_id})
        except PlatformError:
            continue
        if status == 200 and body is not None:
            deleted.append(remote_id)
    return deleted
