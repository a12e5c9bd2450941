"""The gateway's shared state for one bot-service process."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Set

from aiohttp import web

from bot import appkeys
from bot.gateway.config import GatewayLimits
from bot.gateway.hub import Hub
from bot.gateway.ratelimit import MessageRateLimiter, NewSessionLimiter
from bot.gateway.stores import StoreCache
from bot.gateway.tokens import TokenSigner
from bot.rasa.client import RasaClient


class Gateway:
    """Everything the socket handlers share: limits, stores, tokens, rate limits, live sockets."""

    def __init__(self, limits: GatewayLimits, session_secret: str, stores: StoreCache,
                 rasa: Callable[[], RasaClient], redis: Any = None) -> None:
        self.limits = limits
        self.session_secret = session_secret
        self.stores = stores
        self.rasa = rasa
        self.signer = TokenSigner(session_secret, limits.session_ttl_seconds, limits.session_max_age_seconds)
        self.limiter = MessageRateLimiter(limits.messages_per_minute, limits.rate_window_seconds, redis, limits.redis_prefix)
        self.new_sessions = NewSessionLimiter(limits.new_sessions_per_address, limits.new_sessions_per_store,
                                              limits.new_session_window_seconds, redis, limits.redis_prefix)
        self.hub = Hub(limits.max_offered_payloads)
        self.connections: Dict[str, int] = {}
        self.sockets: Set[web.WebSocketResponse] = set()
        self.turn_timeout = 15.0
        self.agent_limiter: Optional[MessageRateLimiter] = None


    # --- bot.appkeys.LiveGateway ---------------------------------------------------------------
    @property
    def redis_prefix(self) -> str:
        return self.limits.redis_prefix

    async def push(self, conversation_id: str, messages: List[Dict[str, Any]], store_id: Optional[int]) -> Any:
        return await self.hub.push(conversation_id, messages, store_id)

    def forget_store_settings(self) -> None:
        if hasattr(self.stores, "clear"):
            self.stores.clear()

    async def allow_agent_reply(self, key: str, per_minute: int) -> bool:
        if self.agent_limiter is None:
            self.agent_limiter = MessageRateLimiter(per_minute, 60.0, self.limiter.redis, self.limits.redis_prefix)
        return await self.agent_limiter.allow(key)


GATEWAY = appkeys.GATEWAY
