"""The app database: models, engine helpers and Alembic migrations."""
from bot.db.engine import make_engine, make_sessionmaker, ping
from bot.db.models import (
    Base,
    LookupAttempt,
    Merchant,
    MerchantToken,
    StoreIntegration,
    UserActivity,
    WidgetConfig,
)

__all__ = [
    "Base",
    "LookupAttempt",
    "Merchant",
    "MerchantToken",
    "StoreIntegration",
    "UserActivity",
    "WidgetConfig",
    "make_engine",
    "make_sessionmaker",
    "ping",
]
