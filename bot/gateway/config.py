"""Limits and objects of the widget gateway, held in the aiohttp application under typed keys."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

MAX_TEXT_CHARS = 2000
MAX_FRAME_BYTES = 8 * 1024


@dataclass(frozen=True)
class GatewayLimits:
    """Every limit of the widget socket (tests pass smaller values; production uses the defaults)."""

    max_text_chars: int = MAX_TEXT_CHARS
    #: Protocol limit: a bigger frame gets a ``too_large`` error and is dropped; the socket stays open.
    max_frame_bytes: int = MAX_FRAME_BYTES
    #: Transport limit (aiohttp ``max_msg_size``): a bigger frame closes the socket with 1009.
    hard_frame_bytes: int = 2 * MAX_FRAME_BYTES
    messages_per_minute: int = 20
    rate_window_seconds: float = 60.0
    #: Frames of any kind per window per socket before the socket is closed as a flood.
    frames_per_window: int = 120
    connections_per_address: int = 20
    #: New conversations (each a database row) per address group (IPv6: its /64) and per store,
    #: per ``new_session_window_seconds``; resumed sessions do not count.
    new_sessions_per_address: int = 30
    new_sessions_per_store: int = 3000
    new_session_window_seconds: float = 600.0
    hello_timeout_seconds: float = 20.0
    idle_timeout_seconds: float = 30 * 60.0
    heartbeat_seconds: float = 30.0
    #: A session token lives 2 hours, renewed on each resume, for at most a day from the first
    #: hello: whoever holds the browser later gets a new conversation, not the old one.
    session_ttl_seconds: int = 2 * 3600
    session_max_age_seconds: int = 24 * 3600
    history_limit: int = 30
    history_timeout_seconds: float = 3.0
    max_pending_messages: int = 25
    max_offered_payloads: int = 100
    store_cache_seconds: float = 10.0
    redis_channel: str = "trulybot:push"
    redis_prefix: str = "trulybot:"


LIMITS = web.AppKey("gateway_limits", GatewayLimits)
