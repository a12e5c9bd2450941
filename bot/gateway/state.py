"""The gateway's shared state for one bot-service process."""
from __future__ import annotations

from typing import Any, Callable, Dict, Set

from aiohttp import web

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


GATEWAY = web.AppKey("gateway", Gateway)
