"""Typed keys of the objects the bot service's aiohttp application holds."""
from __future__ import annotations

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from typing import Any, Dict, List, Optional, Protocol

from bot.core.crypto import KeyRing
from bot.rasa.client import RasaClient
from bot.core.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
DB_ENGINE = web.AppKey("db_engine", Engine)
DB_SESSIONS = web.AppKey("db_sessions", sessionmaker)
KEY_RING = web.AppKey("key_ring", KeyRing)
HTTP = web.AppKey("http", aiohttp.ClientSession)
RASA = web.AppKey("rasa", RasaClient)


class LiveGateway(Protocol):
    """What this process's widget gateway (:mod:`bot.gateway`) offers the API and the services.

    Set under :data:`GATEWAY` while the gateway runs; absent in processes without one. Nothing
    outside ``bot.gateway`` imports the gateway: they reach it through this interface.
    """

    #: prefix of every Redis key and channel the gateway uses
    redis_prefix: str

    async def push(self, conversation_id: str, messages: List[Dict[str, Any]], store_id: Optional[int]) -> Any:
        """Deliver ``messages`` to the conversation's open sockets (on any replica)."""

    def forget_store_settings(self) -> None:
        """Drop cached store and widget settings so the next message re-reads them."""

    async def allow_agent_reply(self, key: str, per_minute: int) -> bool:
        """True when one more agent reply under ``key`` is within ``per_minute``."""


GATEWAY = web.AppKey("gateway", LiveGateway)
