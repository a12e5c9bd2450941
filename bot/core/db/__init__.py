"""The app database: models, engine helpers and Alembic migrations."""
from bot.core.db.engine import make_engine, make_sessionmaker, ping
from bot.core.db.models import (
    Base,
    Handoff,
    ConversationSubject,
    LookupAttempt,
    Merchant,
    MerchantAgent,
    MerchantToken,
    StoreIntegration,
    UserActivity,
    WidgetConfig,
)

__all__ = [
    "Base",
    "Handoff",
    "ConversationSubject",
    "LookupAttempt",
    "Merchant",
    "MerchantAgent",
    "MerchantToken",
    "StoreIntegration",
    "UserActivity",
    "WidgetConfig",
    "make_engine",
    "make_sessionmaker",
    "ping",
]
