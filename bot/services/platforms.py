"""Talking to stores from the bot service: building connections from stored integrations and
mapping platform errors to API errors (no secret, email or order number in any message)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, List, Mapping, Optional

from aiohttp import web

from bot import appkeys
from bot.services.errors import ApiError, StoreCallFailed, UnknownPlatform
from bot.services.keys import API_CONFIG, PLATFORM_FACTORY, STORE_HTTP
from bot.services.metrics import timed_store_call
from bot.core.db.models import StoreIntegration
from bot.services.credentials import get_credentials


def platform_class(app: web.Application, name: str) -> Any:
    """The installed platform class ``name``; :class:`UnknownPlatform` (404 listing the installed ones) otherwise."""
    from plugins.manager import UnknownPlatform as NotInstalled

    factory = app.get(PLATFORM_FACTORY)
    if factory is None:
        from plugins.manager import get_platform as factory  # type: ignore[no-redef]
    try:
        return factory(name)
    except (NotInstalled, KeyError):
        from plugins.manager import get_platforms

        raise UnknownPlatform(name, sorted(get_platforms())) from None


def connection(app: web.Application, platform: str, base_url: str, credentials: Dict[str, str], *,
               store_id: Any = "new", shop_domain: Optional[str] = None, options: Optional[Dict[str, Any]] = None) -> Any:
    from plugins.model import StoreConnection

    return StoreConnection(store_id=store_id, platform=platform, base_url=base_url, shop_domain=shop_domain,
                           credentials=dict(credentials), options=dict(options or {}))


def connection_for(app: web.Application, store: StoreIntegration) -> Any:
    creds = get_credentials(store, app[appkeys.KEY_RING])
    options = (store.config or {}).get("options") or {}
    return connection(app, store.platform, store.store_url or "", creds, store_id=store.id,
                      shop_domain=store.shop_domain, options=options if isinstance(options, dict) else {})


def platform_for(app: web.Application, conn: Any) -> Any:
    return platform_class(app, conn.platform)(conn, app[STORE_HTTP])


async def call(app: web.Application, conn: Any, operation: str, *args: Any) -> Any:
    """``platform.<operation>(*args)`` with metrics; platform errors become :class:`ApiError`."""
    platform = platform_for(app, conn)
    return await timed_store_call(conn.platform, operation, getattr(platform, operation)(*args))


def map_platform_error(exc: Exception, *, connecting: bool = False) -> ApiError:
    """A :class:`StoreCallFailed` for a platform error (``connecting``: it is the merchant's input that
    fails, so a refusal is 422 rather than 502). No secret, email or order number in any message."""
    from plugins import errors as perr

    if isinstance(exc, perr.StoreAuthError):
        return StoreCallFailed(422, "store_auth", "the store rejected the credentials (check the keys and their permissions)")
    if isinstance(exc, perr.StoreConfigError):
        return StoreCallFailed(422, "store_config", str(exc)[:300])
    if isinstance(exc, perr.RateLimited):
        retry = int(exc.retry_after or 5)
        return StoreCallFailed(429, "store_rate_limited", "the store asked us to slow down; try again later",
                               headers={"Retry-After": str(max(1, retry))})
    if isinstance(exc, perr.OrderNotFound):
        return ApiError(404, "order_not_found", "no such order in this store")
    if isinstance(exc, perr.OrderNotVisible):
        return ApiError(404, "order_not_visible", "the order exists but TrulyBot may not read it (missing scope)")
    if isinstance(exc, perr.MalformedResponse):
        return StoreCallFailed(502, "store_malformed", "the store answered with something that is not its API")
    if isinstance(exc, perr.StoreAddressRefused):
        return StoreCallFailed(422 if connecting else 502, "store_address_refused",
                               "the store address is not a public internet address")
    if isinstance(exc, perr.StoreUnreachable):
        reason = str(exc)[:200] or "no answer"
        return StoreCallFailed(502, "store_unreachable", f"the store did not answer ({reason}); check the URL, or try again")
    if isinstance(exc, perr.PlatformError):
        return StoreCallFailed(422 if connecting else 502, getattr(exc, "code", "platform_error"), "the store call failed")
    raise exc


def describe_platforms(app: web.Application) -> List[Dict[str, Any]]:
    """Every installed platform: name, display name, connection schema (fields and flows) and
    whether it has webhooks, sorted by display name (``GET /api/platforms``; the dashboard's
    connect forms are rendered from it)."""
    from plugins.manager import get_platforms

    out = []
    for name in sorted(get_platforms()):
        cls = platform_class(app, name)
        out.append({"name": cls.name, "display_name": cls.display_name or cls.name,
                    "connection": cls.connection_schema.describe(), "webhooks": cls.webhooks is not None})
    return sorted(out, key=lambda p: (p["display_name"].lower(), p["name"]))


def display_name(app: web.Application, name: str) -> str:
    """The platform's own name for people (the registry name when it is not installed)."""
    try:
        return platform_class(app, name).display_name or name
    except UnknownPlatform:
        return name


def app_settings_of(app: web.Application, platform: Any) -> Dict[str, Optional[str]]:
    """``platform``'s app setting values (``TRULYBOT_<PLATFORM>_<NAME>``, see ``Platform.app_settings``)."""
    config = app[API_CONFIG]
    values = config.app_settings.get(platform.name)
    if values is None:
        from bot.services.config import read_app_settings

        config.app_settings.update(read_app_settings(dict(app[appkeys.SETTINGS].platform_env), config.demo))
        values = config.app_settings.setdefault(platform.name, {})
    return values


def app_setting(app: web.Application, platform: Any, name: str) -> Optional[str]:
    """The value of ``platform``'s app setting ``name``."""
    return app_settings_of(app, platform).get(name)


def missing_app_settings(app: web.Application, platform: Any) -> List[str]:
    """The variables of ``platform``'s ``required`` app settings that have no value."""
    values = app_settings_of(app, platform)
    return [s.env_name(platform.name) for s in platform.app_settings if s.required and not values.get(s.name)]


def connect_context(app: web.Application, platform: Any, values: Optional[Mapping[str, str]] = None) -> Any:
    """What ``platform`` is told while connecting a store described by the form ``values``.

    In demo mode, store calls go to the platform's running emulator (``base_url_override``) for
    every store of a platform whose stores have no address the merchant types and whose app
    settings the operator left empty (:func:`demo_emulator_url`), and, when ``values`` are given
    (the install flows give them), for the platform's demo store (same
    :meth:`Platform.store_key_of` as its emulator's demo connection).
    """
    from plugins.integration import ConnectContext

    config = app[API_CONFIG]
    context = ConnectContext(public_url=config.public_url, settings=dict(app_settings_of(app, platform)), demo=config.demo)
    override = None
    if config.demo:
        override = demo_emulator_url(app, platform)
        if override is None and values:
            override = _demo_store_url(app, platform, values, context)
    if override:
        context = replace(context, base_url_override=override)
    return context


def demo_emulator_url(app: web.Application, platform: Any) -> Optional[str]:
    """In demo mode, the URL of ``platform``'s own emulator (``register_emulators``) when its stores
    are not addressed by a URL the merchant types (no ``BASE_URL`` field) and the operator set none
    of its app settings: every store connected then goes to the emulator, as the demo store's do.
    Otherwise ``None`` (the platform's own address, or the one configured)."""
    from plugins.integration import FieldRole
    from plugins.manager import get_emulators

    if not app[API_CONFIG].demo or any(f.role is FieldRole.BASE_URL for f in platform.connection_schema.fields):
        return None
    if any(value for value in app_settings_of(app, platform).values()):
        return None
    spec = get_emulators().get(platform.name)
    if spec is None:
        return None
    return app[appkeys.SETTINGS].emulator_url(spec.name, spec.default_port)


def _demo_store_url(app: web.Application, platform: Any, values: Mapping[str, str], context: Any) -> Optional[str]:
    """The emulator's URL when ``values`` describe the platform's demo store, else None."""
    from plugins.integration import FieldError
    from plugins.manager import get_emulators

    spec = get_emulators().get(platform.name)
    if spec is None:
        return None
    url = app[appkeys.SETTINGS].emulator_url(spec.name, spec.default_port)
    try:
        draft = platform.connection_from_fields(values, context)
    except (FieldError, KeyError, ValueError):
        return None
    demo = spec.demo_connection(url, "demo")
    return url if platform.store_key_of(draft) and platform.store_key_of(draft) == platform.store_key_of(demo) else None
