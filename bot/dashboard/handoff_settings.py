"""``/dashboard/stores/{id}/handoff``: a store's handoff settings (owners only).

Opening hours per weekday, time zone, claim timeout, notification emails and webhook URL, stored
in the store's ``config["handoff"]`` after :func:`bot.services.handoff_hours.validate`. Each bad
field gets its own message next to it; nothing is saved while one is wrong. The page also shows
the webhook's signing secret (derived, see :func:`bot.services.notify.webhook_secret`).
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from aiohttp import web
from sqlalchemy.orm import Session

from bot import appkeys
from bot.services.stores import invalidate_widget_cache, owned_store
from bot.dashboard.web import Ctx, action, page, redirect
from bot.services import handoff_hours
from bot.services.notify import webhook_secret

DAY_LABELS = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
              "sat": "Saturday", "sun": "Sunday"}
TIMEZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Amsterdam",
             "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
             "Asia/Tokyo", "Asia/Singapore", "Asia/Kolkata", "Australia/Sydney")


def _store_id(ctx: Ctx) -> int:
    from bot.dashboard.pages import _store_id as parse

    return parse(ctx)


def _load(session: Session, merchant_id: int, store_id: int) -> Dict[str, Any]:
    store = owned_store(session, merchant_id, store_id)
    return {"id": store.id, "name": store.display_name or store.widget_id,
            "handoff": dict((store.config or {}).get("handoff") or {})}


def form_values(settings: Dict[str, Any]) -> Dict[str, str]:
    """The form's text fields for stored settings."""
    hours = settings.get("hours")
    values = {"timezone": settings.get("timezone", "UTC"), "always_open": "1" if hours is None else "",
              "claim_timeout_minutes": str(settings.get("claim_timeout_minutes") or ""),
              "notify_emails": "\n".join(settings.get("notify_emails") or []),
              "webhook_url": settings.get("webhook_url") or ""}
    for day in handoff_hours.DAYS:
        values[f"hours_{day}"] = ", ".join((hours or {}).get(day) or [])
    return values


def parse_form(form: Dict[str, str], *, demo: bool = False) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """Settings from the form, validated field by field: (settings, errors by field name). In demo
    mode (``demo``) the webhook may point at a local http listener."""
    errors: Dict[str, str] = {}
    out: Dict[str, Any] = {}

    def take(field: str, raw: Dict[str, Any]) -> None:
        try:
            out.update(handoff_hours.validate(raw, allow_loopback=demo))
        except ValueError as exc:
            errors[field] = str(exc)[:1].upper() + str(exc)[1:] + "."

    take("timezone", {"timezone": (form.get("timezone") or "UTC").strip()})
    if not form.get("always_open"):
        hours: Dict[str, List[str]] = {}
        for day in handoff_hours.DAYS:
            spans = [s.strip() for s in (form.get(f"hours_{day}") or "").split(",") if s.strip()]
            try:
                handoff_hours.validate({"hours": {day: spans}})
                hours[day] = spans
            except ValueError as exc:
                errors[f"hours_{day}"] = f"{DAY_LABELS[day]}: {exc}. Write spans like 09:00-12:00, 13:00-17:00."
        out["hours"] = hours
    timeout = (form.get("claim_timeout_minutes") or "").strip()
    if timeout:
        if not timeout.isdigit():
            errors["claim_timeout_minutes"] = "Write a whole number of minutes, or leave it empty."
        else:
            take("claim_timeout_minutes", {"claim_timeout_minutes": int(timeout)})
    emails = [e.strip() for e in (form.get("notify_emails") or "").replace(",", "\n").splitlines() if e.strip()]
    if emails:
        take("notify_emails", {"notify_emails": emails})
    url = (form.get("webhook_url") or "").strip()
    if url:
        take("webhook_url", {"webhook_url": url})
    return out, errors


def _save(session: Session, merchant_id: int, store_id: int, settings: Dict[str, Any]) -> None:
    store = owned_store(session, merchant_id, store_id)
    store.config = {**(store.config or {}), "handoff": settings}


async def _render(ctx: Ctx, store: Dict[str, Any], values: Dict[str, str], errors: Dict[str, str],
                  status: int = 200, saved: bool = False) -> web.Response:
    secret = webhook_secret(ctx.app[appkeys.SETTINGS], store["id"])
    return ctx.render("handoff_settings.html", status, nav="stores", store=store, f=values, errors=errors,
                      saved=saved, days=DAY_LABELS, timezones=TIMEZONES, secret=secret,
                      max_timeout=handoff_hours.MAX_TIMEOUT_MINUTES)


@page
async def settings_page(ctx: Ctx) -> web.Response:
    store = await ctx.db(_load, ctx.merchant_id, _store_id(ctx))
    return await _render(ctx, store, form_values(store["handoff"]), {}, saved=ctx.request.query.get("saved") == "1")


@action
async def settings_save(ctx: Ctx) -> web.Response:
    store_id = _store_id(ctx)
    store = await ctx.db(_load, ctx.merchant_id, store_id)
    settings, errors = parse_form(ctx.form, demo=ctx.app[appkeys.SETTINGS].demo)
    if errors:
        values = {k: ctx.form.get(k, "") for k in form_values({})}
        return await _render(ctx, store, values, errors, 422)
    await ctx.db(_save, ctx.merchant_id, store_id, settings)
    invalidate_widget_cache(ctx.app)  # the gateway reads the settings with the store
    return redirect(f"/dashboard/stores/{store_id}/handoff?saved=1", ctx)


def setup_handoff_settings(app: web.Application) -> None:
    app.router.add_get("/dashboard/stores/{id}/handoff", settings_page)
    app.router.add_post("/dashboard/stores/{id}/handoff", settings_save)


__all__ = ["setup_handoff_settings", "parse_form", "form_values"]
