"""Telling the merchant's team that a conversation waits: email over SMTP and a signed webhook.

* Email goes to the store's ``config["handoff"]["notify_emails"]``, or the merchant's own email,
  through ``TRULYBOT_SMTP_*`` (standard library ``smtplib`` in a worker thread; STARTTLS, implicit
  TLS or none; login when a user is set). Nothing is sent when no SMTP host is configured.
* The webhook (``config["handoff"]["webhook_url"]``) receives Slack-compatible JSON
  ``{"text": ..., "handoff": {...}}`` with ``X-TrulyBot-Timestamp`` and ``X-TrulyBot-Signature:
  sha256=<hex HMAC of "<timestamp>.<body>">`` keyed with the store's webhook secret
  (:func:`webhook_secret`, shown to the merchant in the inbox settings). It is sent through the
  store HTTP client, whose resolver refuses loopback, private, link-local and other non-public
  addresses at connect time (:mod:`plugins.netguard`; loopback only at
  ``TRULYBOT_STORE_LOOPBACK_PORTS``), so a webhook URL cannot reach the internal network.

Both carry a link to the conversation in the inbox. Failures are logged and counted
(``trulybot_notifications_total{channel, purpose, outcome}``), never raised: a notification must
not break the shopper's chat. :func:`deliver_email` is the one way the bot service sends email
(handoff notices and agent invitations alike); it runs ``smtplib`` in a worker thread, so the
event loop never waits for an SMTP server.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import time
from email.message import EmailMessage
from typing import Any, Dict, List, Optional, Set
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.orm import Session

from bot import appkeys
from bot.services.db import in_db
from bot.services.metrics import NOTIFICATIONS
from bot.core.db.models import Merchant, StoreIntegration
from bot.core.sealed import derive_key
from bot.core.settings import Settings
from bot.services import handoff as service
from bot.services.handoff_hours import HandoffSettings
from bot.services.keys import STORE_HTTP
from plugins.errors import PlatformError, StoreAddressRefused

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-TrulyBot-Signature"
TIMESTAMP_HEADER = "X-TrulyBot-Timestamp"
TASKS = web.AppKey("notify_tasks", set)


def conversation_link(settings: Settings, handoff_id: int) -> str:
    return f"{settings.public_url.rstrip('/')}/dashboard/inbox/{handoff_id}"


def webhook_secret(settings: Settings, store_id: int) -> str:
    """The store's webhook signing secret, derived from the session secret (nothing stored)."""
    return derive_key(settings.session_secret or "", f"handoff-webhook/{store_id}").hex()


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("ascii"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def _targets(session: Session, store_id: int) -> Dict[str, Any]:
    store = session.get(StoreIntegration, store_id)
    if store is None:
        return {}
    hours = HandoffSettings.from_store((store.config or {}).get("handoff"))
    merchant = session.get(Merchant, store.user_id)
    emails = list(hours.notify_emails) or ([merchant.email] if merchant is not None and merchant.email else [])
    return {"store_name": store.display_name or store.widget_id, "emails": emails, "webhook_url": hours.webhook_url}


def sender_address(settings: Settings) -> str:
    host = urlsplit(settings.public_url).hostname or "localhost"
    return settings.smtp_from or f"trulybot@{host}"


def send_email(settings: Settings, to: List[str], subject: str, body: str) -> None:
    """Send one plain-text email through the configured SMTP server (blocking)."""
    if not settings.smtp_host or not to:
        return
    message = EmailMessage()
    message["From"] = sender_address(settings)
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(body)
    context = ssl.create_default_context()
    if settings.smtp_tls == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=15, context=context)
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15)
    with client:
        if settings.smtp_tls == "starttls":
            client.starttls(context=context)
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password or "")
        client.send_message(message)


async def deliver_email(settings: Settings, to: List[str], subject: str, body: str, purpose: str) -> bool:
    """Send an email without blocking the event loop; False (logged and counted) when it failed."""
    if not settings.smtp_host or not to:
        NOTIFICATIONS.labels("email", purpose, "skipped").inc()
        return False
    try:
        await asyncio.get_running_loop().run_in_executor(None, send_email, settings, to, subject, body)
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("%s email not sent (%s: %s)", purpose, exc.__class__.__name__, str(exc)[:200])
        NOTIFICATIONS.labels("email", purpose, "failed").inc()
        return False
    NOTIFICATIONS.labels("email", purpose, "sent").inc()
    return True


def waiting_text(store_name: str, handoff: Dict[str, Any], link: str) -> str:
    if handoff.get("state") == service.TICKET:
        return f"A shopper on {store_name} left a question for the team while nobody was available: {link}"
    return f"A shopper on {store_name} is waiting for a person in the chat: {link}"


async def notify_waiting(app: web.Application, handoff: Dict[str, Any]) -> Dict[str, bool]:
    """Send the email and webhook for a new handoff; returns which of them went out."""
    settings = app[appkeys.SETTINGS]
    targets = await in_db(app, _targets, handoff["store_id"])
    if not targets:
        return {"email": False, "webhook": False}
    link = conversation_link(settings, handoff["id"])
    text = waiting_text(targets["store_name"], handoff, link)
    sent = {"email": False, "webhook": False}
    if settings.smtp_host and targets["emails"]:
        subject = f"[{targets['store_name']}] A shopper is waiting in the chat"
        body = text + "\n\nOpen the inbox to answer. You get this email because you are on the store's team.\n"
        sent["email"] = await deliver_email(settings, targets["emails"], subject, body, "handoff")
    if targets["webhook_url"]:
        sent["webhook"] = await post_webhook(app, targets["webhook_url"], handoff, text, link)
    if any(sent.values()):
        await in_db(app, service.mark_notified, handoff["id"])
    return sent


async def post_webhook(app: web.Application, url: str, handoff: Dict[str, Any], text: str, link: str) -> bool:
    settings = app[appkeys.SETTINGS]
    payload = {"text": text, "handoff": {"id": handoff["id"], "store_id": handoff["store_id"], "state": handoff["state"],
                                         "requested_at": handoff.get("requested_at"), "url": link}}
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
               SIGNATURE_HEADER: sign_webhook(webhook_secret(settings, handoff["store_id"]), timestamp, body)}
    try:
        resp = await app[STORE_HTTP].request("POST", url, store_key=f"handoff-webhook:{handoff['store_id']}",
                                             data=body, headers=headers, timeout=10, max_retries=0)
    except StoreAddressRefused:
        logger.warning("handoff webhook refused: its host is not a public internet address")
        NOTIFICATIONS.labels("webhook", "handoff", "refused").inc()
        return False
    except PlatformError as exc:
        logger.warning("handoff webhook failed (%s)", exc.__class__.__name__)
        NOTIFICATIONS.labels("webhook", "handoff", "failed").inc()
        return False
    if resp.status >= 300:
        logger.warning("handoff webhook answered %s", resp.status)
        NOTIFICATIONS.labels("webhook", "handoff", "failed").inc()
        return False
    NOTIFICATIONS.labels("webhook", "handoff", "sent").inc()
    return True


def schedule(app: web.Application, handoff: Dict[str, Any]) -> None:
    """Notify in the background (the shopper's turn does not wait for SMTP)."""
    tasks: Optional[Set["asyncio.Task[Any]"]] = app.get(TASKS)
    task = asyncio.get_running_loop().create_task(_safe(app, handoff))
    if tasks is not None:
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def _safe(app: web.Application, handoff: Dict[str, Any]) -> None:
    try:
        await notify_waiting(app, handoff)
    except Exception:  # noqa: BLE001 - notifications never break the chat
        logger.warning("handoff notification failed", exc_info=True)
