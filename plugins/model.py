"""The normalized order model every layer above the plugins works with.

Platform plugins turn their store's payloads into these dataclasses; actions and the widget
never see platform payloads. Verification fields (``email``, ``billing_postcode``) are kept for
:meth:`Order.matches_email` / :meth:`Order.matches_postcode` and never leave through
:meth:`Order.to_public_dict`.

Verification rule (:meth:`Order.verify`): the email on the order must match. Only when the store
hides the email (``customer_data_redacted``, Shopify protected customer data) does the billing
postcode stand in, and then together with a second fact: the billing last name or the last digits
of the order's phone number. A postcode alone never verifies: thousands of orders share one.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar, Dict, List, Optional, Tuple, Union

from plugins.text import looks_like_phone_digits, normalize_email, normalize_last_name, normalize_postcode, phone_digits

#: fewest trailing phone digits accepted as a second fact
MIN_PHONE_DIGITS = 4


class OrderStatus(str, Enum):
    """The small fixed set of order states the bot talks about (DESIGN.md, "Plugins")."""

    PENDING = "pending"  #: placed, waiting for payment
    PROCESSING = "processing"  #: paid, being prepared
    ON_HOLD = "on_hold"  #: waiting for the merchant (stock, fraud check, payment confirmation)
    PARTIALLY_SHIPPED = "partially_shipped"  #: some parcels left
    SHIPPED = "shipped"  #: everything left the warehouse
    DELIVERED = "delivered"  #: the carrier delivered everything
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    FAILED = "failed"  #: payment failed or expired

    def __str__(self) -> str:  # "shipped", not "OrderStatus.SHIPPED"
        return self.value


class ShipmentStatus(str, Enum):
    """Where one parcel is, as far as the store knows."""

    LABEL_CREATED = "label_created"
    SHIPPED = "shipped"  #: handed over, no carrier detail known
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    ATTEMPTED_DELIVERY = "attempted_delivery"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


Amount = Optional[Decimal]


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value is not None else None


def _money(value: Amount) -> Optional[str]:
    return None if value is None else format(value, "f")


@dataclass
class LineItem:
    """One ordered product line."""

    name: str
    quantity: int
    sku: Optional[str] = None
    variant: Optional[str] = None  #: e.g. "Blue / M"
    unit_price: Amount = None
    total: Amount = None

    def to_public_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "quantity": self.quantity,
            "sku": self.sku,
            "variant": self.variant,
            "unit_price": _money(self.unit_price),
            "total": _money(self.total),
        }


@dataclass
class Shipment:
    """One parcel: carrier, tracking number and URL, status and dates."""

    carrier: Optional[str] = None  #: display name, e.g. "UPS"
    tracking_number: Optional[str] = None
    tracking_url: Optional[str] = None
    status: ShipmentStatus = ShipmentStatus.UNKNOWN
    carrier_code: Optional[str] = None  #: registry key, e.g. "ups", when known
    shipped_at: Optional[datetime] = None
    delivered_at: Optional[datetime] = None
    estimated_delivery_at: Optional[datetime] = None
    items: List[LineItem] = field(default_factory=list)  #: what is in this parcel, when known

    def to_public_dict(self) -> Dict[str, Any]:
        return {
            "carrier": self.carrier,
            "tracking_number": self.tracking_number,
            "tracking_url": self.tracking_url,
            "status": self.status.value,
            "shipped_at": _iso(self.shipped_at),
            "delivered_at": _iso(self.delivered_at),
            "estimated_delivery_at": _iso(self.estimated_delivery_at),
            "items": [{"name": i.name, "quantity": i.quantity} for i in self.items],
        }


def _same(secret: Optional[str], given: Optional[str]) -> bool:
    """Constant-time equality of two normalized values; ``None`` never matches."""
    if not secret or not given:
        return False
    return hmac.compare_digest(secret.encode("utf-8"), given.encode("utf-8"))


@dataclass
class Order:
    """A store order in the normalized model.

    ``number`` is the number as the store displays it, without ``#`` (``"1001"``,
    ``"WC-5521"``). ``status`` is the normalized state, ``status_label`` the platform's own words.
    ``email`` / ``billing_postcode`` are verification fields: never displayed, never logged.
    ``billing_last_name`` and ``phone`` (digits only) are the second facts that go with the postcode
    when ``customer_data_redacted`` is true (the store hid the email: Shopify protected customer
    data); see :meth:`verify`.
    """

    platform: str
    number: str
    platform_id: str
    status: OrderStatus
    status_label: str
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    currency: Optional[str] = None
    subtotal: Amount = None
    shipping: Amount = None
    tax: Amount = None
    total: Amount = None
    items: List[LineItem] = field(default_factory=list)
    shipments: List[Shipment] = field(default_factory=list)
    status_page_url: Optional[str] = None
    email: Optional[str] = field(default=None, repr=False)
    billing_postcode: Optional[str] = field(default=None, repr=False)
    billing_last_name: Optional[str] = field(default=None, repr=False)
    phone: Optional[str] = field(default=None, repr=False)
    customer_data_redacted: bool = False
    cancelled_at: Optional[datetime] = None

    #: fields that must never be rendered, logged or sent to the widget
    PRIVATE_FIELDS: ClassVar[Tuple[str, ...]] = ("email", "billing_postcode", "billing_last_name", "phone", "platform_id")

    def __post_init__(self) -> None:
        self.email = normalize_email(self.email) if self.email else None
        self.billing_postcode = normalize_postcode(self.billing_postcode) if self.billing_postcode else None
        self.billing_last_name = normalize_last_name(self.billing_last_name)
        self.phone = phone_digits(self.phone)

    # -- verification -------------------------------------------------------------------------
    def matches_email(self, email: Optional[str]) -> bool:
        """Case-insensitive, constant-time comparison with the order's email."""
        return _same(self.email, normalize_email(email))

    def matches_postcode(self, postcode: Union[str, int, None]) -> bool:
        """Compare with the billing postcode, ignoring case, spaces and hyphens (constant time)."""
        return _same(self.billing_postcode, normalize_postcode(postcode))

    def matches_second_fact(self, fact: Optional[str]) -> bool:
        """The billing last name (case, accents and spacing ignored), or at least
        :data:`MIN_PHONE_DIGITS` trailing digits of the order's phone number (constant time)."""
        if looks_like_phone_digits(fact):
            digits = phone_digits(fact) or ""
            if len(digits) < MIN_PHONE_DIGITS or not self.phone:
                return False
            return _same(self.phone[-len(digits):], digits)
        return _same(self.billing_last_name, normalize_last_name(fact))

    def verify(self, email: Optional[str] = None, postcode: Optional[str] = None, second_fact: Optional[str] = None) -> bool:
        """Do the shopper's details prove they placed this order? (rule in the module docstring)"""
        if not self.customer_data_redacted:
            return self.matches_email(email)
        return self.matches_postcode(postcode) and self.matches_second_fact(second_fact)

    @property
    def verification_methods(self) -> Tuple[str, ...]:
        """How this order can be verified: ``("email",)``, or ``("postcode", "last_name"/"phone")``
        when the store hides the email (empty when it cannot be verified at all)."""
        if not self.customer_data_redacted:
            return ("email",) if self.email else ()
        second = tuple(name for name, value in (("last_name", self.billing_last_name), ("phone", self.phone)) if value)
        return ("postcode",) + second if self.billing_postcode and second else ()

    # -- output -------------------------------------------------------------------------------
    @property
    def tracked_shipments(self) -> List[Shipment]:
        """Shipments that have a tracking number or URL."""
        return [s for s in self.shipments if s.tracking_number or s.tracking_url]

    def to_public_dict(self) -> Dict[str, Any]:
        """JSON-safe dict for the widget's order card: no email, postcode or internal id."""
        return {
            "platform": self.platform,
            "number": self.number,
            "status": self.status.value,
            "status_label": self.status_label,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "currency": self.currency,
            "subtotal": _money(self.subtotal),
            "shipping": _money(self.shipping),
            "tax": _money(self.tax),
            "total": _money(self.total),
            "items": [i.to_public_dict() for i in self.items],
            "shipments": [s.to_public_dict() for s in self.shipments],
            "status_page_url": self.status_page_url,
        }


@dataclass
class StoreConnection:
    """How to reach one merchant store.

    ``base_url`` is the store URL for WooCommerce (``https://shop.example``) and the Admin API
    base for Shopify (``https://{shop}.myshopify.com``, or an emulator URL). ``credentials`` holds
    the keys named by the platform's ``credential_fields``; never log it. ``options`` carries
    platform-specific switches documented in ``docs/plugins.md``.
    """

    store_id: Union[int, str]
    platform: str
    base_url: str
    shop_domain: Optional[str] = None
    credentials: Dict[str, str] = field(default_factory=dict, repr=False)
    api_version: Optional[str] = None
    options: Dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identity used for per-store state (circuit breaker, throttle bucket)."""
        return f"{self.platform}:{self.store_id}"


__all__ = ["OrderStatus", "ShipmentStatus", "LineItem", "Shipment", "Order", "StoreConnection"]
