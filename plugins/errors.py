"""Typed errors raised by platform plugins.

Everything above the plugin layer catches :class:`PlatformError` (or one of its subclasses) and
never sees aiohttp, JSON or GraphQL exceptions. Messages never contain secrets, emails or full
order numbers: they may end up in logs.
"""
from __future__ import annotations

from typing import Optional


class PlatformError(Exception):
    """Base class of every error a platform plugin raises on purpose."""

    #: short machine-readable code, stable across versions (used in logs and metrics)
    code = "platform_error"

    def __init__(self, message: str = "", *, platform: Optional[str] = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.platform = platform


class StoreUnreachable(PlatformError):
    """The store did not answer usefully (connection error, timeout, 5xx, open circuit)."""

    code = "store_unreachable"


class StoreAddressRefused(StoreUnreachable):
    """The store's host is, or resolves to, an address store calls may not reach (private, loopback...)."""

    code = "store_address_refused"


class CircuitOpen(StoreUnreachable):
    """Too many recent failures for this store: calls are refused for a while without trying."""

    code = "circuit_open"


class StoreAuthError(PlatformError):
    """The store rejected the credentials (or they lack a needed permission/scope)."""

    code = "store_auth"


class RateLimited(PlatformError):
    """The store asked us to slow down; ``retry_after`` is in seconds when known."""

    code = "rate_limited"

    def __init__(self, message: str = "", *, retry_after: Optional[float] = None, platform: Optional[str] = None) -> None:
        super().__init__(message, platform=platform)
        self.retry_after = retry_after


class _Unseen(PlatformError):
    """An order the plugin could not return. ``customer_data_hidden`` says whether this store hides
    customer emails (Shopify protected customer data), so the caller can ask for the same details
    it would ask for an order that exists."""

    def __init__(self, message: str = "", *, customer_data_hidden: bool = False, platform: Optional[str] = None) -> None:
        super().__init__(message, platform=platform)
        self.customer_data_hidden = customer_data_hidden


class OrderNotFound(_Unseen):
    """No order with that number (or for that email) exists in the store."""

    code = "order_not_found"


class OrderNotVisible(_Unseen):
    """The order may exist but the app cannot see it (e.g. Shopify orders older than 60 days
    without the ``read_all_orders`` scope). Never tell the shopper it does not exist.

    Deliberately *not* a subclass of :class:`OrderNotFound`, so a handler written for "no such
    order" cannot swallow it by accident.
    """

    code = "order_not_visible"


class MalformedResponse(PlatformError):
    """The store answered with something we cannot use (not JSON, wrong shape, too large)."""

    code = "malformed_response"


__all__ = [
    "PlatformError",
    "StoreUnreachable",
    "CircuitOpen",
    "StoreAddressRefused",
    "StoreAuthError",
    "RateLimited",
    "OrderNotFound",
    "OrderNotVisible",
    "MalformedResponse",
]


class StoreConfigError(PlatformError):
    """The store connection settings cannot work (plain-HTTP URL for a real store, missing
    credential, redirecting URL, not a store of this platform)."""

    code = "store_config"


__all__.append("StoreConfigError")
