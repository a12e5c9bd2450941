"""Handoff of a widget conversation to a person: the state machine and its rows (``handoffs``).

States::

    waiting ──claim──► active ──release──► waiting
       │                 │
       └──close / hand back (either state)──► closed   (the bot answers again)
    ticket  (nobody can answer live: the shopper's email and question are kept; closed when answered)

A conversation has at most one open (not closed) handoff. Every function here takes a SQLAlchemy
session first (run them with :func:`bot.services.db.in_db`); they raise :class:`HandoffError` with an
HTTP status and a sentence for the person who caused it. Who may act is checked against the
merchant that owns the store: a handoff of another merchant's store is "not found".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.db.models import Handoff, StoreIntegration, utcnow

WAITING = "waiting"
ACTIVE = "active"
TICKET = "ticket"
CLOSED = "closed"
OPEN_STATES = (WAITING, ACTIVE, TICKET)
STATES = OPEN_STATES + (CLOSED,)

# What each action does to each state (missing pairs are refused with 409).
TRANSITIONS: Dict[str, Dict[str, str]] = {
    "claim": {WAITING: ACTIVE, ACTIVE: ACTIVE},
    "release": {ACTIVE: WAITING},
    "reply": {ACTIVE: ACTIVE, WAITING: ACTIVE},
    "close": {WAITING: CLOSED, ACTIVE: CLOSED, TICKET: CLOSED},
    "hand_back": {WAITING: CLOSED, ACTIVE: CLOSED},
}

REASONS = ("asked", "lockout", "store_error", "fallback")


class HandoffError(Exception):
    """A refused handoff operation: ``status`` (404, 409, 413, 422, 429) and a clear message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Actor:
    """The person acting in the inbox: a merchant's owner or agent."""

    merchant_id: int
    name: str
    agent_id: Optional[int] = None
    role: str = "owner"


def next_state(action: str, state: str) -> str:
    """The state ``action`` leads to from ``state``; :class:`HandoffError` 409 when not allowed."""
    target = TRANSITIONS.get(action, {}).get(state)
    if target is None:
        if state == CLOSED:
            raise HandoffError(409, "closed", "This conversation is closed; the assistant has it again.")
        raise HandoffError(409, "bad_state", f"You cannot {action.replace('_', ' ')} a conversation that is {state}.")
    return target


def _iso(value: Optional[datetime]) -> Optional[str]:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def summary(row: Handoff, store: Optional[StoreIntegration] = None) -> Dict[str, Any]:
    """The JSON form of a handoff for the inbox, the API and the bus."""
    out: Dict[str, Any] = {
        "id": row.id, "store_id": row.store_id, "conversation_id": row.conversation_id, "state": row.state,
        "reason": row.reason, "agent": {"id": row.agent_id, "name": row.agent_name} if row.agent_name else None,
        "context": row.context or {}, "email": row.email, "question": row.question, "resolution": row.resolution,
        "requested_at": _iso(row.requested_at), "claimed_at": _iso(row.claimed_at),
        "first_reply_at": _iso(row.first_reply_at), "last_shopper_at": _iso(row.last_shopper_at),
        "closed_at": _iso(row.closed_at),
    }
    if store is not None:
        out["store"] = {"id": store.id, "name": store.display_name, "widget_id": store.widget_id}
    return out


def open_for_conversation(session: Session, conversation_id: str) -> Optional[Handoff]:
    """The conversation's open handoff, if any."""
    return session.execute(
        select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.state.in_(OPEN_STATES))
        .order_by(Handoff.id.desc()).limit(1)
    ).scalar_one_or_none()


def open_state(session: Session, conversation_id: str) -> Optional[Dict[str, Any]]:
    """``{"id", "state", "agent"}`` of the conversation's open handoff (what the gateway caches)."""
    row = open_for_conversation(session, conversation_id)
    if row is None:
        return None
    return {"id": row.id, "state": row.state, "agent": {"name": row.agent_name} if row.agent_name else None,
            "store_id": row.store_id}


def request(session: Session, store_id: int, conversation_id: str, context: Dict[str, Any],
            reason: str = "asked", state: str = WAITING) -> Dict[str, Any]:
    """Open a handoff for a conversation (or return the open one): ``{"created": bool, **summary}``."""
    existing = open_for_conversation(session, conversation_id)
    if existing is not None:
        return {"created": False, **summary(existing)}
    store = session.get(StoreIntegration, store_id)
    if store is None:
        raise HandoffError(404, "not_found", "There is no such store.")
    row = Handoff(store_id=store_id, conversation_id=conversation_id, state=state,
                  reason=reason if reason in REASONS else "asked", context=context, requested_at=utcnow())
    session.add(row)
    session.flush()
    return {"created": True, "merchant_id": store.user_id, **summary(row, store)}


def _owned(session: Session, handoff_id: int, actor: Actor, for_update: bool = True) -> "tuple[Handoff, StoreIntegration]":
    query = select(Handoff, StoreIntegration).join(StoreIntegration, StoreIntegration.id == Handoff.store_id).where(
        Handoff.id == handoff_id, StoreIntegration.user_id == actor.merchant_id)
    if for_update:
        query = query.with_for_update(of=Handoff)
    found = session.execute(query).first()
    if found is None:
        raise HandoffError(404, "not_found", "There is no such conversation in your inbox.")
    return found[0], found[1]


def get(session: Session, handoff_id: int, actor: Actor) -> Dict[str, Any]:
    """One handoff of the actor's merchant (404 for any other)."""
    row, store = _owned(session, handoff_id, actor, for_update=False)
    return {"merchant_id": store.user_id, **summary(row, store)}


def act(session: Session, handoff_id: int, actor: Actor, action: str) -> Dict[str, Any]:
    """Apply ``claim``, ``release``, ``close``, ``hand_back`` or ``reply`` by ``actor``.

    Claiming a conversation another person has is refused (409) unless the actor is an owner;
    releasing needs to be its holder or an owner. Returns the new summary with ``previous`` state.
    """
    row, store = _owned(session, handoff_id, actor)
    previous = row.state
    target = next_state(action, row.state)
    now = utcnow()
    held_by_other = row.state == ACTIVE and row.agent_name is not None and (
        row.agent_id != actor.agent_id or row.agent_name != actor.name)
    if action in ("claim", "reply") and held_by_other and actor.role != "owner":
        raise HandoffError(409, "claimed", f"{row.agent_name} has this conversation.")
    if action == "release" and held_by_other and actor.role != "owner":
        raise HandoffError(409, "claimed", f"Only {row.agent_name} or an owner can release this conversation.")
    if action in ("claim", "reply") and (row.state == WAITING or held_by_other):
        row.agent_id, row.agent_name, row.claimed_at = actor.agent_id, actor.name, now
    if action == "reply" and row.first_reply_at is None:
        row.first_reply_at = now
    if action == "release":
        row.agent_id, row.agent_name = None, None
    if target == CLOSED:
        row.closed_at = now
        row.resolution = "person" if row.first_reply_at is not None or previous == TICKET else "bot"
    row.state = target
    session.flush()
    return {"previous": previous, "merchant_id": store.user_id, **summary(row, store)}


def shopper_wrote(session: Session, handoff_id: int) -> None:
    """Note the time of the shopper's latest message (the inbox sorts and shows wait times by it)."""
    row = session.get(Handoff, handoff_id)
    if row is not None:
        row.last_shopper_at = utcnow()


def mark_notified(session: Session, handoff_id: int) -> None:
    row = session.get(Handoff, handoff_id)
    if row is not None:
        row.notified_at = utcnow()


def inbox(session: Session, merchant_id: int, include_closed: int = 0) -> List[Dict[str, Any]]:
    """Open handoffs of the merchant's stores, oldest waiting first, then active, then tickets;
    plus the ``include_closed`` most recently closed."""
    rows = session.execute(
        select(Handoff, StoreIntegration).join(StoreIntegration, StoreIntegration.id == Handoff.store_id)
        .where(StoreIntegration.user_id == merchant_id, Handoff.state.in_(OPEN_STATES))
        .order_by(Handoff.requested_at, Handoff.id).limit(500)
    ).all()
    order = {WAITING: 0, ACTIVE: 1, TICKET: 2}
    out = sorted((summary(h, s) for h, s in rows), key=lambda item: order[item["state"]])
    if include_closed:
        closed = session.execute(
            select(Handoff, StoreIntegration).join(StoreIntegration, StoreIntegration.id == Handoff.store_id)
            .where(StoreIntegration.user_id == merchant_id, Handoff.state == CLOSED)
            .order_by(Handoff.closed_at.desc()).limit(include_closed)
        ).all()
        out.extend(summary(h, s) for h, s in closed)
    return out


def merchant_of_store(session: Session, store_id: int) -> Optional[int]:
    store = session.get(StoreIntegration, store_id)
    return store.user_id if store is not None else None


def state_frame(handoff: Optional[Dict[str, Any]], text: Optional[str] = None) -> Dict[str, Any]:
    """The ``handoff`` frame: ``state`` (waiting, active, ticket, closed), the agent's name, a note."""
    frame: Dict[str, Any] = {"type": "handoff", "state": (handoff or {}).get("state", CLOSED)}
    agent = (handoff or {}).get("agent")
    if agent and agent.get("name"):
        frame["agent"] = {"name": agent["name"]}
    if text:
        frame["text"] = text
    return frame
