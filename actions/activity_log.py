"""Writing the merchant's activity log from the action server (off the event loop)."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, Optional

from actions.runtime import Runtime
from actions.store_access import StoreContext
from bot.services.activity import record_activity


async def log_activity(runtime: Runtime, store: StoreContext, kind: str, title: str,
                       details: Optional[Dict[str, Any]] = None) -> None:
    """Record one entry for ``store``'s merchant (no shopper email or postcode in ``details``)."""

    def write() -> None:
        with runtime.sessions.begin() as session:
            record_activity(session, store.merchant_id, kind, title, store.store_id, details or {})

    await asyncio.get_running_loop().run_in_executor(None, write)


async def remember_shopper_email(runtime: Runtime, store: StoreContext, conversation_id: str, email: str) -> None:
    """Index a keyed hash of the email the shopper gave, so privacy requests find this conversation."""
    from bot.core.shared_secrets import with_secrets
    from bot.services.privacy import email_hash, remember_email

    secret = with_secrets(runtime.settings).session_secret
    assert secret  # with_secrets fills it or raises
    hashed = email_hash(secret, email)

    def write() -> None:
        with runtime.sessions.begin() as session:
            remember_email(session, store.store_id, conversation_id, hashed)

    await asyncio.get_running_loop().run_in_executor(None, write)
