"""Idle widget sockets: RSS of the bot service with N open sockets after hello, minus its RSS before."""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Callable, Dict, List

import aiohttp

from bench.load import next_address
from bench.procs import rss_bytes

MB = 1024 * 1024


async def idle_sockets(ws_url: str, origin: str, bot_pid: int, count: int = 1000, batch: int = 50,
                       settle: float = 1.0, progress: Callable[[int], None] = lambda n: None) -> Dict[str, Any]:
    await asyncio.sleep(settle)
    before = rss_bytes(bot_pid)
    sockets: List[aiohttp.ClientWebSocketResponse] = []
    failed = 0
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(i: int) -> None:
            nonlocal failed
            widget = "demo-woocommerce" if i % 2 else "demo-shopify"
            try:
                ws = await http.ws_connect(ws_url, headers={"Origin": origin, "X-Forwarded-For": next_address()},
                                           autoping=True, timeout=30)
                await ws.send_str(json.dumps({"type": "hello", "widget_id": widget, "session": None, "locale": "en"}))
                msg = await ws.receive(timeout=30)
                if msg.type == aiohttp.WSMsgType.TEXT and json.loads(msg.data).get("type") == "welcome":
                    sockets.append(ws)
                else:
                    failed += 1
                    await ws.close()
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                failed += 1

        for first in range(0, count, batch):
            await asyncio.gather(*(one(i) for i in range(first, min(count, first + batch))))
            progress(len(sockets) + failed)
        open_s = time.perf_counter() - started
        await asyncio.sleep(settle)
        during = rss_bytes(bot_pid)
        opened = len(sockets)
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    await asyncio.sleep(settle)
    after = rss_bytes(bot_pid)
    return {
        "sockets": opened, "failed": failed, "open_s": round(open_s, 2),
        "rss_before_mb": round(before / MB, 1), "rss_with_sockets_mb": round(during / MB, 1),
        "rss_after_close_mb": round(after / MB, 1),
        "delta_mb": round((during - before) / MB, 1),
        "per_socket_kb": round((during - before) / 1024 / opened, 1) if opened else None,
    }
