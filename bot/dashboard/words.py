"""Plain-words rendering for merchants: store health, dates, activity types."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Optional

from bot.services import activity

PLATFORM_NAMES = {"woocommerce": "WooCommerce", "shopify": "Shopify"}

TYPE_LABELS = {
    activity.CONVERSATION: "Conversation started",
    activity.LOOKUP: "Order lookup",
    activity.LOCKOUT: "Lookups locked",
    activity.STORE_ERROR: "Store error",
    activity.REQUEST: "Shopper request",
    activity.HANDOFF: "Handoff to a person",
    activity.WEBHOOK: "Store update (webhook)",
    activity.CONNECT: "Store connected",
    activity.DISCONNECT: "Store disconnected",
    activity.CONFIG_CHANGE: "Widget settings changed",
    activity.WIDGET_SEEN: "Widget seen on the store",
}

OUTCOME_LABELS = {
    "shown": "Shown (verified)",
    "mismatch": "Verification failed",
    "not_found": "Unknown order number",
    "lockout": "Locked out",
    "store_error": "Store error",
    "not_visible": "Order not visible",
    "listed": "Recent orders listed",
    "need_postcode": "Postcode asked",
}


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform.capitalize())


def aware(value: Any) -> Optional[datetime]:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def day(value: Any) -> str:
    """``3 May`` (this year) or ``3 May 2023``."""
    when = aware(value)
    if when is None:
        return ""
    now = datetime.now(timezone.utc)
    return f"{when.day} {when:%b}" + ("" if when.year == now.year else f" {when.year}")


def when(value: Any) -> str:
    """``3 May, 14:05 UTC``."""
    moment = aware(value)
    return f"{day(moment)}, {moment:%H:%M} UTC" if moment else ""


def duration(seconds: Optional[float]) -> str:
    """``45 s``, ``3 min``, ``2.5 h``; ``—`` when there is nothing to measure."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{max(0, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def ago(value: Any) -> str:
    moment = aware(value)
    if moment is None:
        return "never"
    seconds = (datetime.now(timezone.utc) - moment).total_seconds()
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{round(seconds / 60)} minutes ago"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} hours ago"
    return f"{round(seconds / 86400)} days ago"


def _error_phrase(platform: str, text: str) -> str:
    name = platform_name(platform)
    code, _, rest = text.partition(":")
    code = code.strip()
    lowered = text.lower()
    if code in ("store_auth", "credentials_rejected") or "rejected" in lowered or "credentials" in lowered:
        what = "access token" if platform == "shopify" else "API keys"
        return f"{name} rejected the {what}"
    if code in ("store_unreachable", "circuit_open") or "not answer" in lowered or "could not be reached" in lowered:
        return f"{name} did not answer"
    if code in ("rate_limited",) or "rate" in lowered:
        return f"{name} asked TrulyBot to slow down"
    if code == "store_config":
        return f"{name}'s settings do not allow TrulyBot to work ({rest.strip() or 'check the store settings'})"
    if code in ("store_malformed", "malformed_response"):
        return f"{name} answered with something that is not its API"
    if code in ("keys_rejected",) or "authorization did not work" in lowered:
        return f"the keys {name} sent did not work"
    return f"{name} reported a problem ({text.strip()[:120]})"


def store_health(store: Dict[str, Any]) -> Dict[str, str]:
    """``{"level": ok|warn|bad|off, "text": ...}`` for one store of :func:`bot.api.stores.store_dict`."""
    health = store.get("health") or {}
    platform = store.get("platform", "")
    name = platform_name(platform)
    status = store.get("status")
    if status == "pending":
        return {"level": "warn", "text": f"Waiting for approval in {name}. Finish the approval, or connect again."}
    if status == "disabled":
        return {"level": "off", "text": "Disconnected: the bot does not answer for this store. Reconnect to turn it back on."}
    last_error, error_at, success_at = health.get("last_error"), aware(health.get("last_error_at")), aware(health.get("last_success_at"))
    if last_error and (success_at is None or (error_at and error_at >= success_at)):
        phrase = _error_phrase(platform, last_error)
        on = f" on {day(error_at)}" if error_at else ""
        if "rejected" in phrase or status == "error" or health.get("credentials_valid") is False:
            return {"level": "bad", "text": f"{phrase[0].upper()}{phrase[1:]}{on} — reconnect"}
        return {"level": "warn", "text": f"{phrase[0].upper()}{phrase[1:]}{on}; TrulyBot keeps checking"}
    if success_at:
        return {"level": "ok", "text": f"Working — last successful contact {ago(success_at)}"}
    return {"level": "warn", "text": "Not checked yet"}
