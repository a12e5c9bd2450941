"""The dashboard's database reads: aggregated, indexed SQL only (no Python loop over activity rows).

Every query is limited to the signed-in merchant (``user_id``) and to stores it owns; analytics
filter on ``store_id IN (...) AND activity_type = ... AND created_at >= ...`` so they run on the
``(store_id, activity_type, created_at)`` index and GROUP BY in the database.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from bot.services import activity
from bot.core.db.models import Handoff, Merchant, MerchantAgent, MerchantToken, StoreIntegration, UserActivity

SEEN_RECENT = timedelta(days=7)
LOOKUP_TYPES = (activity.LOOKUP, activity.LOCKOUT, activity.STORE_ERROR)
OUTCOMES_SHOWN = ("shown", "mismatch", "not_found", "lockout", "store_error", "not_visible", "listed")


def session_identity(session: Session, merchant_id: int, token_id: Optional[int]) -> Optional[Dict[str, Any]]:
    """Who is signed in while the session's token is valid, else None (revoked token or removed
    team member = signed out): ``{"id", "name", "merchant_name", "role", "agent_id"}``."""
    row = session.execute(
        select(Merchant.name, MerchantToken.revoked_at, MerchantToken.agent_id)
        .join(MerchantToken, MerchantToken.merchant_id == Merchant.id)
        .where(Merchant.id == merchant_id, MerchantToken.id == token_id)
    ).first()
    if row is None or row[1] is not None:
        return None
    out = {"id": merchant_id, "name": row[0], "merchant_name": row[0], "role": "owner", "agent_id": None}
    if row[2] is not None:
        agent = session.get(MerchantAgent, row[2])
        if agent is None or agent.revoked_at is not None or agent.accepted_at is None:
            return None
        out.update(name=agent.name or agent.email.split("@", 1)[0], role=agent.role, agent_id=agent.id)
    return out


def store_choices(session: Session, merchant_id: int) -> List[Dict[str, Any]]:
    rows = session.execute(select(StoreIntegration.id, StoreIntegration.display_name, StoreIntegration.platform)
                           .where(StoreIntegration.user_id == merchant_id).order_by(StoreIntegration.id)).all()
    return [{"id": r[0], "name": r[1] or f"Store {r[0]}", "platform": r[2]} for r in rows]


def widget_seen(session: Session, store_id: int) -> Optional[Dict[str, Any]]:
    """The latest "widget loaded on an allowed origin" entry of a store (indexed: store, type, time)."""
    row = session.execute(
        select(UserActivity.created_at, UserActivity.details)
        .where(UserActivity.store_id == store_id, UserActivity.activity_type == activity.WIDGET_SEEN)
        .order_by(UserActivity.created_at.desc()).limit(1)
    ).first()
    if row is None:
        return None
    when = row[0] if row[0].tzinfo else row[0].replace(tzinfo=timezone.utc)
    origin = (row[1] or {}).get("origin") if isinstance(row[1], dict) else None
    return {"at": when, "origin": origin, "recent": datetime.now(timezone.utc) - when <= SEEN_RECENT}


# --- analytics ----------------------------------------------------------------------------------

def _day(session: Session, column: Any) -> Any:
    return func.date(column)


def _hour(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return func.cast(func.strftime("%H", column), UserActivity.id.type)
    return func.cast(func.extract("hour", column), UserActivity.id.type)


def _conv(column: Any = None) -> Any:
    return UserActivity.details["conversation_id"].as_string()


def analytics(session: Session, merchant_id: int, store_ids: Sequence[int], since: datetime, until: datetime) -> Dict[str, Any]:
    """Every number of the analytics page for ``store_ids`` (all owned by ``merchant_id``) in [since, until)."""
    if not store_ids:
        return empty_analytics(since, until)
    # ``user_id + 0``: still scoped to the merchant, but not an index candidate, so the planner uses
    # (store_id, activity_type, created_at) instead of scanning the merchant's whole year by (user_id, created_at).
    base = [UserActivity.user_id + 0 == merchant_id, UserActivity.store_id.in_(list(store_ids)),
            UserActivity.created_at >= since, UserActivity.created_at < until]

    def of(*types: str) -> List[Any]:
        return base + [UserActivity.activity_type.in_(types) if len(types) > 1 else UserActivity.activity_type == types[0]]

    # Conversations per (day, hour) in one pass: at most 366 × 24 groups come back, summed here.
    day = _day(session, UserActivity.created_at).label("day")
    hour = _hour(session, UserActivity.created_at).label("hour")
    per_day: Dict[str, int] = {}
    hours: Dict[int, int] = {}
    for d, h, n in session.execute(select(day, hour, func.count()).where(*of(activity.CONVERSATION)).group_by(day, hour)).all():
        per_day[str(d)] = per_day.get(str(d), 0) + n
        hours[int(h)] = hours.get(int(h), 0) + n
    conversations = sum(per_day.values())
    if not conversations:  # older data without conversation entries: busiest hours of shopper activity
        hours = {int(h): n for h, n in session.execute(select(hour, func.count()).where(
            *of(activity.LOOKUP, activity.REQUEST, activity.HANDOFF)).group_by(hour)).all() if h is not None}

    outcome = UserActivity.details["outcome"].as_string().label("outcome")
    lookups = {str(o): n for o, n in session.execute(
        select(outcome, func.count()).where(*of(*LOOKUP_TYPES), outcome.isnot(None)).group_by(outcome)).all() if o}

    # One pass over the shopper-side entries, grouped by conversation: answered (a verified order shown or
    # listed, or a request recorded) and handed off (asked for a person).
    conv = _conv().label("conv")
    answered = func.max(case((or_(and_(UserActivity.activity_type == activity.LOOKUP, outcome.in_(("shown", "listed"))),
                                  UserActivity.activity_type == activity.REQUEST), 1), else_=0)).label("answered")
    handed = func.max(case((UserActivity.activity_type == activity.HANDOFF, 1), else_=0)).label("handed")
    per_conv = select(conv, answered, handed).where(
        *of(activity.LOOKUP, activity.LOCKOUT, activity.STORE_ERROR, activity.REQUEST, activity.HANDOFF),
        conv.isnot(None)).group_by(conv).subquery()
    engaged, resolved, handoffs = session.execute(select(
        func.count(), func.coalesce(func.sum(case((and_(per_conv.c.answered == 1, per_conv.c.handed == 0), 1), else_=0)), 0),
        func.coalesce(func.sum(per_conv.c.handed), 0))).one()
    denominator = max(conversations, engaged)

    kind = UserActivity.details["kind"].as_string().label("kind")
    topics: Dict[str, int] = {}
    for k, n in session.execute(select(kind, func.count()).where(*of(activity.REQUEST)).group_by(kind)).all():
        topics[f"{k or 'other'} request"] = n
    topics["order tracking (lookups)"] = sum(lookups.values())
    topics["handoff to a person"] = session.execute(select(func.count()).where(*of(activity.HANDOFF))).scalar() or 0

    people = handoff_stats(session, store_ids, since, until)
    return {
        **people,
        # Share of conversations the assistant resolved on its own vs the ones a person resolved.
        "resolved_by_bot_share": resolved / denominator if denominator else None,
        "resolved_by_person_share": people["closed_by"]["person"] / denominator if denominator else None,
        "since": since, "until": until,
        "days": _fill_days(per_day, since, until),
        "conversations": conversations,
        "lookups": {o: lookups.get(o, 0) for o in OUTCOMES_SHOWN} | {o: n for o, n in lookups.items() if o not in OUTCOMES_SHOWN},
        "lookups_total": sum(lookups.values()),
        "resolved": resolved,
        "handoffs": handoffs,
        "resolution_rate": resolved / denominator if denominator else None,
        "handoff_rate": handoffs / denominator if denominator else None,
        "denominator": denominator,
        "topics": sorted(topics.items(), key=lambda kv: (-kv[1], kv[0])),
        "hours": [(h, hours.get(h, 0)) for h in range(24)],
        "hours_source": "conversations" if conversations else "shopper activity",
    }


def _seconds_between(session: Session, start: Any, end: Any) -> Any:
    """``end - start`` in seconds, in SQL (SQLite and PostgreSQL)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def handoff_stats(session: Session, store_ids: Sequence[int], since: datetime, until: datetime) -> Dict[str, Any]:
    """Handoffs requested in [since, until) of ``store_ids`` (the caller checked they are the merchant's):
    per day, the average time to a person's first reply, and how the closed ones were resolved
    (``resolution``: "person" once someone replied or answered a ticket, "bot" when handed back unanswered)."""
    if not store_ids:
        return {"handoff_days": _fill_days({}, since, until), "handoffs_requested": 0, "first_reply_seconds": None,
                "first_replies": 0, "closed_by": {"person": 0, "bot": 0}}
    where = [Handoff.store_id.in_(list(store_ids)), Handoff.requested_at >= since, Handoff.requested_at < until]
    day = func.date(Handoff.requested_at).label("day")
    per_day = {str(d): n for d, n in session.execute(select(day, func.count()).where(*where).group_by(day)).all()}
    wait = _seconds_between(session, Handoff.requested_at, Handoff.first_reply_at)
    replies, average = session.execute(select(func.count(), func.avg(wait)).where(
        *where, Handoff.first_reply_at.isnot(None))).one()
    closed_by = {str(r): n for r, n in session.execute(select(Handoff.resolution, func.count()).where(
        *where, Handoff.state == "closed", Handoff.resolution.isnot(None)).group_by(Handoff.resolution)).all()}
    return {"handoff_days": _fill_days(per_day, since, until), "handoffs_requested": sum(per_day.values()),
            "first_reply_seconds": float(average) if average is not None else None, "first_replies": replies or 0,
            "closed_by": {"person": closed_by.get("person", 0), "bot": closed_by.get("bot", 0)}}


INTENT_SAMPLE = 5000


def recent_conversation_ids(session: Session, merchant_id: int, store_ids: Sequence[int], since: datetime,
                            until: datetime, limit: int = INTENT_SAMPLE) -> List[str]:
    """Ids of the most recent conversations started in the period (at most ``limit``)."""
    if not store_ids:
        return []
    conv = _conv().label("conv")
    rows = session.execute(
        select(conv).where(UserActivity.user_id + 0 == merchant_id, UserActivity.store_id.in_(list(store_ids)),
                           UserActivity.activity_type == activity.CONVERSATION,
                           UserActivity.created_at >= since, UserActivity.created_at < until)
        .order_by(UserActivity.created_at.desc()).limit(limit)
    ).scalars()
    return [c for c in rows if c]


def _fill_days(per_day: Dict[str, int], since: datetime, until: datetime) -> List[Any]:
    first: date = since.date()
    last: date = (until - timedelta(microseconds=1)).date()
    out = []
    current = first
    while current <= last:  # at most one entry per day of the period (366), not per row
        key = current.isoformat()
        out.append((key, per_day.get(key, 0)))
        current += timedelta(days=1)
    return out


def empty_analytics(since: datetime, until: datetime) -> Dict[str, Any]:
    return {**handoff_stats(None, [], since, until), "resolved_by_bot_share": None,  # type: ignore[arg-type]
            "resolved_by_person_share": None, "since": since, "until": until, "days": _fill_days({}, since, until), "conversations": 0,
            "lookups": {o: 0 for o in OUTCOMES_SHOWN}, "lookups_total": 0, "resolved": 0, "handoffs": 0,
            "resolution_rate": None, "handoff_rate": None, "denominator": 0, "topics": [],
            "hours": [(h, 0) for h in range(24)], "hours_source": "conversations", "intents": [], "intents_sampled": False}
