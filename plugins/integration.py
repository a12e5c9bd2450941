"""What a platform tells the product about its whole integration, beyond reading orders.

A :class:`~plugins.base.Platform` subclass describes, with the types in this module:

* how a merchant connects a store: a :class:`ConnectionSchema` (credential and setting
  :class:`Field`\\ s, and the :class:`ConnectFlow`: an API-keys form, an OAuth-style install
  redirect, or an app-authorisation callback);
* the app-wide settings the operator configures once (:class:`AppSetting`, read by the product
  from ``TRULYBOT_<PLATFORM>_<SETTING>``);
* its webhooks (:class:`WebhookSpec`): which secret signs a delivery, how a delivery is read
  (:class:`WebhookDelivery`) and what it means (:class:`WebhookOutcome`: normalized
  :class:`OrderEvent`\\ s and at most one :class:`StoreNotice` such as "app uninstalled");

Everything here is plain data: no I/O, nothing from ``bot`` or ``actions``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from plugins.model import OrderStatus, Shipment

# --- connection schema -----------------------------------------------------------------------------


class FieldType(str, Enum):
    """How a field is entered and checked."""

    TEXT = "text"
    PASSWORD = "password"  #: entered masked; always ``secret``
    URL = "url"  #: an absolute http(s) URL; the product applies its URL/SSRF rules
    DOMAIN = "domain"  #: a host name (e.g. a shop domain), lower-cased
    CHOICE = "choice"  #: one of ``choices``
    BOOLEAN = "boolean"

    def __str__(self) -> str:
        return self.value


class FieldRole(str, Enum):
    """Where a submitted value goes in the :class:`~plugins.model.StoreConnection`."""

    BASE_URL = "base_url"  #: ``StoreConnection.base_url`` (at most one field)
    SHOP_DOMAIN = "shop_domain"  #: ``StoreConnection.shop_domain`` (at most one field)
    CREDENTIAL = "credential"  #: ``StoreConnection.credentials[name]``, encrypted at rest
    OPTION = "option"  #: ``StoreConnection.options[name]``, stored in clear

    def __str__(self) -> str:
        return self.value


class FieldError(ValueError):
    """A submitted value does not satisfy its :class:`Field` (``field`` names it)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Field:
    """One input of the connect form (and of ``POST /api/integrations/<platform>/connect``)."""

    name: str  #: JSON key, form field name and credential/option key
    label: str  #: shown next to the input
    type: FieldType = FieldType.TEXT
    role: FieldRole = FieldRole.CREDENTIAL
    secret: bool = False  #: never shown back, never logged; ``PASSWORD`` fields are always secret
    required: bool = True
    help: str = ""  #: one sentence telling the merchant where to find the value
    pattern: Optional[str] = None  #: full-match regular expression the value must satisfy
    pattern_hint: str = ""  #: the words shown when ``pattern`` does not match
    min_length: int = 0
    max_length: int = 500
    choices: Tuple[str, ...] = ()
    placeholder: str = ""
    default: Optional[str] = None

    @property
    def is_secret(self) -> bool:
        return self.secret or self.type is FieldType.PASSWORD

    def validate(self, value: Any) -> Optional[str]:
        """The cleaned value (``None`` when optional and empty); raises :class:`FieldError`."""
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.default is not None:
                return self.default
            if self.required:
                raise FieldError(self.name, "is required")
            return None
        if self.type is FieldType.BOOLEAN:
            if isinstance(value, bool):
                return "true" if value else "false"
            if str(value).lower() in ("true", "1", "on", "yes", "false", "0", "off", "no"):
                return "true" if str(value).lower() in ("true", "1", "on", "yes") else "false"
            raise FieldError(self.name, "must be true or false")
        if not isinstance(value, str):
            raise FieldError(self.name, "must be a string")
        text = value.strip()
        if self.type is FieldType.DOMAIN:
            text = text.lower()
        if len(text) < self.min_length:
            raise FieldError(self.name, f"must be at least {self.min_length} characters")
        if len(text) > self.max_length:
            raise FieldError(self.name, f"must be at most {self.max_length} characters")
        if any(ord(c) < 32 for c in text):
            raise FieldError(self.name, "must not contain control characters")
        if self.type is FieldType.CHOICE and text not in self.choices:
            raise FieldError(self.name, "must be one of " + ", ".join(self.choices))
        if self.type is FieldType.URL and not re.match(r"^(https?|file)://", text, re.IGNORECASE):
            raise FieldError(self.name, "must be an absolute URL")
        if self.pattern and not re.fullmatch(self.pattern, text):
            raise FieldError(self.name, self.pattern_hint or "has the wrong format")
        return text

    def describe(self) -> Dict[str, Any]:
        """JSON-safe description (``GET /api/platforms``; the dashboard renders forms from it)."""
        return {
            "name": self.name, "label": self.label, "type": self.type.value, "role": self.role.value,
            "secret": self.is_secret, "required": self.required, "help": self.help, "pattern": self.pattern,
            "pattern_hint": self.pattern_hint, "min_length": self.min_length, "max_length": self.max_length,
            "choices": list(self.choices), "placeholder": self.placeholder, "default": self.default,
        }


class ConnectFlow(str, Enum):
    """How a merchant connects a store of this platform."""

    #: the merchant pastes credentials into a form; the product checks and stores them
    API_KEYS = "api_keys"
    #: the merchant is redirected to the platform to install the app (OAuth authorization code);
    #: the platform redirects back to ``/api/integrations/<platform>/callback``
    INSTALL_REDIRECT = "install_redirect"
    #: the merchant approves on the store, which then POSTs credentials to
    #: ``/api/integrations/<platform>/callback`` (WooCommerce's wc-auth)
    AUTHORIZATION_CALLBACK = "authorization_callback"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ConnectionSchema:
    """The fields a merchant fills in and the flows that can connect a store.

    ``flows[0]`` is the default. Fields list everything any flow needs; a field whose name is in
    ``flow_fields[flow]`` is the only input that flow takes (missing key: every field).
    """

    fields: Tuple[Field, ...] = ()
    flows: Tuple[ConnectFlow, ...] = (ConnectFlow.API_KEYS,)
    flow_fields: Mapping[ConnectFlow, Tuple[str, ...]] = field(default_factory=dict)
    flow_labels: Mapping[ConnectFlow, str] = field(default_factory=dict)
    #: other names a client may use for a flow (e.g. an older API's ``"keys"``)
    flow_aliases: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("field names must be unique")
        for role in (FieldRole.BASE_URL, FieldRole.SHOP_DOMAIN):
            if sum(1 for f in self.fields if f.role is role) > 1:
                raise ValueError(f"at most one field may have role {role.value}")
        if not self.flows:
            raise ValueError("a schema needs at least one connect flow")

    def fields_for(self, flow: ConnectFlow) -> Tuple[Field, ...]:
        wanted = self.flow_fields.get(flow)
        return self.fields if wanted is None else tuple(f for f in self.fields if f.name in wanted)

    def validate(self, values: Mapping[str, Any], flow: Optional[ConnectFlow] = None) -> Dict[str, str]:
        """Clean every field of ``flow``; unknown keys are refused. Raises :class:`FieldError`."""
        flow = flow or self.flows[0]
        fields = self.fields_for(flow)
        known = {f.name for f in fields}
        for key in values:
            if key not in known:
                raise FieldError(str(key)[:60], "is not a field of this connection")
        out: Dict[str, str] = {}
        for f in fields:
            cleaned = f.validate(values.get(f.name))
            if cleaned is not None:
                out[f.name] = cleaned
        return out

    def describe(self) -> Dict[str, Any]:
        return {
            "fields": [f.describe() for f in self.fields],
            "flows": [flow.value for flow in self.flows],
            "flow_fields": {flow.value: list(names) for flow, names in self.flow_fields.items()},
            "flow_labels": {flow.value: label for flow, label in self.flow_labels.items()},
        }


@dataclass(frozen=True)
class AppSetting:
    """A deployment-wide setting of a platform, read from ``TRULYBOT_<PLATFORM>_<NAME>``.

    ``demo_default`` is used in demo mode when the variable is unset (e.g. the emulator's app).
    A ``required`` setting is needed by the install flows: without a value they refuse to start
    (``409 not_configured`` naming the variables) and refuse every callback.
    """

    name: str  #: lower case, e.g. ``"api_secret"`` → ``TRULYBOT_SHOPIFY_API_SECRET``
    help: str
    secret: bool = False
    default: Optional[str] = None
    demo_default: Optional[str] = None
    required: bool = False

    def env_name(self, platform: str) -> str:
        return f"TRULYBOT_{platform.upper()}_{self.name.upper()}"


@dataclass(frozen=True)
class ConnectContext:
    """What the product tells a platform while connecting a store.

    ``settings`` holds this platform's :class:`AppSetting` values; ``base_url_override`` is where
    every store call goes instead of the store's own address (set for emulators only).
    """

    public_url: str  #: the bot service's public base URL (callbacks and webhooks point here)
    settings: Mapping[str, Optional[str]] = field(default_factory=dict)
    demo: bool = False
    base_url_override: Optional[str] = None

    def callback_url(self, platform: str) -> str:
        return f"{self.public_url.rstrip('/')}/api/integrations/{platform}/callback"

    def return_url(self, platform: str) -> str:
        return f"{self.public_url.rstrip('/')}/api/integrations/{platform}/return"


@dataclass(frozen=True)
class InstallCallback:
    """What a platform reads from an install callback before any I/O (see
    :meth:`~plugins.base.Platform.read_install_callback`).

    ``state`` is the product's state value the platform echoed; ``shop_domain`` the shop the
    callback claims to be for, when the platform names one (checked against the one the merchant
    asked to connect); ``denied`` is True when the merchant refused (the return page of an
    authorization callback).
    """

    state: str
    shop_domain: Optional[str] = None
    denied: bool = False


class InstallRefused(Exception):
    """An install callback the product must refuse, with words for the merchant.

    ``reason`` is a short log line (no secrets); ``message`` the sentence shown to the merchant;
    ``authentic`` is False when the callback's signature does not check out (answered 401).
    """

    def __init__(self, reason: str, message: str, *, authentic: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.authentic = authentic


@dataclass(frozen=True)
class InstallGrant:
    """What an install redirect or authorization callback yields: a store ready to check.

    ``state`` is the product's opaque state value echoed by the platform; the product checks it.
    """

    state: str
    credentials: Dict[str, str]
    shop_domain: Optional[str] = None
    base_url: Optional[str] = None
    granted_scopes: Tuple[str, ...] = ()


# --- webhooks -----------------------------------------------------------------------------------------


class WebhookSecret(str, Enum):
    """Which secret signs this platform's deliveries."""

    #: a random secret the product makes per store and hands to :meth:`Platform.register_webhooks`
    PER_STORE = "per_store"
    #: the app setting named by :attr:`WebhookSpec.app_secret_setting` (e.g. an OAuth app's secret)
    APP = "app"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class WebhookSpec:
    """How the product receives this platform's webhooks.

    Deliveries for one store arrive at ``/api/webhooks/<platform>/<widget id>`` (the URL passed to
    :meth:`Platform.register_webhooks`); with ``app_endpoint`` the platform also posts app-wide
    topics (e.g. privacy requests configured once in the app settings) to
    ``/api/webhooks/<platform>``, and the store is found from :attr:`WebhookDelivery.shop_domain`.
    """

    secret: WebhookSecret = WebhookSecret.PER_STORE
    app_secret_setting: Optional[str] = None
    app_endpoint: bool = False
    #: the platform's own names of the topics it handles; other deliveries are acknowledged and ignored
    topics: Tuple[str, ...] = ()


@dataclass(frozen=True)
class WebhookTarget:
    """Where and with what secret the store should deliver (``secret`` is ``None`` for APP secrets)."""

    url: str
    secret: Optional[str] = None


@dataclass
class WebhookRegistration:
    """What :meth:`Platform.register_webhooks` did; kept in the store's config for deregistration.

    ``remote_ids`` are the platform's ids of the subscriptions (strings); ``error`` is a short,
    secret-free reason when some topic could not be registered.
    """

    topics: List[str] = field(default_factory=list)
    remote_ids: List[str] = field(default_factory=list)
    error: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return {"topics": list(self.topics), "remote_ids": list(self.remote_ids), "error": self.error}

    @classmethod
    def from_dict(cls, data: Any) -> "WebhookRegistration":
        data = data if isinstance(data, dict) else {}
        return cls(topics=[str(t) for t in data.get("topics") or [] if isinstance(t, (str, int))],
                   remote_ids=[str(t) for t in data.get("remote_ids") or [] if isinstance(t, (str, int))],
                   error=data.get("error") if isinstance(data.get("error"), str) else None)


@dataclass(frozen=True)
class WebhookDelivery:
    """The unsigned facts of one delivery, read by :meth:`Platform.read_delivery` after verification.

    ``event_id`` is the sender's id for the event (retries repeat it); ``shop_domain`` the shop the
    delivery claims to be for (checked by the product against the store whose secret verified it);
    ``triggered_at`` when the platform created it (older than the product's window: refused).
    """

    topic: str
    event_id: Optional[str] = None
    shop_domain: Optional[str] = None
    triggered_at: Optional[datetime] = None
    payload: Any = None


class OrderEventKind(str, Enum):
    """What happened to an order."""

    STATUS_CHANGED = "status_changed"
    SHIPMENT_CREATED = "shipment_created"
    SHIPMENT_UPDATED = "shipment_updated"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"

    def __str__(self) -> str:
        return self.value


@dataclass
class OrderEvent:
    """One normalized change to an order, turned by the product into a chat message and an activity row.

    ``order_number`` is the number as shoppers see it (no ``#``); ``version`` orders events of one
    order (an ISO timestamp or a counter: an event not newer than one already handled is dropped);
    ``shipments`` carry carrier, tracking number and URL when the delivery has them.
    """

    kind: OrderEventKind
    order_number: str
    status: Optional[OrderStatus] = None
    status_label: Optional[str] = None  #: the platform's own words, e.g. "Completed"
    shipments: List[Shipment] = field(default_factory=list)
    version: Optional[str] = None
    occurred_at: Optional[datetime] = None


class StoreNoticeKind(str, Enum):
    """A delivery about the store or a customer rather than one order."""

    UNINSTALLED = "uninstalled"  #: the store removed the app: credentials no longer work
    CUSTOMER_DATA_REQUEST = "customer_data_request"  #: export what is held about a customer
    CUSTOMER_REDACT = "customer_redact"  #: erase what is held about a customer
    SHOP_REDACT = "shop_redact"  #: erase everything held about the shop

    def __str__(self) -> str:
        return self.value


@dataclass
class StoreNotice:
    """A store-level delivery; ``order_refs`` are order numbers or ids named by the request."""

    kind: StoreNoticeKind
    customer_email: Optional[str] = None
    order_refs: List[str] = field(default_factory=list)
    request_id: Optional[str] = None


@dataclass
class WebhookOutcome:
    """What one delivery means: order events, a store notice, or nothing (an ignored topic)."""

    events: List[OrderEvent] = field(default_factory=list)
    notice: Optional[StoreNotice] = None

    @property
    def ignored(self) -> bool:
        return not self.events and self.notice is None


def headers_lower(headers: Mapping[str, str]) -> Dict[str, str]:
    """A plain dict of ``headers`` with lower-case names (for platforms reading deliveries)."""
    return {str(k).lower(): str(v) for k, v in headers.items()}


def first_header(headers: Mapping[str, str], *names: str) -> Optional[str]:
    """The first present, non-empty header among ``names`` (case-insensitive), stripped."""
    lower = headers_lower(headers)
    for name in names:
        value = lower.get(name.lower(), "").strip()
        if value:
            return value
    return None


def clean_refs(values: Sequence[Any], limit: int = 1000) -> List[str]:
    """Order references from a payload list: strings and integers only, at most ``limit``."""
    return [str(v) for v in list(values)[:limit] if isinstance(v, (str, int)) and not isinstance(v, bool)]
