"""Configuration of the merchant API, derived from :class:`bot.core.settings.Settings`.

The variables below are read and validated by :mod:`bot.core.settings` (README, configuration reference).

``TRULYBOT_SHOPIFY_API_KEY`` / ``TRULYBOT_SHOPIFY_API_SECRET``
    the Shopify app's client id and secret (OAuth and webhook HMAC). Demo mode falls back to the
    Shopify emulator's demo app.
``TRULYBOT_SHOPIFY_API_BASE_URL``
    send every Shopify call (OAuth, Admin API) to this base URL instead of ``https://{shop}``
    (tests and demo: the Shopify emulator). Only honoured for loopback URLs or in demo mode.
``TRULYBOT_HEALTH_CHECK_INTERVAL``
    seconds between store health checks (default 300; failures back off up to 1 hour).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Tuple

from bot.core.settings import Settings
from plugins.shopify.client import DEFAULT_API_VERSION

logger = logging.getLogger(__name__)

DEMO_SHOPIFY_API_KEY = "trulybot-demo-app"
DEMO_SHOPIFY_API_SECRET = "trulybot-demo-app-secret-0123456789abcdef"
SHOPIFY_SCOPES = ("read_orders", "read_fulfillments")


@dataclass
class ApiConfig:
    """Knobs of the merchant API; tests replace fields before the app starts."""

    public_url: str
    demo: bool
    shopify_api_key: Optional[str] = None
    shopify_api_secret: Optional[str] = None
    shopify_api_base_url: Optional[str] = None
    shopify_scopes: Tuple[str, ...] = SHOPIFY_SCOPES
    shopify_api_version: str = DEFAULT_API_VERSION  # the Shopify plugin's version: one source of truth
    allow_http_loopback: bool = True
    #: How long an install may take, from "connect" to the callback (Shopify OAuth state cookie,
    #: wc-auth state): the approval screens take a minute, a login at the platform a few more.
    state_ttl_seconds: int = 300
    #: Shopify signs the callback's ``timestamp`` when it redirects: the redirect is immediate.
    oauth_timestamp_window: int = 300
    health_check_interval: float = 300.0
    health_check_max_backoff: float = 3600.0
    health_check_enabled: bool = True
    webhook_dedupe_ttl: int = 3 * 24 * 3600
    push_lookback_hours: int = 24
    #: the database-backed metrics are re-read at most this often
    metrics_refresh_seconds: float = 15.0
    redis_url: Optional[str] = None
    demo_shopify_url: Optional[str] = None
    #: ``{platform: {setting: value}}`` from ``TRULYBOT_<PLATFORM>_<SETTING>`` (see ``Platform.app_settings``)
    app_settings: Dict[str, Dict[str, Optional[str]]] = field(default_factory=dict)
    #: refuse webhook deliveries the platform says it triggered longer ago than this (replays)
    webhook_max_age: int = 24 * 3600
    extra: dict = field(default_factory=dict)

    @property
    def shopify_configured(self) -> bool:
        return bool(self.shopify_api_key and self.shopify_api_secret)


def read_app_settings(env: Mapping[str, str], demo: bool) -> Dict[str, Dict[str, Optional[str]]]:
    """Every installed platform's :class:`~plugins.integration.AppSetting` values from ``env``
    (``TRULYBOT_<PLATFORM>_<NAME>``; in demo mode an unset value takes its ``demo_default``)."""
    from plugins.manager import get_platforms

    out: Dict[str, Dict[str, Optional[str]]] = {}
    for name, cls in get_platforms().items():
        values: Dict[str, Optional[str]] = {}
        for setting in cls.app_settings:
            value = (env.get(setting.env_name(name)) or "").strip() or None
            if value is None and demo:
                value = setting.demo_default
            values[setting.name] = value if value is not None else setting.default
        out[name] = values
    return out


def load_api_config(settings: Settings) -> ApiConfig:
    """The API's configuration from the validated settings (Shopify app, health-check interval)."""
    key, secret = settings.shopify_api_key, settings.shopify_api_secret
    if settings.demo and not (key and secret):
        key, secret = DEMO_SHOPIFY_API_KEY, DEMO_SHOPIFY_API_SECRET
        try:  # the Shopify emulator's demo app, so the demo OAuth flow works out of the box
            from plugins.shopify.emulator import DEMO_API_KEY, DEMO_API_SECRET

            key, secret = DEMO_API_KEY, DEMO_API_SECRET
        except ImportError:
            pass
    interval = settings.health_check_interval
    base_override = settings.shopify_api_base_url
    if base_override and not settings.demo:
        from urllib.parse import urlsplit

        from plugins.text import is_loopback_host

        if not is_loopback_host(urlsplit(base_override).hostname or ""):
            logger.warning("TRULYBOT_SHOPIFY_API_BASE_URL ignored: only loopback emulators are allowed outside demo mode")
            base_override = None
    return ApiConfig(
        app_settings=read_app_settings(os.environ, settings.demo),
        public_url=settings.public_url.rstrip("/"),
        demo=settings.demo,
        shopify_api_key=key,
        shopify_api_secret=secret,
        shopify_api_base_url=base_override,
        allow_http_loopback=settings.demo,
        health_check_interval=float(interval),
        redis_url=settings.redis_url,
        demo_shopify_url=settings.emulator_url("shopify") if settings.demo else None,
    )
