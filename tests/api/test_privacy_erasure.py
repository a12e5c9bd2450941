"""Privacy requests find every conversation that mentioned the customer; retention purges the rest."""
from __future__ import annotations

import asyncio
import json
import os
import time

from sqlalchemy import select

from bot import appkeys
from bot.services.keys import REDACTORS
from bot.core.db.models import ConversationSubject, UserActivity
from bot.services import activity
from bot.services.privacy import claim_export, email_hash, export_path, remember_email, return_export
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

    # delivered once: the store's merchant downloads it, then it is gone (not only after the retention period)
    path = f"/api/integrations/{store.id}/data-requests/77/export"
    stranger = env.merchant("Other Merchant")
    assert (await client.get(path, headers=stranger.headers)).status == 404  # another merchant's store
    assert (await client.get(path)).status == 401
    assert os.path.exists(entry["export_file"])
    resp = await client.get(path, headers=merchant.headers)
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert await resp.json() == export
    assert not os.path.exists(entry["export_file"])  # out of reach before the response was sent
    # the delivered copy is deleted once the response has been written out (the server finishes the
    # request after the client has read it, so wait for that)
    await _eventually(lambda: os.listdir(os.path.dirname(entry["export_file"])) == [])
    again = await client.get(path, headers=merchant.headers)
    assert again.status == 404 and (await again.json())["error"]["code"] == "not_found"
    assert (await client.get(f"/api/integrations/{store.id}/data-requests/78/export", headers=merchant.headers)).status == 404

    def delivered():
        return env.query(lambda s: [a.details for a in s.execute(select(UserActivity)).scalars()
                                    if a.details.get("outcome") == "export_delivered"])

    await _eventually(lambda: delivered() != [])
    assert delivered() == [{"topic": "customers/data_request", "data_request_id": "77", "outcome": "export_delivered"}]


async def _eventually(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def test_a_claimed_export_is_out_of_reach_and_can_be_put_back(tmp_path):
    path = export_path(tmp_path, "w-1", "../../etc/passwd")
    assert path.parent == tmp_path / "exports" / "w-1" and path.name == "data-request-etcpasswd.json"
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    claimed = claim_export(path)
    assert claimed is not None and not path.exists() and claim_export(path) is None  # a second download gets nothing
    return_export(claimed, path)  # a cut-off download puts it back
    assert path.read_text() == "{}" and not claimed.exists()


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
