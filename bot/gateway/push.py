"""``POST /internal/push``: put a proactive bot message into a live widget conversation.

Authenticated with :mod:`bot.core.signing` headers made with ``TRULYBOT_CHANNEL_SECRET`` (timestamped,
replay-protected). Body: ``{"conversation_id": "c_...", "messages": [{"text", "buttons"?, "custom"?}],
"store_id": <int, optional: deliver only to sockets of this store>}``.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict, List

from aiohttp import web

from bot.gateway.state import GATEWAY
from bot.gateway.ws import clean_messages
from bot.core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, SignatureVerifier

logger = logging.getLogger(__name__)

MAX_PUSH_BYTES = 32 * 1024
MAX_PUSH_MESSAGES = 10
PUSH_VERIFIER = web.AppKey("push_verifier", SignatureVerifier)


def _bad(message: str, status: int = 400, code: str = "bad_request") -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


def _messages(body: Dict[str, Any]) -> List[Dict[str, Any]]:
    raw = body.get("messages")
    if raw is None and isinstance(body.get("text"), str):
        raw = [{"text": body["text"]}]
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_PUSH_MESSAGES:
        raise ValueError(f"messages must be a list of 1 to {MAX_PUSH_MESSAGES} objects")
    messages = clean_messages(raw)
    if len(messages) != len(raw):
        raise ValueError("every message needs a text, buttons or custom payload")
    return messages


async def push_handler(request: web.Request) -> web.Response:
    raw = await request.content.read(MAX_PUSH_BYTES + 1)
    if len(raw) > MAX_PUSH_BYTES:
        return _bad(f"body is limited to {MAX_PUSH_BYTES} bytes", 413, "too_large")
    try:
        request.app[PUSH_VERIFIER].verify(raw, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER))
    except SignatureError as exc:
        return _bad(str(exc), 401, "unauthorized")
    try:
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        conversation_id = body.get("conversation_id")
        if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= 128:
            raise ValueError("conversation_id must be a string")
        store_id = body.get("store_id")
        if store_id is not None and (not isinstance(store_id, int) or isinstance(store_id, bool)):
            raise ValueError("store_id must be an integer")
        messages = _messages(body)
    except (ValueError, RecursionError) as exc:
        return _bad(str(exc) if not isinstance(exc, json.JSONDecodeError) else "body is not JSON")
    result = await request.app[GATEWAY].hub.push(conversation_id, messages, store_id)
    return web.json_response(result, status=202 if result.get("published") else 200)
