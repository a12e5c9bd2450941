"""BigCommerce webhooks: v3 hook registration, delivery verification, reading and order events.

BigCommerce does not sign deliveries. A hook may carry custom headers, which BigCommerce sends
back with every callback, so each store's hooks are registered with the product's per-store
secret (256 random bits, kept encrypted with the store) in the :data:`SECRET_HEADER` header; a
delivery is authentic when that header equals the store's secret, compared in constant time.
The secret is not a signature over the body, so nothing in a callback is trusted beyond the
order it names: callbacks are thin (``{"scope", "store_id", "producer", "hash", "created_at",
"data": {"type", "id", ...}}``) and the order is read back from the API, so a replayed or edited
body can at most make the product re-read an order of that same store. The product also refuses
a callback whose ``producer`` (``stores/{hash}``) is another store, and one whose ``created_at``
is older than its replay window.
"""
from __future__ import annotations

import hmac
import json
import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional

from plugins.errors import MalformedResponse, OrderNotFound, PlatformError
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
from plugins.text import clean_url, is_loopback_host

from trulybot_bigcommerce.normalize import PLATFORM, to_order_id

if TYPE_CHECKING:  # pragma: no cover
    from trulybot_bigcommerce.client import BigCommercePlatform

logger = logging.getLogger(__name__)

#: BigCommerce scope → the topic name the product sees (``area/event``, lower case)
TOPICS: Dict[str, str] = {
    "store/order/statusUpdated": "order/status_updated",
    "store/shipment/created": "shipment/created",
    "store/shipment/updated": "shipment/updated",
}
SCOPES = tuple(TOPICS)
#: custom header BigCommerce sends back with every delivery of a hook we registered
SECRET_HEADER = "X-TrulyBot-Webhook-Secret"
MAX_SECRET_LENGTH = 256
MAX_DELIVERY_BYTES = 64 * 1024
_KIND_OF_STATUS = {OrderStatus.CANCELLED: OrderEventKind.CANCELLED, OrderStatus.REFUNDED: OrderEventKind.REFUNDED}
_KIND_OF_TOPIC = {"shipment/created": OrderEventKind.SHIPMENT_CREATED, "shipment/updated": OrderEventKind.SHIPMENT_UPDATED}


def verify(headers: Mapping[str, str], secret: Optional[str]) -> bool:
    """True when the delivery carries ``secret`` in :data:`SECRET_HEADER` (constant time)."""
    given = first_header(headers, SECRET_HEADER)
    if not secret or not given or len(given) > MAX_SECRET_LENGTH:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode("utf-8"))


def read_delivery(raw_body: bytes) -> WebhookDelivery:
    """Topic, event id (``hash`` and ``created_at``), store hash and time of a callback.

    ``payload`` is ``{"order_id", "shipment_id", "previous_status_id", "new_status_id"}`` (ids
    validated). Raises :class:`MalformedResponse` for anything that is not a callback of
    :data:`SCOPES`.
    """
    if len(raw_body) > MAX_DELIVERY_BYTES:
        raise MalformedResponse("callback body is too large", platform=PLATFORM)
    try:
        body = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedResponse("callback body is not valid JSON", platform=PLATFORM) from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise MalformedResponse("callback without a data object", platform=PLATFORM)
    scope = body.get("scope")
    if scope not in TOPICS:
        raise MalformedResponse("callback of an unsupported scope", platform=PLATFORM)
    data = body["data"]
    shipment = scope.startswith("store/shipment/")
    order_id = to_order_id(data.get("orderId") if shipment else data.get("id"))
    if order_id is None:
        raise MalformedResponse("callback without a valid order id", platform=PLATFORM)
    status = data.get("status") if isinstance(data.get("status"), dict) else {}
    producer = body.get("producer")
    store_hash = producer[len("stores/"):].strip().lower()[:64] if isinstance(producer, str) and producer.startswith("stores/") else None
    created = body.get("created_at")
    created_at = created if isinstance(created, int) and not isinstance(created, bool) and 0 < created < 2**40 else None
    event_hash = body.get("hash") if isinstance(body.get("hash"), str) else ""
    event_id = f"{event_hash[:80]}:{created_at}" if event_hash and created_at else None
    return WebhookDelivery(
        topic=TOPICS[scope],
        event_id=event_id,
        shop_domain=store_hash or None,
        triggered_at=datetime.fromtimestamp(created_at, tz=timezone.utc) if created_at else None,
        payload={
            "order_id": order_id,
            "shipment_id": to_order_id(data.get("id")) if shipment else None,
            "previous_status_id": _status_id(status.get("previous_status_id")),
            "new_status_id": _status_id(status.get("new_status_id")),
        },
    )


def _status_id(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1000 else None


async def parse(platform: "BigCommercePlatform", delivery: WebhookDelivery) -> WebhookOutcome:
    """Read the order a callback names back from the store and describe the change.

    ``order/status_updated`` → ``status_changed`` (``cancelled`` / ``refunded`` for those
    statuses); ``shipment/created|updated`` → ``shipment_created|updated`` with the parcel the
    callback names (all parcels when it is not found). A deleted order is ignored.
    """
    payload = delivery.payload if isinstance(delivery.payload, dict) else {}
    order_id = to_order_id(payload.get("order_id"))
    if delivery.topic not in TOPICS.values() or order_id is None:
        return WebhookOutcome()
    shipment_id = to_order_id(payload.get("shipment_id"))
    try:
        order = await platform.fetch_order(order_id, with_shipments=True, only_shipment=shipment_id)
    except OrderNotFound:
        return WebhookOutcome()
    kind = _KIND_OF_TOPIC.get(delivery.topic) or _KIND_OF_STATUS.get(order.status, OrderEventKind.STATUS_CHANGED)
    return WebhookOutcome(events=[OrderEvent(
        kind=kind, order_number=order.number, status=order.status, status_label=order.status_label,
        shipments=list(order.shipments), version=order.updated_at.isoformat() if order.updated_at else None,
        occurred_at=delivery.triggered_at or order.updated_at,
    )])


def check_destination(url: str, *, allow_insecure_http: bool = False) -> str:
    """The callback URL, which BigCommerce requires on HTTPS (plain HTTP only for loopback tests)."""
    clean = clean_url(url)
    host = clean.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0] if clean else ""
    if clean is None or not host:
        raise PlatformError("webhook destination is not an absolute http(s) URL", platform=PLATFORM)
    if clean.lower().startswith("http://") and not (allow_insecure_http or is_loopback_host(host.strip("[]"))):
        raise PlatformError("BigCommerce delivers webhooks to HTTPS URLs only", platform=PLATFORM)
    return clean


async def list_hooks(platform: "BigCommercePlatform", destination: Optional[str] = None) -> List[Dict[str, Any]]:
    """Hooks of the API account at this store (optionally only those posting to ``destination``)."""
    response = await platform.call("GET", "/hooks", version="v3", params={"destination": destination} if destination else None)
    body = response.json()
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise MalformedResponse("hook list without data", platform=PLATFORM)
    return [h for h in data if isinstance(h, dict)]


async def register(platform: "BigCommercePlatform", target: WebhookTarget) -> WebhookRegistration:
    """One active hook per scope posting to ``target.url`` with the secret header.

    A hook that already posts there for the scope is updated (new secret, active again) instead of
    duplicated. Never raises: what could not be registered is in ``error``.
    """
    result = WebhookRegistration()
    if not target.secret:
        result.error = "a per-store webhook secret is required"
        return result
    try:
        url = check_destination(target.url, allow_insecure_http=bool(platform.store.options.get("allow_insecure_http")))
        existing = {h.get("scope"): h for h in await list_hooks(platform, url)}
        for scope in SCOPES:
            body = {"scope": scope, "destination": url, "is_active": True, "headers": {SECRET_HEADER: target.secret}}
            hook_id = to_order_id(existing.get(scope, {}).get("id"))
            if hook_id is not None:
                response = await platform.call("PUT", f"/hooks/{hook_id}", version="v3", json=body)
            else:
                response = await platform.call("POST", "/hooks", version="v3", json=body)
            answer = response.json()
            data = answer.get("data") if isinstance(answer, dict) else None
            created = to_order_id(data.get("id")) if isinstance(data, dict) else None
            if created is None:
                raise MalformedResponse("hook answer without an id", platform=PLATFORM)
            result.topics.append(TOPICS[scope])
            result.remote_ids.append(str(created))
    except PlatformError as exc:
        result.error = f"{exc.code}: webhook registration failed ({exc})"[:200]
    return result


async def deregister(platform: "BigCommercePlatform", registration: WebhookRegistration) -> List[str]:
    """``DELETE /v3/hooks/{id}`` for each remembered id (a hook already gone counts); returns those deleted."""
    deleted: List[str] = []
    for remote_id in registration.remote_ids:
        hook_id = to_order_id(remote_id)
        if hook_id is None:
            continue
        try:
            await platform.call("DELETE", f"/hooks/{hook_id}", version="v3", allow_404=True)
        except PlatformError as exc:
            logger.info("store %s: hook could not be deleted (%s)", platform.store.store_id, exc.code)
            continue
        deleted.append(remote_id)
    return deleted

