"""Shared HTTP client: session lifecycle, retry-after parsing, breaker states, no secrets in logs."""
from __future__ import annotations

import logging
from email.utils import formatdate

import pytest

from plugins.circuit import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from plugins.errors import CircuitOpen
from plugins.http import StoreHttpClient, parse_retry_after, shared_http_client
from plugins.woocommerce.emulator import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET


def test_parse_retry_after():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("-3") == 0.0
    assert 8 <= parse_retry_after(formatdate(1_000_010, usegmt=True), now=1_000_000) <= 10
    assert parse_retry_after("99999999") == 24 * 3600.0


def test_circuit_breaker_states():
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, reset_timeout=10, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.state == CLOSED
    breaker.record_failure()
    assert breaker.state == OPEN
    with pytest.raises(CircuitOpen):
        breaker.before_request()
    now[0] = 10.0
    assert breaker.state == HALF_OPEN
    breaker.before_request()  # the one trial
    with pytest.raises(CircuitOpen):
        breaker.before_request()  # others wait for the trial
    breaker.record_failure()
    assert breaker.state == OPEN
    now[0] = 20.0
    breaker.before_request()
    breaker.record_success()
    assert breaker.state == CLOSED and breaker.failures == 0
    with pytest.raises(ValueError):
        CircuitBreaker(threshold=0)


async def test_one_pooled_session_created_lazily():
    client = StoreHttpClient()
    assert client._session is None
    session = client._get_session()
    assert client._get_session() is session
    await client.close()
    await client.close()
    assert client._get_session() is not session
    await client.close()


def test_shared_client_is_a_singleton():
    assert shared_http_client() is shared_http_client()


async def test_no_secrets_or_personal_data_in_logs(woo, http, caplog):
    caplog.set_level(logging.DEBUG)
    woo.set_faults(strip_authorization=True, burst_count=1, burst_status=503)
    platform = woo.platform(http)
    await platform.get_order("WC-5521")
    await platform.find_orders("maria.garcia@example.com")
    await platform.get_order("1003")
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "store " in caplog.text  # something was logged
    assert "/orders/10**" in text  # ids in paths are masked
    for secret in (DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, "maria.garcia", "5521", "consumer_secret", "/orders/1003"):
        assert secret not in text
