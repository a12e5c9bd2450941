"""What a person does with a handed-off conversation: claim, release, reply, close, hand back.

Used by the dashboard inbox and the merchant API alike. Every change is written to the database
(:mod:`bot.services.handoff`), recorded in the Rasa tracker (the transcript keeps the person's
turns; closing resumes the paused conversation) and published on the handoff bus, which brings
the widget its frames and every open inbox its update, on every replica.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, List, Optional

from aiohttp import web
from sqlalchemy import select

from bot import appkeys
from bot.services.db import in_db
from bot.rasa.history import history_from_events
from bot.rasa.client import RasaUnavailable
from bot.services import handoff as service
from bot.services.handoff import Actor, HandoffError
from bot.services.handoff_bus import HANDOFF_BUS

logger = logging.getLogger(__name__)

MAX_REPLY_CHARS = 2000
REPLIES_PER_MINUTE = 30

JOINED = "{name} joined the chat."
LEFT = "{name} left; you are waiting for the next person on the team."
BACK = "You are back with the assistant. Ask me anything about your order."
CLOSED = "The team closed this chat. You are back with the assistant."


def _shopper_note(action: str, before: Dict[str, Any], after: Dict[str, Any]) -> Optional[str]:
    """The line the shopper reads when the conversation changes hands (None: nothing to say)."""
    if action in ("claim", "reply"):
        was = (before.get("agent") or {}).get("name") if before.get("state") == service.ACTIVE else None
        now = (after.get("agent") or {}).get("name")
        return JOINED.format(name=now) if now and now != was else None
    if action == "release":
        return LEFT.format(name=(before.get("agent") or {}).get("name") or "The team member")
    return {"hand_back": BACK, "close": CLOSED}.get(action)


async def _rasa_record(app: web.Application, conversation_id: str, events: List[Dict[str, Any]]) -> None:
    try:
        await app[appkeys.RASA].record(conversation_id, events)
    except RasaUnavailable as exc:
        logger.warning("handoff: could not record in the transcript (%s)", exc)
        raise HandoffError(503, "unavailable", "The assistant service is not answering, so nothing was sent. "
                                               "Try again in a moment.") from exc


async def act(app: web.Application, actor: Actor, handoff_id: int, action: str) -> Dict[str, Any]:
    """Claim, release, close or hand back; returns the new handoff summary."""
    if action not in ("claim", "release", "close", "hand_back"):
        raise HandoffError(400, "bad_action", "Unknown action.")
    before = await in_db(app, service.get, handoff_id, actor)
    if service.next_state(action, before["state"]) == service.CLOSED:
        # Resume the tracker first: a conversation must never stay paused once its handoff is closed.
        await _rasa_record(app, before["conversation_id"], [{"kind": "resume"}])
    after = await in_db(app, service.act, handoff_id, actor, action)
    await _publish_change(app, action, before, after)
    return after


async def _publish_change(app: web.Application, action: str, before: Dict[str, Any], after: Dict[str, Any]) -> None:
    note = _shopper_note(action, before, after)
    changed = note is not None or before.get("state") != after.get("state")
    if not changed:
        return
    await app[HANDOFF_BUS].publish({
        "kind": "changed", "merchant_id": after["merchant_id"], "conversation_id": after["conversation_id"],
        "handoff": after, "frame": service.state_frame(after, note)})


async def reply(app: web.Application, actor: Actor, handoff_id: int, text: Any) -> Dict[str, Any]:
    """A person's message to the shopper: size- and rate-limited, stored, delivered at once."""
    if not isinstance(text, str) or not text.strip():
        raise HandoffError(422, "empty", "Write a message first.")
    text = text.strip()
    if len(text) > MAX_REPLY_CHARS:
        raise HandoffError(413, "too_large", f"Replies are limited to {MAX_REPLY_CHARS} characters.")
    current = await in_db(app, service.get, handoff_id, actor)
    if current["state"] == service.CLOSED:
        raise HandoffError(409, "closed", "This conversation is closed; the assistant has it again.")
    if current["state"] == service.TICKET:
        raise HandoffError(409, "ticket", "This is a ticket: answer the shopper by email at the address they left.")
    if not await _allowed(app, f"agent:{handoff_id}"):
        raise HandoffError(429, "rate_limited", "You are sending replies too fast; wait a moment.")
    held = current.get("agent") if current["state"] == service.ACTIVE else None
    if held and held.get("name") != actor.name and actor.role != "owner":  # an owner takes the conversation over
        raise HandoffError(409, "claimed", f"{held.get('name')} has this conversation.")
    name = actor.name
    await _rasa_record(app, current["conversation_id"], [{"kind": "agent", "text": text, "name": name}])
    after = await in_db(app, service.act, handoff_id, actor, "reply")
    await _publish_change(app, "reply", current, after)
    frame = {"type": "bot", "from": "agent", "agent": {"name": name}, "messages": [{"text": text}]}
    await app[HANDOFF_BUS].publish({
        "kind": "message", "merchant_id": after["merchant_id"], "conversation_id": after["conversation_id"],
        "handoff_id": handoff_id, "message": {"role": "agent", "text": text, "agent": {"name": name}}, "frame": frame})
    return after


async def typing(app: web.Application, actor: Actor, handoff_id: int) -> None:
    """Show "<name> is typing" in the widget (only while the conversation is active)."""
    current = await in_db(app, service.get, handoff_id, actor)
    if current["state"] != service.ACTIVE:
        return
    name = (current.get("agent") or {}).get("name") or actor.name
    await app[HANDOFF_BUS].publish({"kind": "typing", "merchant_id": current["merchant_id"],
                                    "conversation_id": current["conversation_id"],
                                    "frame": {"type": "agent_typing", "agent": {"name": name}}})


async def _allowed(app: web.Application, key: str) -> bool:
    gateway = app.get(appkeys.GATEWAY)
    if gateway is None:
        return True
    return await gateway.allow_agent_reply(key, REPLIES_PER_MINUTE)


# --- the conversation as the inbox shows it ------------------------------------------------------

def _tracker_rows(engine: Any, conversation_id: str) -> List[Dict[str, Any]]:
    from bot.services.transcripts import _events

    try:
        events = _events(engine)
    except Exception:  # noqa: BLE001 - no tracker table yet: an empty transcript
        return []
    with engine.connect() as connection:
        rows = connection.execute(select(events.c.type_name, events.c.data).where(events.c.sender_id == conversation_id)
                                  .order_by(events.c.id).limit(2000))
        out = []
        for type_name, data in rows:
            try:
                out.append(json.loads(data or "{}"))
            except ValueError:
                continue
        return out


def facts_from_events(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    """What the bot knows: verified order, recognised intents (in order), the latest metadata."""
    intents: List[str] = []
    slots: Dict[str, Any] = {}
    metadata: Dict[str, Any] = {}
    for event in events:
        kind = event.get("event")
        if kind == "user":
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if name:
                intents.append(name)
            if isinstance(event.get("metadata"), dict) and not event["metadata"].get("handoff"):
                metadata = event["metadata"]
        elif kind == "slot" and isinstance(event.get("name"), str):
            slots[event["name"]] = event.get("value")
    return {
        "verified_order": slots.get("verified_order"),
        "intents": intents[-20:],
        "store": metadata.get("store_name"),
        "platform": metadata.get("platform"),
        "locale": metadata.get("locale"),
    }


async def conversation(app: web.Application, actor: Actor, handoff_id: int) -> Dict[str, Any]:
    """The handoff, its transcript (bot, shopper and person turns) and what the bot knows."""
    from bot.services.transcripts import TRACKER_ENGINE

    current = await in_db(app, service.get, handoff_id, actor)
    events = await asyncio.get_running_loop().run_in_executor(None, _tracker_rows, app[TRACKER_ENGINE],
                                                             current["conversation_id"])
    facts = facts_from_events(events)
    facts["page"] = (current.get("context") or {}).get("origin")
    return {"handoff": current, "transcript": history_from_events(events, 500), "facts": facts}


__all__ = ["act", "reply", "typing", "conversation", "facts_from_events"]
