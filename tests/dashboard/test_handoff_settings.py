"""The store's handoff settings form: saved into the store's config, errors shown next to the field."""
from __future__ import annotations

import pytest

from bot.core.db.models import StoreIntegration, WidgetConfig
from bot.dashboard.handoff_settings import form_values, parse_form
from tests.dashboard.conftest import dash, form_id_of  # noqa: F401 - fixture


@pytest.fixture
def store_id(dash, env):  # noqa: F811
    def make(session) -> int:
        store = StoreIntegration(user_id=dash.merchant.id, platform="woocommerce", display_name="Shop", config={})
        store.widget = WidgetConfig()
        session.add(store)
        session.flush()
        return store.id
    return env.query(make)


def _form(**changes: str) -> dict:
    form = {"timezone": "Europe/Berlin", "hours_mon": "09:00-12:00, 13:00-17:00", "hours_tue": "09:00-17:00",
            "claim_timeout_minutes": "5", "notify_emails": "team@shop.example\nboss@shop.example",
            "webhook_url": "https://hooks.shop.example/x"}
    form.update(changes)
    return form


async def test_the_form_saves_the_settings_and_shows_them_again(dash, env, store_id):  # noqa: F811
    path = f"/dashboard/stores/{store_id}/handoff"
    page = await dash.page(path)
    assert "Webhook signing secret" in page
    resp = await dash.post(path, _form(), form_id=form_id_of(page))
    assert resp.status == 303 and resp.headers["Location"] == f"{path}?saved=1"
    saved = env.query(lambda s: s.get(StoreIntegration, store_id).config["handoff"])
    assert saved == {"timezone": "Europe/Berlin", "claim_timeout_minutes": 5,
                     "hours": {"mon": ["09:00-12:00", "13:00-17:00"], "tue": ["09:00-17:00"], "wed": [], "thu": [],
                               "fri": [], "sat": [], "sun": []},
                     "notify_emails": ["team@shop.example", "boss@shop.example"],
                     "webhook_url": "https://hooks.shop.example/x"}
    page = await dash.page(path + "?saved=1")
    assert 'value="09:00-12:00, 13:00-17:00"' in page and "Saved." in page


async def test_bad_fields_get_their_message_next_to_them_and_nothing_is_saved(dash, env, store_id):  # noqa: F811
    path = f"/dashboard/stores/{store_id}/handoff"
    page = await dash.page(path)
    resp = await dash.post(path, _form(timezone="Mars/Olympus", hours_tue="9-5", claim_timeout_minutes="soon",
                                       notify_emails="nobody", webhook_url="ftp://x"), form_id=form_id_of(page))
    html = await resp.text()
    assert resp.status == 422
    for field in ("timezone", "hours_tue", "claim_timeout_minutes", "notify_emails", "webhook_url"):
        assert f'id="{field}-error"' in html, field
    assert 'id="hours_mon-error"' not in html
    assert "Mars/Olympus" in html and 'value="9-5"' in html  # what was typed stays in the form
    assert env.query(lambda s: (s.get(StoreIntegration, store_id).config or {}).get("handoff")) is None
    resp = await dash.post(path, _form(claim_timeout_minutes="100000"), form_id=form_id_of(page))
    assert resp.status == 422 and 'id="claim_timeout_minutes-error"' in await resp.text()


async def test_another_merchants_store_is_not_found(dash, env):  # noqa: F811
    other = env.merchant("Bob")

    def make(session) -> int:
        store = StoreIntegration(user_id=other.id, platform="woocommerce", display_name="Bob's", config={})
        session.add(store)
        session.flush()
        return store.id
    bobs = env.query(make)
    assert (await dash.get(f"/dashboard/stores/{bobs}/handoff")).status == 404


def test_always_open_stores_no_hours_and_values_round_trip():
    settings, errors = parse_form({"timezone": "UTC", "always_open": "1", "hours_mon": "garbage"})
    assert errors == {} and settings == {"timezone": "UTC"}
    values = form_values({"timezone": "Asia/Tokyo", "hours": {"fri": ["10:00-14:00"]}, "claim_timeout_minutes": 3})
    again, errors = parse_form(values)
    assert errors == {} and again["hours"]["fri"] == ["10:00-14:00"] and again["claim_timeout_minutes"] == 3
