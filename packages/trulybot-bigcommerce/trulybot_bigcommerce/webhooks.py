"""BigCommerce webhooks: registration through the v3 API, delivery verification and parsing.

BigCommerce does not sign deliveries. It lets the subscriber attach custom headers to a hook and
sends them with every callback, so each store gets its own random secret (256 bits, kept encrypted
with the store's credentials) registered as the :data:`SECRET_HEADER` header; a delivery is
authentic when that header equals the store's secret (constant-time comparison). Callbacks are
thin (``{"scope", "store_id", "producer", "hash", "created_at", "data": {"type", "id", ...}}``):
nothing in them is trusted beyond naming an order, which is then fetched from the API, so a
replayed delivery can at most make the product re-read an order it already knows.
"""
from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence

from plugins.errors import MalformedResponse, PlatformError
from plugins.text import clean_url, is_loopback_host

from trulybot_bigcommerce.client import to_order_id
from trulybot_bigcommerce.normalize import PLATFORM

if TYPE_CHECKING:  # pragma: no cover
    from trulybot_bigcommerce.client import BigCommercePlatform

#: the callbacks the product turns into proactive messages
SCOPES = ("store/order/statusUpdated", "store/shipment/created", "store/shipment/updated")
#: custom header BigCommerce sends back with every delivery of a hook we registered
SECRET_HEADER = "X-TrulyBot-Webhook-Secret"
MAX_DELIVERY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Delivery:
    """A parsed callback: its scope, the order it names, and the sender's event identity."""

    scope: str
    order_id: int
    store_hash: Optional[str]  #: from ``producer`` (``stores/{hash}``)
    event_hash: str  #: BigCommerce's ``hash`` of the event data (with ``created_at``: a dedupe key)
    created_at: Optional[int]
    shipment_id: Optional[int] = None
    previous_status_id: Optional[int] = None
    new_status_id: Optional[int] = None

    @property
    def dedupe_key(self) -> str:
        return f"{self.scope}:{self.order_id}:{self.shipment_id or ''}:{self.event_hash}:{self.created_at or ''}"


def verify_delivery(headers: Mapping[str, str], secret: Optional[str]) -> bool:
    """True when the delivery carries this store's secret in :data:`SECRET_HEADER` (constant time).

    ``headers`` is case-insensitive when it is aiohttp's ``CIMultiDictProxy``; a plain dict is
    searched case-insensitively here. An empty secret never verifies.
    """
    if not secret:
        return False
    given = headers.get(SECRET_HEADER)
    if given is None:
        given = next((v for k, v in headers.items() if k.lower() == SECRET_HEADER.lower()), None)
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8"))


def parse_delivery(body: bytes) -> Delivery:
    """The callback in ``body``; ``ValueError`` naming what is wrong for anything else."""
    if len(body) > MAX_DELIVERY_BYTES:
        raise ValueError("callback body is too large")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError("callback body is not JSON") from None
    if not isinstance(payload, dict):
        raise ValueError("callback body is not a JSON object")
    scope = payload.get("scope")
    if scope not in SCOPES:
        raise ValueError("unsupported scope")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ValueError("callback without data")
    shipment_id = None
    if scope.startswith("store/shipment/"):
        order_id = to_order_id(data.get("orderId"))
        shipment_id = to_order_id(data.get("id"))
    else:
        order_id = to_order_id(data.get("id"))
    if order_id is None:
        raise ValueError("callback without a valid order id")
    status = data.get("status") if isinstance(data.get("status"), dict) else {}
    producer = payload.get("producer")
    store_hash = producer[len("stores/"):] if isinstance(producer, str) and producer.startswith("stores/") else None
    created = payload.get("created_at")
    event_hash = payload.get("hash")
    return Delivery(
        scope=scope,
        order_id=order_id,
        store_hash=store_hash.lower()[:64] if store_hash else None,
        event_hash=event_hash[:80] if isinstance(event_hash, str) else "",
        created_at=created if isinstance(created, int) and not isinstance(created, bool) else None,
        shipment_id=shipment_id,
        previous_status_id=_small_int(status.get("previous_status_id")),
        new_status_id=_small_int(status.get("new_status_id")),
    )


def _small_int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1000 else None


def check_destination(url: str, *, allow_insecure_http: bool = False) -> str:
    """The callback URL, which BigCommerce requires on HTTPS (plain HTTP only for loopback tests)."""
    clean = clean_url(url)
    if clean is None:
        raise PlatformError("webhook destination is not an absolute http(s) URL", platform=PLATFORM)
    host = clean.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
    if clean.lower().startswith("http://") and not (allow_insecure_http or is_loopback_host(host)):
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


async def register_hooks(platform: "BigCommercePlatform", destination: str, secret: str,
                         scopes: Sequence[str] = SCOPES) -> List[int]:
    """Create (or refresh) one active hook per scope posting to ``destination`` with the secret header.

    A hook that already posts there for the scope is updated (new secret, active again) rather than
    duplicated. Returns the hook ids, in ``scopes`` order.
    """
    url = check_destination(destination, allow_insecure_http=bool(platform.store.options.get("allow_insecure_http")))
    existing = {h.get("scope"): h for h in await list_hooks(platform, url)}
    ids = []
    for scope in scopes:
        body = {"scope": scope, "destination": url, "is_active": True, "headers": {SECRET_HEADER: secret}}
        hook = existing.get(scope)
        if hook is not None and to_order_id(hook.get("id")) is not None:
            response = await platform.call("PUT", f"/hooks/{int(hook['id'])}", version="v3", json=body)
        else:
            response = await platform.call("POST", "/hooks", version="v3", json=body)
        data = response.json().get("data") if isinstance(response.json(), dict) else None
        hook_id = to_order_id(data.get("id")) if isinstance(data, dict) else None
        if hook_id is None:
            raise MalformedResponse("hook answer without an id", platform=PLATFORM)
        ids.append(hook_id)
    return ids


async def deregister_hooks(platform: "BigCommercePlatform", hook_ids: Sequence[int] = (), destination: Optional[str] = None) -> List[int]:
    """Delete the hooks with these ids, and every hook posting to ``destination``; returns the ids deleted.

    A hook already gone (404) counts as deleted.
    """
    targets = [i for i in (to_order_id(h) for h in hook_ids) if i is not None]
    if destination:
        targets += [i for i in (to_order_id(h.get("id")) for h in await list_hooks(platform, destination)) if i is not None]
    deleted = []
    for hook_id in dict.fromkeys(targets):
        await platform.call("DELETE", f"/hooks/{hook_id}", version="v3", allow_404=True)
        deleted.append(hook_id)
    return deleted
