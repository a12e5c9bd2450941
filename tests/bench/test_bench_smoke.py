"""Fast smoke tests of the benchmark code (bench/): statistics, scenarios, report, /proc sampling, and a
tiny load run against an in-process fake of the widget socket and of Rasa's REST channel.
No real stack is started here; `make bench` does that."""
from __future__ import annotations

import asyncio
import json
import math
import os

import pytest
from aiohttp import WSMsgType, web

from bench import load, procs
from bench.report import render, targets
from bench.scenarios import COMPARABLE, SHOPPER_MIX, Step, check, weighted
from bench.stats import latency_summary, percentile, ratio, table


def test_percentile_interpolates_like_numpy():
    values = [10, 20, 30, 40]
    assert percentile(values, 0) == 10
    assert percentile(values, 100) == 40
    assert percentile(values, 50) == 25
    assert percentile(values, 95) == pytest.approx(38.5)
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_latency_summary_and_ratio():
    s = latency_summary([float(i) for i in range(1, 101)])
    assert s["n"] == 100 and s["p50_ms"] == 50.5 and s["p99_ms"] == pytest.approx(99.0, abs=0.1)
    assert latency_summary([])["p95_ms"] is None
    assert ratio(10, 4) == 2.5 and ratio(None, 3) is None and ratio(3, 0) is None


def test_table_aligns_columns():
    text = table(["metric", "value"], [["a", "1"], ["longer name", "22.5"]])
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[1].startswith("-----------")


def test_weighted_mix_and_checks():
    mix = weighted(SHOPPER_MIX)
    assert len(mix) == sum(s.weight for s in SHOPPER_MIX)
    assert mix[0].name != mix[1].name  # interleaved, not blocks
    assert {s.name for s in mix} == {s.name for s in SHOPPER_MIX}
    # every scenario exercises at least one order lookup except out-of-scope
    for s in SHOPPER_MIX:
        assert any(step.kind == "lookup" for step in s.steps) == (s.name != "out-of-scope")
    assert all(step.kind == "utter" for step in COMPARABLE[0].steps)
    card = [{"text": "Your order", "custom": {"type": "order", "order": {"number": "1002"}}}]
    assert check(Step("x", "lookup", "card"), card)
    assert not check(Step("x", "lookup", "card"), [{"text": "no"}])
    assert check(Step("x", "lookup", "not_found"), [{"text": "I couldn't find an order with that number"}])
    assert check(Step("x", expect="asks_email"), [{"text": "What's the email address on that order?"}])
    assert not check(Step("x"), [])


def test_addresses_are_distinct():
    seen = {load.next_address() for _ in range(70000)}
    assert len(seen) == 70000
    assert all(a.startswith("10.") for a in list(seen)[:10])


def test_proc_readings_of_this_process():
    pid = os.getpid()
    assert procs.rss_bytes(pid) > 10 * 1024 * 1024
    assert procs.hwm_bytes(pid) >= procs.rss_bytes(pid) // 2
    assert procs.cpu_seconds(pid) > 0
    assert procs.cpu_seconds(2 ** 22 + 12345) == 0.0
    sampler = procs.Sampler(lambda: {"me": pid}, interval=0.01).start()
    sum(i * i for i in range(200_000))
    usage = sampler.stop()["me"]
    assert usage.peak_rss > 0 and usage.cpu_s >= 0 and sampler.peak_total >= usage.peak_rss
    assert procs.name_of(["python", "-m", "rasa", "run", "--model", "m"]) == "rasa"
    assert procs.name_of(["python", "-m", "rasa_sdk", "--actions", "actions"]) == "actions"
    assert procs.name_of(["python", "-m", "bot.process.cli", "serve"]) == "bot"
    assert procs.name_of(["python", "-m", "plugins.shopify.emulator", "--port", "1"]) == "shopify-emulator"


# -- a tiny end-to-end run of the load generator against in-process fakes ----------------------------------

def _fake_reply(text: str):
    if "@" in text:
        if text.startswith("wrong"):
            return [{"text": "I couldn't find an order with that number and email."}]
        return [{"text": "Your order #1002 has shipped", "custom": {"type": "order", "order": {"number": "1002"}}}]
    if text.isdigit():
        return [{"text": "What's the email address on that order?"}]
    if "order" in text or "package" in text:
        return [{"text": "Sure! What's your order number?"}]
    if text.startswith("has it shipped"):
        return [{"text": "Still on its way", "custom": {"type": "order", "order": {"number": "1002"}}}]
    return [{"text": "ok"}]


async def _ws(request: web.Request) -> web.WebSocketResponse:
    request.app["addresses"].add(request.headers.get("X-Forwarded-For"))
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            break
        frame = json.loads(msg.data)
        if frame["type"] == "hello":
            await ws.send_str(json.dumps({"type": "welcome", "session": "t", "conversation_id": "c", "history": []}))
        else:
            await ws.send_str(json.dumps({"type": "typing"}))
            await asyncio.sleep(0.002)
            await ws.send_str(json.dumps({"type": "bot", "reply_to": frame["id"], "messages": _fake_reply(frame["text"])}))
    return ws


async def _rest(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response([{"recipient_id": body["sender"], "text": "ok"}])


@pytest.fixture
async def fake_server(aiohttp_server):
    app = web.Application()
    app["addresses"] = set()
    app.router.add_get("/ws", _ws)
    app.router.add_post("/webhooks/rest/webhook", _rest)
    return await aiohttp_server(app)


async def test_tiny_load_run_over_fake_socket(fake_server):
    base = f"http://127.0.0.1:{fake_server.port}"
    target = load.WidgetTarget(f"ws://127.0.0.1:{fake_server.port}/ws", base)
    result = await load.run_load(target, SHOPPER_MIX, concurrency=2, duration=0.6, warmup=0.1)
    summary = result.summary()
    assert summary["errors"] == 0, summary["error_kinds"]
    assert summary["unexpected_replies"] == 0, summary["unexpected_by_step"]
    assert summary["turns_ok"] > 10 and summary["turns_per_s"] > 0
    assert summary["latency"]["p95_ms"] >= summary["latency"]["p50_ms"] > 0
    assert "lookup" in summary["latency_by_kind"]
    assert len(fake_server.app["addresses"]) >= 2  # a new shopper address per conversation


async def test_tiny_load_run_over_fake_rest(fake_server):
    target = load.RestTarget(f"http://127.0.0.1:{fake_server.port}")
    result = await load.run_load(target, COMPARABLE, concurrency=1, duration=0.3, warmup=0.0)
    summary = result.summary()
    assert summary["errors"] == 0 and summary["turns_ok"] > 3


def _row(target: str, c: int, latency: float, tps: float, p95: float, processes=None) -> dict:
    lat = {"n": 10, "p50_ms": p95 / 2, "p95_ms": p95, "p99_ms": p95 * 1.1, "max_ms": p95 * 2, "mean_ms": p95 / 2}
    return {"target": target, "concurrency": c, "store_latency_ms": latency, "think_ms": 0, "window_s": 5,
            "turns": 50, "turns_ok": 50, "turns_per_s": tps, "conversations": 10, "conversations_per_s": tps / 5,
            "latency": lat, "latency_by_kind": {"lookup": lat}, "connect_hello": lat, "errors": 0, "error_kinds": {},
            "unexpected_replies": 0, "unexpected_by_step": {}, "client_cpu_s": 0.1,
            "processes": processes or {"rasa": {"pid": 1, "cpu_s": 1.0, "peak_rss_mb": 560.0, "rss_start_mb": 550.0,
                                                "rss_end_mb": 560.0}},
            "cpu_ms_per_turn": {"rasa": 20.0, "client": 1.0}, "peak_total_rss_mb": 850.0}


def test_report_targets_and_render():
    out = {
        "mode": "quick", "started_at": "now", "patched": None, "profiled": None,
        "machine": {"cpu_model": "cpu", "cores": 2, "ram_gb": 8, "python": "3.10", "rasa": "3.6.21",
                    "load_average_start": [0.5, 0.5, 0.5]},
        "plan": {"paced": {"concurrency": 64, "think_ms": 3000.0}, "think_ms": 0},
        "models": {"trulybot": {"train_s": 30}, "stock": {"train_s": 400}},
        "stack": {"rss_at_rest_mb": {"rasa": 560.0, "bot": 70.0}},
        "stock": {"rss_at_rest_mb": 1380.0},
        "load": [_row("trulybot", 16, 0, 20, 1000), {**_row("trulybot", 256, 0, 160, 3000), "error_kinds": {"error_unavailable": 3}}],
        "paced": [_row("trulybot", 64, 0, 16, 30), _row("trulybot", 64, 80, 15, 120)],
        "longconv": {"trulybot": {"turns": 62, "cpu_ms_turn5": 11.0, "cpu_ms_turn50": 12.1, "ratio_cpu": 1.1},
                     "rasa_default": {"turns": 62, "cpu_ms_turn5": 14.0, "cpu_ms_turn50": 30.0, "ratio_cpu": 2.14}},
        "replicas": {"concurrency": 64, "rows": [{**_row("trulybot", 64, 0, 80, 500), "replicas": 1},
                                                 {**_row("trulybot", 64, 0, 85, 480), "replicas": 2}]},
        "comparable": {"trulybot": [_row("trulybot", 16, 0, 80, 300)],
                       "stock": [_row("stock-rasa", 16, 0, 20, 600, {"stock-rasa": {"pid": 2, "cpu_s": 1, "peak_rss_mb": 1400.0,
                                                                                      "rss_start_mb": 1, "rss_end_mb": 1}})]},
        "idle_sockets": {"sockets": 1000, "failed": 0, "open_s": 1.0, "rss_before_mb": 70, "rss_with_sockets_mb": 100,
                         "rss_after_close_mb": 100, "delta_mb": 30.0, "per_socket_kb": 30.7},
        "widget": {"script": "bot/widget/widget.js", "raw_bytes": 18000, "gzip_bytes": 6200},
        "nlu": {"trulybot": {"held_out": {"parse_p50_ms": 2.5, "intent_macro_f1": 1.0, "entity": {"f1": 1.0},
                                          "fallback_rate": 0.02}},
                "trulybot_fast_paths": {"held_out": {"parse_p50_ms": 1.0, "parse_p95_ms": 1.5}},
                "stock": {"held_out": {"parse_p50_ms": 8.0, "parse_p95_ms": 12.0, "intent_macro_f1": 0.97,
                                       "entity": {"f1": 0.9}, "fallback_rate": 0.0}}},
    }
    checks = {t["target"].split(" (")[0].split(",")[0]: t for t in targets(out)}
    assert checks["p95 turn latency"]["value"] == 30 and checks["p95 turn latency"]["met"] is True
    assert checks["shopper mix turns/s"]["value"] == 160 and checks["shopper mix turns/s"]["met"] is True
    assert checks["'unavailable' answers at 256 closed-loop shoppers"]["value"] == 3
    assert checks["'unavailable' answers at 256 closed-loop shoppers"]["met"] is False
    assert checks["turn 50 / turn 5 of one conversation"]["value"] == 1.1 and checks["turn 50 / turn 5 of one conversation"]["met"]
    assert checks["throughput vs stock Rasa"]["value"] == 4.0 and checks["throughput vs stock Rasa"]["met"] is True
    assert checks["RSS of 1"]["met"] is True
    assert checks["whole stack peak RSS under load"]["value"] == 850.0
    assert checks["widget script gzipped"]["met"] is True
    out["targets"] = targets(out)
    text = render(out)
    assert "TrulyBot vs stock Rasa" in text and "4.00x" in text and "Targets" in text
    assert "One long conversation" in text and "2.14x" in text
    assert "NLU parse p50 ms, with TrulyBot's fast paths" in text and "0.12x" in text
    assert "Replicas: shopper mix, 64 closed-loop shoppers" in text and "turns/s per core" in text


def test_wrong_email_conversations_never_repeat_an_order_number():
    """Five failures on one number lock it for everyone: the bench must not trip that lock itself."""
    import random

    step = next(s for s in next(sc for sc in SHOPPER_MIX if sc.name == "wrong-email").steps if s.fresh_number)
    numbers = [step.pick(random.Random(n % 3)) for n in range(50)]  # same seeds, as in later phases
    assert len(set(numbers)) == 50
    assert all(n.isdigit() and int(n) > 300000 for n in numbers)


@pytest.mark.slow
async def test_fast_paths_can_each_be_switched_off_and_back(rasa_model_path, tmp_path, monkeypatch):
    """bench.fastpaths finds every fast path in a loaded model, measures both modes, and leaves the
    fast functions installed afterwards."""
    from bench import fastpaths
    from bench.longconv import comparable_texts, in_process_agent
    from bot.rasa import speedups

    monkeypatch.setenv("TRULYBOT_TRACKER_STORE_URL", f"sqlite:///{tmp_path}/tracker.db")
    speedups.apply()
    agent = in_process_agent(rasa_model_path)
    found = fastpaths.switches(agent)
    assert all(found.values()), {name: items for name, items in found.items() if not items}
    before = [getattr(owner, attribute) for items in found.values() for owner, attribute, _, _ in items]
    texts = comparable_texts()
    every = [item for items in found.values() for item in items]
    result = await fastpaths.measure(agent, texts, every, conversations=2, turns=4)
    assert result["cpu_ms_all_on"] > 0 and result["cpu_ms_this_off"] > 0
    assert [getattr(owner, attribute) for items in found.values() for owner, attribute, _, _ in items] == before
