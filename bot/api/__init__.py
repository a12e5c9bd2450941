"""The merchant API of the bot service.

Merchant auth (bearer tokens), store integrations (API keys and every platform's install flows),
webhooks, widget configuration, the activity log, per-store health, Prometheus metrics and the
OpenAPI document. :func:`setup_api` mounts everything on the bot service's application.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from aiohttp import web  # noqa: F401


def setup_api(app: "web.Application") -> None:
    """Add the API routes, middlewares and background tasks to ``app`` (called by create_app)."""
    from bot.api.setup import setup

    setup(app)


class _LegacyInstallModule:
    """``bot.api.<platform>_oauth.<platform>_connect``: the install start of one platform, for
    callers written before the generic install routes (they call ``__wrapped__(request, me)``
    with a request whose ``match_info`` names no platform)."""

    def __init__(self, platform: str) -> None:
        self._platform = platform

    def __getattr__(self, name: str) -> object:
        if name != f"{self._platform}_connect":
            raise AttributeError(name)
        from bot.api.install import start_install

        platform = self._platform

        async def connect(request: "web.Request", me: object) -> object:
            request.match_info = {"platform": platform}  # type: ignore[misc]
            return await start_install.__wrapped__(request, me)  # type: ignore[attr-defined]

        class _Handler:
            __wrapped__ = staticmethod(connect)

        return _Handler()


def __getattr__(name: str) -> object:
    if name.endswith("_oauth") and name[: -len("_oauth")].isidentifier():
        return _LegacyInstallModule(name[: -len("_oauth")])
    raise AttributeError(name)


__all__ = ["setup_api"]
