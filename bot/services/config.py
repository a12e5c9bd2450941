"""Configuration of the merchant API, derived from :class:`bot.core.settings.Settings`.

The variables below are read and validated by :mod:`bot.core.settings` (README, configuration reference).

``TRULYBOT_<PLATFORM>_<SETTING>``
    the app settings each platform plugin declares (``Platform.app_settings``: an OAuth app's
    client id and secret, an emulator base URL, ...); in demo mode an unset one takes the
    plugin's ``demo_default`` (the emulator's demo app).
``TRULYBOT_HEALTH_CHECK_INTERVAL``
    seconds between store health checks (default 300; failures back off up to 1 hour).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional

from bot.core.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class ApiConfig:
    """Knobs of the merchant API; tests replace fields before the app starts."""

    public_url: str
    demo: bool
    allow_http_loopback: bool = True
    #: How long an install may take, from its start to the callback (the signed state cookie of an
    #: install redirect, the pending store of an authorization callback): the approval screens
    #: take a minute, a login at the platform a few more.
    state_ttl_seconds: int = 300
    health_check_interval: float = 300.0
    health_check_max_backoff: float = 3600.0
    health_check_enabled: bool = True
    webhook_dedupe_ttl: int = 3 * 24 * 3600
    push_lookback_hours: int = 24
    #: the database-backed metrics are re-read at most this often
    metrics_refresh_seconds: float = 15.0
    redis_url: Optional[str] = None
    #: ``{platform: {setting: value}}`` from ``TRULYBOT_<PLATFORM>_<SETTING>`` (see ``Platform.app_settings``)
    app_settings: Dict[str, Dict[str, Optional[str]]] = field(default_factory=dict)
    #: refuse webhook deliveries the platform says it triggered longer ago than this (replays)
    webhook_max_age: int = 24 * 3600
    extra: dict = field(default_factory=dict)


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
    """The API's configuration from the validated settings (platform app settings, health-check interval)."""
    return ApiConfig(
        app_settings=read_app_settings(dict(settings.platform_env), settings.demo),
        public_url=settings.public_url.rstrip("/"),
        demo=settings.demo,
        allow_http_loopback=settings.demo,
        health_check_interval=float(settings.health_check_interval),
        redis_url=settings.redis_url,
    )
