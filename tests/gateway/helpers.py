"""A tiny widget-socket client for tests."""
from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any, Dict, List, Optional

import aiohttp

from tests.gateway.conftest import ORIGIN_A

_ids = itertools.count(1)


class WidgetSocket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: List[Dict[str, Any]] = []

    @classmethod
    async def connect(cls, client: Any, origin: Optional[str] = ORIGIN_A, headers: Optional[dict] = None,
                      url: str = "/ws") -> "WidgetSocket":
        hdrs = dict(headers or {})
        if origin is not None:
            hdrs["Origin"] = origin
        return cls(await client.ws_connect(url, headers=hdrs, autoping=True))

    async def send(self, frame: Any) -> None:
        await self.ws.send_str(frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False))

    async def recv(self, timeout: float = 10.0) -> Dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"expected a text frame, got {msg.type} {msg.data!r} {msg.extra!r}")
        frame = json.loads(msg.data)
        self.frames.append(frame)
        return frame

    async def recv_type(self, *types: str, timeout: float = 10.0) -> Dict[str, Any]:
        """The next frame of one of ``types`` (skipping ``typing``)."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] in types:
                return frame
            assert frame["type"] == "typing", frame

    async def hello(self, widget_id: str = "w-a", session: Optional[str] = None, locale: str = "en") -> Dict[str, Any]:
        await self.send({"type": "hello", "widget_id": widget_id, "session": session, "locale": locale})
        return await self.recv()

    async def say(self, text: str, payload: Optional[str] = None, id: Optional[str] = None) -> str:
        client_id = id or f"m{next(_ids)}"
        frame: Dict[str, Any] = {"type": "message", "id": client_id, "text": text}
        if payload is not None:
            frame["payload"] = payload
        await self.send(frame)
        return client_id

    async def ask(self, text: str, payload: Optional[str] = None) -> Dict[str, Any]:
        client_id = await self.say(text, payload)
        frame = await self.recv_type("bot", "error")
        assert frame.get("reply_to") == client_id, frame
        return frame

    async def closed(self, timeout: float = 5.0) -> int:
        """Wait for the server to close; return the close code (frames before it are kept)."""
        while True:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.frames.append(json.loads(msg.data))
                continue
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return self.ws.close_code if self.ws.close_code is not None else msg.data
            if msg.type == aiohttp.WSMsgType.ERROR:
                return self.ws.close_code

    async def quiet(self, seconds: float = 0.2) -> None:
        """Assert nothing else arrives for ``seconds``."""
        try:
            msg = await self.ws.receive(timeout=seconds)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"unexpected frame {msg.type} {msg.data!r}")
