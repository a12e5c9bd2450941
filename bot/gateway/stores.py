"""What the gateway needs to know about a store, read from the app database and cached briefly."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy.orm import Session, sessionmaker

from bot.services.stores import store_by_widget_id

_COLOR = "#0123456789abcdefABCDEF"
#: Quick-start buttons of a widget whose config has none: plain text, understood by the NLU model.
DEFAULT_QUICK_REPLIES = (("Track my order", "Track my order"), ("Return or refund", "Return or refund"),
                         ("Talk to a person", "Talk to a person"))


@dataclass(frozen=True)
class WidgetStore:
    """A store's public widget facts (immutable snapshot)."""

    id: int
    widget_id: str
    platform: str
    name: str
    active: bool
    allowed_origins: Tuple[str, ...]
    title: str
    greeting: str
    primary_color: str
    text_color: str
    position: str
    avatar_url: Optional[str]
    quick_replies: Tuple[Tuple[str, str], ...]
    locale: str
    #: ``config["handoff"]`` of the store (see :mod:`bot.services.handoff_hours`).
    handoff: Any = None

    def public_config(self, socket_url: str) -> Dict[str, Any]:
        """Only what the widget needs to render and connect."""
        return {
            "widget_id": self.widget_id,
            "store_name": self.name,
            "platform": self.platform,
            "title": self.title,
            "greeting": self.greeting,
            "primary_color": self.primary_color,
            "text_color": self.text_color,
            "position": self.position,
            "avatar_url": self.avatar_url,
            "quick_replies": [{"title": t, "payload": p} for t, p in self.quick_replies],
            "locale": self.locale,
            "socket_url": socket_url,
        }


def _color(value: Any, default: str) -> str:
    if isinstance(value, str) and value.startswith("#") and len(value) in (4, 7, 9) and all(c in _COLOR for c in value):
        return value
    return default


def _avatar(value: Any) -> Optional[str]:
    if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 500:
        return value
    return None


def _quick_replies(value: Any) -> Tuple[Tuple[str, str], ...]:
    out: List[Tuple[str, str]] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict) and isinstance(item.get("title"), str) and item["title"].strip():
            payload = item.get("payload")
            title = item["title"].strip()[:80]
            out.append((title, payload[:200] if isinstance(payload, str) and payload else title))
    return tuple(out[:8]) or DEFAULT_QUICK_REPLIES


def _load(sessions: "sessionmaker[Session]", widget_id: str) -> Optional[WidgetStore]:
    with sessions() as session:
        store = store_by_widget_id(session, widget_id)
        if store is None:
            return None
        widget = store.widget
        enabled = widget is not None and bool(widget.enabled)
        return WidgetStore(
            id=store.id,
            widget_id=store.widget_id,
            platform=store.platform,
            name=store.display_name or "",
            active=store.status == "active" and enabled,
            allowed_origins=tuple(o.rstrip("/") for o in (widget.allowed_origins if widget else None) or [] if isinstance(o, str)),
            title=(widget.title if widget else None) or "Order help",
            greeting=(widget.greeting if widget else None) or "",
            primary_color=_color(widget.primary_color if widget else None, "#4f46e5"),
            text_color=_color(widget.text_color if widget else None, "#ffffff"),
            position="left" if widget is not None and widget.position == "left" else "right",
            avatar_url=_avatar(widget.avatar_url if widget else None),
            quick_replies=_quick_replies(widget.quick_replies if widget else None),
            locale=(widget.locale if widget else None) or "en",
            handoff=(store.config or {}).get("handoff") if isinstance(store.config, dict) else None,
        )


class StoreCache:
    """Widget id → :class:`WidgetStore`, cached for a few seconds (misses too)."""

    def __init__(self, sessions: "sessionmaker[Session]", ttl: float) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._cache: Dict[str, Tuple[float, Optional[WidgetStore]]] = {}

    async def get(self, widget_id: object) -> Optional[WidgetStore]:
        if not isinstance(widget_id, str) or not 0 < len(widget_id) <= 64:
            return None
        now = time.monotonic()
        hit = self._cache.get(widget_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        loop = asyncio.get_running_loop()
        store = await loop.run_in_executor(None, _load, self._sessions, widget_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[widget_id] = (now + self._ttl, store)
        return store

    def clear(self) -> None:
        self._cache.clear()
