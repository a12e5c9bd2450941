"""The gateway's side of a live handoff: start it from a bot turn, route the shopper to the person.

* A bot turn whose messages carry ``custom: {"type": "handoff"}`` (``action_human_handoff``) opens
  a handoff (:mod:`bot.services.handoff`), pauses the Rasa conversation and tells the shopper what
  happens next. The marker itself never reaches the widget.
* While a handoff is open, a shopper ``message`` is not sent to Rasa's policies: it is appended to
  the tracker through the channel's ``/record`` route, shown in the inbox, and acknowledged with a
  ``bot`` frame whose ``messages`` list is empty (the person's answer arrives later as a ``bot``
  frame with ``"from": "agent"``).
* Every replica keeps the open handoff of its live conversations in ``Conversation.handoff``,
  loaded from the database when a session resumes and updated by handoff bus events.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from aiohttp import web

from bot.services.db import in_db
from bot.services import handoff as service
from bot.services.handoff import state_frame
from bot.services import handoff_hours
from bot.services.handoff_bus import HANDOFF_BUS

if TYPE_CHECKING:  # pragma: no cover
    from bot.gateway.state import Gateway
    from bot.gateway.ws import Connection

logger = logging.getLogger(__name__)

MARKER = "handoff"
QUEUED = "Someone from the team will join this chat shortly. Stay here; your messages go to them."
UNREACHABLE = "Sorry, I could not reach the team just now. Please try again in a moment."


def take_marker(messages: List[Dict[str, Any]]) -> Tuple[List[Dict[str, Any]], Optional[Dict[str, Any]]]:
    """Split the handoff marker off a turn's messages: (messages for the widget, marker or None)."""
    marker: Optional[Dict[str, Any]] = None
    out: List[Dict[str, Any]] = []
    for message in messages:
        custom = message.get("custom")
        if isinstance(custom, dict) and custom.get("type") == MARKER:
            marker = marker or custom
            message = {k: v for k, v in message.items() if k != "custom"}
            if not message.get("text") and not message.get("buttons"):
                continue
        out.append(message)
    return out, marker


def cached(handoff: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """What a replica keeps per conversation: None once closed."""
    if not handoff or handoff.get("state") not in service.OPEN_STATES:
        return None
    agent = handoff.get("agent")
    return {"id": handoff["id"], "state": handoff["state"], "store_id": handoff.get("store_id"),
            "agent": {"name": agent["name"]} if agent and agent.get("name") else None}


async def load(app: web.Application, conversation_id: str) -> Optional[Dict[str, Any]]:
    """The open handoff of a resumed conversation (None when there is none or the database is down)."""
    try:
        return await in_db(app, service.open_state, conversation_id)
    except Exception:  # noqa: BLE001 - a resumed chat without handoff state still works with the bot
        logger.warning("could not load the handoff state of a resumed conversation", exc_info=True)
        return None


async def send_frame(gateway: "Gateway", conversation_id: str, frame: Dict[str, Any]) -> int:
    """Send ``frame`` to this process's sockets of a conversation; returns how many got it."""
    conversation = gateway.hub.get(conversation_id)
    if conversation is None:
        return 0
    sent = 0
    for listener in list(conversation.listeners):
        send = getattr(listener, "send", None)
        if send is not None and await send(frame):
            sent += 1
    return sent


async def on_event(app: web.Application, event: Dict[str, Any]) -> None:
    """Handoff bus subscriber: refresh the cached state and deliver widget frames of this replica."""
    from bot.gateway.state import GATEWAY

    gateway = app.get(GATEWAY)
    conversation_id = event.get("conversation_id")
    if gateway is None or not isinstance(conversation_id, str):
        return
    conversation = gateway.hub.get(conversation_id)
    if conversation is None:
        return
    if "handoff" in event:
        conversation.handoff = cached(event["handoff"])
    frame = event.get("frame")
    if isinstance(frame, dict):
        await send_frame(gateway, conversation_id, frame)


async def start(conn: "Connection", marker: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Open the handoff a bot turn asked for; returns the messages to add to that turn's reply."""
    app = conn.request.app
    conversation = conn.conversation
    store = conn.store
    assert conversation is not None and store is not None
    context = {"locale": conn.locale, "widget_id": store.widget_id, "origin": conn.origin[:200]}
    if isinstance(marker.get("order_number"), str):
        context["order_number"] = marker["order_number"][:64]
    reason = marker.get("reason") if isinstance(marker.get("reason"), str) else "asked"
    hours = handoff_hours.HandoffSettings.from_store(store.handoff)
    live = hours.open_now()
    try:
        result = await in_db(app, service.request, store.id, conversation.id, context, reason,
                             service.WAITING if live else service.TICKET)
        said = QUEUED if result["state"] != service.TICKET else hours.offline_message()
        # The pause and the line the shopper reads go into the transcript together.
        await conn.gw.rasa().record(conversation.id, ([{"kind": "pause"}] if result["created"] else [])
                                    + [{"kind": "bot", "text": said}])
    except Exception:  # noqa: BLE001 - the shopper gets a clear sentence, the bot keeps the chat
        logger.warning("could not open a handoff", exc_info=True)
        return [{"text": UNREACHABLE}]
    conversation.handoff = cached(result)
    bus = app[HANDOFF_BUS]
    merchant_id = result.get("merchant_id")
    if result["created"]:
        await bus.publish({"kind": "requested", "merchant_id": merchant_id, "conversation_id": conversation.id,
                           "handoff": result})
        from bot.services import notify

        notify.schedule(app, result)
    if result["state"] == service.TICKET and result["created"]:
        await in_db(app, handoff_hours.start_collecting, result["id"])
    return [{"text": said}]


async def route(conn: "Connection", item: Dict[str, Any]) -> Dict[str, Any]:
    """Take a shopper message while a handoff is open; returns the ``bot`` frame that answers it."""
    app = conn.request.app
    conversation = conn.conversation
    assert conversation is not None and conversation.handoff is not None
    handoff = conversation.handoff
    text = item["text"]
    await conn.gw.rasa().record(conversation.id, [{"kind": "user", "text": text, "metadata": conn.metadata()}])
    reply: List[Dict[str, Any]] = []
    if handoff["state"] == service.TICKET:
        reply = await handoff_hours.collect(app, handoff["id"], text)
        if reply:
            await conn.gw.rasa().record(conversation.id, [{"kind": "bot", "text": m["text"]} for m in reply])
    else:
        await in_db(app, service.shopper_wrote, handoff["id"])
    merchant_id = await in_db(app, service.merchant_of_store, conn.store_id)
    await app[HANDOFF_BUS].publish({"kind": "message", "merchant_id": merchant_id, "conversation_id": conversation.id,
                                    "handoff_id": handoff["id"], "message": {"role": "user", "text": text}})
    return {"type": "bot", "reply_to": item["id"], "messages": reply, "handoff": state_frame(handoff)["state"]}


def setup_gateway_handoff(app: web.Application) -> None:
    """Subscribe the gateway of this process to the handoff bus."""
    bus = app[HANDOFF_BUS]

    async def subscriber(event: Dict[str, Any]) -> None:
        await on_event(app, event)

    bus.subscribe(subscriber)


__all__ = ["take_marker", "state_frame", "load", "on_event", "start", "route", "setup_gateway_handoff"]
