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
