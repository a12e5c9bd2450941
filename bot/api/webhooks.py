"""Webhook receivers: Shopify (HMAC over the raw body) and WooCommerce (``X-WC-Webhook-Signature``).

Each delivery is authenticated on the raw bytes *before* anything is parsed (401 when wrong),
de-duplicated by the sender's event id, answered at once (200) and processed by a background
worker: order updates are pushed into live conversations that looked the order up; the Shopify
privacy topics export or delete what we hold about a customer or a whole shop.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.services import activity
from bot import appkeys
from bot.api import push
from bot.api.db import in_db, is_database_outage
from bot.api.dedupe import Dedupe
from bot.api.errors import ApiError
from bot.api.keys import API_CONFIG, DEDUPE, REDACTORS, WEBHOOK_WORKER
from bot.api.metrics import WEBHOOKS, safe_topic
from bot.api.registry import Param, route
from bot.api.shopify_oauth import verify_webhook_hmac
from bot.api.stores import invalidate_widget_cache
from bot.api.validation import SHOP_DOMAIN_RE
from bot.api.webhook_registration import woo_secret
from bot.core.db.models import ConversationSubject, StoreIntegration, UserActivity
from bot.core.logs import mask_order_number
from bot.services.privacy import activities_of_conversations, conversations_for_email, email_hash, forget_conversations
from bot.services.transcripts import TRACKER_ENGINE, conversations_of_store, export_conversations

logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 1024 * 1024
ORDER_TOPICS = ("orders/updated", "orders/fulfilled", "orders/partially_fulfilled", "orders/cancelled",
                "fulfillments/create", "fulfillments/update")
PRIVACY_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
SHOPIFY_TOPICS = ORDER_TOPICS + PRIVACY_TOPICS + ("app/uninstalled",)
_TOPIC_RE = re.compile(r"^[a-z_]{1,40}/[a-z_]{1,40}$")


@dataclass
class Job:
    source: str
    topic: str
    store_id: Optional[int]
    shop: Optional[str]
    payload: Any
    dedupe_key: str


class WebhookWorker:
    """A queue of accepted deliveries processed one by one after the 200 went out."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.queue: "asyncio.Queue[Job]" = asyncio.Queue(maxsize=10000)
        self.task: Optional["asyncio.Task[None]"] = None
        self.processed = 0
        self.failed = 0

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass

    def submit(self, job: Job) -> bool:
        try:
            self.queue.put_nowait(job)
            return True
        except asyncio.QueueFull:
            return False

    async def drain(self) -> None:
        """Wait until every submitted job is processed (tests)."""
        await self.queue.join()

    async def _run(self) -> None:
        while True:
            job = await self.queue.get()
            try:
                await process(self.app, job)
                self.processed += 1
                WEBHOOKS.labels(job.source, safe_topic(job.topic), "processed").inc()
            except Exception as exc:  # noqa: BLE001 - keep the worker alive; let the sender retry
                self.failed += 1
                WEBHOOKS.labels(job.source, safe_topic(job.topic), "failed").inc()
                await self.app[DEDUPE].forget(job.dedupe_key)
                if is_database_outage(exc):
                    logger.warning("webhook %s not processed: database unavailable", job.topic)
                else:
                    logger.exception("webhook %s processing failed", job.topic)
            finally:
                self.queue.task_done()


async def webhook_worker_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[API_CONFIG]
    redis = None
    if config.redis_url:
        try:
            import redis.asyncio as aioredis

            redis = aioredis.from_url(config.redis_url)
        except Exception as exc:  # noqa: BLE001
            logger.warning("webhook dedupe: cannot use Redis (%s)", type(exc).__name__)
    app[DEDUPE] = Dedupe(config.webhook_dedupe_ttl, redis)
    worker = WebhookWorker(app)
    app[WEBHOOK_WORKER] = worker
    worker.start()
    yield
    await worker.stop()
    if redis is not None:
        await redis.close()


async def _raw_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
        raise ApiError(413, "too_large", "webhook body too large")
    chunks: List[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_WEBHOOK_BYTES:
            raise ApiError(413, "too_large", "webhook body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "webhook body is not valid JSON") from None


def _store_by_shop(session: Session, shop: str) -> Optional[int]:
    return session.execute(select(StoreIntegration.id).where(StoreIntegration.shop_domain == shop,
                                                             StoreIntegration.platform == "shopify")).scalars().first()


_SHOPIFY_HEADERS = [
    Param("X-Shopify-Hmac-Sha256", "header", {"type": "string"}, required=True, description="base64 HMAC-SHA256 of the raw body"),
    Param("X-Shopify-Topic", "header", {"type": "string"}, required=True),
    Param("X-Shopify-Shop-Domain", "header", {"type": "string"}, required=True),
    Param("X-Shopify-Webhook-Id", "header", {"type": "string"}),
    Param("X-Shopify-Event-Id", "header", {"type": "string"}),
]
_ANY_JSON = {"type": "object"}


@route("POST", "/api/webhooks/shopify", summary="Shopify webhooks (orders, fulfillments, app/uninstalled, privacy topics)",
       tag="webhooks", auth="hmac", body=_ANY_JSON, params=_SHOPIFY_HEADERS,
       responses={200: "WebhookAck", 400: "Error", 401: "Error", 413: "Error"})
async def shopify_webhook(request: web.Request) -> web.Response:
    app = request.app
    config = app[API_CONFIG]
    raw = await _raw_body(request)
    if not verify_webhook_hmac(config.shopify_api_secret or "", raw, request.headers.get("X-Shopify-Hmac-Sha256")):
        WEBHOOKS.labels("shopify", "other", "unauthorized").inc()
        raise ApiError(401, "bad_signature", "webhook signature does not match")
    topic = request.headers.get("X-Shopify-Topic", "").strip().lower()
    shop = request.headers.get("X-Shopify-Shop-Domain", "").strip().lower()
    if not _TOPIC_RE.match(topic):
        raise ApiError(400, "bad_topic", "missing or malformed X-Shopify-Topic")
    if not SHOP_DOMAIN_RE.match(shop):
        raise ApiError(400, "bad_shop", "missing or malformed X-Shopify-Shop-Domain")
    event_id = (request.headers.get("X-Shopify-Event-Id") or request.headers.get("X-Shopify-Webhook-Id") or "").strip()
    if not event_id or len(event_id) > 128:
        event_id = "body:" + hashlib.sha256(topic.encode() + b"\0" + raw).hexdigest()
    payload = _json(raw)
    key = f"shopify:{shop}:{event_id}"
    if not await app[DEDUPE].first_time(key):
        WEBHOOKS.labels("shopify", safe_topic(topic), "duplicate").inc()
        return web.json_response({"status": "duplicate"})
    if topic not in SHOPIFY_TOPICS:
        WEBHOOKS.labels("shopify", "other", "ignored").inc()
        return web.json_response({"status": "ignored"})
    store_id = await in_db(app, _store_by_shop, shop)
    if store_id is None and topic != "shop/redact":
        WEBHOOKS.labels("shopify", safe_topic(topic), "unknown_shop").inc()
        return web.json_response({"status": "ignored"})
    if not app[WEBHOOK_WORKER].submit(Job("shopify", topic, store_id, shop, payload, key)):
        await app[DEDUPE].forget(key)
        raise ApiError(429, "busy", "too many webhooks queued; retry later", headers={"Retry-After": "30"})
    WEBHOOKS.labels("shopify", safe_topic(topic), "accepted").inc()
    return web.json_response({"status": "accepted"})


def _woo_store(session: Session, app: web.Application, widget_id: str) -> Optional[Dict[str, Any]]:
    store = session.execute(select(StoreIntegration).where(StoreIntegration.widget_id == widget_id)).scalar_one_or_none()
    if store is None or store.platform != "woocommerce":
        return None
    try:
        secret = woo_secret(app, store)
    except Exception:  # noqa: BLE001 - undecryptable secret: treat as no secret
        secret = None
    return {"id": store.id, "secret": secret, "status": store.status}


def woo_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


@route("POST", "/api/webhooks/woocommerce/{widget_id}", summary="WooCommerce webhooks (order.updated) for one store",
       tag="webhooks", auth="hmac", body=_ANY_JSON,
       params=[Param("widget_id", "path", {"type": "string", "maxLength": 64}, required=True),
               Param("X-WC-Webhook-Signature", "header", {"type": "string"}, required=True,
                     description="base64 HMAC-SHA256 of the raw body with the webhook secret"),
               Param("X-WC-Webhook-Topic", "header", {"type": "string"}),
               Param("X-WC-Webhook-Delivery-ID", "header", {"type": "string"})],
       responses={200: "WebhookAck", 400: "Error", 401: "Error", 404: "Error", 413: "Error"})
async def woocommerce_webhook(request: web.Request) -> web.Response:
    app = request.app
    widget_id = request.match_info.get("widget_id", "")
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", widget_id):
        raise ApiError(404, "not_found", "store not found")
    raw = await _raw_body(request)
    store = await in_db(app, _woo_store, app, widget_id)
    if store is None:
        raise ApiError(404, "not_found", "store not found")
    signature = request.headers.get("X-WC-Webhook-Signature")
    if signature is None and re.fullmatch(rb"webhook_id=[0-9]{1,12}", raw.strip()):
        return web.json_response({"status": "pong"})  # WooCommerce's unsigned ping on webhook creation
    secret = store["secret"]
    if not secret or not signature or not hmac.compare_digest(woo_signature(secret, raw).encode(),
                                                              signature.strip().encode("ascii", "replace")):
        WEBHOOKS.labels("woocommerce", "other", "unauthorized").inc()
        raise ApiError(401, "bad_signature", "webhook signature does not match")
    topic = request.headers.get("X-WC-Webhook-Topic", "").strip().lower()
    payload = _json(raw)
    delivery = (request.headers.get("X-WC-Webhook-Delivery-ID") or "").strip()
    hook_id = (request.headers.get("X-WC-Webhook-ID") or "").strip()
    event_id = f"{hook_id}:{delivery}" if delivery and len(delivery) <= 100 else "body:" + hashlib.sha256(raw).hexdigest()
    key = f"woocommerce:{store['id']}:{event_id}"
    if not await app[DEDUPE].first_time(key):
        WEBHOOKS.labels("woocommerce", safe_topic(topic), "duplicate").inc()
        return web.json_response({"status": "duplicate"})
    if topic != "order.updated" or not isinstance(payload, dict):
        WEBHOOKS.labels("woocommerce", "other", "ignored").inc()
        return web.json_response({"status": "ignored"})
    if not app[WEBHOOK_WORKER].submit(Job("woocommerce", topic, store["id"], None, payload, key)):
        await app[DEDUPE].forget(key)
        raise ApiError(429, "busy", "too many webhooks queued; retry later", headers={"Retry-After": "30"})
    WEBHOOKS.labels("woocommerce", safe_topic(topic), "accepted").inc()
    return web.json_response({"status": "accepted"})


# --- processing ------------------------------------------------------------------------------------

async def process(app: web.Application, job: Job) -> None:
    if job.source == "woocommerce":
        await _order_update(app, job, *_woo_order_fields(job.payload))
    elif job.topic in ORDER_TOPICS:
        await _order_update(app, job, *_shopify_order_fields(job.topic, job.payload))
    elif job.topic == "app/uninstalled":
        await in_db(app, _uninstalled, job.store_id)
        invalidate_widget_cache(app)
    elif job.topic == "customers/data_request":
        found = await in_db(app, _data_request, job.store_id, job.payload, _customer_email_hash(app, job.payload))
        if found is not None:
            await _export_customer_data(app, found)
    elif job.topic == "customers/redact":
        conversations = await in_db(app, _customer_redact, job.store_id, job.payload, _customer_email_hash(app, job.payload))
        await _run_redactors(app, job.store_id, conversations)
    elif job.topic == "shop/redact":
        await _shop_redact(app, job.shop or "")


def _text(value: Any, limit: int = 100) -> Optional[str]:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value).strip()
        return text[:limit] if text else None
    return None


def _tracking_from_fulfillments(fulfillments: Any) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    if not isinstance(fulfillments, list):
        return out
    for f in fulfillments[:10]:
        if not isinstance(f, dict):
            continue
        numbers = f.get("tracking_numbers") if isinstance(f.get("tracking_numbers"), list) else [f.get("tracking_number")]
        urls = f.get("tracking_urls") if isinstance(f.get("tracking_urls"), list) else [f.get("tracking_url")]
        for i, number in enumerate(numbers or [None]):
            url = urls[i] if i < len(urls or []) else None
            if number or url:
                out.append({"carrier": _text(f.get("tracking_company")), "tracking_number": _text(number),
                            "tracking_url": _text(url, 500) if isinstance(url, str) and url.startswith("https://") else None})
    return out


def _shopify_order_fields(topic: str, payload: Any) -> tuple:
    if not isinstance(payload, dict):
        return None, None, None, []
    if topic.startswith("fulfillments/"):
        name = _text(payload.get("name"))
        number = name.lstrip("#").split(".")[0] if name else _text(payload.get("order_id"))
        label = {"success": "shipped", "cancelled": "fulfillment cancelled"}.get(str(payload.get("status")), "shipping update")
        if payload.get("shipment_status"):
            label = str(payload.get("shipment_status")).replace("_", " ")[:40]
        return number, _text(payload.get("updated_at"), 40), label, _tracking_from_fulfillments([payload])
    name = _text(payload.get("name"))
    number = name.lstrip("#") if name else _text(payload.get("order_number"))
    if payload.get("cancelled_at"):
        label = "cancelled"
    else:
        label = {"fulfilled": "shipped", "partial": "partially shipped"}.get(str(payload.get("fulfillment_status")), "being processed")
    return number, _text(payload.get("updated_at"), 40), label, _tracking_from_fulfillments(payload.get("fulfillments"))


def _woo_order_fields(payload: Any) -> tuple:
    if not isinstance(payload, dict):
        return None, None, None, []
    number = _text(payload.get("number")) or _text(payload.get("id"))
    label = str(payload.get("status") or "updated").replace("-", " ")[:40]
    tracking: List[Dict[str, Any]] = []
    for meta in payload.get("meta_data") or []:
        if isinstance(meta, dict) and meta.get("key") == "_wc_shipment_tracking_items" and isinstance(meta.get("value"), list):
            for item in meta["value"][:5]:
                if isinstance(item, dict):
                    link = item.get("custom_tracking_link")
                    tracking.append({"carrier": _text(item.get("tracking_provider") or item.get("custom_tracking_provider")),
                                     "tracking_number": _text(item.get("tracking_number")),
                                     "tracking_url": link[:500] if isinstance(link, str) and link.startswith("https://") else None})
    version = _text(payload.get("date_modified_gmt"), 40) or _text(payload.get("date_modified"), 40)
    return number, version, label, tracking


async def _order_update(app: web.Application, job: Job, number: Optional[str], version: Optional[str],
                        label: Optional[str], tracking: List[Dict[str, Any]]) -> None:
    if not number or job.store_id is None:
        return
    if not await app[DEDUPE].newer(f"{job.source}:{job.store_id}:order:{number}", version):
        logger.info("webhook %s for order %s is older than one already processed; skipped", job.topic, mask_order_number(number))
        WEBHOOKS.labels(job.source, safe_topic(job.topic), "stale").inc()
        return
    message = push.update_message(number, label or "updated", tracking)
    pushed = await push.push_order_update(app, job.store_id, number, message)

    def record(session: Session) -> None:
        store = session.get(StoreIntegration, job.store_id)
        if store is None:
            return
        activity.record_activity(session, store.user_id, activity.WEBHOOK, f"Order #{number} updated ({job.topic})",
                                 store.id, {"topic": job.topic, "order_number": number, "status": label,
                                            "pushed_conversations": pushed})

    await in_db(app, record)


def _uninstalled(session: Session, store_id: Optional[int]) -> None:
    store = session.get(StoreIntegration, store_id) if store_id else None
    if store is None:
        return
    store.access_token_encrypted = None
    store.status = "disabled"
    config = dict(store.config or {})
    config["webhooks"] = {"topics": [], "error": None}
    config["uninstalled"] = True
    store.config = config
    activity.record_activity(session, store.user_id, activity.WEBHOOK, "App uninstalled from the Shopify store", store.id,
                             {"topic": "app/uninstalled"})


def _order_refs(payload: Any, key: str) -> List[str]:
    refs = payload.get(key) if isinstance(payload, dict) else None
    return [str(r) for r in refs[:1000] if isinstance(r, (int, str)) and not isinstance(r, bool)] if isinstance(refs, list) else []


def _matching_activities(session: Session, store_id: int, refs: List[str]) -> List[UserActivity]:
    if not refs:
        return []
    wanted = {r.lstrip("#").lower() for r in refs}
    rows = session.execute(select(UserActivity).where(UserActivity.store_id == store_id)).scalars()
    out = []
    for row in rows:
        details = row.details if isinstance(row.details, dict) else {}
        ref = str(details.get("order_number") or details.get("order_id") or "").lstrip("#").lower()
        if ref and ref in wanted:
            out.append(row)
    return out


@dataclass
class DataRequest:
    """What TrulyBot holds about the orders named in a ``customers/data_request``."""

    store_id: int
    user_id: int
    widget_id: str
    request_id: str
    orders: int
    activities: List[Dict[str, Any]]
    conversations: List[str]


def _customer_email_hash(app: web.Application, payload: Any) -> Optional[str]:
    """The index hash of the privacy request's customer email (None when the payload names none)."""
    customer = payload.get("customer") if isinstance(payload, dict) else None
    email = customer.get("email") if isinstance(customer, dict) else None
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        return None
    secret = app[appkeys.SETTINGS].session_secret
    return email_hash(secret, email) if secret else None


def _data_request(session: Session, store_id: Optional[int], payload: Any, hashed: Optional[str] = None) -> Optional[DataRequest]:
    store = session.get(StoreIntegration, store_id) if store_id else None
    if store is None:
        return None
    refs = _order_refs(payload, "orders_requested")
    by_email = conversations_for_email(session, store.id, hashed) if hashed else []
    held = _matching_activities(session, store.id, refs)
    known = {a.id for a in held}
    held += [a for a in activities_of_conversations(session, store.id, by_email) if a.id not in known]
    request = payload.get("data_request") if isinstance(payload, dict) else None
    request_id = _text(request.get("id")) if isinstance(request, dict) else None
    conversations = sorted({str(a.details.get("conversation_id")) for a in held
                            if isinstance(a.details, dict) and a.details.get("conversation_id")} | set(by_email))
    return DataRequest(store.id, store.user_id, store.widget_id, request_id or "unknown", len(refs),
                       [a.to_dict() for a in held], conversations)


async def _export_customer_data(app: web.Application, found: DataRequest) -> None:
    """Write what we hold (activity entries and transcripts) to a file the merchant can hand over."""
    transcripts: Dict[str, Any] = {}
    if TRACKER_ENGINE in app:
        transcripts = await asyncio.get_running_loop().run_in_executor(
            None, export_conversations, app[TRACKER_ENGINE], found.conversations)
    settings = app[appkeys.SETTINGS]
    safe_id = "".join(c for c in found.request_id if c.isalnum() or c in "-_")[:64] or "unknown"
    path = settings.data_dir / "exports" / found.widget_id / f"data-request-{safe_id}.json"
    document = {"store": found.widget_id, "data_request_id": found.request_id, "orders_requested": found.orders,
                "activity_entries": found.activities, "transcripts": transcripts,
                "note": "TrulyBot stores no customer email or address (only a keyed hash of emails typed in the chat); "
                        "transcripts contain what the shopper typed. This file is deleted after the export retention period."}

    def write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, ensure_ascii=False, indent=2, default=str)

    await asyncio.get_running_loop().run_in_executor(None, write)

    def record(session: Session) -> None:
        activity.record_activity(session, found.user_id, activity.WEBHOOK, "Customer data request received", found.store_id, {
            "topic": "customers/data_request", "data_request_id": found.request_id, "orders_requested": found.orders,
            "activity_entries_held": len(found.activities), "conversations": len(found.conversations),
            "export_file": str(path)})

    await in_db(app, record)


def _customer_redact(session: Session, store_id: Optional[int], payload: Any, hashed: Optional[str] = None) -> List[str]:
    """Delete the activity entries of the named orders and of every conversation that mentioned the
    customer (order numbers in the activity log, the email through its index); returns those
    conversations, whose transcripts the redactors delete next."""
    store = session.get(StoreIntegration, store_id) if store_id else None
    if store is None:
        return []
    refs = _order_refs(payload, "orders_to_redact")
    rows = _matching_activities(session, store.id, refs)
    conversations = {str(r.details.get("conversation_id")) for r in rows
                     if isinstance(r.details, dict) and r.details.get("conversation_id")}
    if hashed:
        conversations.update(conversations_for_email(session, store.id, hashed))
    for row in rows:
        session.delete(row)
    session.flush()
    deleted = len(rows) + forget_conversations(session, store.id, conversations)
    activity.record_activity(session, store.user_id, activity.WEBHOOK, "Customer data redacted", store.id, {
        "topic": "customers/redact", "orders": len(refs), "entries_deleted": deleted, "conversations": len(conversations)})
    return sorted(conversations)


def _conversations_of_store(session: Session, store_id: int) -> List[str]:
    rows = session.execute(select(UserActivity.details).where(UserActivity.store_id == store_id)).scalars()
    return sorted({str(d.get("conversation_id")) for d in rows if isinstance(d, dict) and d.get("conversation_id")})


def _delete_shop(session: Session, shop: str) -> List[int]:
    stores = list(session.execute(select(StoreIntegration).where(StoreIntegration.shop_domain == shop,
                                                                 StoreIntegration.platform == "shopify")).scalars())
    ids = [s.id for s in stores]
    if ids:
        session.execute(delete(UserActivity).where(UserActivity.store_id.in_(ids)))
        session.execute(delete(ConversationSubject).where(ConversationSubject.store_id.in_(ids)))
        for store in stores:
            session.delete(store)
    return ids


async def _shop_redact(app: web.Application, shop: str) -> None:
    if not SHOP_DOMAIN_RE.match(shop):
        return
    ids = await in_db(app, lambda s: [i for i in s.execute(select(StoreIntegration.id).where(
        StoreIntegration.shop_domain == shop)).scalars()])
    for store_id in ids:
        conversations = set(await in_db(app, _conversations_of_store, store_id))
        if TRACKER_ENGINE in app:  # every transcript of the shop, not only those with an order lookup
            conversations.update(await asyncio.get_running_loop().run_in_executor(
                None, conversations_of_store, app[TRACKER_ENGINE], store_id))
        await _run_redactors(app, store_id, sorted(conversations))
    await in_db(app, _delete_shop, shop)
    invalidate_widget_cache(app)


Redactor = Callable[[web.Application, int, List[str]], Awaitable[None]]


async def _run_redactors(app: web.Application, store_id: Optional[int], conversations: List[str]) -> None:
    """Let other modules (gateway transcripts, Rasa tracker store) delete their copies.

    Register with ``app[bot.api.keys.REDACTORS].append(async_fn)``; each gets
    ``(app, store_id, conversation_ids)``.
    """
    if store_id is None:
        return
    for redactor in list(app.get(REDACTORS, [])):
        await redactor(app, store_id, conversations)


__all__ = ["WebhookWorker", "webhook_worker_ctx", "woo_signature"]
