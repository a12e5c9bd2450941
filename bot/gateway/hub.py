"""Live conversations of this process, and delivery of pushed messages to them.

Without Redis a push reaches the sockets of this process. With ``TRULYBOT_REDIS_URL`` every push is
published on one Redis channel; every replica listens and delivers to the sockets it holds.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Optional, Protocol, Set

logger = logging.getLogger(__name__)


class Listener(Protocol):
    store_id: int

    async def deliver(self, messages: List[Dict[str, Any]]) -> bool: ...


class Conversation:
    """One conversation's in-process state: its turn lock, live sockets and offered button payloads."""

    def __init__(self, conversation_id: str, max_offered: int) -> None:
        self.id = conversation_id
        self.lock = asyncio.Lock()
        self.listeners: Set[Listener] = set()
        self._offered: "OrderedDict[str, None]" = OrderedDict()
        self._max_offered = max_offered
        #: The open handoff (``{"id", "state", "agent", "store_id"}``) or None: see bot.gateway.handoff.
        self.handoff: Optional[Dict[str, Any]] = None

    def offer(self, messages: Iterable[Dict[str, Any]]) -> None:
        """Remember the button payloads of bot messages (most recent ``max_offered``)."""
        for message in messages:
            for button in message.get("buttons") or ():
                payload = button.get("payload") if isinstance(button, dict) else None
                if isinstance(payload, str) and payload:
                    self._offered.pop(payload, None)
                    self._offered[payload] = None
        while len(self._offered) > self._max_offered:
            self._offered.popitem(last=False)

    def offered(self, payload: str) -> bool:
        return payload in self._offered


class Hub:
    """Registry of live conversations in this process and the push fan-out."""

    def __init__(self, max_offered: int = 100) -> None:
        self._conversations: Dict[str, Conversation] = {}
        self._max_offered = max_offered
        self.redis: Any = None
        self.channel = "trulybot:push"
        self._listener_task: Optional["asyncio.Task[None]"] = None

    # -- conversations -------------------------------------------------------------------------
    def join(self, conversation_id: str, listener: Listener) -> Conversation:
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            conversation = self._conversations[conversation_id] = Conversation(conversation_id, self._max_offered)
        conversation.listeners.add(listener)
        return conversation

    def leave(self, conversation: Conversation, listener: Listener) -> None:
        conversation.listeners.discard(listener)
        if not conversation.listeners and not conversation.lock.locked():
            if self._conversations.get(conversation.id) is conversation:
                del self._conversations[conversation.id]

    def get(self, conversation_id: str) -> Optional[Conversation]:
        return self._conversations.get(conversation_id)

    def __len__(self) -> int:
        return len(self._conversations)

    # -- push ----------------------------------------------------------------------------------
    async def deliver_local(self, conversation_id: str, messages: List[Dict[str, Any]], store_id: Optional[int] = None) -> int:
        """Send a proactive ``bot`` frame to this process's sockets of a conversation; count them."""
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            return 0
        conversation.offer(messages)
        delivered = 0
        for listener in list(conversation.listeners):
            if store_id is not None and listener.store_id != store_id:
                continue
            if await listener.deliver(messages):
                delivered += 1
        return delivered

    async def push(self, conversation_id: str, messages: List[Dict[str, Any]], store_id: Optional[int] = None) -> Dict[str, Any]:
        """Deliver a push here, or publish it for every replica when Redis is configured."""
        if self.redis is not None:
            event = json.dumps({"conversation_id": conversation_id, "store_id": store_id, "messages": messages})
            try:
                replicas = await self.redis.publish(self.channel, event)
                return {"published": True, "replicas": int(replicas)}
            except Exception as exc:  # noqa: BLE001 - fall back to this process's sockets
                logger.warning("push: Redis publish failed (%s); delivering locally only", exc.__class__.__name__)
        return {"published": False, "delivered": await self.deliver_local(conversation_id, messages, store_id)}

    async def start_redis(self, redis: Any, channel: str) -> None:
        """Listen for pushes published by any replica (reconnecting with backoff)."""
        self.redis = redis
        self.channel = channel
        ready = asyncio.get_running_loop().create_future()
        self._listener_task = asyncio.create_task(self._listen(ready))
        try:
            await asyncio.wait_for(asyncio.shield(ready), 5)
        except asyncio.TimeoutError:
            logger.warning("push: Redis subscription not ready yet; retrying in the background")

    async def stop_redis(self) -> None:
        if self._listener_task is not None:
            self._listener_task.cancel()
            try:
                await self._listener_task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._listener_task = None

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
                        await self._on_event(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect on any Redis failure
                logger.warning("push: Redis subscription lost (%s); retrying in %.1f s", exc.__class__.__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)
            finally:
                try:
                    await pubsub.close()
                except Exception:  # noqa: BLE001
                    pass

    async def _on_event(self, data: Any) -> None:
        try:
            event = json.loads(data)
            conversation_id = event["conversation_id"]
            messages = event["messages"]
            store_id = event.get("store_id")
            if not isinstance(conversation_id, str) or not isinstance(messages, list):
                return
        except (ValueError, KeyError, TypeError):
            logger.warning("push: ignored a malformed event")
            return
        await self.deliver_local(conversation_id, messages, store_id if isinstance(store_id, int) else None)
