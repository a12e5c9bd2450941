"""Answer templates: formatting, per-store overrides, autoescaping of values."""
from __future__ import annotations

from datetime import datetime, timezone

from actions.render import environment, format_date, format_money, render


def test_dates_and_money():
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    assert format_date("2026-05-03T10:00:00+00:00", now) == "3 May"
    assert format_date(datetime(2024, 5, 3, tzinfo=timezone.utc), now) == "3 May 2024"
    assert format_date("garbage", now) == "" and format_date(None, now) == ""
    assert format_money("49.9", "EUR") == "49.90 EUR" and format_money(None) == "" and format_money("x") == ""


def test_values_are_data_never_template_source():
    text = render("request_recorded", kind_label="return", number="{{ 7*7 }}")
    assert "{{ 7*7 }}" in text and "49" not in text


def test_markup_in_values_is_escaped_then_delivered_as_plain_text():
    env = environment(None, "", "en")
    raw = env.get_template("request_recorded.j2").render(kind_label="return", number="<script>x</script>")
    assert "<script>" not in raw and "&lt;script&gt;" in raw
    assert "<script>x</script>" in render("request_recorded", kind_label="return", number="<script>x</script>")  # textContent in the widget


def test_store_override_wins_per_locale(tmp_path):
    (tmp_path / "shop-1" / "de").mkdir(parents=True)
    (tmp_path / "shop-1" / "de" / "lockout.j2").write_text("Zu viele Versuche.")
    (tmp_path / "shop-1" / "handoff.j2").write_text("Custom handoff for {{ store_name }}.")
    assert render("lockout", widget_id="shop-1", locale="de", override_root=tmp_path) == "Zu viele Versuche."
    assert render("lockout", widget_id="shop-1", locale="en", override_root=tmp_path).startswith("For your security")
    assert render("handoff", widget_id="shop-1", locale="en", override_root=tmp_path, store_name="A&B") == "Custom handoff for A&B."
    assert render("lockout", widget_id="../etc", locale="de", override_root=tmp_path).startswith("For your security")
