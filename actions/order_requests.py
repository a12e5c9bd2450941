"""Cancel / change / return requests: ``action_order_request`` and the pending request.

The store's policy is explained (or, when the merchant gave none, that the team will confirm it).
A question about the terms ("how long do I have to cancel?") gets the policy and a button that makes
the request; it starts nothing by itself. A request is passed on to the merchant (a
``shopper_request`` activity) only for an order verified in this conversation. When the order is
not verified yet, the request waits in the ``pending_request`` slot while the lookup form finds and
verifies the order; ``action_lookup_order`` then records it (:func:`record_pending_request`).
A pending request lapses when the lookup is abandoned (the form is deactivated) or another request
replaces it.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.activity_log import log_activity
from actions.cues import asks_until_when, entity_value, latest_intent, latest_text, remembered_lookup_values, says_no_order_number
from actions.replies import HANDOFF_BUTTONS, say, store_or_apologise, tell_policy
from actions.runtime import Runtime, get_runtime
from actions.slot_values import clean_order_number
from actions.store_access import StoreContext
from bot.services import activity
from plugins.text import order_number_matches

PENDING_SLOT = "pending_request"
LOOKUP_FORM = "order_lookup_form"
# intent → (request kind, policy name, intro)
REQUEST_KINDS: Dict[str, Tuple[str, str, str]] = {
    "cancel_order": ("cancellation", "cancellation", "Here's how cancellations work:"),
    "change_order": ("change", "cancellation", "Changes work like cancellations:"),
    "return_refund": ("return", "returns", "Here's the returns and refunds policy:"),
}
KINDS = tuple(kind for kind, _, _ in REQUEST_KINDS.values())
# request kind → the title of the button offering the request after a question about it
OFFER_TITLES: Dict[str, str] = {"cancellation": "Cancel my order", "change": "Change my order", "return": "Return my order"}
# Requests that start the lookup even when no order number was given (the shopper wants something done).
ALWAYS_FIND_ORDER = ("cancellation", "change")
_ABANDONING_ACTIONS = ("action_deactivate_loop",)


async def record_request(runtime: Runtime, store: StoreContext, dispatcher: CollectingDispatcher,
                         tracker: Tracker, kind: str, number: str) -> None:
    """Record a request for a verified order for the merchant and tell the shopper."""
    await log_activity(runtime, store, activity.REQUEST, f"Shopper asked for a {kind} of order #{number}",
                       {"kind": kind, "order_number": number, "conversation_id": tracker.sender_id})
    dispatcher.utter_message(text=say(runtime, store, "request_recorded", kind_label=kind, number=number))


def pending_request(tracker: Tracker) -> Optional[str]:
    """The request waiting for the order's verification, if it is still current.

    It lapses when the lookup form was deactivated (shopper stopped, asked for a person, said bye)
    after the request was made.
    """
    kind = tracker.get_slot(PENDING_SLOT)
    if kind not in KINDS:
        return None
    for event in reversed(tracker.events):
        if event.get("event") != "action":
            continue
        name = event.get("name")
        if name == "action_order_request":
            return kind
        if name in _ABANDONING_ACTIONS:
            return None
    return None


async def record_pending_request(runtime: Runtime, store: StoreContext, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, verified_number: str) -> List[EventType]:
    """After a successful verification: record the waiting request, if any, and clear it."""
    kind = pending_request(tracker)
    if kind is None:
        return [SlotSet(PENDING_SLOT, None)] if tracker.get_slot(PENDING_SLOT) else []
    await record_request(runtime, store, dispatcher, tracker, kind, verified_number)
    return [SlotSet(PENDING_SLOT, None)]


class ActionOrderRequest(Action):
    """Cancel / change / return: explain the policy; record the request or find the order first."""

    def name(self) -> Text:
        return "action_order_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        runtime = get_runtime()
        store = await store_or_apologise(runtime, dispatcher, tracker)
        if store is None:
            return [SlotSet(PENDING_SLOT, None)]
        kept = remembered_lookup_values(tracker)
        typed = clean_order_number(entity_value(tracker, "order_number"))
        if typed is None and says_no_order_number(latest_text(tracker)):
            # "I don't have my order number" read as a request: no request, the lookup's no-number path
            return kept + [SlotSet(PENDING_SLOT, None), SlotSet("order_number_unknown", True), FollowupAction(LOOKUP_FORM)]
        intent = latest_intent(tracker)
        if intent not in REQUEST_KINDS:
            intent = "cancel_order"
        kind, policy_name, intro = REQUEST_KINDS[intent]
        tell_policy(runtime, store, dispatcher, policy_name, intro, for_request=True)

        verified = tracker.get_slot("verified_order")
        form_active = bool((tracker.active_loop or {}).get("name"))
        if typed is None and not form_active and asks_until_when(latest_text(tracker)):
            # "how long do I have to cancel?" asks about the terms: offer the request, don't start it
            dispatcher.utter_message(text=say(runtime, store, "request_offer", kind_label=kind, number=verified),
                                     buttons=[{"title": OFFER_TITLES[kind], "payload": f"/{intent}"}, HANDOFF_BUTTONS[1]])
            return kept + [SlotSet(PENDING_SLOT, None)]
        target = typed or (tracker.get_slot("order_number") if form_active else None) or verified
        if verified and target and order_number_matches(target, verified):
            await record_request(runtime, store, dispatcher, tracker, kind, verified)
            return kept + [SlotSet(PENDING_SLOT, None)]
        if typed or form_active or kind in ALWAYS_FIND_ORDER:
            dispatcher.utter_message(text=say(runtime, store, "request_needs_verification", kind_label=kind, number=typed))
            return kept + [SlotSet(PENDING_SLOT, kind)]
        dispatcher.utter_message(text=say(runtime, store, "request_needs_order", kind_label=kind),
                                 buttons=[{"title": "Find my order", "payload": "/track_order"}] + HANDOFF_BUTTONS[:1])
        return kept + [SlotSet(PENDING_SLOT, None)]
