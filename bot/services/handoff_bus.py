"""Live handoff events for every replica: inbox updates and frames for the shopper's widget.

An event is a JSON object with at least ``kind`` and ``merchant_id``; ``conversation_id`` and
``frame`` (a widget frame) when it concerns one conversation. Without Redis an event reaches this
process's subscribers; with ``TRULYBOT_REDIS_URL`` it is published on one Redis channel and every
replica (its gateway and its open inbox streams) receives it, the publisher included.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional

from aiohttp import web

logger = logging.getLogger(__name__)

Subscriber = Callable[[Dict[str, Any]], Awaitable[None]]
CHANNEL = "trulybot:handoff"


class HandoffBus:
    """Publish handoff events; deliver them to local subscribers (the gateway, inbox streams)."""

    def __init__(self, redis: Any = None, channel: str = CHANNEL) -> None:
        self.redis = redis
        self.channel = channel
        self._subscribers: List[Subscriber] = []
        self._task: Optional["asyncio.Task[None]"] = None

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns the function that removes it."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber) if subscriber in self._subscribers else None

    async def publish(self, event: Dict[str, Any]) -> None:
        """Send ``event`` to every replica (Redis) or to this process's subscribers."""
        if self.redis is not None:
            try:
                await self.redis.publish(self.channel, json.dumps(event, separators=(",", ":")))
                return
            except Exception as exc:  # noqa: BLE001 - fall back to this process
                logger.warning("handoff bus: Redis publish failed (%s); delivering locally", exc.__class__.__name__)
        await self.dispatch(event)

    async def dispatch(self, event: Dict[str, Any]) -> None:
        for subscriber in list(self._subscribers):
            try:
                await subscriber(event)
            except Exception:  # noqa: BLE001 - one broken subscriber never stops the others
                logger.warning("handoff bus: a subscriber failed", exc_info=True)

    async def start(self) -> None:
        """Listen on Redis (reconnecting with backoff) when a client was given."""
        if self.redis is None:
            return
        ready = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._listen(ready))
        try:
            await asyncio.wait_for(asyncio.shield(ready), 5)
        except asyncio.TimeoutError:
            logger.warning("handoff bus: Redis subscription not ready yet; retrying in the background")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._task = None

    async def _listen(self, ready: "asyncio.Future[None]") -> None:
        delay = 0.5
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if not ready.done():
                    ready.set_result(None)
                delay = 0.5
                while True:
                    message = await pubsub.get_message(timeout=30.0)
                    if message is not None and message.get("type") == "message":
                        try:
                            event = json.loads(message.get("data"))
                        except (TypeError, ValueError):
                            continue
                        if isinstance(event, dict):
                            await self.dispatch(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect on any Redis failure
                logger.warning("handoff bus: Redis subscription lost (%s); retrying in %.1f s", exc.__class__.__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)
            finally:
                try:
                    await pubsub.close()
                except Exception:  # noqa: BLE001
                    pass


HANDOFF_BUS = web.AppKey("handoff_bus", HandoffBus)


async def _bus_ctx(app: web.Application):
    from bot import appkeys

    settings = app[appkeys.SETTINGS]
    redis = None
    if settings.redis_url:
        import redis.asyncio as aioredis

        redis = aioredis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=5, health_check_interval=30)
    bus = app[HANDOFF_BUS]
    bus.redis = redis
    gateway = app.get(appkeys.GATEWAY)
    if gateway is not None:  # one prefix for every Redis key and channel of the gateway
        bus.channel = gateway.redis_prefix + "handoff"
    await bus.start()
    yield
    await bus.stop()
    if redis is not None:
        await redis.close()


def setup_handoff_bus(app: web.Application) -> HandoffBus:
    """Create the bus now (subscribers may register at set-up) and connect it on start-up."""
    bus = app[HANDOFF_BUS] = HandoffBus()
    app.cleanup_ctx.append(_bus_ctx)
    return bus
