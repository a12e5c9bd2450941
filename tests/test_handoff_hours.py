"""Opening hours of a store's team: parsing, validation, open/closed and the next opening."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.services.handoff_hours import HandoffSettings, parse_span, validate

BERLIN = {"timezone": "Europe/Berlin", "hours": {"mon": ["09:00-17:00"], "fri": ["09:00-12:00", "13:00-24:00"]}}


def test_open_and_closed_follow_the_stores_time_zone():
    hours = HandoffSettings.from_store(BERLIN)
    # Monday 2026-11-30 07:30 UTC is 08:30 in Berlin: closed; 08:30 UTC is 09:30: open.
    assert not hours.open_now(datetime(2026, 11, 30, 7, 30, tzinfo=timezone.utc))
    assert hours.open_now(datetime(2026, 11, 30, 8, 30, tzinfo=timezone.utc))
    assert not hours.open_now(datetime(2026, 12, 4, 11, 30, tzinfo=timezone.utc))  # Friday lunch
    assert hours.open_now(datetime(2026, 12, 4, 22, 59, tzinfo=timezone.utc))  # until midnight
    opening = hours.next_opening(datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc))
    assert opening.isoformat() == "2026-12-04T09:00:00+01:00"
    assert "Friday 09:00 (Europe/Berlin)" in hours.offline_message(datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc))


def test_no_hours_means_always_open():
    assert HandoffSettings.from_store(None).open_now()
    assert HandoffSettings.from_store({"timezone": "Asia/Tokyo"}).next_opening() is None


@pytest.mark.parametrize("raw,field", [
    ({"timezone": "Mars/Olympus"}, "time zone"),
    ({"hours": {"monday": ["09:00-17:00"]}}, "hours"),
    ({"hours": {"mon": ["9-5"]}}, "09:00-17:00"),
    ({"hours": {"mon": ["17:00-09:00"]}}, "ends before"),
    ({"claim_timeout_minutes": 0}, "claim_timeout_minutes"),
    ({"notify_emails": ["not-an-email"]}, "notify_emails"),
    ({"webhook_url": "ftp://x"}, "webhook_url"),
])
def test_bad_settings_name_the_field(raw, field):
    with pytest.raises(ValueError, match=field):
        validate(raw)


def test_valid_settings_are_kept_normalised():
    assert validate({**BERLIN, "notify_emails": [" Team@Example.com "], "claim_timeout_minutes": 5}) == {
        **BERLIN, "notify_emails": ["team@example.com"], "claim_timeout_minutes": 5}
    assert parse_span("00:00-24:00")[0].hour == 0
