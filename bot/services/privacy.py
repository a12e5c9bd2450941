"""Personal data of shoppers: which conversations mention a customer, erasing them, and retention.

* When a shopper gives an email, the action server records a keyed hash of it for the conversation
  (:func:`remember_email`; HMAC-SHA256 under a key derived from ``TRULYBOT_SESSION_SECRET``, so the
  table alone reveals no address). A privacy request names the customer's email; its hash finds every
  conversation that mentioned it (:func:`conversations_for_email`).
* :func:`forget_conversations` deletes what the app database holds about conversations: their
  activity entries and index rows. Transcripts are deleted from the tracker store by the redactors.
* :func:`purge_expired` enforces retention: transcripts (tracker events) of conversations quiet for
  ``TRULYBOT_TRANSCRIPT_RETENTION_DAYS`` (default 90), their index rows, and data-request export
  files older than ``TRULYBOT_EXPORT_RETENTION_DAYS`` (default 30). The bot service runs it hourly.
* A data-request export is delivered once: :func:`claim_export` takes the file out of reach of a
  second download, and the caller deletes it once the merchant's download has been written out
  (or puts it back with :func:`return_export` when sending failed).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Iterable, List, Optional

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import NoSuchTableError
from sqlalchemy.orm import Session

from bot.core.db.models import ConversationSubject, UserActivity
from bot.core.sealed import derive_key

logger = logging.getLogger(__name__)

PURGE_INTERVAL_SECONDS = 3600.0
BATCH = 500


def email_hash(secret: str, email: str) -> str:
    """The keyed hash of an email (trimmed, lower-cased) that the index stores."""
    key = derive_key(secret, "customer-email-index")
    return hmac.new(key, email.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()


def remember_email(session: Session, store_id: int, conversation_id: str, hashed: str) -> None:
    """Index ``hashed`` for the conversation (once)."""
    exists = session.execute(select(ConversationSubject.id).where(
        ConversationSubject.store_id == store_id, ConversationSubject.conversation_id == conversation_id,
        ConversationSubject.email_hash == hashed)).first()
    if exists is None:
        session.add(ConversationSubject(store_id=store_id, conversation_id=conversation_id[:64], email_hash=hashed))


def conversations_for_email(session: Session, store_id: int, hashed: str) -> List[str]:
    """Conversations of the store in which the email with this hash was given."""
    rows = session.execute(select(ConversationSubject.conversation_id).where(
        ConversationSubject.store_id == store_id, ConversationSubject.email_hash == hashed)).scalars()
    return sorted(set(rows))


def activities_of_conversations(session: Session, store_id: int, conversation_ids: Iterable[str]) -> List[UserActivity]:
    """The store's activity entries that belong to these conversations."""
    wanted = set(conversation_ids)
    if not wanted:
        return []
    rows = session.execute(select(UserActivity).where(UserActivity.store_id == store_id)).scalars()
    return [r for r in rows if isinstance(r.details, dict) and r.details.get("conversation_id") in wanted]


def forget_conversations(session: Session, store_id: int, conversation_ids: Iterable[str]) -> int:
    """Delete the activity entries and index rows of these conversations; returns entries deleted."""
    ids = sorted(set(conversation_ids))
    rows = activities_of_conversations(session, store_id, ids)
    for row in rows:
        session.delete(row)
    for start in range(0, len(ids), BATCH):
        session.execute(delete(ConversationSubject).where(
            ConversationSubject.store_id == store_id, ConversationSubject.conversation_id.in_(ids[start:start + BATCH])))
    return len(rows)


# --- retention ------------------------------------------------------------------------------------

@dataclass
class PurgeReport:
    """What one retention run removed."""

    conversations: int = 0
    index_rows: int = 0
    export_files: int = 0


def quiet_conversations(engine: Engine, cutoff: float) -> List[str]:
    """Conversations in the tracker store whose latest event is older than ``cutoff`` (Unix time)."""
    from bot.services.transcripts import _events

    try:
        events = _events(engine)
    except NoSuchTableError:
        return []
    with engine.connect() as connection:
        rows = connection.execute(
            select(events.c.sender_id).group_by(events.c.sender_id).having(func.max(events.c.timestamp) < cutoff))
        return [r[0] for r in rows]


def export_path(data_dir: Path, widget_id: str, request_id: str) -> Path:
    """Where the export of one data request of one store lives."""
    safe_id = "".join(c for c in request_id if c.isalnum() or c in "-_")[:64] or "unknown"
    return data_dir / "exports" / widget_id / f"data-request-{safe_id}.json"


def claim_export(path: Path) -> Optional[Path]:
    """Move an export out of reach of other downloads (an atomic rename); the new path, or None
    when there is no such export (never written, already delivered, or expired)."""
    claimed = path.with_name(f"{path.name}.sending-{uuid.uuid4().hex}")
    try:
        path.replace(claimed)
    except FileNotFoundError:
        return None
    return claimed


def return_export(claimed: Path, path: Path) -> None:
    """Put back an export whose download failed, so the merchant can try again."""
    try:
        claimed.replace(path)
    except OSError as exc:
        logger.warning("could not put back an export file (%s)", exc.__class__.__name__)


def expired_exports(data_dir: Path, cutoff: float) -> List[Path]:
    """Data-request export files (also ones whose download was cut off) last written before ``cutoff``."""
    root = data_dir / "exports"
    if not root.is_dir():
        return []
    return [p for p in root.glob("*/data-request-*") if p.is_file() and p.stat().st_mtime < cutoff]


def purge_expired(sessions: Any, tracker: Optional[Engine], data_dir: Path, transcript_days: int, export_days: int,
                  now: Optional[float] = None) -> PurgeReport:
    """Delete what is past its retention period (see the module docstring)."""
    from bot.services.transcripts import delete_conversations

    current = time.time() if now is None else now
    report = PurgeReport()
    cutoff = current - transcript_days * 86400
    if tracker is not None:
        quiet = quiet_conversations(tracker, cutoff)
        delete_conversations(tracker, quiet)
        report.conversations = len(quiet)
    with sessions.begin() as session:
        report.index_rows = session.execute(delete(ConversationSubject).where(
            ConversationSubject.created_at < datetime.fromtimestamp(cutoff, timezone.utc))).rowcount or 0
    for path in expired_exports(data_dir, current - export_days * 86400):
        try:
            path.unlink()
            report.export_files += 1
        except OSError as exc:
            logger.warning("could not delete an expired export file (%s)", exc.__class__.__name__)
    return report


async def retention_ctx(app: Any) -> AsyncIterator[None]:
    """aiohttp cleanup context: run :func:`purge_expired` at start-up and then hourly."""
    from bot import appkeys
    from bot.services.transcripts import TRACKER_ENGINE

    async def loop() -> None:
        while True:
            settings = app[appkeys.SETTINGS]
            try:
                report = await asyncio.get_running_loop().run_in_executor(
                    None, purge_expired, app[appkeys.DB_SESSIONS], app.get(TRACKER_ENGINE), settings.data_dir,
                    settings.transcript_retention_days, settings.export_retention_days)
                if report.conversations or report.export_files or report.index_rows:
                    logger.info("retention: %d conversations, %d index rows and %d export files deleted",
                                report.conversations, report.index_rows, report.export_files)
            except Exception:  # noqa: BLE001 - retry at the next interval
                logger.warning("retention purge failed", exc_info=True)
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)

    task = asyncio.get_running_loop().create_task(loop())
    yield
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, Exception):  # noqa: BLE001
        pass


__all__ = ["email_hash", "remember_email", "conversations_for_email", "forget_conversations", "purge_expired",
           "retention_ctx", "PurgeReport"]
