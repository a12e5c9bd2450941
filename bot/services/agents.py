"""A merchant's team: people invited by email who work the inbox, with role ``owner`` or ``agent``.

* :func:`invite` creates (or renews) a ``merchant_agents`` row with a one-time link token: only its
  SHA-256 is stored, it expires after ``INVITE_HOURS`` and is cleared when used.
* :func:`accept` uses the token once: the person joins the team and gets a sign-in token of their
  own (``merchant_tokens.agent_id``), which the dashboard session is bound to.
* :func:`revoke` removes someone: their tokens are revoked, so their sessions end at once.

An ``agent`` works the inbox of the merchant's stores and nothing else; an ``owner`` may do
everything the merchant can (the merchant's own API tokens are owners' tokens).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.merchant_tokens import hash_token, new_token
from bot.core.db.models import Merchant, MerchantAgent, MerchantToken, utcnow
from plugins.text import normalize_email

OWNER = "owner"
AGENT = "agent"
ROLES = (OWNER, AGENT)
INVITE_HOURS = 72
MAX_TEAM = 100


class TeamError(ValueError):
    """A refused team change; ``field`` names the form field it is about (or None)."""

    def __init__(self, message: str, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Invitation:
    agent_id: int
    merchant_id: int
    merchant_name: str
    email: str
    name: str
    role: str
    token: str  # the one-time link's secret (plaintext; only its hash is stored)


def _aware(value: Optional[datetime]) -> Optional[datetime]:
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def display_name(agent: MerchantAgent) -> str:
    """The name the shopper sees: the person's name, or their email's local part."""
    return agent.name or agent.email.split("@", 1)[0]


def invite(session: Session, merchant_id: int, email: Any, name: Any, role: Any,
           now: Optional[datetime] = None) -> Invitation:
    """Invite ``email`` to the merchant's team (or send a fresh link to a pending invitation)."""
    address = normalize_email(email) if isinstance(email, str) else None
    if address is None:
        raise TeamError("Enter an email address like name@example.com.", "email")
    name = (name or "").strip() if isinstance(name, str) else ""
    if len(name) > 200:
        raise TeamError("Names are limited to 200 characters.", "name")
    if role not in ROLES:
        raise TeamError("Choose the role owner or agent.", "role")
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise TeamError("There is no such merchant.")
    now = now or utcnow()
    row = session.execute(select(MerchantAgent).where(MerchantAgent.merchant_id == merchant_id,
                                                      MerchantAgent.email == address)).scalar_one_or_none()
    if row is not None and row.accepted_at is not None and row.revoked_at is None:
        raise TeamError(f"{address} is already on the team.", "email")
    if row is None:
        count = len(session.execute(select(MerchantAgent.id).where(MerchantAgent.merchant_id == merchant_id)).all())
        if count >= MAX_TEAM:
            raise TeamError(f"A team has at most {MAX_TEAM} people.")
        row = MerchantAgent(merchant_id=merchant_id, email=address)
        session.add(row)
    token = "tbi_" + secrets.token_urlsafe(32)
    row.name, row.role = name, role
    row.invite_hash, row.invite_expires_at = hash_token(token), now + timedelta(hours=INVITE_HOURS)
    row.accepted_at, row.revoked_at = None, None
    session.flush()
    return Invitation(row.id, merchant_id, merchant.name, address, name, role, token)


def pending(session: Session, token: Any, now: Optional[datetime] = None) -> Optional[MerchantAgent]:
    """The invitation a link's token opens, if it is unused, unexpired and not withdrawn."""
    if not isinstance(token, str) or not token.startswith("tbi_") or len(token) > 100 or not token.isascii():
        return None
    row = session.execute(select(MerchantAgent).where(MerchantAgent.invite_hash == hash_token(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.accepted_at is not None:
        return None
    expires = _aware(row.invite_expires_at)
    if expires is None or expires <= (now or utcnow()):
        return None
    return row


def invitation_view(session: Session, token: Any) -> Optional[Dict[str, Any]]:
    """What the invitation page shows (None: the link is used, expired or unknown)."""
    row = pending(session, token)
    if row is None:
        return None
    merchant = session.get(Merchant, row.merchant_id)
    return {"merchant": merchant.name if merchant else "", "email": row.email, "name": row.name, "role": row.role}


def accept(session: Session, token: Any, now: Optional[datetime] = None) -> Optional[Tuple[int, int]]:
    """Use an invitation once: returns (merchant id, the new sign-in token's id), or None if the
    link is not valid (any more)."""
    row = pending(session, token, now)
    if row is None:
        return None
    row.accepted_at = now or utcnow()
    row.invite_hash = None
    row.invite_expires_at = None
    plaintext = new_token()  # never shown: the dashboard session is bound to it
    signin = MerchantToken(merchant_id=row.merchant_id, agent_id=row.id, name=f"dashboard: {row.email}"[:100],
                           token_hash=hash_token(plaintext), prefix=plaintext[:10])
    session.add(signin)
    session.flush()
    return row.merchant_id, signin.id


def revoke(session: Session, merchant_id: int, agent_id: int) -> bool:
    """Remove someone from the team (and sign them out everywhere); False if not on this team."""
    row = session.get(MerchantAgent, agent_id)
    if row is None or row.merchant_id != merchant_id or row.revoked_at is not None:
        return False
    now = utcnow()
    row.revoked_at = now
    row.invite_hash = None
    for token in session.execute(select(MerchantToken).where(MerchantToken.agent_id == agent_id,
                                                             MerchantToken.revoked_at.is_(None))).scalars():
        token.revoked_at = now
    return True


def team(session: Session, merchant_id: int) -> List[Dict[str, Any]]:
    """The team's members and pending invitations (withdrawn ones are left out)."""
    now = utcnow()
    rows = session.execute(select(MerchantAgent).where(MerchantAgent.merchant_id == merchant_id,
                                                       MerchantAgent.revoked_at.is_(None))
                           .order_by(MerchantAgent.email)).scalars()
    out = []
    for row in rows:
        expires = _aware(row.invite_expires_at)
        status = "active" if row.accepted_at else ("invited" if expires and expires > now else "expired")
        out.append({"id": row.id, "email": row.email, "name": row.name, "role": row.role, "status": status,
                    "accepted_at": row.accepted_at})
    return out


def member(session: Session, agent_id: int) -> Optional[MerchantAgent]:
    """A current (accepted, not removed) team member."""
    row = session.get(MerchantAgent, agent_id)
    if row is None or row.revoked_at is not None or row.accepted_at is None:
        return None
    return row
