"""Render-time benchmark of the dashboard: a year of activity for one store, every page timed.

``bench_render()`` seeds a temporary SQLite database (migrated to head) with ``days`` of activity
(``conversations_per_day`` conversations with their lookups, requests and handoffs), starts the bot
service app in-process, signs in and times each page ``repeat`` times. It returns
``{"rows": n, "seed_seconds": s, "pages": {path: {"median_ms": ..., "max_ms": ...}}}``; the budget is
1 s per page (issue 9). Run: ``python -m bench.dashboard``.
"""
from __future__ import annotations

import asyncio
import json
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Optional

from bot.services import activity

BUDGET_MS = 1000.0


def _seed(db_url: str, days: int, per_day: int, seed: int) -> Dict[str, Any]:
    from sqlalchemy import insert

    from bot.api.auth import create_merchant
    from bot.core.db import make_engine, make_sessionmaker
    from bot.core.db.migrate import upgrade
    from bot.core.db.models import StoreIntegration, UserActivity, WidgetConfig

    upgrade(db_url)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    rng = random.Random(seed)
    with sessions.begin() as session:
        merchant, token = create_merchant(session, "Bench Merchant")
        store = StoreIntegration(user_id=merchant.id, platform="woocommerce", display_name="Bench store",
                                 store_url="https://bench.example", config={}, status="active",
                                 last_success_at=datetime.now(timezone.utc))
        store.widget = WidgetConfig(allowed_origins=["https://bench.example"])
        session.add(store)
        session.flush()
        merchant_id, store_id = merchant.id, store.id
    now = datetime.now(timezone.utc)
    outcomes = ["shown"] * 6 + ["mismatch", "not_found", "listed", "store_error"]
    rows = 0
    with engine.begin() as conn:
        for d in range(days):
            batch = []
            day = now - timedelta(days=d)
            for c in range(per_day):
                at = day.replace(hour=rng.choice((9, 10, 11, 12, 13, 14, 15, 16, 19, 20, 21)), minute=rng.randrange(60))
                conv = f"c_{d}_{c}"
                batch.append(dict(user_id=merchant_id, store_id=store_id, activity_type=activity.CONVERSATION,
                                  title="Conversation started", details={"conversation_id": conv}, created_at=at))
                r = rng.random()
                if r < 0.6:
                    outcome = rng.choice(outcomes)
                    kind = activity.STORE_ERROR if outcome == "store_error" else activity.LOOKUP
                    batch.append(dict(user_id=merchant_id, store_id=store_id, activity_type=kind, title=f"Lookup: {outcome}",
                                      details={"outcome": outcome, "conversation_id": conv, "order_number": str(1000 + c)},
                                      created_at=at + timedelta(seconds=20)))
                elif r < 0.7:
                    batch.append(dict(user_id=merchant_id, store_id=store_id, activity_type=activity.REQUEST,
                                      title="Shopper asked for a return", details={"kind": "return", "conversation_id": conv},
                                      created_at=at + timedelta(seconds=30)))
                if rng.random() < 0.08:
                    batch.append(dict(user_id=merchant_id, store_id=store_id, activity_type=activity.HANDOFF,
                                      title="Shopper asked for a person", details={"conversation_id": conv},
                                      created_at=at + timedelta(seconds=40)))
            conn.execute(insert(UserActivity), batch)
            rows += len(batch)
    engine.dispose()
    return {"token": token, "store_id": store_id, "rows": rows}


async def _time_pages(db_url: str, data_dir: str, token: str, store_id: int, repeat: int) -> Dict[str, Dict[str, float]]:
    from aiohttp.test_utils import TestClient, TestServer

    from bot.services.keys import API_CONFIG
    from bot.app import create_app
    from bot.core.settings import load_settings

    settings = load_settings({"TRULYBOT_DATA_DIR": data_dir, "TRULYBOT_DATABASE_URL": db_url,
                              "TRULYBOT_PUBLIC_URL": "http://127.0.0.1:9"})
    app = create_app(settings)
    app[API_CONFIG].health_check_enabled = False
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        page = await (await client.get("/dashboard/signin")).text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        resp = await client.post("/dashboard/signin", data={"csrf": csrf, "token": token}, allow_redirects=False)
        assert resp.status == 303, await resp.text()
        paths = ["/dashboard/stores", f"/dashboard/stores/{store_id}/widget", "/dashboard/activity",
                 f"/dashboard/activity?store={store_id}&type=order_lookup", "/dashboard/activity?page=400",
                 "/dashboard/analytics?days=30", "/dashboard/analytics?days=365",
                 f"/dashboard/analytics?days=365&store={store_id}", "/dashboard/analytics.csv?days=365"]
        out: Dict[str, Dict[str, float]] = {}
        for path in paths:
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                resp = await client.get(path, allow_redirects=False)
                await resp.read()
                times.append((time.perf_counter() - start) * 1000)
                assert resp.status == 200, (path, resp.status)
            out[path] = {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}
        return out
    finally:
        await client.close()


def bench_render(days: int = 365, conversations_per_day: int = 200, repeat: int = 5, seed: int = 9,
                 workdir: Optional[str] = None) -> Dict[str, Any]:
    """Seed a year of activity for one store into a temp SQLite DB and time every dashboard page."""
    with tempfile.TemporaryDirectory(prefix="trulybot-dash-bench-", dir=workdir) as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        started = time.perf_counter()
        seeded = _seed(db_url, days, conversations_per_day, seed)
        seed_seconds = time.perf_counter() - started
        pages = asyncio.run(_time_pages(db_url, tmp, seeded["token"], seeded["store_id"], repeat))
    worst = max(p["max_ms"] for p in pages.values())
    return {"rows": seeded["rows"], "days": days, "seed_seconds": round(seed_seconds, 2), "pages": pages,
            "worst_ms": worst, "budget_ms": BUDGET_MS, "within_budget": worst <= BUDGET_MS}


if __name__ == "__main__":  # pragma: no cover
    result = bench_render(*(int(a) for a in sys.argv[1:3]))
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["within_budget"] else 1)
