"""Rasa input channel that accepts only requests signed by the TrulyBot bot service.

Registered in ``credentials.yml`` as ``bot.rasa.channel.TrulyBotChannel``. Routes (under
``/webhooks/trulybot``):

* ``POST /webhook`` — ``{"sender": conversation id, "message": text, "metadata": {...}}`` →
  ``{"messages": [{"text", "buttons", "custom", "image"}...]}``, the bot's replies to that turn.
* ``POST /history`` — ``{"sender": id, "limit": n}`` → ``{"events": [{"role", "text", ...}]}``,
  the recent user and bot messages of a conversation (for resumed widget sessions).
* ``POST /record`` — ``{"sender": id, "events": [{"kind": "user"|"agent"|"bot"|"pause"|"resume", ...}]}``
  → ``{"recorded": n}``: appends turns of a live handoff to the tracker without running the
  policies (shopper text, a person's reply with ``name``, the bot service's own lines such as
  "someone will join shortly" or a ticket's questions, Rasa's own pause/resume events).
* ``GET /health`` — ``{"status": "ok"}`` once the model is loaded (unsigned: it reveals nothing).

Rasa's socket.io and REST channels are not used: the bot service owns the public socket.
This module runs inside the Rasa process and imports only ``rasa``, ``sanic`` and light parts of
``bot``.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Union

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage

from bot.rasa import speedups as rasa_speedups
from bot.rasa.history import history_from_events, reply_to_dict
from bot.core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, SignatureVerifier

logger = logging.getLogger(__name__)
rasa_speedups.apply()  # this module is imported by the Rasa server at start-up

MAX_BODY_BYTES = 64 * 1024
MAX_TEXT_CHARS = 4000
MAX_HISTORY = 100


def _channel_secret() -> str:
    """The signing secret, resolved exactly as the bot service resolves it."""
    from bot.core.settings import load_settings
    from bot.core.shared_secrets import with_secrets

    secret = with_secrets(load_settings()).channel_secret
    assert secret  # with_secrets either fills it or raises
    return secret


MAX_RECORD_EVENTS = 20


def recorded_events(items: Any) -> List[Any]:
    """Rasa events for the ``/record`` route's items; raises ``ValueError`` on a malformed item."""
    from rasa.shared.core.events import BotUttered, ConversationPaused, ConversationResumed, UserUttered

    if not isinstance(items, list) or not 0 < len(items) <= MAX_RECORD_EVENTS:
        raise ValueError(f"events must be a list of 1 to {MAX_RECORD_EVENTS} items")
    out: List[Any] = []
    for item in items:
        kind = item.get("kind") if isinstance(item, dict) else None
        text = item.get("text") if isinstance(item, dict) else None
        metadata = item.get("metadata") if isinstance(item, dict) else None
        if metadata is not None and not isinstance(metadata, dict):
            raise ValueError("metadata must be an object")
        if kind in ("user", "agent", "bot") and (not isinstance(text, str) or not text or len(text) > MAX_TEXT_CHARS):
            raise ValueError("user, agent and bot events need a text")
        if kind == "user":
            out.append(UserUttered(text, metadata={**(metadata or {}), "handoff": True}))
        elif kind == "agent":
            name = str(item.get("name") or "")[:200]
            custom = item.get("custom") if isinstance(item.get("custom"), dict) else None
            out.append(BotUttered(text, data={"custom": custom} if custom else {}, metadata={"agent": {"name": name}}))
        elif kind == "bot":  # the assistant's side, said by the bot service during a handoff
            out.append(BotUttered(text, metadata={"handoff": True}))
        elif kind == "pause":
            out.append(ConversationPaused())
        elif kind == "resume":
            out.append(ConversationResumed())
        else:
            raise ValueError("kind must be user, agent, bot, pause or resume")
    return out


class WholeMessageCollector(CollectingOutputChannel):
    """Collects each bot message whole: text, buttons and custom payload stay one message.

    Rasa's default output channels split a message with text and a custom payload into two; the
    widget protocol keeps them together (an order card travels with its text version).
    """

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        await self._persist_message({"recipient_id": recipient_id, **message})


class TrulyBotChannel(InputChannel):
    """Signed HTTP channel between the bot service and Rasa."""

    @classmethod
    def name(cls) -> Text:
        return "trulybot"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "TrulyBotChannel":
        secret = (credentials or {}).get("secret") or _channel_secret()
        return cls(secret)

    def __init__(self, secret: str) -> None:
        self.verifier = SignatureVerifier(secret)

    def _verified_json(self, request: Request) -> Union[Dict[str, Any], HTTPResponse]:
        """The signed request's JSON object, or the 401/400 response to send instead."""
        body: bytes = request.body or b""
        try:
            if len(body) > MAX_BODY_BYTES:
                raise SignatureError("body too large")
            self.verifier.verify(body, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER))
        except SignatureError as exc:
            return response.json({"error": "unauthorized", "detail": str(exc)}, status=401)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return response.json({"error": "bad_request", "detail": "body must be a JSON object"}, status=400)
        return payload

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("trulybot_webhook", __name__)

        @hook.route("/health", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"status": "loading"}, status=503)
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            payload = self._verified_json(request)
            if isinstance(payload, HTTPResponse):
                return payload
            sender = payload.get("sender")
            text = payload.get("message")
            metadata = payload.get("metadata") or {}
            if not isinstance(sender, str) or not sender or len(sender) > 128:
                return response.json({"error": "bad_request", "detail": "sender must be a short string"}, status=400)
            if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
                return response.json({"error": "bad_request", "detail": "message must be a string"}, status=400)
            if not isinstance(metadata, dict):
                return response.json({"error": "bad_request", "detail": "metadata must be an object"}, status=400)
            collector = WholeMessageCollector()
            await on_new_message(
                UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata)
            )
            return response.json({"messages": [reply_to_dict(m) for m in collector.messages]})

        @hook.route("/record", methods=["POST"])
        async def record(request: Request) -> HTTPResponse:
            payload = self._verified_json(request)
            if isinstance(payload, HTTPResponse):
                return payload
            sender = payload.get("sender")
            if not isinstance(sender, str) or not sender or len(sender) > 128:
                return response.json({"error": "bad_request", "detail": "sender must be a short string"}, status=400)
            try:
                events = recorded_events(payload.get("events"))
            except ValueError as exc:
                return response.json({"error": "bad_request", "detail": str(exc)}, status=400)
            agent = request.app.ctx.agent
            async with agent.lock_store.lock(sender):
                tracker = await agent.processor.fetch_tracker_and_update_session(sender)
                for event in events:
                    tracker.update(event)
                await agent.processor.save_tracker(tracker)
            return response.json({"recorded": len(events)})

        @hook.route("/history", methods=["POST"])
        async def history(request: Request) -> HTTPResponse:
            payload = self._verified_json(request)
            if isinstance(payload, HTTPResponse):
                return payload
            sender = payload.get("sender")
            limit = payload.get("limit", 50)
            if not isinstance(sender, str) or not sender or not isinstance(limit, int):
                return response.json({"error": "bad_request"}, status=400)
            agent = request.app.ctx.agent
            # Under the conversation's lock: a turn still in progress (perhaps sent by another bot
            # service replica whose socket just closed) is either in the history or not yet started.
            async with agent.lock_store.lock(sender):
                tracker = await agent.tracker_store.retrieve(sender)
            if tracker is None:
                return response.json({"events": []})
            events = [e.as_dict() for e in tracker.events]
            return response.json({"events": history_from_events(events, max(0, min(limit, MAX_HISTORY)))})

        return hook
