"""Handing a conversation to the store's team: ``handoff_form`` (asks for a reply-to email when no
verified order or email is known), ``action_human_handoff`` and ``action_complaint``.

The team replies by email: to the email on a verified order, or to the address the shopper gives
here, which the handoff activity carries as ``reply_to`` so the merchant can answer.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.activity_log import log_activity
from actions.asks import render_for
from actions.cues import entity_value
from actions.metadata import store_display_name
from actions.replies import say, store_or_apologise
from actions.runtime import get_runtime
from actions.slot_values import clean_email
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


class ValidateHandoffForm(FormValidationAction):
    """Collects a reply-to email unless the team can already reach the shopper."""

    def name(self) -> Text:
        return "validate_handoff_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        if tracker.get_slot("verified_order"):
            return []  # the team replies to the email on the order
        return ["email"]

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Optional[EventType]:
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet("requested_slot", next((s for s in required if tracker.slots.get(s) is None), None))

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        email = entity_value(tracker, "email")
        if email is None:
            return []
        tracker.slots["email"] = email
        return [SlotSet("email", email)]

    def validate_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        email = clean_email(value)
        if email is None:
            dispatcher.utter_message(text=render_for(tracker, "invalid_email"))
        return {"email": email}


class ActionAskHandoffFormEmail(Action):
    """Ask where the team can reply."""

    def name(self) -> Text:
        return "action_ask_handoff_form_email"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(text=render_for(tracker, "ask_handoff_email", store_name=store_display_name(tracker)),
                                 buttons=[{"title": "I'd rather not", "payload": "/deny"}])
        return []


class ActionComplaint(Action):
    """Apologise; the rules then hand the conversation to a person."""

    def name(self) -> Text:
        return "action_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(text=render_for(tracker, "complaint"))
        return []


class ActionHumanHandoff(Action):
    """Flag the conversation for the store's team and tell the shopper how they will hear back."""

    def name(self) -> Text:
        return "action_human_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        runtime = get_runtime()
        store = await store_or_apologise(runtime, dispatcher, tracker)
        if store is None:
            return []
        verified = tracker.get_slot("verified_order")
        email = None if verified else clean_email(tracker.get_slot("email"))
        reason = handoff_reason(tracker)
        details: Dict[str, Any] = {"conversation_id": tracker.sender_id, "reason": reason}
        if verified:
            details["order_number"] = verified
        if email:
            details["reply_to"] = email
        title = "Shopper reported a problem" if reason == "complaint" else "Shopper asked for a person"
        await log_activity(runtime, store, activity.HANDOFF, title, details)
        contact = store.fact("contact") or ""
        dispatcher.utter_message(text=say(runtime, store, "handoff", store_name=store.display_name, contact=contact,
                                          number=verified, email=email))
        return []
