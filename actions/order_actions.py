"""Rasa actions of the order-tracking dialogue.

* ``action_lookup_order`` — after the lookup form: verified lookup (or a list of recent orders),
  order card, failures and lockout; clears email and postcode from the slots afterwards.
* ``action_order_request`` — cancel / change / return: the store's policy, and a request recorded
  for the merchant when the order is verified in this conversation.
* ``action_policy_answer`` — delivery questions answered from the store's shipping policy.
* ``action_human_handoff`` — tells the store's team and the shopper.
* ``action_fallback`` — rephrase prompt; the second fallback in a row offers a person.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.activity_log import log_activity, remember_shopper_email
from actions.asks import render_for
from actions.lookup import LISTED, LookupRequest, OrderLookup
from actions.metadata import message_metadata
from actions.render import render
from actions.runtime import Runtime, get_runtime
from actions.slot_values import clean_email, clean_order_number, clean_postcode, clean_second_fact
from actions.store_access import StoreContext, resolve_store
from bot.services import activity
from plugins.text import order_number_matches

logger = logging.getLogger(__name__)

HANDOFF_BUTTONS = [
    {"title": "Talk to a person", "payload": "/human_handoff"},
    {"title": "No thanks", "payload": "/deny"},
]
NO_STORE_TEXT = "Sorry, I can't look anything up from this chat right now. Please contact the store directly."
CLEARED = [SlotSet("email", None), SlotSet("postcode", None), SlotSet("second_fact", None)]


def _client(tracker: Tracker) -> Optional[str]:
    value = message_metadata(tracker).get("client")
    return value[:128] if isinstance(value, str) and value else None


def _say(runtime: Runtime, store: StoreContext, name: str, **values: Any) -> str:
    return render(name, widget_id=store.widget_id, locale=store.locale,
                  override_root=runtime.templates_dir, **values)


def _send(dispatcher: CollectingDispatcher, message: Dict[str, Any]) -> None:
    dispatcher.utter_message(text=message.get("text"), buttons=message.get("buttons") or [], json_message=message.get("custom"))


async def _store_or_apologise(runtime: Runtime, dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[StoreContext]:
    store = await resolve_store(runtime, tracker)
    if store is None:
        dispatcher.utter_message(text=NO_STORE_TEXT)
    return store


class ActionLookupOrder(Action):
    """Look up the order the form collected, verify the shopper and answer."""

    def name(self) -> Text:
        return "action_lookup_order"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        runtime = get_runtime()
        store = await _store_or_apologise(runtime, dispatcher, tracker)
        if store is None:
            return list(CLEARED)
        request = LookupRequest(
            conversation_id=tracker.sender_id,
            client=_client(tracker),
            order_number=clean_order_number(tracker.get_slot("order_number")),
            email=clean_email(tracker.get_slot("email")),
            postcode=clean_postcode(tracker.get_slot("postcode")),
            verified_order=tracker.get_slot("verified_order"),
            second_fact=clean_second_fact(tracker.get_slot("second_fact")),
        )
        if not request.order_number and not (request.email and request.postcode):
            dispatcher.utter_message(text=_say(runtime, store, "ask_order_number"))
            return list(CLEARED)
        if request.email:
            await remember_shopper_email(runtime, store, request.conversation_id, request.email)
        result = await OrderLookup(runtime, store).run(request)
        for message in result.messages:
            _send(dispatcher, message)
        if result.offer_handoff:
            dispatcher.utter_message(text="Would you like me to pass this to a person?", buttons=HANDOFF_BUTTONS)
        events: List[EventType] = []
        if result.outcome == LISTED:
            return events  # keep email and postcode: the shopper picks one of the listed orders next
        events += CLEARED
        if result.email_hidden:
            events.append(SlotSet("email_hidden", True))
            return events  # keep the order number: the form asks for the postcode and a second detail next
        if result.verified_order:
            events += [SlotSet("verified_order", result.verified_order), SlotSet("order_number", result.verified_order)]
        else:
            events.append(SlotSet("order_number", None))
        return events


REQUEST_KINDS = {
    "cancel_order": ("cancellation", "cancellation", "Here's how cancellations work:"),
    "change_order": ("change", "cancellation", "Changes work like cancellations:"),
    "return_refund": ("return", "returns", "Here's the returns and refunds policy:"),
}


class ActionOrderRequest(Action):
    """Cancel / change / return: explain the policy; record a request for a verified order."""

    def name(self) -> Text:
        return "action_order_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        runtime = get_runtime()
        store = await _store_or_apologise(runtime, dispatcher, tracker)
        if store is None:
            return []
        intent = (tracker.latest_message or {}).get("intent", {}).get("name") or "cancel_order"
        kind, policy_name, intro = REQUEST_KINDS.get(intent, REQUEST_KINDS["cancel_order"])
        dispatcher.utter_message(text=_say(runtime, store, "policy", intro=intro, policy=store.policy(policy_name)))
        verified = tracker.get_slot("verified_order")
        typed = clean_order_number(next((e.get("value") for e in (tracker.latest_message or {}).get("entities", [])
                                         if e.get("entity") == "order_number"), None))
        if verified and (typed is None or order_number_matches(typed, verified)):
            await log_activity(runtime, store, activity.REQUEST, f"Shopper asked for a {kind} of order #{verified}",
                               {"kind": kind, "order_number": verified, "conversation_id": tracker.sender_id})
            dispatcher.utter_message(text=_say(runtime, store, "request_recorded", kind_label=kind, number=verified))
        else:
            dispatcher.utter_message(text=_say(runtime, store, "request_needs_order", kind_label=kind),
                                     buttons=[{"title": "Find my order", "payload": "/track_order"}] + HANDOFF_BUTTONS[:1])
        return []


class ActionPolicyAnswer(Action):
    """Delivery questions, from the store's shipping policy."""

    def name(self) -> Text:
        return "action_policy_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        runtime = get_runtime()
        store = await _store_or_apologise(runtime, dispatcher, tracker)
        if store is None:
            return []
        dispatcher.utter_message(text=_say(runtime, store, "policy", intro="About delivery:", policy=store.policy("shipping")))
        return []


class ActionHumanHandoff(Action):
    """Flag the conversation for the store's team and tell the shopper what happens next."""

    def name(self) -> Text:
        return "action_human_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        runtime = get_runtime()
        store = await _store_or_apologise(runtime, dispatcher, tracker)
        if store is None:
            return []
        details = {"conversation_id": tracker.sender_id}
        if tracker.get_slot("verified_order"):
            details["order_number"] = tracker.get_slot("verified_order")
        await log_activity(runtime, store, activity.HANDOFF, "Shopper asked for a person", details)
        contact = store.policies.get("contact") if isinstance(store.policies.get("contact"), str) else ""
        # The marker tells the bot service to open a live handoff (bot/gateway/handoff.py); the
        # widget never sees it.
        marker = {"type": "handoff", "reason": "asked", **({"order_number": details["order_number"]}
                                                           if "order_number" in details else {})}
        dispatcher.utter_message(text=_say(runtime, store, "handoff", store_name=store.display_name, contact=contact),
                                 json_message=marker)
        return []


LOOKUP_ENTITIES = ("order_number", "email", "postcode")


class ActionFallback(Action):
    """Ask to rephrase; after two misunderstandings in a row, offer a person.

    A message the classifier was unsure about but that carries an order number, email or postcode
    goes straight to the lookup form instead: the shopper's intent is clear enough from that.
    """

    def name(self) -> Text:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        entities = (tracker.latest_message or {}).get("entities") or []
        if any(e.get("entity") in LOOKUP_ENTITIES for e in entities):
            return [FollowupAction("order_lookup_form")]
        user_intents = [e.get("parse_data", {}).get("intent", {}).get("name") for e in tracker.events if e.get("event") == "user"]
        if len(user_intents) >= 2 and user_intents[-2] == "nlu_fallback":
            dispatcher.utter_message(text=render_for(tracker, "fallback_twice"), buttons=HANDOFF_BUTTONS)
        else:
            dispatcher.utter_message(text=render_for(tracker, "fallback"))
        return []
