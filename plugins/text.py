"""Cleaning and normalizing values that come from shoppers or from store responses.

Store responses are untrusted input: strings may carry control characters, zero-width marks,
odd unicode digits or be absurdly long. Every helper here returns a cleaned value or ``None``;
none of them raises on bad input except :func:`normalize_order_number`, which raises
``ValueError`` for something that cannot be an order number.
"""
from __future__ import annotations

import ipaddress

import re
import unicodedata
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

_WS = re.compile(r"\s+")
_TRACKING_ALLOWED = re.compile(r"[^A-Za-z0-9\-]")
_ORDER_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_/.]{0,39}$")
_POSTCODE_STRIP = re.compile(r"[\s\-]")
_EMAIL = re.compile(r"^[^@\s\"'<>(),;:\\/]{1,64}@[^@\s\"'<>(),;:\\/]{1,253}\.[^@\s\"'<>(),;:\\/.]{2,63}$")
_DIGITS_TAIL = re.compile(r"^([A-Z]*?)(\d+)$")


def _strip_controls(text: str) -> str:
    """Drop control (Cc), format (Cf: zero-width, bidi) and unassigned/surrogate characters."""
    return "".join(
        ch if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn") else (" " if ch in "\t\n\r" else "")
        for ch in text
    )


def clean_text(value: Any, max_length: int = 200) -> Optional[str]:
    """A display-safe single-line string: NFC, no control characters, whitespace collapsed."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = _WS.sub(" ", _strip_controls(unicodedata.normalize("NFC", value))).strip()
    if not text:
        return None
    if len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text


def clean_tracking_number(value: Any) -> Optional[str]:
    """Tracking numbers: NFKC (full-width digits become ASCII), only ``A-Z a-z 0-9 -`` kept, ≤ 64."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = _TRACKING_ALLOWED.sub("", unicodedata.normalize("NFKC", value))
    text = text.strip("-")
    if not text or len(text) > 64:
        return None
    return text


def clean_url(value: Any, max_length: int = 2048) -> Optional[str]:
    """An absolute ``http``/``https`` URL without whitespace or control characters, else ``None``."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or len(url) > max_length:
        return None
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in url):
        return None
    lowered = url.lower()
    if not (lowered.startswith("https://") or lowered.startswith("http://")):
        return None
    if len(url.split("://", 1)[1].split("/", 1)[0]) == 0:
        return None
    return url


def normalize_order_number(typed: Any) -> str:
    """The order number a shopper typed, cleaned: ``" #1001 "`` → ``"1001"``, ``"wc-5521"`` kept.

    Raises ``ValueError`` when the text cannot be an order number (empty, too long, odd
    characters); callers turn that into :class:`~plugins.errors.OrderNotFound` without asking
    the store.
    """
    if isinstance(typed, int) and not isinstance(typed, bool):
        typed = str(typed)
    if not isinstance(typed, str):
        raise ValueError("order number must be text")
    text = _strip_controls(typed).strip().lstrip("#№").strip()  # before NFKC, which turns № into "No"
    text = unicodedata.normalize("NFKC", text).strip().lstrip("#").strip()
    text = _WS.sub("", text)
    if not _ORDER_NUMBER.match(text):
        raise ValueError("not an order number")
    return text


def order_number_key(number: str) -> str:
    """Comparison key: upper case, only letters and digits, leading zeros of a pure number dropped."""
    key = "".join(ch for ch in unicodedata.normalize("NFKC", number).upper() if ch.isalnum() and ch.isascii())
    if key.isdigit():
        key = key.lstrip("0") or "0"
    return key


def order_number_matches(typed: str, actual: str) -> bool:
    """Does the number a shopper typed designate the order displayed as ``actual``?

    ``1001``, ``#1001``, ``01001`` match ``1001``; ``WC-5521``, ``wc5521``, ``5521`` and
    ``005521`` match ``WC-5521`` (a letters-only prefix may be omitted); ``1001`` does not match
    ``11001`` or ``1001-A``.
    """
    typed_key, actual_key = order_number_key(typed), order_number_key(actual)
    if not typed_key or not actual_key:
        return False
    if typed_key == actual_key:
        return True
    actual_parts = _DIGITS_TAIL.match(actual_key)
    typed_parts = _DIGITS_TAIL.match(typed_key)
    if not actual_parts or not typed_parts:
        return False
    same_digits = actual_parts.group(2).lstrip("0") == typed_parts.group(2).lstrip("0")
    prefix_ok = typed_parts.group(1) in ("", actual_parts.group(1))
    return same_digits and prefix_ok


def digits_of(number: str) -> Optional[str]:
    """The trailing digits of an order number without leading zeros (``WC-005521`` → ``5521``)."""
    match = _DIGITS_TAIL.match(order_number_key(number))
    if not match:
        return None
    return match.group(2).lstrip("0") or "0"


def normalize_email(value: Any) -> Optional[str]:
    """Lower-cased, trimmed email if it looks like one, else ``None``."""
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value).strip().lower()
    if len(text) > 254 or not _EMAIL.match(text):
        return None
    return text


def normalize_postcode(value: Any) -> Optional[str]:
    """Upper case without spaces or hyphens (``"sw1a 1aa"`` → ``"SW1A1AA"``), else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = _POSTCODE_STRIP.sub("", _strip_controls(unicodedata.normalize("NFKC", value))).upper()
    if not text or len(text) > 16:
        return None
    return text


_PHONE_CHARS = re.compile(r"^[\d\s+\-().]+$")


def phone_digits(value: Any) -> Optional[str]:
    """The ASCII digits of a phone number (``"+1 (415) 555-0100"`` → ``"14155550100"``), else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > 40:
        return None
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", value) if ch.isascii() and ch.isdigit())
    return digits or None


def looks_like_phone_digits(value: Any) -> bool:
    """True for text made only of digits and phone punctuation (``"0100"``, ``"555-0100"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and bool(_PHONE_CHARS.match(unicodedata.normalize("NFKC", value).strip() or "x"))


def normalize_last_name(value: Any) -> Optional[str]:
    """A surname for comparison: NFKD without accents, letters only, upper case
    (``"García-López"`` → ``"GARCIALOPEZ"``), else ``None``."""
    if not isinstance(value, str) or len(value) > 100:
        return None
    decomposed = unicodedata.normalize("NFKD", _strip_controls(value))
    letters = "".join(ch for ch in decomposed if ch.isalpha()).upper()
    return letters or None


def parse_datetime(value: Any, *, assume_utc: bool = True) -> Optional[datetime]:
    """An aware datetime from an ISO 8601 string (``Z`` accepted), else ``None``.

    Naive values are taken as UTC when ``assume_utc`` (WooCommerce ``*_gmt`` fields are naive).
    """
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        if not assume_utc:
            return None
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def to_decimal(value: Any) -> Optional[Decimal]:
    """A finite Decimal from a money string or number, else ``None``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, (int, Decimal)):
        value = str(value)
    if not isinstance(value, str) or len(value) > 32:
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return number


def to_int(value: Any, default: Optional[int] = None) -> Optional[int]:
    """An int from an int or a string of digits, else ``default``."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return default


def is_loopback_host(host: Optional[str]) -> bool:
    """True for ``localhost``, ``*.localhost`` and loopback IP literals (where plain http is allowed)."""
    host = (host or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
