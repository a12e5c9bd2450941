"""Verified order lookups: the decisions behind ``action_lookup_order``, free of Rasa plumbing.

Order details are shown only when the order number and the email (or billing postcode) match; an
unknown order and a wrong email get the same answer. Failures are counted per conversation and per
client; past the limit the bot stops looking up. Every lookup ends in one of the outcomes below,
recorded in the merchant's activity log without the shopper's email or postcode.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from actions import metrics
from actions.activity_log import log_activity
from actions.attempts import MAX_FAILURES
from actions.render import render
from actions.runtime import Runtime
from actions.store_access import StoreContext, mark_store_health, open_platform
from bot.services import activity
from bot.core.logs import mask_order_number
from plugins.errors import (
    MalformedResponse,
    OrderNotFound,
    OrderNotVisible,
    PlatformError,
    RateLimited,
    StoreAuthError,
    StoreUnreachable,
)
from plugins.model import Order, OrderStatus
from plugins.text import order_number_matches

logger = logging.getLogger(__name__)

LOOKUP_BUDGET_SECONDS = 4.5  # the shopper gets an answer within 5 s, whatever the store does
LIST_LIMIT = 5

SHOWN = "shown"
MISMATCH = "mismatch"
NOT_FOUND = "not_found"
LOCKOUT = "lockout"
STORE_ERROR = "store_error"
NOT_VISIBLE = "not_visible"
LISTED = "listed"
NEED_POSTCODE = "need_postcode"

SHIPPED_STATES = (OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)


@dataclass
class LookupRequest:
    """What the shopper gave, already normalized by the form's validation."""

    conversation_id: str
    client: Optional[str]
    order_number: Optional[str]
    email: Optional[str]
    postcode: Optional[str]
    verified_order: Optional[str] = None


@dataclass
class LookupResult:
    """What to say, and what to remember."""

    outcome: str
    messages: List[Dict[str, Any]] = field(default_factory=list)
    verified_order: Optional[str] = None
    offer_handoff: bool = False


def _store_error_reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    return getattr(exc, "code", "store_error")


def _plain_reason(store: StoreContext, exc: BaseException) -> str:
    """The store-health message a merchant reads on the dashboard."""
    name = store.platform.capitalize() if store.platform != "woocommerce" else "WooCommerce"
    if isinstance(exc, StoreAuthError):
        return f"{name} rejected the API credentials — reconnect the store"
    if isinstance(exc, RateLimited):
        return f"{name} rate-limited order lookups"
    if isinstance(exc, asyncio.TimeoutError):
        return f"{name} did not answer within {LOOKUP_BUDGET_SECONDS:.0f} s"
    if isinstance(exc, MalformedResponse):
        return f"{name} sent an order response TrulyBot could not read"
    if isinstance(exc, StoreUnreachable):
        return f"{name} could not be reached"
    return f"{name} lookup failed ({_store_error_reason(exc)})"


def _remaining_items(order: Order) -> List[str]:
    """Items of a partially shipped order not in any parcel (when parcels list their items)."""
    shipped: Dict[str, int] = {}
    for shipment in order.shipments:
        for item in shipment.items:
            shipped[item.name] = shipped.get(item.name, 0) + item.quantity
    if not shipped:
        return []
    remaining = []
    for item in order.items:
        left = item.quantity - shipped.get(item.name, 0)
        if left > 0:
            remaining.append(f"{left} × {item.name}" if left > 1 else item.name)
    return remaining


def order_messages(store: StoreContext, order: Order, override_root: Any = None) -> List[Dict[str, Any]]:
    """The text answer plus the order card for a verified order."""
    public = order.to_public_dict()
    public["cancelled_at"] = order.cancelled_at.isoformat() if order.cancelled_at else None
    text = render(
        "order_status", widget_id=store.widget_id, locale=store.locale, override_root=override_root,
        order=public, remaining=_remaining_items(order),
    )
    return [{"text": text, "custom": {"type": "order", "order": public}}]


class OrderLookup:
    """Runs one lookup for one store; see the module docstring for the rules."""

    def __init__(self, runtime: Runtime, store: StoreContext) -> None:
        self.runtime = runtime
        self.store = store
        self.override_root = runtime.templates_dir

    def _say(self, name: str, **values: Any) -> Dict[str, Any]:
        return {"text": render(name, widget_id=self.store.widget_id, locale=self.store.locale,
                               override_root=self.override_root, **values)}

    async def _record(self, outcome: str, number: Optional[str], request: LookupRequest, **extra: Any) -> None:
        kind = {LOCKOUT: activity.LOCKOUT, STORE_ERROR: activity.STORE_ERROR}.get(outcome, activity.LOOKUP)
        details = {"outcome": outcome, "conversation_id": request.conversation_id, **extra}
        if number:
            details["order_number"] = number
        title = {
            SHOWN: f"Order #{number} shown to a shopper",
            MISMATCH: f"Verification failed for order #{number}",
            NOT_FOUND: "Lookup of an unknown order number",
            LOCKOUT: "Lookups stopped after repeated failed verifications",
            STORE_ERROR: "Order lookup failed: store error",
            NOT_VISIBLE: f"Order #{number} is not visible to TrulyBot",
            LISTED: "Recent orders listed for a verified shopper",
            NEED_POSTCODE: f"Order #{number}: email hidden by the store, postcode asked",
        }.get(outcome, outcome)

        await log_activity(self.runtime, self.store, kind, title, details)

    async def _locked_out(self, request: LookupRequest) -> Optional[LookupResult]:
        failures = await self.runtime.attempts.failures(self.store.store_id, request.conversation_id, request.client)
        if failures < MAX_FAILURES:
            return None
        await self._record(LOCKOUT, None, request)
        return LookupResult(LOCKOUT, [self._say("lockout")], offer_handoff=True)

    async def _failed_verification(self, request: LookupRequest, outcome: str, number: Optional[str]) -> LookupResult:
        count = await self.runtime.attempts.record_failure(self.store.store_id, request.conversation_id, request.client)
        await self._record(outcome, number if outcome == MISMATCH else None, request)
        if count >= MAX_FAILURES:
            await self._record(LOCKOUT, None, request)
            return LookupResult(LOCKOUT, [self._say("lockout")], offer_handoff=True)
        method = "email" if request.email else "postcode"
        return LookupResult(outcome, [self._say("lookup_mismatch", method=method, attempts_left=MAX_FAILURES - count)])

    async def _store_failed(self, request: LookupRequest, exc: BaseException) -> LookupResult:
        reason = _store_error_reason(exc)
        metrics.STORE_ERRORS.labels(self.store.platform, reason).inc()
        logger.warning("order lookup failed for store %s: %s", self.store.store_id, reason)
        await mark_store_health(self.runtime, self.store.store_id, _plain_reason(self.store, exc))
        await self._record(STORE_ERROR, None, request, reason=reason)
        return LookupResult(STORE_ERROR, [self._say("store_error", store_name=self.store.display_name, reason=reason)],
                            offer_handoff=True)

    async def run(self, request: LookupRequest) -> LookupResult:
        """Look up (or list) orders for ``request`` within the time budget (and count it in /metrics)."""
        started = time.monotonic()
        result = await self._run(request)
        platform = self.store.platform
        metrics.LOOKUPS.labels(platform, result.outcome).inc()
        if result.outcome != LOCKOUT:
            metrics.STORE_CALL_SECONDS.labels(platform, result.outcome).observe(time.monotonic() - started)
        return result

    async def _run(self, request: LookupRequest) -> LookupResult:
        locked = await self._locked_out(request)
        if locked:
            return locked
        deadline = time.monotonic() + LOOKUP_BUDGET_SECONDS
        try:
            if request.order_number:
                return await asyncio.wait_for(self._lookup(request, deadline), LOOKUP_BUDGET_SECONDS)
            if request.email and request.postcode:
                return await asyncio.wait_for(self._list(request), LOOKUP_BUDGET_SECONDS)
        except (PlatformError, asyncio.TimeoutError) as exc:
            return await self._store_failed(request, exc)
        raise ValueError("a lookup needs an order number, or an email and a postcode")

    async def _lookup(self, request: LookupRequest, deadline: float) -> LookupResult:
        number = request.order_number or ""
        platform = open_platform(self.runtime, self.store)
        try:
            order = await platform.get_order(number)
        except OrderNotFound:
            return await self._failed_verification(request, NOT_FOUND, None)
        except OrderNotVisible:
            await self._record(NOT_VISIBLE, number, request)
            return LookupResult(NOT_VISIBLE, [self._say("order_not_visible", number=number)], offer_handoff=True)

        already_verified = bool(request.verified_order) and order_number_matches(request.verified_order or "", order.number)
        if not already_verified:
            if request.email and order.customer_data_redacted and not request.postcode:
                await self._record(NEED_POSTCODE, order.number, request)
                return LookupResult(NEED_POSTCODE, [self._say("need_postcode")])
            verified = (request.email and order.matches_email(request.email)) or (
                request.postcode and order.matches_postcode(request.postcode))
            if not verified:
                return await self._failed_verification(request, MISMATCH, order.number)

        if order.status in SHIPPED_STATES and not order.shipments and time.monotonic() < deadline:
            order.shipments = await platform.get_shipments(order)
        await mark_store_health(self.runtime, self.store.store_id, None)
        await self._record(SHOWN, order.number, request, status=order.status.value, reverified=not already_verified)
        logger.info("order %s shown for store %s", mask_order_number(order.number), self.store.store_id)
        return LookupResult(SHOWN, order_messages(self.store, order, self.override_root), verified_order=order.number)

    async def _list(self, request: LookupRequest) -> LookupResult:
        platform = open_platform(self.runtime, self.store)
        try:
            orders = await platform.find_orders(request.email or "", limit=LIST_LIMIT)
        except OrderNotFound:
            orders = []
        matching = [o for o in orders if o.matches_email(request.email) and o.matches_postcode(request.postcode)]
        if not matching:
            result = await self._failed_verification(request, NOT_FOUND, None)
            if result.outcome != LOCKOUT:
                result.messages = [self._say("order_list_empty")]
            return result
        await mark_store_health(self.runtime, self.store.store_id, None)
        await self._record(LISTED, None, request, count=len(matching))
        buttons = [
            {"title": f"#{o.number} · {o.status_label}", "payload": '/inform{"order_number":"%s"}' % o.number}
            for o in matching
        ]
        message = self._say("order_list", orders=[o.to_public_dict() for o in matching])
        message["buttons"] = buttons
        return LookupResult(LISTED, [message])
