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


__all__ = ["setup_api"]
