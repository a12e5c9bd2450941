"""The abstract platform every store integration implements.

A platform reads orders (the four abstract methods) and describes the rest of its integration
with class attributes and overridable methods: the connection schema and flows, app settings,
webhooks (register, deregister, verify, read, parse into normalized order events), the
storefront snippet and origins, and its display name. The defaults make a read-only platform
that connects with an API-keys form and has no webhooks: a plugin overrides only what it has.
"""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar, Dict, List, Mapping, Optional, Tuple

from plugins.integration import (
    AppSetting,
    ConnectContext,
    ConnectFlow,
    ConnectionSchema,
    FieldRole,
    InstallCallback,
    InstallGrant,
    InstallRefused,
    WebhookDelivery,
    WebhookOutcome,
    WebhookRegistration,
    WebhookSpec,
    WebhookTarget,
)
from plugins.model import Order, Shipment, StoreConnection

if TYPE_CHECKING:  # pragma: no cover
    from plugins.http import StoreHttpClient


class Platform(abc.ABC):
    """One store platform (WooCommerce, Shopify, ...), bound to one store connection.

    Instances are cheap: create one per lookup with the process-wide
    :class:`~plugins.http.StoreHttpClient`. Per-store state that must outlive an instance
    (circuit breaker, throttle estimate, learned auth mode) lives in the HTTP client.

    Every method raises only :class:`~plugins.errors.PlatformError` subclasses (and
    :class:`~plugins.integration.FieldError` for merchant input).
    """

    #: registry name, lower case, e.g. ``"woocommerce"``; equals ``StoreConnection.platform``
    name: ClassVar[str] = ""
    #: human name shown to merchants and shoppers, e.g. ``"WooCommerce"``
    display_name: ClassVar[str] = ""
    #: credential keys this platform reads from ``StoreConnection.credentials``
    credential_fields: ClassVar[Tuple[str, ...]] = ()
    #: what the merchant fills in to connect, and which connect flows exist
    connection_schema: ClassVar[ConnectionSchema] = ConnectionSchema()
    #: deployment-wide settings (``TRULYBOT_<NAME>_<SETTING>``), e.g. an OAuth app's id and secret
    app_settings: ClassVar[Tuple[AppSetting, ...]] = ()
    #: how webhooks reach the product; ``None``: the platform has no webhooks
    webhooks: ClassVar[Optional[WebhookSpec]] = None

    def __init__(self, store: StoreConnection, http: "StoreHttpClient") -> None:
        self.store = store
        self.http = http

    # --- reading orders ---------------------------------------------------------------------------

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

    # --- connecting -------------------------------------------------------------------------------

    @classmethod
    def connection_from_fields(cls, values: Mapping[str, str], context: ConnectContext) -> StoreConnection:
        """The connection to check for cleaned form ``values`` (see ``connection_schema``).

        The default puts the ``BASE_URL``/``SHOP_DOMAIN`` fields in place, ``CREDENTIAL`` fields
        in ``credentials`` and ``OPTION`` fields in ``options``; ``context.base_url_override``
        replaces the base URL (emulators). Raise :class:`~plugins.integration.FieldError` for a
        value that cannot work.
        """
        base_url, shop, credentials, options = "", None, {}, {}
        for f in cls.connection_schema.fields:
            if f.name not in values:
                continue
            value = values[f.name]
            if f.role is FieldRole.BASE_URL:
                base_url = value.rstrip("/")
            elif f.role is FieldRole.SHOP_DOMAIN:
                shop = value
            elif f.role is FieldRole.CREDENTIAL:
                credentials[f.name] = value
            else:
                options[f.name] = value
        if context.base_url_override:
            base_url = context.base_url_override.rstrip("/")
        return StoreConnection(store_id="new", platform=cls.name, base_url=base_url, shop_domain=shop,
                               credentials=credentials, options=options)

    @classmethod
    def store_key_of(cls, connection: StoreConnection) -> str:
        """What identifies the store at the platform: connecting the same store again updates it."""
        return (connection.shop_domain or connection.base_url or "").lower()

    @classmethod
    def install_url(cls, values: Mapping[str, str], context: ConnectContext, state: str) -> str:
        """``INSTALL_REDIRECT`` / ``AUTHORIZATION_CALLBACK``: where to send the merchant's browser.

        ``state`` is the product's opaque, single-use value; the platform must echo it back.
        """
        raise NotImplementedError(f"{cls.name} has no install flow")

    @classmethod
    def read_install_callback(cls, params: Mapping[str, Any], context: ConnectContext) -> InstallCallback:
        """Check a callback without I/O and return the state it echoes (and the shop it names).

        ``params`` is the callback's query (``INSTALL_REDIRECT``) or JSON body
        (``AUTHORIZATION_CALLBACK``). The product calls this first, then checks that the state is
        the one it issued and was not used before, and only then calls :meth:`complete_install`.
        Raise :class:`~plugins.integration.InstallRefused` for a forged or malformed callback
        (signature, freshness, shop address, missing values). The default reads ``state``.
        """
        state = params.get("state")
        if not isinstance(state, str) or not state:
            raise InstallRefused("callback without state", "This connection link is invalid.")
        return InstallCallback(state=state)

    @classmethod
    def read_install_return(cls, params: Mapping[str, str]) -> InstallCallback:
        """``AUTHORIZATION_CALLBACK``: the state and the merchant's answer in the query the platform
        adds when it sends the merchant's browser back to ``/api/integrations/<platform>/return``
        (:meth:`~plugins.integration.ConnectContext.return_url`). The default reads ``state`` and
        ``denied=1``. Raise :class:`~plugins.integration.InstallRefused` when there is no state.
        """
        state = params.get("state")
        if not isinstance(state, str) or not state:
            raise InstallRefused("return without state", "This connection link is invalid.")
        return InstallCallback(state=state, denied=params.get("denied") == "1")

    @classmethod
    async def complete_install(cls, params: Mapping[str, Any], context: ConnectContext,
                               http: "StoreHttpClient") -> InstallGrant:
        """``INSTALL_REDIRECT``: exchange the callback's code for credentials;
        ``AUTHORIZATION_CALLBACK``: read the credentials the store POSTed.

        Called after :meth:`read_install_callback` accepted ``params`` and the product consumed the
        state. Raise :class:`~plugins.integration.InstallRefused` (or a
        :class:`~plugins.errors.PlatformError` when the store does not answer).
        """
        raise NotImplementedError(f"{cls.name} has no install flow")

    # --- storefront --------------------------------------------------------------------------------

    @classmethod
    def storefront_origins(cls, connection: StoreConnection) -> List[str]:
        """Origins the widget may be embedded on by default (``https://host[:port]``)."""
        return []

    @classmethod
    def storefront_snippet(cls, script_url: str, widget_id: str) -> Optional[str]:
        """How a merchant embeds the widget on this platform's storefront (HTML), if special."""
        return None

    # --- webhooks ----------------------------------------------------------------------------------

    async def register_webhooks(self, target: WebhookTarget) -> WebhookRegistration:
        """Subscribe the store to this platform's order topics, delivering to ``target.url``.

        Never raises for a refused registration: return what worked and a short ``error``.
        """
        return WebhookRegistration(error="this platform has no webhooks")

    async def deregister_webhooks(self, registration: WebhookRegistration) -> None:
        """Remove the subscriptions ``registration`` made (on disconnect). Best effort."""

    @classmethod
    def verify_webhook(cls, raw_body: bytes, headers: Mapping[str, str], secret: str) -> bool:
        """True when the delivery's signature over ``raw_body`` matches ``secret`` (constant time)."""
        return False

    @classmethod
    def is_ping(cls, raw_body: bytes, headers: Mapping[str, str]) -> bool:
        """True for an unsigned test delivery the platform sends when a webhook is created
        (answered 200 without processing)."""
        return False

    @classmethod
    def read_delivery(cls, raw_body: bytes, headers: Mapping[str, str]) -> WebhookDelivery:
        """Topic, event id, claimed shop and trigger time of a verified delivery (no I/O).

        Raise :class:`~plugins.errors.MalformedResponse` when the delivery cannot be read.
        """
        raise NotImplementedError(f"{cls.name} has no webhooks")

    async def parse_webhook(self, delivery: WebhookDelivery) -> WebhookOutcome:
        """What a verified delivery for this store means (may call the store, e.g. thin payloads)."""
        return WebhookOutcome()

    def __repr__(self) -> str:  # never show credentials
        return f"<{type(self).__name__} store={self.store.store_id!r}>"


def default_flow(platform: "type[Platform]") -> ConnectFlow:
    """The first connect flow of ``platform``'s schema."""
    return platform.connection_schema.flows[0]
