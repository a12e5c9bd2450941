"""Shoppers' transcripts in Rasa's tracker store, for privacy requests.

Rasa keeps every conversation's events in the ``events`` table of the tracker store
(``TRULYBOT_TRACKER_STORE_URL``). A platform's customer-redact and shop-redact notices
(``StoreNoticeKind``) must delete them: the merchant API hands the conversations to erase to the redactor registered here.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, Iterable, List, Set

from aiohttp import web
from sqlalchemy import MetaData, Table, delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import NoSuchTableError

from bot import appkeys
from bot.core.db import make_engine

TRACKER_ENGINE = web.AppKey("tracker_engine", Engine)
BATCH = 500


def _events(engine: Engine) -> Table:
    return Table("events", MetaData(), autoload_with=engine)


def conversations_of_store(engine: Engine, store_id: int) -> List[str]:
    """Conversation ids whose shopper messages carry ``store_id`` in their metadata."""
    try:
        events = _events(engine)
    except NoSuchTableError:
        return []
    found: Set[str] = set()
    with engine.connect() as connection:
        rows = connection.execute(
            select(events.c.sender_id, events.c.data).where(events.c.type_name == "user").execution_options(stream_results=True)
        )
        for sender_id, data in rows:
            if sender_id in found:
                continue
            try:
                metadata = (json.loads(data or "{}").get("metadata") or {})
            except ValueError:
                continue
            if metadata.get("store_id") == store_id:
                found.add(sender_id)
    return sorted(found)


def export_conversations(engine: Engine, conversation_ids: Iterable[str]) -> Dict[str, List[Dict[str, Any]]]:
    """The user and bot messages of these conversations, oldest first, by conversation id, as the
    shopper typed them (a data request hands the customer their own words back)."""
    from bot.rasa.history import history_from_events

    ids = sorted(set(conversation_ids))
    if not ids:
        return {}
    by_id: Dict[str, List[Dict[str, Any]]] = {i: [] for i in ids}
    try:
        events = _events(engine)
    except NoSuchTableError:
        return by_id
    with engine.connect() as connection:
        for start in range(0, len(ids), BATCH):
            rows = connection.execute(
                select(events.c.sender_id, events.c.data)
                .where(events.c.sender_id.in_(ids[start:start + BATCH]), events.c.type_name.in_(("user", "bot")))
                .order_by(events.c.id)
            )
            for sender_id, data in rows:
                try:
                    by_id[sender_id].append(json.loads(data or "{}"))
                except ValueError:
                    continue
    return {i: history_from_events(evts, len(evts), private=False) for i, evts in by_id.items()}


def intent_counts(engine: Engine, conversation_ids: Iterable[str]) -> Dict[str, int]:
    """How often each intent was recognised in the shopper messages of these conversations."""
    ids = sorted(set(conversation_ids))
    counts: Dict[str, int] = {}
    if not ids:
        return counts
    try:
        events = _events(engine)
    except NoSuchTableError:
        return counts
    with engine.connect() as connection:
        for start in range(0, len(ids), BATCH):
            rows = connection.execute(
                select(events.c.intent_name, func.count())
                .where(events.c.type_name == "user", events.c.sender_id.in_(ids[start:start + BATCH]))
                .group_by(events.c.intent_name)
            )
            for intent, n in rows:
                if intent:
                    counts[intent] = counts.get(intent, 0) + n
    return counts


def delete_conversations(engine: Engine, conversation_ids: Iterable[str]) -> int:
    """Delete every event of these conversations; returns how many rows went."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return 0
    try:
        events = _events(engine)
    except NoSuchTableError:
        return 0
    deleted = 0
    with engine.begin() as connection:
        for start in range(0, len(ids), BATCH):
            deleted += connection.execute(delete(events).where(events.c.sender_id.in_(ids[start:start + BATCH]))).rowcount or 0
    return deleted


async def redact_transcripts(app: web.Application, store_id: int, conversation_ids: List[str]) -> None:
    """Redactor for the merchant API: erase the named conversations' transcripts."""
    engine = app[TRACKER_ENGINE]
    await asyncio.get_running_loop().run_in_executor(None, delete_conversations, engine, conversation_ids)


async def _tracker_engine(app: web.Application):
    engine = make_engine(app[appkeys.SETTINGS].tracker_store_url)
    app[TRACKER_ENGINE] = engine
    yield
    engine.dispose()


def setup_transcripts(app: web.Application) -> None:
    """Give the merchant API's privacy webhooks a way to erase transcripts."""
    from bot.services.keys import REDACTORS

    app.cleanup_ctx.append(_tracker_engine)
    app[REDACTORS].append(redact_transcripts)
