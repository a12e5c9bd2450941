"""Proactive push of order updates into live widget conversations.

The gateway (bot/gateway) owns the sockets; its ``Hub.push(conversation_id, messages, store_id)``
delivers a ``bot`` frame without ``reply_to``. Which conversations care about an order is read
from the activity log: order lookups with outcome ``shown`` for that store and order number in the
last ``push_lookback_hours``.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Dict, List

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import appkeys
from bot.services import activity
from bot.services.db import in_db
from bot.services.keys import API_CONFIG, PUSH
from bot.core.db.models import UserActivity, utcnow
from bot.core.logs import mask_order_number

logger = logging.getLogger(__name__)


def _normal(number: Any) -> str:
    return str(number or "").strip().lstrip("#").lower()


def conversations_for_order(session: Session, store_id: int, order_number: str, hours: int) -> List[str]:
    since = utcnow() - timedelta(hours=hours)
    rows = session.execute(
        select(UserActivity.details).where(
            UserActivity.store_id == store_id,
            UserActivity.activity_type.in_((activity.LOOKUP, activity.REQUEST)),
            UserActivity.created_at >= since,
        ).order_by(UserActivity.id.desc()).limit(5000)
    ).scalars()
    wanted = _normal(order_number)
    found: List[str] = []
    for details in rows:
        if not isinstance(details, dict) or _normal(details.get("order_number")) != wanted:
            continue
        if details.get("outcome") not in (None, "shown"):
            continue
        conv = details.get("conversation_id")
        if isinstance(conv, str) and conv and conv not in found:
            found.append(conv)
    return found


def update_message(order_number: str, status_label: str, tracking: List[Dict[str, Any]]) -> Dict[str, Any]:
    text = f"Update on order #{order_number}: {status_label}."
    links = [t for t in tracking if t.get("tracking_url")]
    if links:
        text += " Track it here: " + ", ".join(t["tracking_url"] for t in links[:3])
    return {"text": text, "custom": {"type": "order_update", "order_number": order_number, "status": status_label,
                                      "tracking": tracking[:5]}}


async def push_order_update(app: web.Application, store_id: int, order_number: str, message: Dict[str, Any]) -> int:
    """Push ``message`` to every live conversation that looked ``order_number`` up; returns how many
    conversations were targeted."""
    hours = app[API_CONFIG].push_lookback_hours
    conversations = await in_db(app, conversations_for_order, store_id, order_number, hours)
    if not conversations:
        return 0
    override = app.get(PUSH)
    gateway = app.get(appkeys.GATEWAY)
    if override is None:
        if gateway is None:
            logger.info("push: no gateway in this process; update for order %s not pushed", mask_order_number(order_number))
            return 0
    for conversation_id in conversations:
        try:
            if override is not None:
                await override(conversation_id, [message], store_id)
            else:
                await gateway.push(conversation_id, [message], store_id)
        except Exception as exc:  # noqa: BLE001 - one failed socket never stops the others
            logger.warning("push to a conversation failed (%s)", type(exc).__name__)
    return len(conversations)
