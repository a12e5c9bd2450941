"""``GET /ws``: the widget socket (contract C5; full protocol in docs/widget-protocol.md)."""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any, Dict, List, Optional

from aiohttp import WSCloseCode, WSMsgType, web

from bot.services import activity
from bot import appkeys
from bot.services.metrics import RASA_TURN_SECONDS, TURNS, WS_SESSIONS
from bot.gateway import handoff as live_handoff
from bot.gateway.addresses import FORWARDING, address_group, client_address, client_hash
from bot.gateway.hub import Conversation
from bot.gateway.ratelimit import SlidingWindow
from bot.gateway.state import GATEWAY, Gateway
from bot.gateway.stores import WidgetStore
from bot.gateway.tokens import TokenError, new_conversation_id
from bot.rasa.client import RasaUnavailable

logger = logging.getLogger(__name__)

CLOSE_POLICY = WSCloseCode.POLICY_VIOLATION  # 1008: unknown widget, origin, flood, no hello
CLOSE_TRY_LATER = WSCloseCode.TRY_AGAIN_LATER  # 1013: too many connections from one address
CLOSE_IDLE = 4000
CLOSE_GOING_AWAY = WSCloseCode.GOING_AWAY  # 1001: server shutting down

LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")
MAX_ID_CHARS = 64
MAX_PAYLOAD_CHARS = 500

APOLOGY = {
    "unavailable": "Sorry, I can't answer right now. Please try again in a moment.",
    "internal": "Sorry, something went wrong on our side. Please try again.",
}


def note_activity(app: web.Application, store_id: int, kind: str, title: str, details: Dict[str, Any]) -> None:
    """Record an activity entry in a worker thread without delaying the shopper (failures are logged)."""
    def run() -> None:
        try:
            activity.record_for_store(app[appkeys.DB_SESSIONS], store_id, kind, title, details)
        except Exception:  # noqa: BLE001 - analytics must never break the socket
            logger.warning("could not record %s activity", kind, exc_info=True)

    asyncio.get_running_loop().run_in_executor(None, run)


def own_origin(app: web.Application) -> str:
    """The bot service's own origin (its pages, e.g. the dashboard's widget preview, may open any widget)."""
    url = app[appkeys.SETTINGS].public_url.rstrip("/")
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else ""


def _error(code: str, message: str, reply_to: Optional[str] = None) -> Dict[str, Any]:
    frame: Dict[str, Any] = {"type": "error", "code": code, "message": message}
    if reply_to is not None:
        frame["reply_to"] = reply_to
    return frame


def clean_messages(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Bot messages in the C5 shape: ``text``, optional ``buttons``, ``custom`` and ``image``."""
    out: List[Dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        item: Dict[str, Any] = {"text": message.get("text") if isinstance(message.get("text"), str) else ""}
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in message.get("buttons") or () if isinstance(b, dict) and (b.get("title") or b.get("payload"))
        ]
        if buttons:
            item["buttons"] = buttons
        if isinstance(message.get("custom"), dict):
            item["custom"] = message["custom"]
        if isinstance(message.get("image"), str):
            item["image"] = message["image"]
        if item["text"] or len(item) > 1:
            out.append(item)
    return out


class Connection:
    """One widget socket: hello, then messages forwarded to Rasa in order."""

    def __init__(self, gateway: Gateway, request: web.Request, ws: web.WebSocketResponse, address: str) -> None:
        self.gw = gateway
        self.request = request
        self.ws = ws
        self.address = address
        self.origin = (request.headers.get("Origin") or "").rstrip("/")
        self.store: Optional[WidgetStore] = None
        self.store_id = -1
        self.conversation: Optional[Conversation] = None
        self.locale = "en"
        self.issued_at = 0
        self.resumed = False
        self.queue: "asyncio.Queue[Optional[Dict[str, Any]]]" = asyncio.Queue()
        self.worker: Optional["asyncio.Task[None]"] = None
        self.frames = SlidingWindow(gateway.limits.frames_per_window, gateway.limits.rate_window_seconds)

    # -- sending ---------------------------------------------------------------------------------
    async def send(self, frame: Dict[str, Any]) -> bool:
        if self.ws.closed:
            return False
        try:
            await self.ws.send_str(json.dumps(frame, separators=(",", ":"), ensure_ascii=False))
            return True
        except (ConnectionError, RuntimeError):
            return False

    async def deliver(self, messages: List[Dict[str, Any]]) -> bool:
        """A proactive message (no ``reply_to``)."""
        return await self.send({"type": "bot", "messages": clean_messages(messages)})

    async def close(self, code: int, message: str = "") -> None:
        if not self.ws.closed:
            await self.ws.close(code=code, message=message.encode("utf-8"))

    # -- main loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        limits = self.gw.limits
        try:
            while not self.ws.closed:
                timeout = limits.idle_timeout_seconds if self.conversation else limits.hello_timeout_seconds
                try:
                    msg = await self.ws.receive(timeout=timeout)
                except asyncio.TimeoutError:
                    if self.conversation is None:
                        await self.send(_error("bad_frame", "no hello received"))
                        await self.close(CLOSE_POLICY, "no hello")
                    else:
                        await self.send(_error("idle_timeout", "closed after a long silence; reconnect to continue"))
                        await self.close(CLOSE_IDLE, "idle")
                    break
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                if not self.frames.allow("frames"):
                    await self.send(_error("rate_limited", "too many frames; closing"))
                    await self.close(CLOSE_POLICY, "flood")
                    break
                if msg.type != WSMsgType.TEXT:
                    await self.send(_error("bad_frame", "frames must be JSON text"))
                    continue
                await self.on_text(msg.data)
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        if self.worker is not None:
            while not self.queue.empty():  # the shopper is gone: drop what was not started
                self.queue.get_nowait()
            self.queue.put_nowait(None)
            try:
                await asyncio.wait_for(asyncio.shield(self.worker), self.gw.turn_timeout)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self.worker.cancel()
            except Exception:  # noqa: BLE001
                logger.exception("widget turn worker failed")
        if self.conversation is not None:
            self.gw.hub.leave(self.conversation, self)

    async def on_text(self, data: str) -> None:
        limits = self.gw.limits
        too_big = len(data) > limits.max_frame_bytes or len(data.encode("utf-8")) > limits.max_frame_bytes
        try:
            frame = json.loads(data)
        except (ValueError, RecursionError):
            frame = None
        if not isinstance(frame, dict):
            await self.send(_error("too_large" if too_big else "bad_frame",
                                   "frame too large" if too_big else "frames must be JSON objects"))
            return
        kind = frame.get("type")
        client_id = frame.get("id") if kind == "message" and _valid_id(frame.get("id")) else None
        if too_big:
            await self.send(_error("too_large", f"frames are limited to {limits.max_frame_bytes} bytes", client_id))
            return
        if kind == "hello":
            await self.on_hello(frame)
        elif kind == "message":
            await self.on_message(frame, client_id)
        elif kind == "ping":
            await self.send({"type": "pong"})
        else:
            await self.send(_error("bad_frame", "unknown frame type"))

    # -- hello -----------------------------------------------------------------------------------
    async def on_hello(self, frame: Dict[str, Any]) -> None:
        if self.conversation is not None:
            await self.send(_error("bad_frame", "hello was already received on this socket"))
            return
        widget_id = frame.get("widget_id")
        token = frame.get("session")
        if not isinstance(widget_id, str) or not widget_id:
            await self.send(_error("bad_frame", "hello needs a widget_id"))
            return
        if token is not None and not isinstance(token, str):
            await self.send(_error("bad_frame", "session must be a token string or null"))
            return
        try:
            store = await self.gw.stores.get(widget_id)
        except Exception:  # noqa: BLE001 - database trouble: say so instead of dropping the socket
            logger.exception("store lookup failed")
            await self.send(_error("unavailable", APOLOGY["unavailable"]))
            await self.close(WSCloseCode.INTERNAL_ERROR, "unavailable")
            return
        if store is None or not store.active:
            await self.send(_error("unknown_widget", "this chat widget is not available"))
            await self.close(CLOSE_POLICY, "unknown widget")
            return
        if not self.origin or (self.origin not in store.allowed_origins and self.origin != own_origin(self.request.app)):
            await self.send(_error("origin_not_allowed", "this chat widget is not enabled on this site"))
            await self.close(CLOSE_POLICY, "origin not allowed")
            return
        locale = frame.get("locale")
        self.locale = locale if isinstance(locale, str) and LOCALE.match(locale) else store.locale
        history: List[Dict[str, Any]] = []
        history_complete = True
        if token:
            try:
                session = self.gw.signer.verify(token, store.id, store.widget_id)
            except TokenError as exc:
                message = "your chat session has expired" if exc.reason == "expired" else "this chat session is not valid here"
                await self.send(_error("session_expired", message + "; send hello with session null to start a new one"))
                return
            conversation_id, self.issued_at, self.resumed = session.conversation_id, session.issued_at, True
            loaded = await self.history(conversation_id)
            history, history_complete = (loaded, True) if loaded is not None else ([], False)
        else:
            exhausted = await self.gw.new_sessions.allow(address_group(self.address), store.id)
            if exhausted is not None:
                who = "your address" if exhausted == "address" else "this store"
                await self.send(_error("rate_limited", f"too many new chats from {who}; try again in a few minutes"))
                await self.close(CLOSE_TRY_LATER, "too many new sessions")
                return
            conversation_id, self.issued_at, self.resumed = new_conversation_id(), int(time.time()), False
            note_activity(self.request.app, store.id, activity.CONVERSATION, "Conversation started",
                          {"conversation_id": conversation_id})
        self.store, self.store_id = store, store.id
        self.conversation = self.gw.hub.join(conversation_id, self)
        if self.resumed and self.conversation.handoff is None:
            self.conversation.handoff = await live_handoff.load(self.request.app, conversation_id)
        self.conversation.offer([{"buttons": [{"payload": p} for _, p in store.quick_replies]}])
        self.conversation.offer(h for h in history if h.get("role") == "bot")
        token = self.gw.signer.issue(store.id, store.widget_id, conversation_id, issued_at=self.issued_at)
        self.worker = asyncio.create_task(self.work())
        welcome = {"type": "welcome", "session": token, "conversation_id": conversation_id,
                   "resumed": self.resumed, "history": history, "history_complete": history_complete}
        if self.conversation.handoff is not None:
            welcome["handoff"] = live_handoff.state_frame(self.conversation.handoff)
        await self.send(welcome)

    async def history(self, conversation_id: str) -> Optional[List[Dict[str, Any]]]:
        """The resumed conversation's recent messages for the welcome frame; None when Rasa could not
        give them in time (the welcome then says ``history_complete: false``)."""
        try:
            events = await asyncio.wait_for(
                self.gw.rasa().history(conversation_id, self.gw.limits.history_limit),
                self.gw.limits.history_timeout_seconds,
            )
        except (RasaUnavailable, asyncio.TimeoutError) as exc:
            logger.warning("history unavailable for a resumed session: %s", exc or exc.__class__.__name__)
            return None
        out = []
        for event in events:
            role = event.get("role")
            if role not in ("user", "bot", "agent"):
                continue
            item = clean_messages([event])
            if not item and role == "user":
                continue
            entry: Dict[str, Any] = {"role": role, **(item[0] if item else {"text": ""})}
            if role == "agent" and isinstance(event.get("agent"), dict):
                entry["agent"] = {"name": str(event["agent"].get("name") or "")}
            if isinstance(event.get("timestamp"), (int, float)):
                entry["timestamp"] = event["timestamp"]
            out.append(entry)
        return out

    # -- messages --------------------------------------------------------------------------------
    async def on_message(self, frame: Dict[str, Any], client_id: Optional[str]) -> None:
        limits = self.gw.limits
        if client_id is None:
            await self.send(_error("bad_frame", "message needs an id (a string of at most 64 characters)"))
            return
        if self.conversation is None:
            await self.send(_error("bad_frame", "send hello first", client_id))
            return
        text = frame.get("text")
        payload = frame.get("payload")
        if not isinstance(text, str) or not text.strip():
            await self.send(_error("bad_frame", "message needs a non-empty text", client_id))
            return
        if len(text) > limits.max_text_chars:
            await self.send(_error("too_large", f"messages are limited to {limits.max_text_chars} characters", client_id))
            return
        if payload is not None and not isinstance(payload, str):
            await self.send(_error("bad_frame", "payload must be a string", client_id))
            return
        if self.queue.qsize() >= limits.max_pending_messages or not await self.gw.limiter.allow(self.conversation.id):
            await self.send(_error("rate_limited", "you are sending messages too fast; wait a moment", client_id))
            return
        self.queue.put_nowait({"id": client_id, "text": text.strip(), "payload": payload})

    async def work(self) -> None:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            try:
                await self.turn(item)
            except Exception:  # noqa: BLE001 - never leave a message without an answer
                logger.exception("widget turn failed")
                await self.send(_error("internal", APOLOGY["internal"], item["id"]))

    def rasa_text(self, item: Dict[str, Any]) -> str:
        payload = item["payload"]
        assert self.conversation is not None
        if payload and len(payload) <= MAX_PAYLOAD_CHARS and self.conversation.offered(payload):
            return payload
        # Typed text (or an unoffered button) never reaches Rasa as an intent command.
        return item["text"].lstrip("/").strip() or "?"

    def metadata(self, shown_text: Optional[str] = None) -> Dict[str, Any]:
        """The metadata Rasa and the actions receive (``shown_text``: a pressed button's title)."""
        assert self.store is not None
        data = {
            "store_id": self.store.id,
            "widget_id": self.store.widget_id,
            "platform": self.store.platform,
            "store_name": self.store.name,
            "locale": self.locale,
            "client": client_hash(self.gw.session_secret, address_group(self.address)),
            "session": {"issued_at": self.issued_at, "resumed": self.resumed},
        }
        if shown_text:
            data["display_text"] = shown_text[:200]  # history shows the title, not the payload
        return data

    async def still_typing(self) -> None:
        """Renew the typing indicator while the turn waits in the bot service's Rasa queue."""
        await self.send({"type": "typing"})

    async def turn(self, item: Dict[str, Any]) -> None:
        conversation = self.conversation
        assert conversation is not None
        async with conversation.lock:
            if self.ws.closed:
                return  # nobody to answer; the message was never sent to Rasa
            if conversation.handoff is not None:
                try:
                    await self.send(await live_handoff.route(self, item))
                except RasaUnavailable as exc:
                    logger.warning("Rasa unavailable while recording a handoff message: %s", exc)
                    await self.send(_error("unavailable", APOLOGY["unavailable"], item["id"]))
                return
            await self.send({"type": "typing"})
            try:
                text = self.rasa_text(item)
                shown = item["text"] if text.startswith("/") else None
                with RASA_TURN_SECONDS.time():
                    replies = await self.gw.rasa().send(conversation.id, text, self.metadata(shown),
                                                        on_wait=self.still_typing)
            except RasaUnavailable as exc:
                logger.warning("Rasa unavailable for a widget turn: %s", exc)
                TURNS.labels(outcome="unavailable").inc()
                await self.send(_error("unavailable", APOLOGY["unavailable"], item["id"]))
                return
            messages, marker = live_handoff.take_marker(clean_messages(replies))
            if marker is not None:
                messages.extend(await live_handoff.start(self, marker))
            if not messages:
                TURNS.labels(outcome="empty").inc()
                await self.send(_error("unavailable", APOLOGY["unavailable"], item["id"]))
                return
            TURNS.labels(outcome="ok").inc()
            conversation.offer(messages)
            await self.send({"type": "bot", "reply_to": item["id"], "messages": messages})
            if marker is not None and conversation.handoff is not None:
                await self.send(live_handoff.state_frame(conversation.handoff))


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    limits = gateway.limits
    settings = request.app[appkeys.SETTINGS]
    ws = web.WebSocketResponse(
        max_msg_size=limits.hard_frame_bytes, heartbeat=limits.heartbeat_seconds, compress=False, autoping=True
    )
    if not ws.can_prepare(request).ok:
        return web.json_response({"error": "bad_request", "message": "this endpoint is a websocket"}, status=400)
    await ws.prepare(request)
    request.app[FORWARDING].note(request, settings.trusted_proxies)
    address = client_address(request, settings.trusted_proxies)
    if gateway.connections.get(address, 0) >= limits.connections_per_address:
        frame = _error("too_many_connections", "too many chat connections from your address")
        await ws.send_str(json.dumps(frame))
        await ws.close(code=CLOSE_TRY_LATER, message=b"too many connections")
        return ws
    gateway.connections[address] = gateway.connections.get(address, 0) + 1
    gateway.sockets.add(ws)
    WS_SESSIONS.inc()
    try:
        await Connection(gateway, request, ws, address).run()
    finally:
        WS_SESSIONS.dec()
        gateway.sockets.discard(ws)
        left = gateway.connections.get(address, 1) - 1
        if left > 0:
            gateway.connections[address] = left
        else:
            gateway.connections.pop(address, None)
    return ws
