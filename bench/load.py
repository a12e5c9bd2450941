"""Closed-loop load: N concurrent simulated shoppers, each running scripted conversations back to back.

Our stack: every conversation is a new widget socket (hello with session null, i.e. a new session) from a
new client address sent as X-Forwarded-For (the stack trusts 127.0.0.1/32), so the gateway's per-session
message limit, per-address connection cap and per-address lockouts see distinct shoppers.
Stock Rasa: every conversation is a new sender id on the REST channel.

A turn's latency is from just before the client writes the message until it has read the answering
frame (``bot``/``error`` with ``reply_to``; ``typing`` frames are skipped) or the REST response body.
Only turns and conversations that *end* inside the measuring window (after the warm-up) are counted.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import aiohttp

from bench.scenarios import Scenario, check, weighted
from bench.stats import latency_summary

TURN_TIMEOUT = 30.0

_address_counter = itertools.count(1)


def next_address() -> str:
    """A fresh shopper address (10.0.0.1 ... 10.0.0.254, 10.0.1.1, ...), unique for 16.6 million calls."""
    n = next(_address_counter) - 1
    block, host = divmod(n, 254)  # last octet 1..254
    return f"10.{(block >> 8) & 255}.{block & 255}.{host + 1}"


@dataclass
class Turn:
    end: float
    ms: float
    kind: str
    scenario: str
    ok: bool
    expected: bool
    error: Optional[str] = None


@dataclass
class RunResult:
    target: str
    concurrency: int
    latency_ms: float
    window_s: float
    turns: List[Turn] = field(default_factory=list)
    conversations: int = 0
    connect_ms: List[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    unexpected: Counter = field(default_factory=Counter)
    client_cpu_s: float = 0.0
    processes: Dict[str, Dict[str, float]] = field(default_factory=dict)
    think_ms: float = 0.0
    all_turns: int = 0  #: every answered turn of the phase, warm-up and drain included (CPU per turn)
    all_by_kind: Counter = field(default_factory=Counter)

    def summary(self) -> Dict[str, Any]:
        ok = [t.ms for t in self.turns if t.ok]
        by_kind = {}
        for kind in ("utter", "action", "lookup"):
            vals = [t.ms for t in self.turns if t.ok and t.kind == kind]
            if vals:
                by_kind[kind] = latency_summary(vals)
        return {
            "target": self.target,
            "concurrency": self.concurrency,
            "store_latency_ms": self.latency_ms,
            "think_ms": self.think_ms,
            "window_s": round(self.window_s, 2),
            "turns": len(self.turns),
            "turns_ok": len(ok),
            "turns_per_s": round(len(ok) / self.window_s, 2) if self.window_s else None,
            "conversations": self.conversations,
            "conversations_per_s": round(self.conversations / self.window_s, 2) if self.window_s else None,
            "latency": latency_summary(ok),
            "latency_by_kind": by_kind,
            "connect_hello": latency_summary(self.connect_ms),
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "unexpected_replies": sum(self.unexpected.values()),
            "unexpected_by_step": dict(self.unexpected),
            "client_cpu_s": round(self.client_cpu_s, 2),
            "turns_whole_phase": self.all_turns,
            "turns_whole_phase_by_kind": dict(self.all_by_kind),
            "processes": self.processes,
        }


class Target:
    """Where conversations go: our widget socket or stock Rasa's REST channel."""

    name = "?"

    async def open(self, http: aiohttp.ClientSession, scenario: Scenario, result: RunResult) -> Any:
        raise NotImplementedError

    async def turn(self, conv: Any, text: str, n: int) -> Tuple[Optional[List[Dict[str, Any]]], Optional[str]]:
        raise NotImplementedError

    async def close(self, conv: Any) -> None:
        pass


class WidgetTarget(Target):
    name = "trulybot"

    def __init__(self, ws_url: str, origin: str) -> None:
        self.ws_url = ws_url
        self.origin = origin

    async def open(self, http, scenario, result):
        started = time.perf_counter()
        ws = await http.ws_connect(self.ws_url, headers={"Origin": self.origin, "X-Forwarded-For": next_address()},
                                   autoping=True, timeout=TURN_TIMEOUT, receive_timeout=None)
        await ws.send_str(json.dumps({"type": "hello", "widget_id": scenario.widget_id, "session": None, "locale": "en"}))
        msg = await ws.receive(timeout=TURN_TIMEOUT)
        if msg.type != aiohttp.WSMsgType.TEXT or json.loads(msg.data).get("type") != "welcome":
            await ws.close()
            raise ConnectionError(f"hello: {msg.type.name} {str(msg.data)[:80]}")
        result.connect_ms.append((time.perf_counter() - started) * 1000)
        return ws

    async def turn(self, ws, text, n):
        client_id = f"m{n}"
        await ws.send_str(json.dumps({"type": "message", "id": client_id, "text": text}))
        while True:
            msg = await ws.receive(timeout=TURN_TIMEOUT)
            if msg.type != aiohttp.WSMsgType.TEXT:
                return None, f"socket_{msg.type.name.lower()}"
            frame = json.loads(msg.data)
            kind = frame.get("type")
            if kind == "typing" or frame.get("reply_to") != client_id:
                continue
            if kind == "error":
                return None, f"error_{frame.get('code')}"
            return frame.get("messages") or [], None

    async def close(self, ws):
        await ws.close()


class RestTarget(Target):
    name = "stock-rasa"

    def __init__(self, base_url: str) -> None:
        self.url = base_url.rstrip("/") + "/webhooks/rest/webhook"

    async def open(self, http, scenario, result):
        return (http, f"bench-{uuid.uuid4().hex}")

    async def turn(self, conv, text, n):
        http, sender = conv
        async with http.post(self.url, json={"sender": sender, "message": text},
                             timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT)) as resp:
            body = await resp.read()
            if resp.status != 200:
                return None, f"http_{resp.status}"
        data = json.loads(body)
        return (data if isinstance(data, list) else []), None


async def run_load(target: Target, scenarios: Tuple[Scenario, ...], concurrency: int, duration: float,
                   warmup: float, latency_ms: float = 0.0, think_ms: float = 0.0,
                   on_tick: Optional[Callable[[float, RunResult], None]] = None) -> RunResult:
    """Run ``concurrency`` shoppers for ``warmup + duration`` seconds; count what ends in the last ``duration``."""
    mix = weighted(scenarios)
    picks = itertools.count()
    result = RunResult(target.name, concurrency, latency_ms, duration, think_ms=think_ms)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    window_start, window_end = t0 + warmup, t0 + warmup + duration
    stopping = asyncio.Event()
    rng = random.Random(concurrency)

    def inside(t: float) -> bool:
        return window_start <= t <= window_end

    async def shopper(index: int, http: aiohttp.ClientSession) -> None:
        n = 0
        if think_ms:  # paced shoppers arrive spread over one think time
            await asyncio.sleep(rng.uniform(0, think_ms / 1000.0))
        while not stopping.is_set():
            pick = next(picks)
            scenario = mix[pick % len(mix)]
            wording = random.Random(pick)  # the same wordings for the n-th conversation of every target
            try:
                conv = await target.open(http, scenario, result)
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, OSError) as exc:
                if inside(loop.time()):
                    result.errors[f"connect_{exc.__class__.__name__}"] += 1
                await asyncio.sleep(0.05)
                continue
            try:
                completed = True
                for step in scenario.steps:
                    if stopping.is_set():
                        completed = False
                        break
                    if think_ms and n:  # the shopper reads the reply and types (also before a new conversation)
                        await asyncio.sleep(rng.uniform(0.5, 1.5) * think_ms / 1000.0)
                        if stopping.is_set():
                            completed = False
                            break
                    n += 1
                    started = time.perf_counter()
                    try:
                        messages, error = await target.turn(conv, step.pick(wording), n)
                    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, ConnectionError) as exc:
                        messages, error = None, f"exception_{exc.__class__.__name__}"
                    ms = (time.perf_counter() - started) * 1000
                    end = loop.time()
                    expected = error is None and check(step, messages or [])
                    if error is None:
                        result.all_turns += 1
                        result.all_by_kind[step.kind] += 1
                    if inside(end):
                        result.turns.append(Turn(end, ms, step.kind, scenario.name, error is None, expected, error))
                        if error:
                            result.errors[error] += 1
                        elif not expected:
                            result.unexpected[f"{scenario.name}: {step.text}"] += 1
                    if error:
                        completed = False
                        break
                if completed and inside(loop.time()):
                    result.conversations += 1
            finally:
                try:
                    await target.close(conv)
                except Exception:  # noqa: BLE001
                    pass

    async def ticker() -> None:
        while not stopping.is_set():
            await asyncio.sleep(0.5)
            if on_tick:
                on_tick(loop.time() - t0, result)

    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as http:
        tasks = [asyncio.create_task(shopper(i, http)) for i in range(concurrency)]
        tick = asyncio.create_task(ticker())
        await asyncio.sleep(max(0.0, window_end - loop.time()))
        stopping.set()
        # Let turns in flight finish (they are outside the window and not counted) so the next phase
        # starts on an idle system.
        done, pending = await asyncio.wait(tasks, timeout=TURN_TIMEOUT + 5)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        tick.cancel()
        if on_tick:
            on_tick(warmup + duration, result)
    return result
