"""Wording of the bot's answers: jinja2 templates a store can override per store and per locale.

Look-up order for ``<name>.j2``: ``<data dir>/templates/<widget id>/<locale>/``,
``<data dir>/templates/<widget id>/``, then the built-in ``actions/templates/<locale>/`` and
``actions/templates/en/``. Autoescaping is on, so store- and shopper-supplied values can never add
markup, and templates are only ever loaded from files — values are data, never template source
(an order number like ``{{ 7*7 }}`` prints as typed). The widget shows text with ``textContent``, so
the final string is unescaped back to plain text for the text channel.
"""
from __future__ import annotations

import html
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, List, Optional

from jinja2 import ChoiceLoader, Environment, FileSystemLoader

BUILTIN = Path(__file__).with_name("templates")


def format_date(value: Any, now: Optional[datetime] = None) -> str:
    """``3 May`` (``3 May 2024`` when not this year); '' for missing values."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return ""
    if not isinstance(value, datetime):
        return ""
    now = now or datetime.now(timezone.utc)
    text = f"{value.day} {value.strftime('%B')}"
    return text if value.year == now.year else f"{text} {value.year}"


def format_money(amount: Any, currency: Optional[str] = None) -> str:
    """``49.90 EUR``; '' when the amount is missing or not a number."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return ""
    return f"{value} {currency}".strip() if currency else str(value)


def _loaders(override_root: Optional[Path], widget_id: str, locale: str) -> List[FileSystemLoader]:
    paths: List[Path] = []
    if override_root is not None:
        paths += [override_root / widget_id / locale, override_root / widget_id]
    paths += [BUILTIN / locale, BUILTIN / "en"]
    return [FileSystemLoader(str(p)) for p in paths if p.is_dir()]


@lru_cache(maxsize=256)
def environment(override_root: Optional[Path], widget_id: str, locale: str) -> Environment:
    """The template environment of one store and locale (cached)."""
    env = Environment(
        loader=ChoiceLoader(_loaders(override_root, widget_id, locale)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["date"] = format_date
    env.filters["money"] = format_money
    return env


def render(name: str, *, widget_id: str = "", locale: str = "en", override_root: Optional[Path] = None, **values: Any) -> str:
    """Render template ``name`` (without ``.j2``) to plain text with single spaces between lines."""
    safe_widget = widget_id if widget_id.replace("-", "").replace("_", "").isalnum() else ""
    safe_locale = locale if locale.isalpha() and len(locale) <= 5 else "en"
    template = environment(override_root, safe_widget, safe_locale).get_template(f"{name}.j2")
    text = template.render(**values)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return html.unescape("\n".join(line for line in lines if line))
