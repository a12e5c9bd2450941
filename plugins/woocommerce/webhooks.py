"""WooCommerce webhooks: REST registration, ``X-WC-Webhook-Signature`` and order events.

WooCommerce signs a delivery with base64 HMAC-SHA256 of the raw body under the secret given when
the webhook was created (one secret per store). ``order.updated`` carries the whole v3 order, so
the event is built from the payload without calling the store.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import TYPE_CHECKING, List, Mapping

import aiohttp

from plugins.errors import MalformedResponse, PlatformError
from plugins.integration import (
    OrderEvent,
    OrderEventKind,
    WebhookDelivery,
    WebhookOutcome,
    WebhookRegistration,
    WebhookTarget,
    first_header,
)
from plugins.model import OrderStatus
from plugins.woocommerce.normalize import PLATFORM, order_from_payload

if TYPE_CHECKING:  # pragma: no cover
    from plugins.woocommerce.client import WooCommercePlatform

TOPICS = ("order.updated",)
REGISTRATION_TIMEOUT = 10.0
#: the unsigned body WooCommerce posts once when a webhook is created
PING_RE = re.compile(rb"webhook_id=[0-9]{1,12}")


def signature(secret: str, raw_body: bytes) -> str:
    """Base64 HMAC-SHA256 of ``raw_body`` under ``secret`` (``X-WC-Webhook-Signature``)."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()).decode("ascii")


def verify(raw_body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    given = first_header(headers, "X-WC-Webhook-Signature")
    if not given or not secret or len(given) > 128:
        return False
    return hmac.compare_digest(signature(secret, raw_body).encode("ascii"), given.encode("ascii", "replace"))


def is_ping(raw_body: bytes, headers: Mapping[str, str]) -> bool:
    """WooCommerce's unsigned ``webhook_id=N`` ping sent when the webhook is created."""
    return first_header(headers, "X-WC-Webhook-Signature") is None and bool(PING_RE.fullmatch(raw_body.strip()))


def read_delivery(raw_body: bytes, headers: Mapping[str, str]) -> WebhookDelivery:
    import json

    topic = (first_header(headers, "X-WC-Webhook-Topic") or "").lower()[:60]
    delivery = first_header(headers, "X-WC-Webhook-Delivery-ID") or ""
    hook = first_header(headers, "X-WC-Webhook-ID") or ""
    event_id = f"{hook[:40]}:{delivery[:100]}" if delivery else None
    try:
        payload = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedResponse("webhook body is not valid JSON", platform=PLATFORM) from None
    return WebhookDelivery(topic=topic, event_id=event_id, shop_domain=None, triggered_at=None, payload=payload)


_KIND = {OrderStatus.CANCELLED: OrderEventKind.CANCELLED, OrderStatus.REFUNDED: OrderEventKind.REFUNDED}


def parse(platform: "WooCommercePlatform", delivery: WebhookDelivery) -> WebhookOutcome:
    if delivery.topic not in TOPICS or not isinstance(delivery.payload, dict):
        return WebhookOutcome()
    try:
        order = order_from_payload(delivery.payload, store_url=platform.store.base_url, options=platform.store.options)
    except MalformedResponse:
        return WebhookOutcome()
    payload = delivery.payload
    version = payload.get("date_modified_gmt") or payload.get("date_modified")
    kind = _KIND.get(order.status, OrderEventKind.SHIPMENT_UPDATED if order.shipments else OrderEventKind.STATUS_CHANGED)
    return WebhookOutcome(events=[OrderEvent(kind=kind, order_number=order.number, status=order.status,
                                             status_label=order.status_label, shipments=list(order.shipments),
                                             version=str(version)[:40] if isinstance(version, str) else None,
                                             occurred_at=order.updated_at)])


async def register(platform: "WooCommercePlatform", target: WebhookTarget) -> WebhookRegistration:
    """``POST /wp-json/wc/v3/webhooks`` per topic, signed with ``target.secret``."""
    result = WebhookRegistration()
    if not target.secret:
        result.error = "a per-store webhook secret is required"
        return result
    key, secret = platform._credentials()
    for topic in TOPICS:
        body = {"name": f"TrulyBot {topic}", "topic": topic, "delivery_url": target.url, "secret": target.secret,
                "status": "active"}
        try:
            resp = await platform.http.request(
                "POST", platform._base + "/wp-json/wc/v3/webhooks", store_key=platform.store.key, platform=PLATFORM,
                json=body, auth=aiohttp.BasicAuth(key, secret), timeout=REGISTRATION_TIMEOUT, max_retries=1)
        except PlatformError as exc:
            result.error = f"{exc.code}: webhook registration failed"
            return result
        if resp.status not in (200, 201):
            result.error = f"store answered {resp.status} to the webhook registration"
            return result
        created = resp.json_or_none()
        result.topics.append(topic)
        if isinstance(created, dict) and isinstance(created.get("id"), (int, str)):
            result.remote_ids.append(str(created["id"]))
    return result


async def deregister(platform: "WooCommercePlatform", registration: WebhookRegistration) -> List[str]:
    """``DELETE /wp-json/wc/v3/webhooks/<id>?force=true`` per remembered id; returns those deleted."""
    key, secret = platform._credentials()
    deleted: List[str] = []
    for remote_id in registration.remote_ids:
        if not remote_id.isdigit():
            continue
        try:
            resp = await platform.http.request(
                "DELETE", platform._base + f"/wp-json/wc/v3/webhooks/{remote_id}", store_key=platform.store.key,
                platform=PLATFORM, params={"force": "true"}, auth=aiohttp.BasicAuth(key, secret),
                timeout=REGISTRATION_TIMEOUT, max_retries=1)
        except PlatformError:
            continue
        if resp.status in (200, 404, 410):
            deleted.append(remote_id)
    return deleted
