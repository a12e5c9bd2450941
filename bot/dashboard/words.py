"""Plain-words rendering for merchants: store health, dates, activity types."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Optional

from bot.services import activity

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
    """The installed platform's own display name (the registry name, capitalised, when not installed)."""
    from plugins.manager import get_platforms

    cls = get_platforms().get(platform)
    return (getattr(cls, "display_name", "") if cls is not None else "") or platform.capitalize()


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


#: how the dashboard words each store error code (``{name}``: the platform's display name)
STORE_ERROR_WORDS = {
    "store_auth": "{name} rejected TrulyBot's credentials",
    "credentials_rejected": "{name} rejected TrulyBot's credentials",
    "credentials_unreadable": "TrulyBot cannot read the stored credentials of this {name} store",
    "store_unreachable": "{name} did not answer",
    "circuit_open": "{name} did not answer",
    "timeout": "{name} did not answer",
    "rate_limited": "{name} asked TrulyBot to slow down",
    "store_rate_limited": "{name} asked TrulyBot to slow down",
    "store_address_refused": "the {name} store's address is not a public internet address",
    "store_config": "{name}'s settings do not allow TrulyBot to work ({detail})",
    "store_malformed": "{name} answered with something that is not its API",
    "malformed_response": "{name} answered with something that is not its API",
    "keys_rejected": "the credentials {name} sent did not work",
}
#: codes that mean the merchant must reconnect
RECONNECT_CODES = frozenset({"store_auth", "credentials_rejected", "credentials_unreadable", "keys_rejected"})


def store_error_phrase(platform: str, code: Optional[str], detail: Optional[str]) -> str:
    """The words for a store error recorded as ``code`` and ``detail`` (the one place they are made)."""
    template = STORE_ERROR_WORDS.get(code or "", "{name} reported a problem ({detail})")
    return template.format(name=platform_name(platform), detail=(detail or code or "unknown").strip()[:120])


def store_health(store: Dict[str, Any]) -> Dict[str, str]:
    """``{"level": ok|warn|bad|off, "text": ...}`` for one store of :func:`bot.services.stores.store_dict`."""
    health = store.get("health") or {}
    platform = store.get("platform", "")
    name = platform_name(platform)
    status = store.get("status")
    if status == "pending":
        return {"level": "warn", "text": f"Waiting for approval in {name}. Finish the approval, or connect again."}
    if status == "disabled":
        return {"level": "off", "text": "Disconnected: the bot does not answer for this store. Reconnect to turn it back on."}
    code, detail = health.get("last_error_code"), health.get("last_error")
    error_at, success_at = aware(health.get("last_error_at")), aware(health.get("last_success_at"))
    if (code or detail) and (success_at is None or (error_at and error_at >= success_at)):
        phrase = store_error_phrase(platform, code, detail)
        on = f" on {day(error_at)}" if error_at else ""
        if code in RECONNECT_CODES or status == "error" or health.get("credentials_valid") is False:
            return {"level": "bad", "text": f"{phrase[0].upper()}{phrase[1:]}{on} — reconnect"}
        return {"level": "warn", "text": f"{phrase[0].upper()}{phrase[1:]}{on}; TrulyBot keeps checking"}
    if success_at:
        return {"level": "ok", "text": f"Working — last successful contact {ago(success_at)}"}
    return {"level": "warn", "text": "Not checked yet"}
