"""Webhook receivers of every platform: the plugin verifies the signature over the raw body
(``Platform.verify_webhook``, with the per-store or the app secret its ``WebhookSpec`` names).

Each delivery is authenticated on the raw bytes *before* anything is parsed (401 when wrong),
de-duplicated by the sender's event id, answered at once (200) and processed by a background
worker: order updates are pushed into live conversations that looked the order up; store notices
(app uninstalled, the privacy topics) disable the store or export or delete what we hold about a
customer or a whole shop.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Mapping, Optional

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.services import activity
from bot import appkeys
from bot.api import push
from bot.services.db import in_db, is_database_outage
from bot.api.dedupe import Dedupe
from bot.api.errors import ApiError
from bot.services.keys import API_CONFIG, DEDUPE, REDACTORS, STORE_HTTP, WEBHOOK_WORKER
from bot.services.metrics import WEBHOOKS, safe_topic
from bot.services.platforms import app_setting, connection_for, platform_class
from bot.api.registry import Param, route
from bot.api.stores import invalidate_widget_cache
from bot.services.webhook_registration import store_webhook_secret
from bot.core.db.models import ConversationSubject, StoreIntegration, UserActivity, utcnow
from bot.core.logs import mask_order_number
from bot.services.credentials import clear_credentials
from bot.services.privacy import (
    activities_of_conversations, conversations_for_email, email_hash, export_path, forget_conversations,
)
from plugins.errors import MalformedResponse
from plugins.integration import OrderEvent, StoreNoticeKind, WebhookDelivery, WebhookSecret
from bot.services.transcripts import TRACKER_ENGINE, conversations_of_store, export_conversations

logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 1024 * 1024
_TOPIC_RE = re.compile(r"^[a-z_]{1,40}[/.][a-z_]{1,40}$")
#: a shop's host name as platforms name it in deliveries
SHOP_DOMAIN_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")


def _text(value: Any, limit: int = 100) -> Optional[str]:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value).strip()
        return text[:limit] if text else None
    return None


@dataclass
class Job:
    source: str  #: platform name
    topic: str
    store_id: Optional[int]
    shop: Optional[str]
    payload: WebhookDelivery
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


def _store_by_shop(session: Session, platform: str, shop: str) -> Optional[Dict[str, Any]]:
    store = session.execute(select(StoreIntegration).where(StoreIntegration.shop_domain == shop,
                                                           StoreIntegration.platform == platform)).scalars().first()
    return None if store is None else {"id": store.id, "shop": store.shop_domain, "widget_id": store.widget_id}


def _store_by_widget(session: Session, app: web.Application, platform: Any, widget_id: str) -> Optional[Dict[str, Any]]:
    store = session.execute(select(StoreIntegration).where(StoreIntegration.widget_id == widget_id)).scalar_one_or_none()
    if store is None or store.platform != platform.name:
        return None
    secret = None
    if platform.webhooks is not None and platform.webhooks.secret is WebhookSecret.PER_STORE:
        try:
            secret = store_webhook_secret(app, store)
        except Exception:  # noqa: BLE001 - undecryptable secret: treat as no secret
            secret = None
    return {"id": store.id, "shop": store.shop_domain, "widget_id": store.widget_id, "secret": secret}


def _webhook_platform(app: web.Application, name: str) -> Any:
    if not re.fullmatch(r"[a-z0-9_\-]{1,40}", name):
        raise ApiError(404, "not_found", "no webhook endpoint here")
    try:
        platform = platform_class(app, name)
    except ApiError:
        raise ApiError(404, "not_found", "no webhook endpoint here") from None
    if platform.webhooks is None:
        raise ApiError(404, "not_found", "no webhook endpoint here")
    return platform


def _app_secret(app: web.Application, platform: Any) -> Optional[str]:
    spec = platform.webhooks
    if spec.secret is not WebhookSecret.APP or not spec.app_secret_setting:
        return None
    return app_setting(app, platform, spec.app_secret_setting)


def _read(platform: Any, raw: bytes, headers: Mapping[str, str]) -> WebhookDelivery:
    try:
        delivery = platform.read_delivery(raw, headers)
    except MalformedResponse as exc:
        raise ApiError(400, "bad_delivery", str(exc)[:200]) from None
    if not _TOPIC_RE.match(delivery.topic or ""):
        raise ApiError(400, "bad_topic", "missing or malformed topic")
    return delivery


def _check_fresh(app: web.Application, platform: Any, delivery: WebhookDelivery) -> None:
    """Refuse a delivery triggered before the de-duplication window: it could be a replay."""
    if delivery.triggered_at is None:
        return
    age = (utcnow() - delivery.triggered_at).total_seconds()
    config = app[API_CONFIG]
    if age > min(config.webhook_max_age, config.webhook_dedupe_ttl):
        WEBHOOKS.labels(platform.name, safe_topic(delivery.topic), "stale").inc()
        raise ApiError(400, "stale_delivery", "the delivery was triggered too long ago")


async def _accept(app: web.Application, platform: Any, store_id: Optional[int], shop: Optional[str],
                  delivery: WebhookDelivery, raw: bytes) -> web.Response:
    """De-duplicate per store, then queue; answers at once."""
    event_id = delivery.event_id or "body:" + hashlib.sha256(delivery.topic.encode() + b"\0" + raw).hexdigest()
    key = f"{platform.name}:{store_id if store_id is not None else 'shop:' + str(shop)}:{event_id}"
    if not await app[DEDUPE].first_time(key):
        WEBHOOKS.labels(platform.name, safe_topic(delivery.topic), "duplicate").inc()
        return web.json_response({"status": "duplicate"})
    if platform.webhooks.topics and delivery.topic not in platform.webhooks.topics:
        WEBHOOKS.labels(platform.name, "other", "ignored").inc()
        return web.json_response({"status": "ignored"})
    if not app[WEBHOOK_WORKER].submit(Job(platform.name, delivery.topic, store_id, shop, delivery, key)):
        await app[DEDUPE].forget(key)
        raise ApiError(429, "busy", "too many webhooks queued; retry later", headers={"Retry-After": "30"})
    WEBHOOKS.labels(platform.name, safe_topic(delivery.topic), "accepted").inc()
    return web.json_response({"status": "accepted"})


def _unauthorized(platform: Any) -> ApiError:
    WEBHOOKS.labels(platform.name, "other", "unauthorized").inc()
    return ApiError(401, "bad_signature", "webhook signature does not match")


_ANY_JSON = {"type": "object"}
_PLATFORM_PARAM = Param("platform", "path", {"type": "string", "maxLength": 40}, required=True,
                        description="an installed platform with webhooks")


@route("POST", "/api/webhooks/{platform}/{widget_id}", summary="Webhook deliveries for one store (signed by the platform)",
       tag="webhooks", auth="hmac", body=_ANY_JSON,
       params=[_PLATFORM_PARAM, Param("widget_id", "path", {"type": "string", "maxLength": 64}, required=True)],
       responses={200: "WebhookAck", 400: "Error", 401: "Error", 403: "Error", 404: "Error", 413: "Error"})
async def store_webhook(request: web.Request) -> web.Response:
    """Verified with the store's own secret (or the platform app's), bound to that store: a
    delivery naming another shop is refused, duplicates are recognised per store."""
    app = request.app
    platform = _webhook_platform(app, request.match_info.get("platform", ""))
    widget_id = request.match_info.get("widget_id", "")
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", widget_id):
        raise ApiError(404, "not_found", "store not found")
    raw = await _raw_body(request)
    store = await in_db(app, _store_by_widget, app, platform, widget_id)
    if store is None:
        raise ApiError(404, "not_found", "store not found")
    if platform.is_ping(raw, request.headers):
        return web.json_response({"status": "pong"})
    secret = store["secret"] if platform.webhooks.secret is WebhookSecret.PER_STORE else _app_secret(app, platform)
    if not secret or not platform.verify_webhook(raw, request.headers, secret):
        raise _unauthorized(platform)
    delivery = _read(platform, raw, request.headers)
    if delivery.shop_domain is not None and delivery.shop_domain != (store["shop"] or "").lower():
        WEBHOOKS.labels(platform.name, safe_topic(delivery.topic), "foreign_shop").inc()
        raise ApiError(403, "shop_mismatch", "the delivery names another shop than this store's")
    _check_fresh(app, platform, delivery)
    return await _accept(app, platform, store["id"], store["shop"], delivery, raw)


@route("POST", "/api/webhooks/{platform}", summary="App-wide webhook deliveries (e.g. privacy topics), store found by shop",
       tag="webhooks", auth="hmac", body=_ANY_JSON, params=[_PLATFORM_PARAM],
       responses={200: "WebhookAck", 400: "Error", 401: "Error", 404: "Error", 413: "Error"})
async def app_webhook(request: web.Request) -> web.Response:
    app = request.app
    platform = _webhook_platform(app, request.match_info.get("platform", ""))
    if not platform.webhooks.app_endpoint:
        raise ApiError(404, "not_found", "no webhook endpoint here")
    raw = await _raw_body(request)
    secret = _app_secret(app, platform)
    if not secret or not platform.verify_webhook(raw, request.headers, secret):
        raise _unauthorized(platform)
    delivery = _read(platform, raw, request.headers)
    shop = (delivery.shop_domain or "").lower()
    if not SHOP_DOMAIN_RE.match(shop):
        raise ApiError(400, "bad_shop", "missing or malformed shop domain")
    _check_fresh(app, platform, delivery)
    store = await in_db(app, _store_by_shop, platform.name, shop)
    if store is None:
        outcome = await platform(_bare_connection(platform, shop), app[STORE_HTTP]).parse_webhook(delivery)
        if outcome.notice is None or outcome.notice.kind is not StoreNoticeKind.SHOP_REDACT:
            WEBHOOKS.labels(platform.name, safe_topic(delivery.topic), "unknown_shop").inc()
            return web.json_response({"status": "ignored"})
    return await _accept(app, platform, store["id"] if store else None, shop, delivery, raw)


def _bare_connection(platform: Any, shop: str) -> Any:
    from plugins.model import StoreConnection

    return StoreConnection(store_id="webhook", platform=platform.name, base_url="", shop_domain=shop)


# --- processing ------------------------------------------------------------------------------------

def _job_connection(session: Session, app: web.Application, job: Job) -> Any:
    store = session.get(StoreIntegration, job.store_id) if job.store_id else None
    return connection_for(app, store) if store is not None else None


async def process(app: web.Application, job: Job) -> None:
    """Parse a verified delivery with its platform and act on the outcome."""
    platform = platform_class(app, job.source)
    conn = await in_db(app, _job_connection, app, job) if job.store_id is not None else None
    outcome = await platform(conn or _bare_connection(platform, job.shop or ""), app[STORE_HTTP]).parse_webhook(job.payload)
    payload = job.payload.payload
    for event in outcome.events:
        if job.store_id is not None:
            await _order_event(app, job, event)
    notice = outcome.notice
    if notice is None:
        return
    if notice.kind is StoreNoticeKind.UNINSTALLED:
        await in_db(app, _uninstalled, job.store_id, job.topic)
        invalidate_widget_cache(app)
    elif notice.kind is StoreNoticeKind.CUSTOMER_DATA_REQUEST:
        found = await in_db(app, _data_request, job.store_id, payload, _customer_email_hash(app, payload))
        if found is not None:
            await _export_customer_data(app, found)
    elif notice.kind is StoreNoticeKind.CUSTOMER_REDACT:
        conversations = await in_db(app, _customer_redact, job.store_id, payload, _customer_email_hash(app, payload))
        await _run_redactors(app, job.store_id, conversations)
    elif notice.kind is StoreNoticeKind.SHOP_REDACT:
        await _shop_redact(app, platform.name, job.shop or "")


def _tracking(event: OrderEvent) -> List[Dict[str, Any]]:
    return [{"carrier": s.carrier, "tracking_number": s.tracking_number, "tracking_url": s.tracking_url}
            for s in event.shipments[:5]]


async def _order_event(app: web.Application, job: Job, event: OrderEvent) -> None:
    """Push one normalized order event into the chats that looked the order up, and log it."""
    number = event.order_number
    if not await app[DEDUPE].newer(f"{job.source}:{job.store_id}:order:{number}", event.version):
        logger.info("webhook %s for order %s is older than one already processed; skipped", job.topic, mask_order_number(number))
        WEBHOOKS.labels(job.source, safe_topic(job.topic), "stale").inc()
        return
    label = event.status_label or str(event.status or event.kind).replace("_", " ")
    message = push.update_message(number, label, _tracking(event))
    pushed = await push.push_order_update(app, job.store_id, number, message)

    def record(session: Session) -> None:
        store = session.get(StoreIntegration, job.store_id)
        if store is None:
            return
        activity.record_activity(session, store.user_id, activity.WEBHOOK, f"Order #{number} updated ({job.topic})",
                                 store.id, {"topic": job.topic, "event": event.kind.value, "order_number": number,
                                            "status": event.status.value if event.status else None, "status_label": label,
                                            "pushed_conversations": pushed})

    await in_db(app, record)


def _uninstalled(session: Session, store_id: Optional[int], topic: str) -> None:
    store = session.get(StoreIntegration, store_id) if store_id else None
    if store is None:
        return
    clear_credentials(store)
    store.status = "disabled"
    config = dict(store.config or {})
    config["webhooks"] = {"topics": [], "error": None}
    config["uninstalled"] = True
    store.config = config
    activity.record_activity(session, store.user_id, activity.WEBHOOK, "App uninstalled from the store", store.id,
                             {"topic": topic})


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
    path = export_path(settings.data_dir, found.widget_id, found.request_id)
    document = {"store": found.widget_id, "data_request_id": found.request_id, "orders_requested": found.orders,
                "activity_entries": found.activities, "transcripts": transcripts,
                "note": "TrulyBot stores no customer email or address (only a keyed hash of emails typed in the chat); "
                        "transcripts contain what the shopper typed. This file is deleted once downloaded through "
                        "the API, or after the export retention period."}

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


def _delete_shop(session: Session, platform: str, shop: str) -> List[int]:
    stores = list(session.execute(select(StoreIntegration).where(StoreIntegration.shop_domain == shop,
                                                                 StoreIntegration.platform == platform)).scalars())
    ids = [s.id for s in stores]
    if ids:
        session.execute(delete(UserActivity).where(UserActivity.store_id.in_(ids)))
        session.execute(delete(ConversationSubject).where(ConversationSubject.store_id.in_(ids)))
        for store in stores:
            session.delete(store)
    return ids


async def _shop_redact(app: web.Application, platform: str, shop: str) -> None:
    if not SHOP_DOMAIN_RE.match(shop):
        return
    ids = await in_db(app, lambda s: [i for i in s.execute(select(StoreIntegration.id).where(
        StoreIntegration.shop_domain == shop, StoreIntegration.platform == platform)).scalars()])
    for store_id in ids:
        conversations = set(await in_db(app, _conversations_of_store, store_id))
        if TRACKER_ENGINE in app:  # every transcript of the shop, not only those with an order lookup
            conversations.update(await asyncio.get_running_loop().run_in_executor(
                None, conversations_of_store, app[TRACKER_ENGINE], store_id))
        await _run_redactors(app, store_id, sorted(conversations))
    await in_db(app, _delete_shop, platform, shop)
    invalidate_widget_cache(app)


Redactor = Callable[[web.Application, int, List[str]], Awaitable[None]]


async def _run_redactors(app: web.Application, store_id: Optional[int], conversations: List[str]) -> None:
    """Let other modules (gateway transcripts, Rasa tracker store) delete their copies.

    Register with ``app[bot.services.keys.REDACTORS].append(async_fn)``; each gets
    ``(app, store_id, conversation_ids)``.
    """
    if store_id is None:
        return
    for redactor in list(app.get(REDACTORS, [])):
        await redactor(app, store_id, conversations)


__all__ = ["WebhookWorker", "webhook_worker_ctx"]
