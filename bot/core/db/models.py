"""SQLAlchemy models of the app database (SQLAlchemy 1.4 API, written in 2.0 style).

Tables: ``merchants`` and their API ``merchant_tokens``; ``store_integrations`` (the seed's table:
one connected store each, credentials encrypted with :mod:`bot.core.crypto`); ``widget_configs`` (one per
store); ``user_activities`` (the seed's activity log). Schema changes go through Alembic migrations in
``bot/core/db/migrations`` — never ``create_all`` outside tests of the models themselves.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any, Dict

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import declarative_base, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

PLATFORM_NAME_LENGTH = 40
STORE_STATUSES = ("active", "disabled", "error", "pending")


def utcnow() -> datetime:
    """Timezone-aware current time in UTC (stored as UTC)."""
    return datetime.now(timezone.utc)


def new_widget_id() -> str:
    """A random public widget id for a new store."""
    return "w_" + secrets.token_urlsafe(12)


class Merchant(Base):
    """A merchant account: owns stores and API tokens."""

    __tablename__ = "merchants"

    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    email = Column(String(320), nullable=True, unique=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    stores = relationship("StoreIntegration", back_populates="merchant", cascade="all, delete-orphan")
    tokens = relationship("MerchantToken", back_populates="merchant", cascade="all, delete-orphan")


class MerchantToken(Base):
    """A merchant API token, stored as a SHA-256 hash; shown to the merchant once.

    ``agent_id`` set: the token belongs to a member of the merchant's team and carries that
    member's role (a dashboard sign-in through an invitation creates one).
    """

    __tablename__ = "merchant_tokens"

    id = Column(Integer, primary_key=True)
    merchant_id = Column(Integer, ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False, index=True)
    name = Column(String(100), nullable=False, default="default")
    token_hash = Column(String(64), nullable=False, unique=True)
    prefix = Column(String(16), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_used_at = Column(DateTime(timezone=True), nullable=True)
    revoked_at = Column(DateTime(timezone=True), nullable=True)
    agent_id = Column(Integer, ForeignKey("merchant_agents.id", ondelete="CASCADE"), nullable=True)

    merchant = relationship("Merchant", back_populates="tokens")


class StoreIntegration(Base):
    """A connected store (the seed's ``store_integrations``).

    ``user_id`` is the owning merchant (the seed's name for it). ``credentials_encrypted`` maps the
    platform's credential fields to :mod:`bot.core.crypto` ciphertexts bound to this store and field.
    """

    __tablename__ = "store_integrations"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False, index=True)
    widget_id = Column(String(64), nullable=False, unique=True, default=new_widget_id)
    platform = Column(String(PLATFORM_NAME_LENGTH), nullable=False)
    display_name = Column(String(200), nullable=False, default="")
    store_url = Column(String(500), nullable=True)
    shop_domain = Column(String(255), nullable=True, index=True)
    #: ``{field: ciphertext}`` (see :mod:`bot.services.credentials`); never read it directly
    credentials_encrypted = Column(JSON, nullable=False, default=dict)
    config = Column(JSON, nullable=False, default=dict)
    status = Column(String(20), nullable=False, default="active")
    last_success_at = Column(DateTime(timezone=True), nullable=True)
    #: the last failure as a stable code and a short detail (:mod:`bot.services.store_errors`)
    last_error_code = Column(String(40), nullable=True)
    last_error = Column(Text, nullable=True)
    last_error_at = Column(DateTime(timezone=True), nullable=True)
    last_checked_at = Column(DateTime(timezone=True), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    merchant = relationship("Merchant", back_populates="stores")
    widget = relationship("WidgetConfig", back_populates="store", uselist=False, cascade="all, delete-orphan")


class EncryptionKeyUsage(Base):
    """How many values one encryption key has encrypted (AES-GCM's per-key bound is counted here)."""

    __tablename__ = "encryption_key_usage"

    key_id = Column(String(32), primary_key=True)
    encryptions = Column(BigInteger, nullable=False, default=0)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class WidgetConfig(Base):
    """How a store's chat widget looks and what the bot says about the store's policies."""

    __tablename__ = "widget_configs"

    id = Column(Integer, primary_key=True)
    store_id = Column(Integer, ForeignKey("store_integrations.id", ondelete="CASCADE"), nullable=False, unique=True)
    title = Column(String(80), nullable=False, default="Order help")
    greeting = Column(String(500), nullable=False, default="Hi! I can help you track your order.")
    primary_color = Column(String(9), nullable=False, default="#4f46e5")
    text_color = Column(String(9), nullable=False, default="#ffffff")
    position = Column(String(5), nullable=False, default="right")
    avatar_url = Column(String(500), nullable=True)
    allowed_origins = Column(JSON, nullable=False, default=list)
    quick_replies = Column(JSON, nullable=False, default=list)
    policies = Column(JSON, nullable=False, default=dict)
    locale = Column(String(10), nullable=False, default="en")
    enabled = Column(Boolean, nullable=False, default=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    store = relationship("StoreIntegration", back_populates="widget")


class UserActivity(Base):
    """One entry of the merchant's activity log (the seed's ``user_activities``)."""

    __tablename__ = "user_activities"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False)
    store_id = Column(Integer, ForeignKey("store_integrations.id", ondelete="SET NULL"), nullable=True)
    activity_type = Column(String(50), nullable=False)
    title = Column(String(200), nullable=False)
    details = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    __table_args__ = (
        Index("ix_user_activities_user_created", "user_id", "created_at"),
        Index("ix_user_activities_store_type_created", "store_id", "activity_type", "created_at"),
    )

    def to_dict(self) -> Dict[str, Any]:
        """JSON-safe representation for the API."""
        return {
            "id": self.id,
            "store_id": self.store_id,
            "type": self.activity_type,
            "title": self.title,
            "details": self.details or {},
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


class LookupAttempt(Base):
    """A failed order-verification attempt, counted per conversation and per client per store.

    ``subject`` is a conversation id or the hashed client address (never a raw IP).
    """

    __tablename__ = "lookup_attempts"

    id = Column(Integer, primary_key=True)
    store_id = Column(Integer, ForeignKey("store_integrations.id", ondelete="CASCADE"), nullable=False)
    scope = Column(String(20), nullable=False)
    subject = Column(String(128), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    __table_args__ = (Index("ix_lookup_attempts_lookup", "store_id", "scope", "subject", "created_at"),)


class InstallNonce(Base):
    """A consumed install state (hashed): an install callback is accepted once, on any replica.

    Rows expire with their state and are pruned when new states are consumed.
    """

    __tablename__ = "install_nonces"

    nonce_hash = Column(String(64), primary_key=True)
    platform = Column(String(PLATFORM_NAME_LENGTH), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False, index=True)


class Handoff(Base):
    """A conversation handed to the store's team: its state, who has it, and when things happened.

    ``state`` is one of :data:`HANDOFF_STATES` (see :mod:`bot.services.handoff`). ``context`` holds
    what the bot knew when the shopper asked (verified order number, locale, reason); ``email`` and
    ``question`` are filled when the request becomes a ticket answered by email.
    """

    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True)
    store_id = Column(Integer, ForeignKey("store_integrations.id", ondelete="CASCADE"), nullable=False)
    conversation_id = Column(String(128), nullable=False)
    state = Column(String(20), nullable=False)
    reason = Column(String(40), nullable=False, default="asked")
    agent_id = Column(Integer, ForeignKey("merchant_agents.id", ondelete="SET NULL"), nullable=True)
    agent_name = Column(String(200), nullable=True)
    context = Column(JSON, nullable=False, default=dict)
    email = Column(String(320), nullable=True)
    question = Column(Text, nullable=True)
    resolution = Column(String(20), nullable=True)
    requested_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    claimed_at = Column(DateTime(timezone=True), nullable=True)
    first_reply_at = Column(DateTime(timezone=True), nullable=True)
    last_shopper_at = Column(DateTime(timezone=True), nullable=True)
    closed_at = Column(DateTime(timezone=True), nullable=True)
    notified_at = Column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_handoffs_conversation_state", "conversation_id", "state"),
        Index("ix_handoffs_store_state_requested", "store_id", "state", "requested_at"),
    )


class MerchantAgent(Base):
    """A person who works a merchant's inbox: role ``owner`` or ``agent``; invited by a one-time link.

    ``invite_hash`` is the SHA-256 of the one-time sign-in link's token (cleared once used).
    """

    __tablename__ = "merchant_agents"

    id = Column(Integer, primary_key=True)
    merchant_id = Column(Integer, ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False, index=True)
    email = Column(String(320), nullable=False)
    name = Column(String(200), nullable=False, default="")
    role = Column(String(10), nullable=False, default="agent")
    invite_hash = Column(String(64), nullable=True, unique=True)
    invite_expires_at = Column(DateTime(timezone=True), nullable=True)
    accepted_at = Column(DateTime(timezone=True), nullable=True)
    revoked_at = Column(DateTime(timezone=True), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    __table_args__ = (Index("ix_merchant_agents_merchant_email", "merchant_id", "email", unique=True),)
class ConversationSubject(Base):
    """A keyed hash of an email a shopper typed in a conversation (never the email itself).

    Privacy requests name a customer by email: this index finds every conversation that mentioned
    them, including list-by-email and failed lookups, which leave no order number behind.
    """

    __tablename__ = "conversation_subjects"

    id = Column(Integer, primary_key=True)
    store_id = Column(Integer, ForeignKey("store_integrations.id", ondelete="CASCADE"), nullable=False)
    conversation_id = Column(String(64), nullable=False)
    email_hash = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    __table_args__ = (
        Index("ix_conversation_subjects_lookup", "store_id", "email_hash"),
        Index("ix_conversation_subjects_created", "created_at"),
    )
