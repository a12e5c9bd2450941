"""The abstract platform every store integration implements."""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar, Dict, List, Tuple

from plugins.model import Order, Shipment, StoreConnection

if TYPE_CHECKING:  # pragma: no cover
    from plugins.http import StoreHttpClient


class Platform(abc.ABC):
    """One store platform (WooCommerce, Shopify, ...), bound to one store connection.

    Instances are cheap: create one per lookup with the process-wide
    :class:`~plugins.http.StoreHttpClient`. Per-store state that must outlive an instance
    (circuit breaker, throttle estimate, learned auth mode) lives in the HTTP client.

    Every method raises only :class:`~plugins.errors.PlatformError` subclasses.
    """

    #: registry name, lower case, e.g. ``"woocommerce"``; equals ``StoreConnection.platform``
    name: ClassVar[str] = ""
    #: human name for the dashboard, e.g. ``"WooCommerce"``
    display_name: ClassVar[str] = ""
    #: credential keys this platform reads from ``StoreConnection.credentials``
    credential_fields: ClassVar[Tuple[str, ...]] = ()

    def __init__(self, store: StoreConnection, http: "StoreHttpClient") -> None:
        self.store = store
        self.http = http

    @abc.abstractmethod
    async def check_connection(self) -> Dict[str, Any]:
        """Verify URL and credentials; return ``{"platform", "name", "version", ...}``.

        Raises :class:`~plugins.errors.StoreAuthError` or :class:`~plugins.errors.StoreUnreachable`.
        """

    @abc.abstractmethod
    async def get_order(self, number: str) -> Order:
        """The order a shopper designates by ``number`` (may contain ``#``, spaces, leading zeros).

        Raises :class:`~plugins.errors.OrderNotFound` (or ``OrderNotVisible``).
        """

    @abc.abstractmethod
    async def find_orders(self, email: str, limit: int = 5) -> List[Order]:
        """Recent orders whose customer email is ``email``, most recent first (may be empty)."""

    @abc.abstractmethod
    async def get_shipments(self, order: Order) -> List[Shipment]:
        """Parcels of ``order`` with carrier, tracking number and URL."""

    def __repr__(self) -> str:  # never show credentials
        return f"<{type(self).__name__} store={self.store.store_id!r}>"
