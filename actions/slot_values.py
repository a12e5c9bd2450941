"""Cleaning what the shopper typed into slot values (order number, email, postcode, second fact)."""
from __future__ import annotations

import re
from typing import Any, Optional

from plugins.order_numbers import MAX_DIGITS, MIN_DIGITS
from plugins.text import looks_like_phone_digits, normalize_email, normalize_last_name, normalize_order_number, normalize_postcode, phone_digits

MAX_SLOT_CHARS = 200
_POSTCODE_SHAPE = re.compile(r"^[A-Z0-9]{3,10}$")
_BARE_NUMBER = re.compile(rf"^\s*#?\s*[0-9]{{{MIN_DIGITS},{MAX_DIGITS}}}\s*$")


def clean_order_number(value: Any) -> Optional[str]:
    """``" #1001 "`` → ``"1001"``; None for anything that cannot be an order number."""
    if isinstance(value, list):
        value = value[-1] if value else None
    if not isinstance(value, (str, int)) or len(str(value)) > MAX_SLOT_CHARS:
        return None
    try:
        return normalize_order_number(value)
    except ValueError:
        return None


def clean_email(value: Any) -> Optional[str]:
    """Lower-case trimmed email, or None."""
    if isinstance(value, list):
        value = value[-1] if value else None
    if not isinstance(value, str) or len(value) > MAX_SLOT_CHARS:
        return None
    return normalize_email(value.replace(" ", ""))


def clean_postcode(value: Any) -> Optional[str]:
    """Upper-case postcode without spaces/hyphens (3-10 letters and digits), or None."""
    if isinstance(value, list):
        value = value[-1] if value else None
    if not isinstance(value, (str, int)) or len(str(value)) > MAX_SLOT_CHARS:
        return None
    text = normalize_postcode(value)
    return text if text and _POSTCODE_SHAPE.match(text) else None


def is_bare_number(text: Optional[str]) -> bool:
    """True for a message that is only a number (``"90210"``, ``"# 1002"``)."""
    return bool(text) and bool(_BARE_NUMBER.match(text or ""))


def clean_second_fact(value: Any) -> Optional[str]:
    """A billing last name (kept as typed, trimmed) or phone digits (digits only, at least 4); else None."""
    if isinstance(value, list):
        value = value[-1] if value else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > MAX_SLOT_CHARS:
        return None
    if looks_like_phone_digits(value):
        digits = phone_digits(value)
        return digits if digits and len(digits) >= 4 else None
    text = " ".join(value.split())
    return text if normalize_last_name(text) and len(text) <= 60 else None
