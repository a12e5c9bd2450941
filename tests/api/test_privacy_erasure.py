"""Privacy requests find every conversation that mentioned the customer; retention purges the rest."""
from __future__ import annotations

import json
import os
import time

from sqlalchemy import select

from bot import appkeys
from bot.services.keys import REDACTORS
from bot.core.db.models import ConversationSubject, UserActivity
from bot.services import activity
from bot.services.privacy import email_hash, remember_email
from tests.api.test_webhooks import api_with_push, drain, fire_shopify, installed, lookup

EMAIL = "Olivia.Chen@example.com"


def _index(env, store_id, conversation, email=EMAIL):
    secret = env.app[appkeys.SETTINGS].session_secret
    env.query(lambda s: remember_email(s, store_id, conversation, email_hash(secret, email)))


def _listing(env, merchant_id, store_id, conversation, outcome="listed"):
    """A list-by-email or failed lookup: an activity entry without any order number."""
    env.query(lambda s: activity.record_activity(s, merchant_id, activity.LOOKUP, "x", store_id,
                                                 {"outcome": outcome, "conversation_id": conversation}))


async def test_customer_redact_reaches_conversations_without_an_order_number(env, make_api, shop):
    client, _ = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    merchant, store = await installed(env, client, shop)
    url = str(client.make_url("/api/webhooks/shopify"))
    lookup(env, merchant.id, store.id, "450789469", "conv-order")
    _listing(env, merchant.id, store.id, "conv-list")          # listed orders by email + postcode
    _listing(env, merchant.id, store.id, "conv-failed", "not_found")  # a failed lookup
    _index(env, store.id, "conv-list")
    _index(env, store.id, "conv-failed", email="olivia.chen@EXAMPLE.com ")
    _listing(env, merchant.id, store.id, "conv-other")
    _index(env, store.id, "conv-other", email="someone.else@example.com")
    redacted = []

    async def redactor(app, store_id, conversations):
        redacted.append((store_id, conversations))

    env.app[REDACTORS].append(redactor)
    await fire_shopify(shop, topic="customers/redact", callback_url=url, webhook_id="r",
                       payload={"shop_domain": shop.domain, "customer": {"id": 1, "email": EMAIL},
                                "orders_to_redact": [450789469]})
    await drain(env)
    assert redacted == [(store.id, ["conv-failed", "conv-list", "conv-order"])]
    left = env.query(lambda s: [a.details.get("conversation_id") for a in s.execute(select(UserActivity)).scalars()
                                if a.details.get("conversation_id")])
    assert left == ["conv-other"]
    index = env.query(lambda s: [r.conversation_id for r in s.execute(select(ConversationSubject)).scalars()])
    assert index == ["conv-other"]
    assert EMAIL.lower() not in json.dumps(env.query(lambda s: [a.details for a in s.execute(select(UserActivity)).scalars()])).lower()


async def test_data_request_exports_conversations_found_by_email(env, make_api, shop):
    client, _ = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    merchant, store = await installed(env, client, shop)
    url = str(client.make_url("/api/webhooks/shopify"))
    _listing(env, merchant.id, store.id, "conv-list")
    _index(env, store.id, "conv-list")
    await fire_shopify(shop, topic="customers/data_request", callback_url=url, webhook_id="d",
                       payload={"shop_domain": shop.domain, "customer": {"id": 1, "email": EMAIL},
                                "orders_requested": [], "data_request": {"id": 77}})
    await drain(env)
    entry = env.query(lambda s: next(a.details for a in s.execute(select(UserActivity)).scalars()
                                     if a.title == "Customer data request received"))
    assert entry["conversations"] == 1 and entry["activity_entries_held"] == 1
    export = json.loads(open(entry["export_file"], encoding="utf-8").read())
    assert list(export["transcripts"]) == ["conv-list"]
    assert [a["details"]["conversation_id"] for a in export["activity_entries"]] == ["conv-list"]


def test_the_index_holds_no_email(env):
    secret = "s" * 40
    hashed = email_hash(secret, EMAIL)
    assert hashed == email_hash(secret, " olivia.chen@example.com") and len(hashed) == 64
    assert hashed != email_hash("t" * 40, EMAIL)  # keyed: not a plain hash anyone can recompute
    assert "olivia" not in hashed


def test_expired_exports_are_purged(env, tmp_path):
    from bot.services.privacy import purge_expired

    exports = tmp_path / "exports" / "w-1"
    exports.mkdir(parents=True)
    old, fresh = exports / "data-request-1.json", exports / "data-request-2.json"
    old.write_text("{}")
    fresh.write_text("{}")
    now = time.time()
    os.utime(old, (now - 31 * 86400, now - 31 * 86400))
    report = purge_expired(env.sessions, None, tmp_path, transcript_days=90, export_days=30, now=now)
    assert report.export_files == 1 and not old.exists() and fresh.exists()
