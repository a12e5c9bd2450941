"""Rasa actions of the order-tracking dialogue.

* ``action_lookup_order`` — after the lookup form: verified lookup (or a list of recent orders),
  order card, failures and lockout; records a cancel/change/return request that was waiting for
  the verification; answers "when will it arrive?" about an order verified earlier with the
  delivery estimate instead of the same card again; clears email and postcode afterwards.
* ``action_policy_answer`` — delivery questions: about the verified order when there is one (carrier
  estimate or the store's policy), else the store's shipping policy.

Requests, handoff, store facts and the fallback live in ``order_requests``, ``handoff``,
``store_facts`` and ``fallback``.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.activity_log import remember_shopper_email
from actions.arrival import arrival_text
from actions.cues import asks_when_it_arrives, entity_value, latest_text, remembered_lookup_values
from actions.lookup import LISTED, SHOWN, LookupRequest, OrderLookup
from actions.order_requests import record_pending_request
from actions.replies import HANDOFF_BUTTONS, client_of, say, send, store_or_apologise, tell_policy
from actions.runtime import get_runtime
from actions.slot_values import clean_email, clean_order_number, clean_postcode, clean_second_fact
from plugins.text import order_number_matches

logger = logging.getLogger(__name__)

CLEARED = [SlotSet("email", None), SlotSet("postcode", None), SlotSet("second_fact", None),
           SlotSet("order_number_unknown", None)]


class ActionLookupOrder(Action):
    """Look up the order the form collected, verify the shopper and answer."""

    def name(self) -> Text:
        return "action_lookup_order"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        runtime = get_runtime()
        store = await store_or_apologise(runtime, dispatcher, tracker)
        if store is None:
            return list(CLEARED)
        request = LookupRequest(
            conversation_id=tracker.sender_id,
            client=client_of(tracker),
            order_number=clean_order_number(tracker.get_slot("order_number")),
            email=clean_email(tracker.get_slot("email")),
            postcode=clean_postcode(tracker.get_slot("postcode")),
            verified_order=tracker.get_slot("verified_order"),
            second_fact=clean_second_fact(tracker.get_slot("second_fact")),
        )
        if not request.order_number and not (request.email and request.postcode):
            dispatcher.utter_message(text=say(runtime, store, "ask_order_number"))
            return list(CLEARED)
        if request.email:
            await remember_shopper_email(runtime, store, request.conversation_id, request.email)
        follow_up = bool(request.order_number and request.verified_order
                         and order_number_matches(request.order_number, request.verified_order))
        result = await OrderLookup(runtime, store).run(request)
        if result.outcome == SHOWN and result.order and follow_up and asks_when_it_arrives(latest_text(tracker)):
            dispatcher.utter_message(text=arrival_text(runtime, store, result.order))
        else:
            for message in result.messages:
                send(dispatcher, message)
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
            events += await record_pending_request(runtime, store, dispatcher, tracker, result.verified_order)
        else:
            events.append(SlotSet("order_number", None))
        return events


class ActionPolicyAnswer(Action):
    """Delivery questions: the verified order's expected arrival, else the store's shipping policy."""

    def name(self) -> Text:
        return "action_policy_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        runtime = get_runtime()
        store = await store_or_apologise(runtime, dispatcher, tracker)
        if store is None:
            return []
        kept = remembered_lookup_values(tracker)
        verified = tracker.get_slot("verified_order")
        typed = clean_order_number(entity_value(tracker, "order_number") or tracker.get_slot("order_number"))
        form_active = bool((tracker.active_loop or {}).get("name"))
        if verified and not form_active and (typed is None or order_number_matches(typed, verified)):
            result = await OrderLookup(runtime, store).run(LookupRequest(
                conversation_id=tracker.sender_id, client=client_of(tracker), order_number=verified,
                email=None, postcode=None, verified_order=verified))
            if result.outcome == SHOWN and result.order:
                dispatcher.utter_message(text=arrival_text(runtime, store, result.order))
                return kept
        tell_policy(runtime, store, dispatcher, "shipping", "About delivery:")
        return kept
