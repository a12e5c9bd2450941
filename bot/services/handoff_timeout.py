"""Waiting conversations nobody claimed in time become tickets.

Every bot-service replica runs :func:`sweeper`: every ``SWEEP_SECONDS`` it looks for handoffs
still ``waiting`` longer than their store's ``claim_timeout_minutes`` and turns each into a
ticket. The database row is the arbiter between replicas: the change is one conditional
``UPDATE … SET state = 'ticket' WHERE id = … AND state = 'waiting'``, so exactly one replica
(the one whose update matched the row) tells the shopper and records the turn; the others see
zero rows changed and do nothing. A person claiming the conversation at the same moment wins
the same way (their claim needs the row to be ``waiting``; whichever commits first decides).

The shopper reads when the team will answer, then the gateway collects their email and
question exactly as for a ticket opened outside opening hours
(:func:`bot.services.handoff_hours.collect_step`).
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.services.db import in_db
from bot.core.db.models import Handoff, StoreIntegration, utcnow
from bot.services import handoff as service
from bot.services.handoff_bus import HANDOFF_BUS
from bot.services.handoff_hours import HandoffSettings

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 15.0
BATCH = 200
SWEEP_INTERVAL = web.AppKey("handoff_sweep_seconds", float)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def overdue(session: Session, now: Optional[datetime] = None) -> List[int]:
    """Ids of waiting handoffs older than their store's claim timeout (oldest first, at most ``BATCH``)."""
    now = now or utcnow()
    rows = session.execute(
        select(Handoff.id, Handoff.requested_at, StoreIntegration.config)
        .join(StoreIntegration, StoreIntegration.id == Handoff.store_id)
        .where(Handoff.state == service.WAITING).order_by(Handoff.requested_at).limit(BATCH * 5)
    ).all()
    out: List[int] = []
    for handoff_id, requested_at, config in rows:
        timeout = HandoffSettings.from_store((config or {}).get("handoff")).claim_timeout_minutes
        if timeout and _aware(requested_at) + timedelta(minutes=timeout) <= now:
            out.append(handoff_id)
            if len(out) >= BATCH:
                break
    return out


def to_ticket(session: Session, handoff_id: int) -> Optional[Dict[str, Any]]:
    """Turn one handoff into a ticket if it is still waiting; None when another replica (or a
    person's claim) got there first. Returns the summary with the store's message for the shopper."""
    changed = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.state == service.WAITING)
        .values(state=service.TICKET).execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return None
    row = session.get(Handoff, handoff_id)
    session.refresh(row)
    store = session.get(StoreIntegration, row.store_id)
    row.context = {**(row.context or {}), "collect": "email", "timed_out": True}
    session.flush()
    hours = HandoffSettings.from_store((store.config or {}).get("handoff"))
    return {"merchant_id": store.user_id, "message": hours.timeout_message(), **service.summary(row, store)}


async def tell_shopper(app: web.Application, ticket: Dict[str, Any]) -> None:
    """Record the message in the transcript and send it, with the new state, to the widget and the inbox."""
    from bot import appkeys
    from bot.services.handoff import state_frame
    from bot.rasa.client import RasaUnavailable

    text = ticket.pop("message")
    try:
        await app[appkeys.RASA].record(ticket["conversation_id"], [{"kind": "bot", "text": text}])
    except RasaUnavailable as exc:  # the shopper still reads it; the transcript misses one line
        logger.warning("handoff timeout: could not record in the transcript (%s)", exc)
    bus = app[HANDOFF_BUS]
    base = {"merchant_id": ticket["merchant_id"], "conversation_id": ticket["conversation_id"]}
    await bus.publish({"kind": "changed", **base, "handoff": ticket, "frame": state_frame(ticket)})
    await bus.publish({"kind": "message", **base, "handoff_id": ticket["id"], "message": {"role": "bot", "text": text},
                       "frame": {"type": "bot", "messages": [{"text": text}]}})


async def sweep(app: web.Application) -> int:
    """One pass: convert every overdue waiting handoff this replica wins; returns how many it converted."""
    converted = 0
    for handoff_id in await in_db(app, overdue):
        ticket = await in_db(app, to_ticket, handoff_id)
        if ticket is None:
            continue
        converted += 1
        await tell_shopper(app, ticket)
    return converted


async def sweeper(app: web.Application) -> None:
    """Run :func:`sweep` forever (cancelled on shutdown); errors are logged and retried."""
    interval = app.get(SWEEP_INTERVAL, SWEEP_SECONDS)
    while True:
        await asyncio.sleep(interval)
        try:
            await sweep(app)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a database hiccup must not end the sweeper
            logger.warning("handoff timeout sweep failed", exc_info=True)


async def sweeper_ctx(app: web.Application):  # type: ignore[no-untyped-def]
    """aiohttp cleanup context: the sweeper runs while the app does."""
    task = asyncio.get_running_loop().create_task(sweeper(app))
    yield
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


__all__ = ["overdue", "to_ticket", "sweep", "sweeper_ctx", "SWEEP_SECONDS"]
