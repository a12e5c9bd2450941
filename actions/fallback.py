"""``action_fallback``: what the bot does when the NLU model is unsure (``nlu_fallback``), reads a
message as ``out_of_scope``, or the dialogue policy cannot predict.

* An out-of-scope message without an order number, email or postcode gets ``utter_out_of_scope``.

* Nothing the shopper gave is lost: an order number, email or postcode in the message is kept in
  the slots, and the next step (the lookup form, a request) uses it.
* A message that says the shopper has no order number goes to the lookup form's no-number path
  (email + billing postcode → list of recent orders).
* While a form runs, the rules return to it after this action: the form reads the message's values
  and asks its question again (a message without values first gets "could you rephrase?").
* Outside a form, an email or postcode alone starts the lookup form.
* A message naming an order, or one whose top two intents are close, gets a clarifying question
  with buttons (``/track_order{"order_number":"1001"}``...) built from the intent ranking.
* Otherwise: ask to rephrase; the second misunderstanding in a row offers a person.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.asks import render_for
from actions.cues import (LOOKUP_ENTITIES, entity_value, latest_intent, latest_text, remembered_lookup_values,
                          says_no_order_number)
from actions.replies import HANDOFF_BUTTONS
from actions.slot_values import clean_order_number

FALLBACK_INTENT = "nlu_fallback"
LOOKUP_FORM = "order_lookup_form"
CLOSE_MARGIN = 0.15  # top two intents closer than this are "close"
MAX_CHOICES = 3

# Intents worth offering as a choice, with their button titles (``{n}``: the order number).
ORDER_CHOICES: Dict[str, str] = {
    "track_order": "Track order #{n}",
    "cancel_order": "Cancel order #{n}",
    "change_order": "Change order #{n}",
    "return_refund": "Return or refund for order #{n}",
    "invoice": "Invoice for order #{n}",
    "complaint": "A problem with order #{n}",
}
GENERAL_CHOICES: Dict[str, str] = {
    "track_order": "Track my order",
    "cancel_order": "Cancel an order",
    "change_order": "Change an order",
    "return_refund": "Returns and refunds",
    "delivery_info": "Delivery times",
    "store_info": "Store information",
    "invoice": "An invoice",
    "complaint": "Report a problem",
    "human_handoff": "Talk to a person",
    "help": "What you can do",
}
SOMETHING_ELSE = {"title": "Something else", "payload": "/help"}
CLEAR_LOOKUP = "track_order"  # clearly ahead of the other tasks: a lookup, no need to ask
INFORM = "inform"  # only says that a number or email was given, not what for
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Clarification:
    """A clarifying question: which template to say and which buttons to offer."""

    template: str
    buttons: List[Dict[str, str]]


def ranked_intents(parse: Dict[str, Any]) -> List[Tuple[str, float]]:
    """The classifier's intent ranking without ``nlu_fallback``, best first."""
    ranking = parse.get("intent_ranking") if isinstance(parse, dict) else None
    out = []
    for item in ranking if isinstance(ranking, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"] != FALLBACK_INTENT:
            confidence = item.get("confidence")
            out.append((item["name"], float(confidence) if isinstance(confidence, (int, float)) else 0.0))
    return sorted(out, key=lambda pair: -pair[1])


def _payload(intent: str, entities: Dict[str, str]) -> str:
    return f"/{intent}{json.dumps(entities, separators=(',', ':'))}" if entities else f"/{intent}"


def clarify(ranking: Sequence[Tuple[str, float]], order_number: Optional[str]) -> Optional[Clarification]:
    """The clarifying question for an unsure message, or None when asking would not help.

    With an order number: the order-related intents of the ranking, best first (tracking is always
    offered), unless the best guess is clearly tracking (``inform`` only says a number was given). Without one: the top two intents when
    their scores are close and both are tasks the bot can offer.
    """
    if order_number:
        tasks = [pair for pair in ranking if pair[0] != INFORM]
        if tasks and tasks[0][0] == CLEAR_LOOKUP and (len(tasks) < 2 or tasks[0][1] - tasks[1][1] >= CLOSE_MARGIN):
            return None
        intents = [name for name, _ in ranking if name in ORDER_CHOICES][:MAX_CHOICES]
        if "track_order" not in intents:
            intents = (intents[:MAX_CHOICES - 1] + ["track_order"]) if intents else ["track_order", "cancel_order"]
        entities = {"order_number": order_number}
        buttons = [{"title": ORDER_CHOICES[i].format(n=order_number), "payload": _payload(i, entities)} for i in intents]
        return Clarification("clarify_order", buttons + [SOMETHING_ELSE])
    if len(ranking) >= 2 and ranking[0][1] - ranking[1][1] < CLOSE_MARGIN:
        top = [name for name, _ in ranking[:2]]
        if all(name in GENERAL_CHOICES for name in top):
            buttons = [{"title": GENERAL_CHOICES[i], "payload": _payload(i, {})} for i in top]
            return Clarification("clarify", buttons + [SOMETHING_ELSE])
    return None


def _previous_user_intent(tracker: Tracker) -> Optional[str]:
    users = [e for e in tracker.events if e.get("event") == "user"]
    if len(users) < 2:
        return None
    return ((users[-2].get("parse_data") or {}).get("intent") or {}).get("name")


class ActionFallback(Action):
    """Keep what was given; go on with the lookup, ask a clarifying question, or ask to rephrase."""

    def name(self) -> Text:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        kept: List[EventType] = list(remembered_lookup_values(tracker))
        active_form = (tracker.active_loop or {}).get("name")
        has_values = any(entity_value(tracker, e) is not None for e in LOOKUP_ENTITIES)
        number = clean_order_number(entity_value(tracker, "order_number"))
        no_number = says_no_order_number(latest_text(tracker)) and not number

        if latest_intent(tracker) == OUT_OF_SCOPE and not has_values and not no_number:
            dispatcher.utter_message(response="utter_out_of_scope")
            return kept
        if active_form:  # the rules return to the form, which reads the message and asks again
            if no_number:
                return kept + [SlotSet("order_number_unknown", True)]
            if not has_values:
                self._rephrase(dispatcher, tracker)
            return kept
        if no_number:
            return kept + [SlotSet("order_number_unknown", True), FollowupAction(LOOKUP_FORM)]
        if has_values and number is None:
            return kept + [FollowupAction(LOOKUP_FORM)]  # an email or postcode: the lookup's no-number path
        question = clarify(ranked_intents(tracker.latest_message or {}), number)
        if question is None and number:
            return kept + [FollowupAction(LOOKUP_FORM)]  # clearly a lookup
        if question is not None:
            dispatcher.utter_message(text=render_for(tracker, question.template, number=number), buttons=question.buttons)
        else:
            self._rephrase(dispatcher, tracker)
        return kept

    @staticmethod
    def _rephrase(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        if _previous_user_intent(tracker) == FALLBACK_INTENT:
            dispatcher.utter_message(text=render_for(tracker, "fallback_twice"), buttons=HANDOFF_BUTTONS)
        else:
            dispatcher.utter_message(text=render_for(tracker, "fallback"))
