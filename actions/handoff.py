"""Handing a conversation to the store's team: ``action_human_handoff`` and ``action_complaint``.

``action_human_handoff`` answers with its text and a marker (``custom: {"type": "handoff", ...}``)
that tells the bot service to open a live handoff (``bot/gateway/handoff.py``, docs/handoff.md);
outside the team's hours the gateway collects the shopper's email and question instead.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.activity_log import log_activity
from actions.asks import render_for
from actions.replies import say, store_or_apologise
from actions.runtime import get_runtime
from bot.services import activity

HANDOFF_INTENTS = ("human_handoff", "complaint")


def handoff_reason(tracker: Tracker) -> str:
    """``complaint`` or ``human_handoff``: the latest of these intents in the conversation."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if name in HANDOFF_INTENTS:
                return name
    return "human_handoff"


class ActionComplaint(Action):
    """Apologise; the rules then hand the conversation to a person."""

    def name(self) -> Text:
        return "action_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(text=render_for(tracker, "complaint"))
        return []


class ActionHumanHandoff(Action):
    """Flag the conversation for the store's team and ask the bot service to open a live handoff."""

    def name(self) -> Text:
        return "action_human_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        runtime = get_runtime()
        store = await store_or_apologise(runtime, dispatcher, tracker)
        if store is None:
            return []
        reason = handoff_reason(tracker)
        details: Dict[str, Any] = {"conversation_id": tracker.sender_id, "reason": reason}
        verified = tracker.get_slot("verified_order")
        if verified:
            details["order_number"] = verified
        title = "Shopper reported a problem" if reason == "complaint" else "Shopper asked for a person"
        await log_activity(runtime, store, activity.HANDOFF, title, details)
        marker = {"type": "handoff", "reason": "asked", **({"order_number": verified} if verified else {})}
        dispatcher.utter_message(text=say(runtime, store, "handoff", store_name=store.display_name,
                                          contact=store.fact("contact") or ""), json_message=marker)
        return []
