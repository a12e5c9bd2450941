"""The merchant's activity log (``user_activities``): recording entries and reading pages of it.

Entries carry no personal data beyond what the merchant already has: order numbers yes, shopper
emails, postcodes and addresses never.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from sqlalchemy import func, insert, literal, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.db.models import StoreIntegration, UserActivity, utcnow
from bot.services.db import in_db
from bot.services.stores import iso, owned_store

if TYPE_CHECKING:  # pragma: no cover
    from aiohttp import web

# Activity types used across the project (the dashboard filters on them).
CONNECT = "store_connected"
DISCONNECT = "store_disconnected"
CONFIG_CHANGE = "config_changed"
LOOKUP = "order_lookup"
LOCKOUT = "lookup_lockout"
STORE_ERROR = "store_error"
WEBHOOK = "webhook_event"
REQUEST = "shopper_request"
HANDOFF = "human_handoff"
CONVERSATION = "conversation_started"  # the gateway issued a new conversation (dashboard analytics)
WIDGET_SEEN = "widget_seen"  # the widget config was fetched from an allowed store origin


def record_activity(
    session: Session,
    user_id: int,
    activity_type: str,
    title: str,
    store_id: Optional[int] = None,
    details: Optional[Dict[str, Any]] = None,
) -> UserActivity:
    """Add one activity entry to ``session`` (the caller commits)."""
    entry = UserActivity(
        user_id=user_id, store_id=store_id, activity_type=activity_type, title=title[:200], details=details or {}
    )
    session.add(entry)
    return entry


def record_for_store(sessions: sessionmaker, store_id: int, activity_type: str, title: str,
                     details: Optional[Dict[str, Any]] = None) -> None:
    """One entry for ``store_id``'s merchant, in one INSERT ... SELECT (no read first; for hot paths,
    run it in a worker thread)."""
    row = select(StoreIntegration.user_id, StoreIntegration.id, literal(activity_type), literal(title[:200]),
                 literal(details or {}, UserActivity.details.type), literal(utcnow(), UserActivity.created_at.type)
                 ).where(StoreIntegration.id == store_id)
    with sessions.begin() as session:
        session.execute(insert(UserActivity).from_select(
            ["user_id", "store_id", "activity_type", "title", "details", "created_at"], row))


# --- reading the log ---------------------------------------------------------------------------------

def _page(session: Session, merchant_id: int, filters: Dict[str, Any], page: int, per_page: int) -> Dict[str, Any]:
    if filters.get("store_id") is not None:
        owned_store(session, merchant_id, filters["store_id"])
    conditions = [UserActivity.user_id == merchant_id]
    if filters.get("types"):
        conditions.append(UserActivity.activity_type.in_(filters["types"]))
    if filters.get("store_id") is not None:
        conditions.append(UserActivity.store_id == filters["store_id"])
    if filters.get("since") is not None:
        conditions.append(UserActivity.created_at >= filters["since"])
    if filters.get("until") is not None:
        conditions.append(UserActivity.created_at < filters["until"])
    total = session.execute(select(func.count()).select_from(UserActivity).where(*conditions)).scalar() or 0
    rows = session.execute(
        select(UserActivity).where(*conditions).order_by(UserActivity.created_at.desc(), UserActivity.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ).scalars()
    items = [{**r.to_dict(), "created_at": iso(r.created_at)} for r in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total, "has_more": page * per_page < total}


async def activity_page(app: "web.Application", merchant_id: int, filters: Dict[str, Any], page: int = 1,
                        per_page: int = 20) -> Dict[str, Any]:
    """One page of the merchant's log, newest first. ``filters``: ``types`` (list), ``store_id``
    (404 when not the merchant's), ``since`` (inclusive) and ``until`` (exclusive) datetimes.
    Returns ``{"items", "page", "per_page", "total", "has_more"}``."""
    return await in_db(app, _page, merchant_id, filters, page, per_page)
