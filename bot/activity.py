"""Recording entries of the merchant's activity log (``user_activities``).

Entries carry no personal data beyond what the merchant already has: order numbers yes, shopper
emails, postcodes and addresses never.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from sqlalchemy.orm import Session

from bot.db.models import UserActivity

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
