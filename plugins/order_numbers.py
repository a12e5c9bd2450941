"""Finding the order numbers a shopper wrote in free text.

One rule shared by the NLU model (the Rasa ``OrderNumberExtractor`` component) and the action
server (slot validation), so that both agree on what is an order number:

- 3–20 digits, leading zeros kept (``1001``, ``00123842``, ``113542617735902``);
- a 1–4 letter prefix, with or without a dash (``WC-5521``, ``EU1001``);
- glued to an order word, the digits (``order1001`` -> ``1001``);
- digit groups joined by single dashes or spaces (``1234-5678``, ``123 456 789``);
- the ``#`` of ``#1001`` and the ``No.`` of ``No. 1001`` are not part of the value.

Not order numbers: phone numbers (after a phone word, with ``+`` or ``(0xx)``, or grouped like
``555-123-4567``), dates and times (``2024-03-05``, ``05/03/2024``, ``march 2024``, ``10:30``),
prices (currency symbol or word, decimals), percentages, quantities (``500 units``, ``300g``),
postcodes (digits after a postcode word, ZIP+4), and anything inside an email or a longer word.
Known limit: a bare number with no context (``90210``) is always an order number; the order form
decides from the question it asked.
"""
from __future__ import annotations

import re
from typing import List, NamedTuple

MIN_DIGITS = 3
MAX_DIGITS = 20

# A candidate: optional letter prefix, then digit groups. Matched case-insensitively.
_CANDIDATE = re.compile(
    r"(?<![\w@&=/\\])(?<!\w-)"               # not inside a word, an email, a URL or a path
    r"(?:(?:order|ordr|oder|purchase|purchse)(?=\d)|[a-z]{1,4}-?)?"  # order1001 / WC- / EU
    r"\d+(?:(?:-| )\d+)*"                    # digit groups
    r"(?![\w@])",
    re.IGNORECASE,
)
_ORDER_WORDS = (
    r"(?:order|ordr|oder|orde|ordder|ordedr|purchase|purchse|purhcase|purhase|ref|reference|"
    r"confirmation|conf|transaction|invoice|no|nr|num|number|numbr|id|#)"
)
_ORDER_BEFORE = re.compile(_ORDER_WORDS + r"\W{0,3}(?:(?:is|was|number|no|nr|num|id)\W{0,3})?$",
                           re.IGNORECASE)
_PHONE_BEFORE = re.compile(
    r"(?:phone|tel|telephone|mobile|cell|cellphone|call|ring|text|whatsapp|fax|landline)"
    r"(?:\s+(?:number|no|nr|num|#))?\W{0,3}(?:(?:is|me|us|on|at)\W{1,3}){0,2}$",
    re.IGNORECASE,
)
_POSTCODE_BEFORE = re.compile(
    r"(?:zip|zipcode|zip code|postcode|post code|postal code|postal|plz|pin code|pincode)"
    r"\W{0,3}(?:(?:is|was)\W{1,3})?$",
    re.IGNORECASE,
)
_MONTHS = (r"(?:jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|"
           r"sep|sept|september|oct|october|nov|november|dec|december)")
_MONTH_BEFORE = re.compile(_MONTHS + r"\.?\s+(?:\d{1,2}(?:st|nd|rd|th)?,?\s+)?$", re.IGNORECASE)
_MONTH_AFTER = re.compile(r"^\s+" + _MONTHS + r"\b", re.IGNORECASE)
_CURRENCY_BEFORE = re.compile(r"(?:[$£€¥₹]|\b(?:usd|eur|gbp|cad|aud|chf|rs|inr))\s?$", re.IGNORECASE)
_UNIT_AFTER = re.compile(
    r"^\s?(?:[$£€%]|x\b|(?:usd|eur|gbp|cad|aud|dollars?|euros?|pounds?|bucks|quid|cents?|p|"
    r"percent|pcs|pieces?|items?|units?|pairs?|boxes|box|packs?|bottles?|kg|g|gr|grams?|lbs?|oz|"
    r"ml|l|litres?|liters?|cm|mm|m|km|miles?|inch|inches|in|ft|feet|days?|weeks?|months?|years?|"
    r"yrs?|hours?|hrs?|minutes?|mins?|seconds?|secs?|times|people|calories|kcal|gb|tb|mb|mah|"
    r"w|watts?|v|volts?|rpm|mph|km/h|sq|st|nd|rd|th|am|pm)\b)",
    re.IGNORECASE,
)
_NUMBER_CONTINUES = re.compile(r"^(?:[.,:/]\d|%|\)\s?\d)")  # decimals, times, dates, (020) 7946
_NUMBER_BEFORE = re.compile(r"(?:\d[.,:/]|\+|\(\d{1,4}\)\s?)$")  # 1.5, 16:9, +44, (020) 7946
_DATE = re.compile(r"^(?:19|20)\d\d-\d{1,2}-\d{1,2}$|^\d{1,2}-\d{1,2}-(?:19|20)?\d\d$")
_ZIP4 = re.compile(r"^\d{5}-\d{4}$")
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_PHONE_GROUPS = re.compile(r"^(?:\d{3}[- ]\d{3}[- ]\d{4}|\d{3}[- ]\d{4}|0\d{2,4}[- ]\d{3,4}[- ]?\d{3,4}"
                           r"|\d{2}[- ]\d{2}[- ]\d{2}[- ]\d{2}(?:[- ]\d{2})?)$")
_LETTERS = re.compile(r"^[a-z]+", re.IGNORECASE)
_GLUED_ORDER_WORD = re.compile(r"^(?:order|ordr|oder|purchase|purchse)(?=\d)", re.IGNORECASE)
_QUANTITY_BEFORE = re.compile(r"(?:\bx|\bqty|\bquantity|\bsize)\W{0,2}$", re.IGNORECASE)


class Span(NamedTuple):
    """An order number found in a text: ``text[start:end] == value``."""

    start: int
    end: int
    value: str


def find_order_numbers(text: str) -> List[Span]:
    """Every order number in ``text``, left to right, each value exactly as written (no ``#``)."""
    if not isinstance(text, str) or not text:
        return []
    spans: List[Span] = []
    for m in _CANDIDATE.finditer(text):
        glued = _GLUED_ORDER_WORD.match(m.group())
        first = m.start() + (glued.end() if glued else 0)  # "order1001" -> "1001"
        for start, end in _trimmed(text, first, m.end()):
            if _is_order_number(text, start, end):
                spans.append(Span(start, end, text[start:end]))
    return spans


def _trimmed(text: str, start: int, end: int) -> List[tuple]:
    """Splits a space-joined candidate whose groups are not one number (``1001 2 items``)."""
    value = text[start:end]
    if " " not in value:
        return [(start, end)]
    groups = value.split(" ")
    digit_groups = [g for g in groups if g.isdigit()]
    # spaced groups are one number only when every group after the first has 3+ digits
    if len(digit_groups) == len(groups) and all(len(g) >= 3 for g in groups[1:]):
        return [(start, end)]
    out, pos = [], start
    for g in groups:
        out.append((pos, pos + len(g)))
        pos += len(g) + 1
    return out


def _is_order_number(text: str, start: int, end: int) -> bool:
    value = text[start:end]
    prefix = _LETTERS.match(value)
    digits = value[prefix.end():] if prefix else value
    digits = digits.lstrip("-")
    if not digits or not digits[0].isdigit():
        return False
    n_digits = sum(c.isdigit() for c in digits)
    if not MIN_DIGITS <= n_digits <= MAX_DIGITS:
        return False
    if prefix and (" " in digits or not digits.replace("-", "").isdigit()):
        return False
    before, after = text[:start], text[end:]
    if _NUMBER_CONTINUES.match(after) or _NUMBER_BEFORE.search(before):
        return False
    if before.endswith(".") and before[-2:-1].isalnum() and not re.search(r"\bno\.$", before, re.I):
        return False                                            # part of a domain or a version
    if prefix:
        return not _UNIT_AFTER.match(after) and not _CURRENCY_BEFORE.search(before)
    window = before[-40:]
    has_order_word = bool(_ORDER_BEFORE.search(window))
    if _CURRENCY_BEFORE.search(before) or _UNIT_AFTER.match(after) or _QUANTITY_BEFORE.search(window):
        return False
    if _PHONE_GROUPS.match(digits):
        return False
    if _POSTCODE_BEFORE.search(window) or _ZIP4.match(digits):
        return False
    if _DATE.match(digits):
        return False
    if _YEAR.match(digits) and (_MONTH_BEFORE.search(window) or _MONTH_AFTER.match(after)
                                or re.search(r"\b(?:in|since|from|of|year)\s+$", window, re.I)):
        return False
    if _MONTH_AFTER.match(after) and n_digits <= 2:
        return False
    if has_order_word:
        return True
    if _PHONE_BEFORE.search(window):
        return False
    return True
