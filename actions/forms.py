"""Validation of the order-lookup form (order number, then the email on the order; where the store
hides emails, the billing postcode and a second fact: billing last name or phone digits).

Slots use custom mappings: this action extracts them from the latest message's entities on every
turn of the form, including the message that activated it, so a shopper can give everything at once
("where is #1001, jane@example.com"), correct a value ("sorry, it's 1002"), or answer the email
question with a postcode. A bare number typed when the email was asked is taken as a postcode.
The second fact has no entity: the whole answer to its question is taken.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.asks import render_for
from actions.cues import says_no_order_number
from actions.slot_values import clean_email, clean_order_number, clean_postcode, clean_second_fact, is_bare_number
from plugins.text import order_number_matches

FORM_SLOTS = ("order_number", "email", "postcode", "second_fact", "order_number_unknown")
POSTCODE_WORDS = re.compile(r"\b(zip|postcode|post code|postal)\b", re.IGNORECASE)
ORDER_WORDS = re.compile(r"#|\b(order|purchase|ref|reference|confirmation|no\.)(?!\s+(number|no|#)\b)", re.IGNORECASE)


def no_number_path(tracker: Tracker) -> bool:
    """No order number, but the shopper said they have none or gave an email or postcode instead:
    the form collects email and postcode to list their recent orders."""
    return not tracker.get_slot("order_number") and bool(
        tracker.get_slot("order_number_unknown") or tracker.get_slot("email") or tracker.get_slot("postcode"))


def latest_entity(tracker: Tracker, entity: str) -> Optional[Any]:
    """The last value of ``entity`` in the latest user message."""
    values = [e.get("value") for e in (tracker.latest_message or {}).get("entities", []) if e.get("entity") == entity]
    return values[-1] if values else None


class ValidateOrderLookupForm(FormValidationAction):
    """Extracts and validates the form's slots and decides which one to ask next."""

    def name(self) -> Text:
        return "validate_order_lookup_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        number = tracker.get_slot("order_number")
        verified = tracker.get_slot("verified_order")
        if number and verified and order_number_matches(number, verified):
            return ["order_number"]
        if not number and no_number_path(tracker):
            return ["email", "postcode"]  # no number: list the shopper's recent orders
        if tracker.get_slot("email_hidden"):
            return ["order_number", "postcode", "second_fact"]  # the store hides emails
        return ["order_number", "email"]

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Optional[EventType]:
        """Always decide the next question here (None ends the form), even when the list matches the domain's."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet("requested_slot", next((s for s in required if tracker.slots.get(s) is None), None))

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Read order number, email and postcode from the latest message, whatever was asked."""
        text = (tracker.latest_message or {}).get("text") or ""
        found: Dict[str, Any] = {}
        number = latest_entity(tracker, "order_number")
        email = latest_entity(tracker, "email")
        postcode = latest_entity(tracker, "postcode")
        asked = tracker.get_slot("requested_slot")
        wants_postcode = asked == "postcode" or (tracker.get_slot("email_hidden") and not tracker.get_slot("postcode"))
        denies_number = says_no_order_number(text)
        if number is not None and email is None and postcode is None and tracker.get_slot("order_number") and (
            wants_postcode or (asked == "email" and (is_bare_number(text) or POSTCODE_WORDS.search(text)))
        ):
            postcode, number = number, None  # "90210" / "the zip is 90210" answering "email or postcode?"
        elif number is not None and postcode is None and (denies_number or no_number_path(tracker)) and not ORDER_WORDS.search(text):
            postcode, number = number, None  # no-number path: a number not called an order number is the postcode
        if asked == "second_fact" and email is None and clean_second_fact(text) is not None:
            found["second_fact"] = text.strip()  # "Chen" / "0100": no entity for these
            number = postcode = None
        if number is None and denies_number and not tracker.get_slot("order_number"):
            found["order_number_unknown"] = True
        if number is not None:
            found["order_number"] = number
        if email is not None:
            found["email"] = email
        if postcode is not None:
            found["postcode"] = postcode
        tracker.slots.update(found)
        return [SlotSet(slot, value) for slot, value in found.items()]

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Validate every form slot set in this turn (not only the required ones)."""
        changed = tracker.slots_to_validate()
        events: Dict[str, Any] = {}
        for slot in FORM_SLOTS:
            if slot in changed:
                result = getattr(self, f"validate_{slot}")(changed[slot], dispatcher, tracker, domain)
                events.update(result)
                tracker.slots.update(result)
        return [SlotSet(slot, value) for slot, value in events.items()]

    def validate_order_number(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        number = clean_order_number(value)
        if number is None:
            dispatcher.utter_message(text=render_for(tracker, "invalid_order_number"))
        return {"order_number": number}

    def validate_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        email = clean_email(value)
        if email is None:
            dispatcher.utter_message(text=render_for(tracker, "invalid_email"))
        return {"email": email}

    def validate_postcode(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        return {"postcode": clean_postcode(value)}

    def validate_second_fact(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        return {"second_fact": clean_second_fact(value)}

    def validate_order_number_unknown(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[Text, Any]:
        return {"order_number_unknown": True if value is True else None}
