"""What a message says beyond its intent: lookup values it carries (kept in slots so no turn loses
them), "I don't have the order number", "when will it arrive?", "how long do I have to cancel?", and
which store fact it asks about.

These are small, reviewed word patterns over the text the shopper typed; the intent itself comes
from the NLU model.
"""
from __future__ import annotations

import re
from typing import Any, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.slot_values import clean_email, clean_order_number, clean_postcode

LOOKUP_ENTITIES = ("order_number", "email", "postcode")
_CLEANERS = {"order_number": clean_order_number, "email": clean_email, "postcode": clean_postcode}

_NO_NUMBER = re.compile(
    r"\b(?:(?:do ?n[o']?t|dont|do not|don't|can ?n[o']?t|cant|cannot|didn'?t|never)\s+(?:\w+\s+){0,3}?"
    r"(?:know|have|find|remember|got|get|see|recall|kept|keep|received?)\s+(?:\w+\s+){0,3}?(?:order\s*)?(?:number|no|#|id|ref)"
    r"|(?:lost|forgot|forgotten|misplaced|deleted|no idea (?:of|about|what))\s+(?:\w+\s+){0,3}?(?:number|no|#|id|ref)"
    r"|(?:no|without|without an?|without the)\s+(?:order\s+)?(?:number|order #|order no)\b(?!\s*\d))",
    re.IGNORECASE,
)
_ARRIVAL = re.compile(
    r"\b(?:when\b.{0,40}\b(?:arriv\w*|get (?:here|there|to me)|come|coming|deliver\w*|receive|be here|reach)"
    r"|how (?:long|much longer|many (?:more )?days)\b.{0,30}\b(?:take|arriv\w*|get|wait|deliver\w*)?"
    r"|eta|estimated (?:delivery|arrival)|delivery date|arrival date|expected (?:delivery|arrival))\b",
    re.IGNORECASE,
)
_CUTOFF_WORDS = r"(?:cancel\w*|cancle\w*|chang\w*|modif\w*|edit\w*|amend\w*)"
_ASKS_CUTOFF = re.compile(
    r"\b(?:how (?:long|late|much time|many (?:hours|days))\b.{0,30}\b" + _CUTOFF_WORDS +
    r"|(?:until|till|til|up to) when\b.{0,30}\b" + _CUTOFF_WORDS +
    r"|(?:is it|is it still|it's|its) (?:too late|possible|still possible) to " + _CUTOFF_WORDS +
    r"|can (?:an order|orders|purchases|an order still|orders still) be " + _CUTOFF_WORDS +
    r"|(?:deadline|time limit|cut-?off|window|time frame|timeframe)\b.{0,20}\b" + _CUTOFF_WORDS +
    r"|" + _CUTOFF_WORDS + r"\b.{0,20}\b(?:deadline|time limit|cut-?off|window|time frame|timeframe))",
    re.IGNORECASE,
)
# Store facts a merchant can fill in, checked in this order; the first match wins.
_FACT_TOPICS: Tuple[Tuple[str, "re.Pattern[str]"], ...] = (
    ("cancellation", re.compile(
        r"\b(?:cancel\w*|cancle\w*|cancellaiton|terminat\w*|early ?exit|withdrawal|penalt(?:y|ies)|"
        r"break (?:the|my) contract)\b", re.IGNORECASE)),
    ("payment", re.compile(
        r"\b(?:pay|paying|payment|payments|paypal|credit card|debit card|card|cards|visa|mastercard|amex|american express|"
        r"klarna|afterpay|apple pay|google pay|cash|bank transfer|crypto|bitcoin|installments?)\b", re.IGNORECASE)),
    ("hours", re.compile(
        r"\b(?:open|opening|opens|close|closing|closes|closed|hours|business hours|working hours|weekends?|holidays?|"
        r"sundays?|saturdays?)\b", re.IGNORECASE)),
    ("contact", re.compile(
        r"\b(?:phone|telephone|call|number to call|contact|e-?mail address|email|address|reach|located|location|"
        r"where are you|visit|shop address|store address|whatsapp)\b", re.IGNORECASE)),
    ("shipping", re.compile(
        r"\b(?:ship to|ship internationally|deliver to|countries|country|international|internationally|abroad|"
        r"regions?|overseas|worldwide)\b", re.IGNORECASE)),
)


def latest_text(tracker: Tracker) -> str:
    """The text of the latest user message ('' when none)."""
    text = (tracker.latest_message or {}).get("text")
    return text if isinstance(text, str) else ""


def latest_intent(tracker: Tracker) -> str:
    """The intent name of the latest user message ('' when none)."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    name = intent.get("name") if isinstance(intent, dict) else None
    return name if isinstance(name, str) else ""


def entity_value(tracker: Tracker, entity: str) -> Optional[Any]:
    """The last value of ``entity`` in the latest user message."""
    values = [e.get("value") for e in (tracker.latest_message or {}).get("entities") or []
              if isinstance(e, dict) and e.get("entity") == entity]
    return values[-1] if values else None


def remembered_lookup_values(tracker: Tracker) -> List[SlotSet]:
    """Slot events keeping the order number, email and postcode the latest message carries (cleaned;
    invalid values are left out), so an answer that is not the lookup form does not drop them."""
    events = []
    for entity in LOOKUP_ENTITIES:
        value = _CLEANERS[entity](entity_value(tracker, entity))
        if value is not None and value != tracker.get_slot(entity):
            events.append(SlotSet(entity, value))
    return events


def says_no_order_number(text: str) -> bool:
    """"I don't have the order number", "lost my order number", "no order number"..."""
    return bool(_NO_NUMBER.search(text or ""))


def asks_when_it_arrives(text: str) -> bool:
    """"When will it get here?", "how long until it arrives", "ETA?"..."""
    return bool(_ARRIVAL.search(text or ""))


def asks_until_when(text: str) -> bool:
    """A question about whether or until when orders can be cancelled or changed ("how long do I have
    to cancel?", "is it too late to change it?", "cancellation window?"), as opposed to a request."""
    return bool(_ASKS_CUTOFF.search(text or ""))


def store_fact_topic(text: str) -> Optional[str]:
    """Which store fact a message asks about (``cancellation``, ``payment``, ``hours``, ``contact``,
    ``shipping``), if any."""
    for topic, pattern in _FACT_TOPICS:
        if pattern.search(text or ""):
            return topic
    return None
