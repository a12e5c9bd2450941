"""A store's widget configuration, as the merchant reads and changes it (API and dashboard).

Changes may name any subset of the fields; every field is validated (:data:`WIDGET_SCHEMA`, then
origins, URLs and blanks) before anything is saved, and a change is recorded in the activity log.
The public, read-only part that the widget fetches belongs to the gateway.
"""
from __future__ import annotations

from typing import Any, Dict

from aiohttp import web
from sqlalchemy.orm import Session

from bot.core.db.models import WidgetConfig
from bot.services import activity
from bot.services.db import in_db
from bot.services.stores import default_widget, invalidate_widget_cache, iso, owned_store
from bot.services.validation import COLOR_RE, check, https_url, origin, unique, validation_error

MAX_ORIGINS = 20
MAX_QUICK_REPLIES = 6
POLICY_KEYS = ("shipping", "returns", "cancellation", "hours", "contact", "payment", "invoice")

_text = lambda lo, hi: {"type": "string", "minLength": lo, "maxLength": hi}  # noqa: E731

WIDGET_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "title": _text(1, 80),
        "greeting": _text(1, 500),
        "primary_color": {"type": "string", "pattern": COLOR_RE},
        "text_color": {"type": "string", "pattern": COLOR_RE},
        "position": {"type": "string", "enum": ["left", "right"]},
        "avatar_url": {"type": ["string", "null"], "maxLength": 500},
        "allowed_origins": {"type": "array", "maxItems": MAX_ORIGINS, "items": _text(8, 300)},
        "quick_replies": {"type": "array", "maxItems": MAX_QUICK_REPLIES, "items": {"oneOf": [
            _text(1, 60),
            {"type": "object", "additionalProperties": False, "required": ["title"],
             "properties": {"title": _text(1, 60), "payload": _text(1, 200)}},
        ]}},
        "policies": {
            "type": "object", "additionalProperties": False,
            "properties": {k: {"type": ["string", "null"], "maxLength": 2000} for k in POLICY_KEYS},
        },
        "locale": {"type": "string", "pattern": "^[a-z]{2}(-[A-Z]{2})?$"},
        "enabled": {"type": "boolean"},
    },
}


def widget_dict(widget: WidgetConfig, widget_id: str) -> Dict[str, Any]:
    policies = widget.policies if isinstance(widget.policies, dict) else {}
    return {
        "widget_id": widget_id,
        "title": widget.title,
        "greeting": widget.greeting,
        "primary_color": widget.primary_color,
        "text_color": widget.text_color,
        "position": widget.position,
        "avatar_url": widget.avatar_url,
        "allowed_origins": list(widget.allowed_origins or []),
        "quick_replies": _replies_out(widget.quick_replies),
        "policies": {k: policies.get(k) for k in POLICY_KEYS},
        "locale": widget.locale,
        "enabled": bool(widget.enabled),
        "updated_at": iso(widget.updated_at),
    }


def _replies_out(value: Any) -> list:
    out = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            item = {"title": item, "payload": item}
        if isinstance(item, dict) and isinstance(item.get("title"), str):
            out.append({"title": item["title"], "payload": item.get("payload") or item["title"]})
    return out


def _get(session: Session, merchant_id: int, store_id: int) -> Dict[str, Any]:
    store = owned_store(session, merchant_id, store_id)
    if store.widget is None:
        store.widget = default_widget()
        session.flush()
    return widget_dict(store.widget, store.widget_id)


def _clean(body: Dict[str, Any]) -> Dict[str, Any]:
    out = dict(body)
    if "allowed_origins" in out:
        out["allowed_origins"] = unique([origin(o, f"allowed_origins/{i}") for i, o in enumerate(out["allowed_origins"])])
    if "quick_replies" in out:
        replies, titles = [], []
        for i, item in enumerate(out["quick_replies"]):
            title = (item if isinstance(item, str) else item["title"]).strip()
            payload = (item.get("payload") if isinstance(item, dict) else None) or title
            if not title or not payload.strip():
                raise validation_error("quick replies must not be blank", f"quick_replies/{i}")
            if title not in titles:
                titles.append(title)
                replies.append({"title": title, "payload": payload.strip()})
        out["quick_replies"] = replies
    for key in ("title", "greeting"):
        if key in out:
            out[key] = out[key].strip()
            if not out[key]:
                raise validation_error("must not be blank", key)
    if out.get("avatar_url"):
        out["avatar_url"] = https_url(out["avatar_url"], "avatar_url")
    if "primary_color" in out:
        out["primary_color"] = out["primary_color"].lower()
    if "text_color" in out:
        out["text_color"] = out["text_color"].lower()
    return out


def _put(session: Session, merchant_id: int, store_id: int, changes: Dict[str, Any]) -> Dict[str, Any]:
    store = owned_store(session, merchant_id, store_id)
    if store.widget is None:
        store.widget = default_widget()
    widget = store.widget
    changed = []
    for key, value in changes.items():
        if key == "policies":
            merged = dict(widget.policies or {})
            merged.update(value)
            value = {k: merged.get(k) for k in POLICY_KEYS if merged.get(k)}
        if getattr(widget, key) != value:
            setattr(widget, key, value)
            changed.append(key)
    if changed:
        activity.record_activity(session, merchant_id, activity.CONFIG_CHANGE, "Widget settings changed", store.id,
                                 {"fields": sorted(changed)})
    session.flush()
    return widget_dict(widget, store.widget_id)


def clean_widget_changes(body: Dict[str, Any]) -> Dict[str, Any]:
    """``body`` checked against :data:`WIDGET_SCHEMA` and normalised; raises
    :class:`~bot.services.errors.FieldInvalid` naming the field (``policies/<key>``, ``quick_replies/<i>``)."""
    return _clean(check(WIDGET_SCHEMA, body))


async def get_widget_config(app: web.Application, merchant_id: int, store_id: int) -> Dict[str, Any]:
    """The widget configuration of the merchant's store (a default one is created when missing)."""
    return await in_db(app, _get, merchant_id, store_id)


async def update_widget_config(app: web.Application, merchant_id: int, store_id: int,
                               body: Dict[str, Any]) -> Dict[str, Any]:
    """Validate and save ``body`` (any subset of the fields); nothing is saved when a field is wrong."""
    changes = clean_widget_changes(body)
    result = await in_db(app, _put, merchant_id, store_id, changes)
    invalidate_widget_cache(app)
    return result
