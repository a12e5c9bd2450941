"""What a resumed conversation may show again: the shape of the talk, not the personal data in it.

Whoever holds the browser gets the history back, so before it leaves Rasa:

* a typed email or postcode (an ``email``/``postcode`` entity, a value those slots or the
  verification slots took, anything shaped like an email, or any answer to a question for one of
  them) is replaced by a placeholder;
* an order card becomes one line, ``Order #1001 (verified earlier)``: items, totals, addresses and
  tracking stay in the live turn only;
* buttons that name orders (the order list) are left out.

Pure functions over Rasa's event dicts; no Rasa import.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Set

#: Slots whose values identify the customer (the verification facts).
SENSITIVE_SLOTS = ("email", "postcode", "billing_last_name", "last_name", "phone", "phone_digits")
#: Entities that carry such a value in a user message.
SENSITIVE_ENTITIES = ("email", "postcode")
EMAIL_SHAPE = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[^\s@<>()\[\],;:\"']+")
HIDDEN = "[hidden]"
HIDDEN_EMAIL = "[email hidden]"
_PLACEHOLDER = {"email": HIDDEN_EMAIL, "postcode": "[postcode hidden]"}


def sensitive_values(events: Iterable[Dict[str, Any]]) -> Set[str]:
    """Every value a sensitive slot or entity took in the conversation (at least 3 characters)."""
    values: Set[str] = set()
    for event in events:
        if event.get("event") == "slot" and event.get("name") in SENSITIVE_SLOTS and isinstance(event.get("value"), str):
            values.add(event["value"])
        elif event.get("event") == "user":
            for entity in ((event.get("parse_data") or {}).get("entities") or ()):
                if isinstance(entity, dict) and entity.get("entity") in SENSITIVE_ENTITIES and isinstance(entity.get("value"), str):
                    values.add(entity["value"])
    return {v.strip() for v in values if len(v.strip()) >= 3}


def scrub_text(text: str, values: Set[str]) -> str:
    """``text`` with email shapes and the given values replaced by placeholders."""
    out = EMAIL_SHAPE.sub(HIDDEN_EMAIL, text)
    for value in sorted(values, key=len, reverse=True):
        out = re.sub(re.escape(value), HIDDEN, out, flags=re.IGNORECASE)
        compact = value.replace(" ", "")
        if compact != value and len(compact) >= 3:  # "SW1A1AA" for "SW1A 1AA" and back
            out = re.sub(r"\s?".join(map(re.escape, compact)), HIDDEN, out, flags=re.IGNORECASE)
    return out


def user_text(event: Dict[str, Any], text: str, values: Set[str], asked_for: Optional[str]) -> str:
    """A user message as history may show it."""
    entities = [e for e in ((event.get("parse_data") or {}).get("entities") or ())
                if isinstance(e, dict) and e.get("entity") in SENSITIVE_ENTITIES
                and isinstance(e.get("start"), int) and isinstance(e.get("end"), int)]
    out = text
    for entity in sorted(entities, key=lambda e: e["start"], reverse=True):
        if 0 <= entity["start"] < entity["end"] <= len(out):
            out = out[:entity["start"]] + _PLACEHOLDER[entity["entity"]] + out[entity["end"]:]
    scrubbed = scrub_text(out, values)
    if asked_for in SENSITIVE_SLOTS and scrubbed == text:
        return HIDDEN  # the answer to "what's your email/postcode?" that nothing recognised
    return scrubbed


def bot_item(item: Dict[str, Any], values: Set[str]) -> Dict[str, Any]:
    """A bot message as history may show it (``item`` in the widget's message shape)."""
    custom = item.get("custom")
    if isinstance(custom, dict) and custom.get("type") == "order":
        order = custom.get("order") if isinstance(custom.get("order"), dict) else {}
        number = str(order.get("number") or "").strip()
        text = f"Order #{number} (verified earlier)" if number else "An order (verified earlier)"
        return {"text": text}
    out = dict(item)
    out.pop("custom", None)  # any other card is not kept either
    out["text"] = scrub_text(str(item.get("text") or ""), values)
    buttons = [b for b in item.get("buttons") or () if '"order_number"' not in str(b.get("payload", ""))]
    if buttons:
        out["buttons"] = buttons
    else:
        out.pop("buttons", None)
    return out


def requested_slot_after(event: Dict[str, Any], current: Optional[str]) -> Optional[str]:
    """The form's requested slot after ``event`` (Rasa records it as a ``requested_slot`` slot event)."""
    if event.get("event") == "slot" and event.get("name") == "requested_slot":
        value = event.get("value")
        return value if isinstance(value, str) else None
    if event.get("event") in ("active_loop",) and not event.get("name"):
        return None
    return current


__all__: List[str] = ["sensitive_values", "scrub_text", "user_text", "bot_item", "requested_slot_after",
                      "SENSITIVE_SLOTS", "HIDDEN", "HIDDEN_EMAIL"]
