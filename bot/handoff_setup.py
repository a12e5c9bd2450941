"""Wiring of the live handoff into the bot service: the bus, the gateway's subscription, the inbox."""
from __future__ import annotations

from aiohttp import web


def setup_handoff(app: web.Application) -> None:
    """Called once by :func:`bot.app.create_app` after the gateway and the dashboard."""
    from bot.dashboard.inbox import setup_inbox
    from bot.gateway.handoff import setup_gateway_handoff
    from bot.services.handoff_bus import setup_handoff_bus
    from bot.services.handoff_timeout import sweeper_ctx
    from bot.services.notify import TASKS

    setup_handoff_bus(app)
    setup_gateway_handoff(app)
    setup_inbox(app)
    app[TASKS] = set()
    app.cleanup_ctx.append(sweeper_ctx)
