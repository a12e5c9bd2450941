"""A store's handoff settings (opening hours, time zone, claim timeout) and the ticket it falls back to.

The settings live in the store's ``config["handoff"]``::

    {"timezone": "Europe/Berlin",
     "hours": {"mon": ["09:00-17:00"], "tue": ["09:00-12:00", "13:00-17:00"], ...},
     "claim_timeout_minutes": 5,
     "notify_emails": ["team@example.com"],
     "webhook_url": "https://hooks.example.com/..."}

No ``hours`` means always open. Outside the hours (or when nobody claims a waiting conversation
within ``claim_timeout_minutes``) the handoff becomes a *ticket*: the gateway asks for the
shopper's email (validated) and question, and the inbox keeps them to answer by email.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

from urllib.parse import urlsplit

from sqlalchemy.orm import Session
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from plugins.netguard import private_host_reason
from plugins.text import normalize_email

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
MAX_TIMEOUT_MINUTES = 24 * 60

ASK_EMAIL = "What email address should the team answer you at?"
BAD_EMAIL = "That does not look like an email address. Please type it like name@example.com."
ASK_QUESTION = "Thanks. What is your question? Write it in one message."
TICKET_DONE = "Thank you. The team has your question and will answer you at {email}."


def parse_span(text: str) -> Tuple[time, time]:
    """``"09:00-17:30"`` → (09:00, 17:30); ``24:00`` ends a span at midnight. ``ValueError`` if malformed."""
    match = _SPAN.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"opening hours look like 09:00-17:00, not {text!r}")
    start = time(int(match.group(1)), int(match.group(2)))
    end = time.max if match.group(3) == "24" else time(int(match.group(3)), int(match.group(4)))
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


def webhook_url(url: Any, *, allow_loopback: bool = False) -> str:
    """A notification webhook URL: https, no credentials, a host that can be a public address
    (the same text-level check as store URLs; the address connected to is checked again when the
    webhook is sent). Plain http and loopback hosts only with ``allow_loopback`` (demo mode)."""
    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > 500:
        raise ValueError("webhook_url must be an http(s) URL")
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError:
        raise ValueError("webhook_url is not a valid URL") from None
    if parts.username or parts.password:
        raise ValueError("webhook_url must not contain credentials")
    reason = private_host_reason(parts.hostname or "", allow_loopback=allow_loopback)
    if reason:
        raise ValueError(f"webhook_url {reason}")
    if parts.scheme != "https" and not allow_loopback:
        raise ValueError("webhook_url must be an https:// URL")
    return url


def validate(raw: Any, *, allow_loopback: bool = False) -> Dict[str, Any]:
    """Validated handoff settings for a store's config; ``ValueError`` naming the bad field.
    ``allow_loopback`` (demo mode) lets the webhook point at a local http listener."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("handoff settings must be an object")
    out: Dict[str, Any] = {}
    tz = raw.get("timezone")
    if tz is not None:
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {tz!r}") from None
        out["timezone"] = str(tz)
    hours = raw.get("hours")
    if hours is not None:
        if not isinstance(hours, dict) or any(day not in DAYS for day in hours):
            raise ValueError("hours must map mon..sun to lists like [\"09:00-17:00\"]")
        out["hours"] = {}
        for day, spans in hours.items():
            if not isinstance(spans, list) or len(spans) > 6:
                raise ValueError(f"hours of {day} must be a list of up to 6 spans")
            for span in spans:
                parse_span(span)
            out["hours"][day] = [s.strip() for s in spans]
    timeout = raw.get("claim_timeout_minutes")
    if timeout is not None:
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 0 < timeout <= MAX_TIMEOUT_MINUTES:
            raise ValueError(f"claim_timeout_minutes must be 1 to {MAX_TIMEOUT_MINUTES}")
        out["claim_timeout_minutes"] = timeout
    emails = raw.get("notify_emails")
    if emails is not None:
        if not isinstance(emails, list) or len(emails) > 10 or any(normalize_email(e) is None for e in emails):
            raise ValueError("notify_emails must be a list of up to 10 email addresses")
        out["notify_emails"] = [normalize_email(e) for e in emails]
    url = raw.get("webhook_url")
    if url is not None and url != "":
        out["webhook_url"] = webhook_url(url, allow_loopback=allow_loopback)
    return out


@dataclass(frozen=True)
class HandoffSettings:
    """A store's handoff settings, parsed."""

    tz: Any = timezone.utc
    hours: Optional[Dict[int, List[Tuple[time, time]]]] = None
    claim_timeout_minutes: Optional[int] = None
    notify_emails: Tuple[str, ...] = field(default_factory=tuple)
    webhook_url: Optional[str] = None

    @classmethod
    def from_store(cls, config: Any) -> "HandoffSettings":
        """Settings from ``config["handoff"]`` (invalid parts are ignored: the chat must go on)."""
        raw = config if isinstance(config, dict) else {}
        try:
            tz: Any = ZoneInfo(raw["timezone"]) if isinstance(raw.get("timezone"), str) else timezone.utc
        except (ZoneInfoNotFoundError, ValueError):
            tz = timezone.utc
        hours = None
        if isinstance(raw.get("hours"), dict):
            hours = {}
            for index, day in enumerate(DAYS):
                spans = []
                for span in raw["hours"].get(day) or []:
                    try:
                        spans.append(parse_span(span))
                    except ValueError:
                        continue
                hours[index] = spans
        timeout = raw.get("claim_timeout_minutes")
        return cls(tz, hours, timeout if isinstance(timeout, int) and timeout > 0 else None,
                   tuple(e for e in raw.get("notify_emails") or () if isinstance(e, str)),
                   raw.get("webhook_url") if isinstance(raw.get("webhook_url"), str) else None)

    def open_now(self, now: Optional[datetime] = None) -> bool:
        """True when the team is in (always, when no hours are set)."""
        if self.hours is None:
            return True
        local = (now or datetime.now(timezone.utc)).astimezone(self.tz)
        moment = local.time()
        return any(start <= moment < end or (end == time.max and moment >= start)
                   for start, end in self.hours.get(local.weekday(), []))

    def next_opening(self, now: Optional[datetime] = None) -> Optional[datetime]:
        """When the team is next in (local time), within a week; None if never."""
        if self.hours is None:
            return None
        local = (now or datetime.now(timezone.utc)).astimezone(self.tz)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            for start, _ in sorted(self.hours.get(day.weekday(), [])):
                candidate = datetime.combine(day, start, tzinfo=self.tz)
                if candidate > local:
                    return candidate
        return None

    def offline_message(self, now: Optional[datetime] = None) -> str:
        """What the shopper reads when nobody can answer live: when someone will, and what to send."""
        opening = self.next_opening(now)
        when = ""
        if opening is not None:
            when = f" They are back {opening.strftime('%A %H:%M')} ({getattr(opening.tzinfo, 'key', 'UTC')})."
        return f"The team is not available right now.{when} Leave your email and question here and they will answer you by email. {ASK_EMAIL}"

    def closes_at(self, now: Optional[datetime] = None) -> Optional[datetime]:
        """When the current opening span ends (local time); None when closed now or always open."""
        if self.hours is None:
            return None
        local = (now or datetime.now(timezone.utc)).astimezone(self.tz)
        moment = local.time()
        for start, end in self.hours.get(local.weekday(), []):
            if start <= moment < end or (end == time.max and moment >= start):
                return datetime.combine(local.date(), end, tzinfo=self.tz)
        return None

    def timeout_message(self, now: Optional[datetime] = None) -> str:
        """What the shopper reads when nobody claimed the conversation in time: when the team will
        answer (today before closing, or at the next opening), and that it will be by email."""
        closing = self.closes_at(now)
        if closing is not None:
            end = "midnight" if closing.time() == time.max else closing.strftime("%H:%M")
            when = f" They usually answer the same day, before {end} ({getattr(self.tz, 'key', 'UTC')})."
        else:
            opening = self.next_opening(now)
            when = (f" They are back {opening.strftime('%A %H:%M')} ({getattr(opening.tzinfo, 'key', 'UTC')})."
                    if opening is not None else "")
        return (f"Nobody from the team could join the chat yet.{when} Leave your email and question here and they "
                f"will answer you by email. {ASK_EMAIL}")


def start_collecting(session: Session, handoff_id: int) -> None:
    """Mark a ticket as waiting for the shopper's email."""
    from bot.core.db.models import Handoff

    row = session.get(Handoff, handoff_id)
    if row is not None:
        row.context = {**(row.context or {}), "collect": "email"}


def collect_step(session: Session, handoff_id: int, text: str) -> List[Dict[str, Any]]:
    """Take one shopper message of a ticket: the email (validated), then the question. Returns the
    bot's answer (empty once both are kept: later messages are added to the question)."""
    from bot.core.db.models import Handoff

    row = session.get(Handoff, handoff_id)
    if row is None:
        return []
    step = (row.context or {}).get("collect")
    if step == "email":
        email = normalize_email(text.replace(" ", ""))
        if email is None:
            return [{"text": BAD_EMAIL}]
        row.email = email
        row.context = {**(row.context or {}), "collect": "question"}
        return [{"text": ASK_QUESTION}]
    if step == "question":
        row.question = text[:4000]
        row.context = {**(row.context or {}), "collect": None}
        return [{"text": TICKET_DONE.format(email=row.email)}]
    row.question = ((row.question + "\n") if row.question else "") + text[:2000]
    row.question = row.question[:8000]
    return []


async def collect(app: Any, handoff_id: int, text: str) -> List[Dict[str, Any]]:
    """:func:`collect_step` in a worker thread."""
    from bot.services.db import in_db

    return await in_db(app, collect_step, handoff_id, text)
