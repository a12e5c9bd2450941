"""The merchant dashboard: server-rendered pages under ``/dashboard``.

Sign in with a merchant API token (signed session cookie, CSRF token on every form); stores with
their health in plain words, a connect form per installed platform rendered from its connection
schema, disconnect and reconnect; the widget editor with a live preview of the real widget and
install snippets; the activity log; analytics with server-rendered SVG charts and CSV export. The
pages call the service layer (``bot.services``) that the JSON API calls too, so validation and side
effects are shared. See docs/dashboard.md.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from aiohttp import web  # noqa: F401


def setup_dashboard(app: "web.Application") -> None:
    """Add the dashboard's routes to the bot service (called by create_app)."""
    from bot.dashboard import pages
    from bot.dashboard.session import UsedForms
    from bot.dashboard.handoff_settings import setup_handoff_settings
    from bot.dashboard.team import setup_team
    from bot.dashboard.web import HERE, USED_FORMS

    app[USED_FORMS] = UsedForms()
    r = app.router
    r.add_get("/dashboard", pages.index)
    r.add_get("/dashboard/", pages.index)
    r.add_get("/dashboard/signin", pages.signin_page)
    r.add_post("/dashboard/signin", pages.signin)
    r.add_post("/dashboard/signout", pages.signout)
    r.add_get("/dashboard/stores", pages.stores_page)
    r.add_post("/dashboard/stores/{platform}", pages.connect_store)
    r.add_get("/dashboard/stores/{id}/disconnect", pages.disconnect_page)
    r.add_post("/dashboard/stores/{id}/disconnect", pages.disconnect)
    r.add_get("/dashboard/stores/{id}/widget", pages.widget_page)
    r.add_post("/dashboard/stores/{id}/widget", pages.widget_save)
    r.add_get("/dashboard/stores/{id}/preview", pages.preview)
    r.add_get("/dashboard/activity", pages.activity_page)
    r.add_get("/dashboard/analytics", pages.analytics_page)
    r.add_get("/dashboard/analytics.csv", pages.analytics_csv)
    setup_team(app)
    setup_handoff_settings(app)
    r.add_static("/dashboard/static", HERE / "static", name="dashboard_static")


__all__ = ["setup_dashboard"]
