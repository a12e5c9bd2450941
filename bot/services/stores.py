"""Looking up connected stores by their public widget id or internal id."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.core.db.models import StoreIntegration


def store_by_widget_id(session: Session, widget_id: str) -> Optional[StoreIntegration]:
    """The store whose widget id is ``widget_id`` (with its widget config loaded), or None."""
    if not isinstance(widget_id, str) or not 0 < len(widget_id) <= 64:
        return None
    return session.execute(
        select(StoreIntegration).options(selectinload(StoreIntegration.widget)).where(StoreIntegration.widget_id == widget_id)
    ).scalar_one_or_none()


def store_by_id(session: Session, store_id: int) -> Optional[StoreIntegration]:
    """The store with primary key ``store_id`` (with its widget config loaded), or None."""
    return session.execute(
        select(StoreIntegration).options(selectinload(StoreIntegration.widget)).where(StoreIntegration.id == store_id)
    ).scalar_one_or_none()
