"""Verified order lookups: the decisions behind ``action_lookup_order``, free of Rasa plumbing.

Order details are shown only when the order number and the order's email match; where the store
hides the email, the billing postcode together with the billing last name or phone digits
(:meth:`plugins.model.Order.verify`). An order that does not exist, one the app may not see and one
whose details do not match get the same reply at the same cost: one counted attempt
(:mod:`actions.attempts`), reserved before the store is asked. On a store that hides emails, an
unknown number gets the same "postcode, please" prompt as a real one. A conversation's earlier
verification unlocks exactly that order again (same order key), never a look-alike number. Every
lookup ends in one of the outcomes below, recorded in the merchant's activity log without the
shopper's email, postcode, name or phone.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from actions import attempts, metrics, timing
from actions.activity_log import log_activity
from actions.attempts import (
    ALLOWED, CONVERSATION, CONVERSATION_LOCKED, ORDER, ORDER_LOCKED, Reservation, Subjects, Verdict, decide,
)
from actions.render import render
from actions.runtime import Runtime
from actions.store_access import StoreContext, mark_store_health, open_platform
from bot.services.store_errors import StoreError, from_exception
from bot.services import activity
from bot.core.logs import mask_order_number
from plugins.errors import OrderNotFound, OrderNotVisible, PlatformError
from plugins.model import Order, OrderStatus
from plugins.text import order_number_key

logger = logging.getLogger(__name__)

LIST_LIMIT = 5

SHOWN = "shown"
MISMATCH = "mismatch"
NOT_FOUND = "not_found"
LOCKOUT = "lockout"
STORE_ERROR = "store_error"
NOT_VISIBLE = "not_visible"
LISTED = "listed"
NEED_POSTCODE = "need_postcode"
NEED_DETAILS = "need_details"
SLOWED = "slowed"

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
    second_fact: Optional[str] = None  #: billing last name or phone digits (stores that hide emails)

    @property
    def has_details(self) -> bool:
        """Did the shopper give anything that could verify an order?"""
        return bool(self.email or self.postcode or self.second_fact)


@dataclass
class LookupResult:
    """What to say, and what to remember."""

    outcome: str
    messages: List[Dict[str, Any]] = field(default_factory=list)
    verified_order: Optional[str] = None
    offer_handoff: bool = False
    email_hidden: bool = False  #: the store hides emails: ask for the postcode and a second fact
    order: Optional[Order] = None  # the order shown (outcome SHOWN)


def _store_error_reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    return getattr(exc, "code", "store_error")


def same_order(verified: Optional[str], order: Order) -> bool:
    """Is ``order`` exactly the order verified earlier (same order key, not a look-alike number)?"""
    return bool(verified) and order_number_key(verified or "") == order_number_key(order.number)


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
        self.budget = runtime.lookup_budget_seconds
        self._deadline = 0.0

    def _say(self, name: str, **values: Any) -> Dict[str, Any]:
        return {"text": render(name, widget_id=self.store.widget_id, locale=self.store.locale,
                               override_root=self.override_root, **values)}

    async def _record(self, outcome: str, number: Optional[str], request: LookupRequest, **extra: Any) -> None:
        kind = {LOCKOUT: activity.LOCKOUT, SLOWED: activity.LOCKOUT, STORE_ERROR: activity.STORE_ERROR}.get(outcome, activity.LOOKUP)
        details = {"outcome": outcome, "conversation_id": request.conversation_id, **extra}
        if number:
            details["order_number"] = number
        title = {
            SHOWN: f"Order #{number} shown to a shopper",
            MISMATCH: f"Verification failed for order #{number}",
            NOT_FOUND: "Lookup of an unknown order number",
            LOCKOUT: "Lookups stopped after repeated failed verifications",
            SLOWED: "Lookups from one network slowed down after many failed verifications",
            STORE_ERROR: "Order lookup failed: store error",
            NOT_VISIBLE: f"Order #{number} is not visible to TrulyBot",
            LISTED: "Recent orders listed for a verified shopper",
            NEED_POSTCODE: "Store hides customer emails: postcode and a second detail asked",
        }.get(outcome, outcome)

        await log_activity(self.runtime, self.store, kind, title, details)

    # -- attempts -------------------------------------------------------------------------------
    async def _reserve(self, request: LookupRequest) -> Tuple[Reservation, Optional[LookupResult]]:
        """Count this attempt; a result when the verdict refuses it (the reservation is given back)."""
        order = order_number_key(request.order_number) if request.order_number else None
        reservation = await self.runtime.attempts.reserve(
            self.store.store_id, Subjects(request.conversation_id, request.client, order or None))
        verdict = decide(reservation, self.runtime.limits, time.time())
        if verdict.budget_crossed and await self.runtime.attempts.claim_alert(self.store.store_id):
            await self._alert_budget(request)
        if verdict.outcome == ALLOWED:
            return reservation, None
        await self.runtime.attempts.release(reservation)
        return reservation, await self._refused(request, verdict)

    async def _alert_budget(self, request: LookupRequest) -> None:
        metrics.FAILURE_BUDGET_EXCEEDED.labels(self.store.platform).inc()
        logger.warning("store %s: more than %d failed order verifications within the hour; lookups slowed down",
                       self.store.store_id, self.runtime.limits.store_budget)
        await log_activity(self.runtime, self.store, activity.LOCKOUT,
                           "Many failed order verifications: someone may be guessing order numbers",
                           {"outcome": "store_budget_exceeded", "budget": self.runtime.limits.store_budget,
                            "conversation_id": request.conversation_id})

    async def _refused(self, request: LookupRequest, verdict: Verdict) -> LookupResult:
        if verdict.outcome == attempts.SLOWED:
            seconds = max(1, int(verdict.retry_after + 0.999))
            await self._record(SLOWED, None, request, retry_after=seconds)
            return LookupResult(SLOWED, [self._say("lookup_slowdown", seconds=seconds)])
        scope = "order" if verdict.outcome == ORDER_LOCKED else "conversation"
        await self._record(LOCKOUT, None, request, scope=scope)
        return LookupResult(LOCKOUT, [self._say("order_locked" if scope == "order" else "lockout")], offer_handoff=True)

    async def _failed(self, request: LookupRequest, reservation: Reservation, outcome: str,
                      number: Optional[str], reply: str = "lookup_mismatch") -> LookupResult:
        """A counted failure: the same reply for every reason (the activity log keeps the reason)."""
        await self._record(outcome, number, request)
        limits = self.runtime.limits
        counts = reservation.counts
        if counts.get(CONVERSATION, 0) >= limits.conversation:
            await self._record(LOCKOUT, None, request, scope="conversation")
            return LookupResult(LOCKOUT, [self._say("lockout")], offer_handoff=True)
        if counts.get(ORDER, 0) >= limits.order:
            await self._record(LOCKOUT, None, request, scope="order")
            return LookupResult(LOCKOUT, [self._say("order_locked")], offer_handoff=True)
        if reply == "need_postcode":
            return LookupResult(NEED_POSTCODE, [self._say("need_postcode")], email_hidden=True)
        method = "email" if request.email and not request.postcode else "details"
        attempts_left = limits.conversation - counts.get(CONVERSATION, 0)
        return LookupResult(MISMATCH if outcome == MISMATCH else NOT_FOUND,
                            [self._say(reply, method=method, attempts_left=attempts_left)])

    async def _pad(self, kind: str, started: float) -> None:
        """Wait so this failed fetch takes as long as the store's slower kind of failure."""
        elapsed = time.monotonic() - started
        wait = self.runtime.failure_timing.padding(self.store.store_id, kind, elapsed)
        wait = min(wait, self._deadline - time.monotonic() - 0.05)
        if wait > 0:
            await self.runtime.sleep(wait)

    async def _store_failed(self, request: LookupRequest, exc: BaseException) -> LookupResult:
        reason = _store_error_reason(exc)
        metrics.STORE_ERRORS.labels(self.store.platform, reason).inc()
        logger.warning("order lookup failed for store %s: %s", self.store.store_id, reason)
        error = (StoreError.of("timeout", f"store did not answer within {self.budget:g} s")
                 if isinstance(exc, asyncio.TimeoutError) else from_exception(exc))
        await mark_store_health(self.runtime, self.store.store_id, error)
        await self._record(STORE_ERROR, None, request, reason=reason)
        return LookupResult(STORE_ERROR, [self._say("store_error", store_name=self.store.display_name, reason=reason)],
                            offer_handoff=True)

    # -- lookups --------------------------------------------------------------------------------
    async def run(self, request: LookupRequest) -> LookupResult:
        """Look up (or list) orders for ``request`` within the time budget (and count it in /metrics)."""
        started = time.monotonic()
        result = await self._run(request)
        platform = self.store.platform
        metrics.LOOKUPS.labels(platform, result.outcome).inc()
        if result.outcome not in (LOCKOUT, SLOWED):
            metrics.STORE_CALL_SECONDS.labels(platform, result.outcome).observe(time.monotonic() - started)
        return result

    async def _run(self, request: LookupRequest) -> LookupResult:
        if request.order_number and not request.has_details:
            return await self._guarded(self._follow_up(request), request, None)
        if not request.order_number and not (request.email and request.postcode):
            raise ValueError("a lookup needs an order number, or an email and a postcode")
        reservation, refused = await self._reserve(request)
        if refused:
            return refused
        work = self._lookup(request, reservation) if request.order_number else self._list(request, reservation)
        return await self._guarded(work, request, reservation)

    async def _guarded(self, work: Any, request: LookupRequest, reservation: Optional[Reservation]) -> LookupResult:
        """Run ``work`` within the time budget; a store failure gives the attempt back."""
        self._deadline = time.monotonic() + self.budget
        try:
            return await asyncio.wait_for(work, self.budget)
        except (PlatformError, asyncio.TimeoutError) as exc:
            if reservation is not None:
                await self.runtime.attempts.release(reservation)
            return await self._store_failed(request, exc)

    async def _follow_up(self, request: LookupRequest) -> LookupResult:
        """A number without details: shown again only if it is exactly the order verified earlier;
        anything else (another order, no such order) gets the same request for details, uncounted."""
        platform = open_platform(self.runtime, self.store)
        order = None
        if request.verified_order:
            try:
                order = await platform.get_order(request.order_number or "")
            except (OrderNotFound, OrderNotVisible):
                order = None
        if order is None or not same_order(request.verified_order, order):
            return LookupResult(NEED_DETAILS, [self._say("ask_email")])
        return await self._show(request, platform, order, reverified=False)

    async def _lookup(self, request: LookupRequest, reservation: Reservation) -> LookupResult:
        number = request.order_number or ""
        platform = open_platform(self.runtime, self.store)
        postcode_path = bool(request.postcode and request.second_fact)
        started = time.monotonic()
        try:
            order = await platform.get_order(number)
        except (OrderNotFound, OrderNotVisible) as exc:
            await self._pad(timing.MISSING, started)
            outcome = NOT_VISIBLE if isinstance(exc, OrderNotVisible) else NOT_FOUND
            reply = "need_postcode" if exc.customer_data_hidden and not postcode_path else "lookup_mismatch"
            return await self._failed(request, reservation, outcome, number if outcome == NOT_VISIBLE else None, reply)

        if same_order(request.verified_order, order):
            await self.runtime.attempts.succeeded(reservation)
            return await self._show(request, platform, order, reverified=False)
        if order.customer_data_redacted and not postcode_path:
            await self._pad(timing.FOUND, started)
            return await self._failed(request, reservation, NEED_POSTCODE, None, "need_postcode")
        if not order.verify(email=request.email, postcode=request.postcode, second_fact=request.second_fact):
            await self._pad(timing.FOUND, started)
            return await self._failed(request, reservation, MISMATCH, order.number)
        await self.runtime.attempts.succeeded(reservation)
        return await self._show(request, platform, order, reverified=True)

    async def _show(self, request: LookupRequest, platform: Any, order: Order, *, reverified: bool) -> LookupResult:
        if order.status in SHIPPED_STATES and not order.shipments and time.monotonic() < self._deadline:
            order.shipments = await platform.get_shipments(order)
        await mark_store_health(self.runtime, self.store.store_id, None)
        await self._record(SHOWN, order.number, request, status=order.status.value, reverified=reverified)
        logger.info("order %s shown for store %s", mask_order_number(order.number), self.store.store_id)
        return LookupResult(SHOWN, order_messages(self.store, order, self.override_root), verified_order=order.number,
                            order=order)

    async def _list(self, request: LookupRequest, reservation: Reservation) -> LookupResult:
        platform = open_platform(self.runtime, self.store)
        try:
            orders = await platform.find_orders(request.email or "", limit=LIST_LIMIT)
        except (OrderNotFound, OrderNotVisible):
            orders = []
        # both must match: a store that hides emails may return orders without one
        matching = [o for o in orders if o.matches_email(request.email) and o.matches_postcode(request.postcode)]
        if not matching:
            return await self._failed(request, reservation, NOT_FOUND, None, "order_list_empty")
        await self.runtime.attempts.succeeded(reservation)
        await mark_store_health(self.runtime, self.store.store_id, None)
        await self._record(LISTED, None, request, count=len(matching))
        buttons = [
            {"title": f"#{o.number} · {o.status_label}", "payload": '/inform{"order_number":"%s"}' % o.number}
            for o in matching
        ]
        message = self._say("order_list", orders=[o.to_public_dict() for o in matching])
        message["buttons"] = buttons
        return LookupResult(LISTED, [message])
