"""The bot service's client for Rasa's signed TrulyBot channel (see :mod:`bot.rasa.channel`)."""
from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any, Dict, List, Optional

import aiohttp

from bot.core.signing import sign
from bot.rasa.queue import QueueFull, RasaQueue, WaitCallback

CHANNEL_PATH = "/webhooks/trulybot"


class RasaUnavailable(RuntimeError):
    """Rasa did not answer, or answered with an error."""


class RasaClient:
    """Sends shopper messages to Rasa and reads conversation history, signing every request."""

    def __init__(self, base_url: str, secret: str, session: aiohttp.ClientSession, timeout: float = 10.0,
                 queue: Optional[RasaQueue] = None) -> None:
        """``timeout`` counts from the moment a request leaves the ``queue`` (unbounded without one)."""
        self._base = base_url.rstrip("/") + CHANNEL_PATH
        self._secret = secret
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.queue = queue

    async def _post(self, path: str, payload: Dict[str, Any]) -> Dict[str, Any]:
        # A fresh nonce makes every signed body unique: the channel refuses a repeated signature as
        # a replay, and two identical requests within one second would otherwise sign identically.
        body = json.dumps({**payload, "nonce": secrets.token_hex(12)}, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", **sign(self._secret, body)}
        try:
            async with self._session.post(self._base + path, data=body, headers=headers, timeout=self._timeout) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"Rasa answered {resp.status} on {path}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise RasaUnavailable(f"Rasa request {path} failed: {exc.__class__.__name__}") from exc
        if not isinstance(data, dict):
            raise RasaUnavailable(f"Rasa answered {path} with a non-object")
        return data

    async def send(self, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None,
                   on_wait: Optional[WaitCallback] = None) -> List[Dict[str, Any]]:
        """Deliver one shopper message; return the bot's replies for that turn.

        With a queue, the message waits for a free slot first (``on_wait`` is awaited now and then
        while it waits); a full queue or a wait beyond its limit raises :class:`RasaUnavailable`.
        """
        payload = {"sender": sender, "message": text, "metadata": metadata or {}}
        if self.queue is None:
            data = await self._post("/webhook", payload)
        else:
            try:
                async with self.queue.slot(on_wait):
                    data = await self._post("/webhook", payload)
            except QueueFull as exc:
                raise RasaUnavailable(f"Rasa queue: {exc}") from exc
        messages = data.get("messages")
        if not isinstance(messages, list):
            raise RasaUnavailable("Rasa reply has no message list")
        return [m for m in messages if isinstance(m, dict)]

    async def record(self, sender: str, events: List[Dict[str, Any]]) -> None:
        """Append handoff turns to the tracker without running the policies (see the channel's ``/record``)."""
        await self._post("/record", {"sender": sender, "events": events})

    async def history(self, sender: str, limit: int = 50) -> List[Dict[str, Any]]:
        """Recent user and bot messages of a conversation, oldest first."""
        data = await self._post("/history", {"sender": sender, "limit": limit})
        events = data.get("events")
        return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []

    async def health(self) -> None:
        """Raise :class:`RasaUnavailable` unless Rasa is up with its model loaded."""
        try:
            async with self._session.get(self._base + "/health", timeout=aiohttp.ClientTimeout(total=3)) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"Rasa health answered {resp.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RasaUnavailable(f"Rasa is not reachable ({exc.__class__.__name__})") from exc
