"""Recording entries of the merchant's activity log (``user_activities``).

Entries carry no personal data beyond what the merchant already has: order numbers yes, shopper
emails, postcodes and addresses never.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from sqlalchemy import insert, literal, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.db.models import StoreIntegration, UserActivity, utcnow

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
