"""Prometheus metrics of the action server: store calls and order lookups as shoppers cause them.

Served at ``GET /metrics`` on the action server (loopback, next to ``/health``); the bot service's
``/metrics`` covers the public side. Scrape both (docs/operations.md).
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

STORE_CALL_SECONDS = Histogram(
    "trulybot_actions_store_call_seconds", "Order lookups against the store, by platform and outcome",
    ["platform", "outcome"], registry=REGISTRY, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4.5, 10),
)
LOOKUPS = Counter(
    "trulybot_actions_order_lookups_total", "Order lookups by how they ended (shown, mismatch, lockout, store_error...)",
    ["platform", "outcome"], registry=REGISTRY,
)
STORE_ERRORS = Counter(
    "trulybot_actions_store_errors_total", "Store calls that failed, by platform and reason",
    ["platform", "reason"], registry=REGISTRY,
)
FAILURE_BUDGET_EXCEEDED = Counter(
    "trulybot_actions_lookup_failure_budget_exceeded_total",
    "Times a store's failed order verifications passed the hourly budget (someone may be guessing)",
    ["platform"], registry=REGISTRY,
)
