"""The dashboard's pages: sign in/out, stores, widget editor and preview, activity, analytics, CSV."""
from __future__ import annotations

import asyncio

import csv
import io
import re
from datetime import date, datetime, time as dtime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.orm import Session

from bot import appkeys
from bot.api.auth import _lookup, hash_token, MAX_TOKEN_LENGTH
from bot.dashboard import charts, connect, queries, session as sess, words
from bot.dashboard.web import Ctx, action, error_page, page, redirect, security_headers, team_action, team_page
from bot.services import integrations
from bot.services.activity import activity_page as read_activity
from bot.services.db import in_db
from bot.services.errors import ApiError, Conflict, FieldInvalid, NotFound, StoreCallFailed
from bot.services.platforms import describe_platforms, platform_class
from bot.services.stores import owned_store
from bot.services.transcripts import TRACKER_ENGINE, intent_counts
from bot.services.widget_config import (MAX_ORIGINS, MAX_QUICK_REPLIES, POLICY_KEYS, get_widget_config,
                                        update_widget_config)

PER_PAGE = 25
PERIODS = (7, 30, 90, 365)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ACTIVITY_TYPES = list(words.TYPE_LABELS)
DONE = {
    "connected": "Store connected. The bot now answers for it.",
    "reconnected": "Store reconnected with the new credentials.",
    "disconnected": "Store disconnected. Its widget settings are kept; reconnect any time.",
    "already": "That form was already submitted; nothing was changed twice.",
    "signedout": "You are signed out.",
}
PREVIEW_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; "
               "img-src 'self' data: https:; frame-ancestors 'self'; base-uri 'none'; object-src 'none'")


def _public_url(ctx: Ctx) -> str:
    return ctx.app[appkeys.SETTINGS].public_url.rstrip("/")


def _safe_next(value: Optional[str]) -> str:
    if value and value.startswith("/dashboard") and "//" not in value and "\\" not in value and len(value) < 500:
        return value
    return "/dashboard/stores"


# --- sign in / out -------------------------------------------------------------------------------

async def signin_page(request: web.Request, error: Optional[str] = None, status: int = 200) -> web.Response:
    session = sess.decode(request.app, request.cookies.get(sess.COOKIE))
    if session is not None and session.signed_in and error is None:
        merchant = await in_db(request.app, queries.session_identity, session.merchant_id, session.token_id)
        if merchant is not None:
            return redirect(_safe_next(request.query.get("next")))
    new = session is None or session.merchant_id is not None  # signed-in/expired sessions are replaced
    if new:
        session = sess.new_session()
    assert session is not None
    ctx = Ctx(request, session, None, new_cookie=new)
    notice = "Your session expired. Please sign in again." if request.query.get("expired") else None
    if request.query.get("done") == "signedout":
        notice = DONE["signedout"]
    return ctx.render("signin.html", status, error=error, notice=notice, next=_safe_next(request.query.get("next")))


async def signin(request: web.Request) -> web.Response:
    session = sess.decode(request.app, request.cookies.get(sess.COOKIE))
    try:
        form = await _form(request)
    except ApiError:
        return error_page(request, 400, "Bad form", "The form could not be read.")
    if not sess.csrf_ok(request.app, session, form.get("csrf")):
        return error_page(request, 403, "Form expired", "The sign-in form is missing its security token or it expired. "
                                                          "Reload the sign-in page and try again.")
    token = (form.get("token") or "").strip()
    if not token:
        return await signin_page(request, "Paste your merchant API token.", 422)
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return await signin_page(request, "That is not a TrulyBot token (they look like tb_…).", 422)
    identity = await in_db(request.app, _lookup, hash_token(token))
    if identity is None:
        return await signin_page(request, "This token is not valid or was revoked.", 422)
    fresh = sess.new_session(identity.merchant_id, identity.token_id)  # new nonce: no session fixation
    target = _safe_next(form.get("next"))
    if identity.role != "owner" and not target.startswith("/dashboard/inbox"):
        target = "/dashboard/inbox"  # agents work the inbox only
    resp = redirect(target)
    sess.set_cookie(request.app, resp, fresh)
    return resp


async def _form(request: web.Request) -> Dict[str, str]:
    from bot.dashboard.web import read_form

    return await read_form(request)


@team_action
async def signout(ctx: Ctx) -> web.Response:
    resp = redirect("/dashboard/signin?done=signedout")
    sess.clear_cookie(ctx.app, resp)
    return resp


@team_page
async def index(ctx: Ctx) -> web.Response:
    return redirect("/dashboard/stores" if ctx.merchant and ctx.merchant.get("role") == "owner" else "/dashboard/inbox")


# --- stores --------------------------------------------------------------------------------------

async def _stores(ctx: Ctx) -> List[Dict[str, Any]]:
    out = []
    for item in await integrations.list_stores(ctx.app, ctx.merchant_id):
        item["words"] = words.store_health(item)
        out.append(item)
    return out


async def _stores_page(ctx: Ctx, status: int = 200, *, active: Optional[str] = None,
                       values: Optional[Dict[str, str]] = None, errors: Optional[Dict[str, str]] = None) -> web.Response:
    stores = await _stores(ctx)
    reconnect = None
    raw = ctx.request.query.get("reconnect", "")
    if raw.isdigit():
        reconnect = next((s for s in stores if s["id"] == int(raw)), None)
    forms = connect.connect_forms(describe_platforms(ctx.app), active=active, values=values, errors=errors,
                                  reconnect=reconnect)
    done = DONE.get(ctx.request.query.get("done", ""))
    return ctx.render("stores.html", status, nav="stores", stores=stores, connect_forms=forms, reconnect=reconnect,
                      done=done)


@page
async def stores_page(ctx: Ctx) -> web.Response:
    return await _stores_page(ctx)


@action
async def connect_store(ctx: Ctx) -> web.Response:
    """The connect form of any installed platform: the service checks and stores the connection
    (or starts the approval); errors are shown next to the fields, values kept, secrets not."""
    name = ctx.request.match_info.get("platform", "")
    platform = next((p for p in describe_platforms(ctx.app) if p["name"] == name), None)
    if platform is None:
        raise NotFound("platform")
    if not ctx.once():
        return redirect("/dashboard/stores?done=already")
    values = connect.kept_values(platform, ctx.form)
    try:
        flow = integrations.choose_flow(platform_class(ctx.app, name), ctx.form.get("method") or None).value
        body = {**connect.submitted(platform, {**ctx.form, "method": flow}), "return_to": "/dashboard/stores"}
        result = await integrations.connect_store(ctx.app, ctx.merchant_id, name, body)
    except (FieldInvalid, StoreCallFailed, Conflict) as exc:
        errors = connect.form_errors(platform, exc, ctx.form.get("method"))
        return await _stores_page(ctx, 422, active=name, values=values, errors=errors)
    ctx.used()
    if result.needs_approval:
        out = redirect(result.redirect_url or "/dashboard/stores")
        for cookie in result.cookies:
            cookie.set_on(out)
        return out
    return redirect("/dashboard/stores?done=" + ("connected" if result.created else "reconnected"))


def _with_words(store: Dict[str, Any]) -> Dict[str, Any]:
    store["words"] = words.store_health(store)
    return store


def _store_id(ctx: Ctx) -> int:
    raw = ctx.request.match_info.get("id", "")
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise NotFound("store")
    return int(raw)


@page
async def disconnect_page(ctx: Ctx) -> web.Response:
    store = _with_words(await integrations.get_store(ctx.app, ctx.merchant_id, _store_id(ctx)))
    return ctx.render("disconnect.html", nav="stores", store=store)


@action
async def disconnect(ctx: Ctx) -> web.Response:
    store_id = _store_id(ctx)
    if not ctx.once():
        return redirect("/dashboard/stores?done=already")
    if ctx.form.get("confirm") != "yes":
        store = _with_words(await integrations.get_store(ctx.app, ctx.merchant_id, store_id))
        return ctx.render("disconnect.html", 422, nav="stores", store=store,
                          error="Tick the box to confirm that the bot should stop answering for this store.")
    result = await integrations.disconnect_store(ctx.app, ctx.merchant_id, store_id, only_if_connected=True)
    ctx.used()
    return redirect("/dashboard/stores?done=" + ("disconnected" if result is not None else "already"))


# --- widget --------------------------------------------------------------------------------------

POLICY_LABELS = {"shipping": "Shipping and delivery", "returns": "Returns and refunds", "cancellation": "Cancellations and changes",
                 "hours": "Opening hours", "contact": "Contact details (email, phone)", "payment": "Payment methods accepted",
                 "invoice": "Invoices"}


async def _widget_data(ctx: Ctx, store_id: int) -> Dict[str, Any]:
    widget = await get_widget_config(ctx.app, ctx.merchant_id, store_id)
    store = _with_words(await integrations.get_store(ctx.app, ctx.merchant_id, store_id))
    return {"widget": widget, "store": store, "seen": await ctx.db(queries.widget_seen, store_id)}


def _widget_form_values(widget: Dict[str, Any]) -> Dict[str, str]:
    replies = []
    for item in widget.get("quick_replies") or []:
        replies.append(item["title"] if item["payload"] == item["title"] else f"{item['title']} | {item['payload']}")
    values = {k: widget.get(k) or "" for k in ("title", "greeting", "primary_color", "text_color", "position")}
    values["quick_replies"] = "\n".join(replies)
    values["allowed_origins"] = "\n".join(widget.get("allowed_origins") or [])
    for key in POLICY_KEYS:
        values[f"policy_{key}"] = (widget.get("policies") or {}).get(key) or ""
    return values


def _snippets(ctx: Ctx, widget_id: str) -> Dict[str, Any]:
    """Install snippets: the plain script tag, each installed platform's own storefront snippet,
    and what a CMS plugin asks for (the bot service's URL and the widget id)."""
    public_url = _public_url(ctx)
    script_url = f"{public_url}/widget.js"
    platforms = []
    for described in describe_platforms(ctx.app):
        snippet = platform_class(ctx.app, described["name"]).storefront_snippet(script_url, widget_id)
        if snippet:
            platforms.append({"name": described["name"], "display_name": described["display_name"], "snippet": snippet})
    return {"script": f'<script src="{script_url}" data-widget-id="{widget_id}" async></script>',
            "platforms": platforms, "bot_url": public_url, "widget_id": widget_id}


async def _widget_page(ctx: Ctx, store_id: int, *, values: Optional[Dict[str, str]] = None,
                       errors: Optional[Dict[str, str]] = None, status: int = 200, saved: bool = False) -> web.Response:
    data = await _widget_data(ctx, store_id)
    form = values if values is not None else _widget_form_values(data["widget"])
    preview = f"/dashboard/stores/{store_id}/preview"
    return ctx.render("widget.html", status, nav="stores", store=data["store"], widget=data["widget"], f=form,
                      errors=errors or {}, saved=saved, seen=data["seen"], preview=preview,
                      snippets=_snippets(ctx, data["store"]["widget_id"]), policy_labels=POLICY_LABELS,
                      policy_keys=POLICY_KEYS, done=DONE.get(ctx.request.query.get("done", "")))


@page
async def widget_page(ctx: Ctx) -> web.Response:
    return await _widget_page(ctx, _store_id(ctx), saved=ctx.request.query.get("saved") == "1")


WIDGET_FIELDS = ("title", "greeting", "primary_color", "text_color", "position", "quick_replies", "allowed_origins")


def _lines(text: str) -> List[str]:
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def widget_body(form: Dict[str, str]) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """The API's widget body from the editor's form, and the errors found while reading it."""
    body: Dict[str, Any] = {}
    errors: Dict[str, str] = {}
    for key in ("title", "greeting", "primary_color", "text_color", "position"):
        body[key] = (form.get(key) or "").strip()
    replies = []
    for line in _lines(form.get("quick_replies") or ""):
        title, sep, payload = line.partition("|")
        replies.append({"title": title.strip(), "payload": payload.strip()} if sep and payload.strip() else {"title": title.strip()})
    body["quick_replies"] = replies
    body["allowed_origins"] = _lines(form.get("allowed_origins") or "")
    body["policies"] = {k: (form.get(f"policy_{k}") or "").strip() or None for k in POLICY_KEYS}
    return body, errors


def _friendly(field: str, path: List[str], message: str) -> str:
    if field in ("allowed_origins", "quick_replies") and len(path) > 1 and path[1].isdigit():
        line = int(path[1]) + 1
        if field == "allowed_origins" and "at least" in message:
            message = "must be an origin like https://shop.example"
        return f"Line {line}: {message.rstrip('.')}."
    if field in ("primary_color", "text_color") and "format" in message:
        return "Use a hex color like #4f46e5."
    if field == "position":
        return "Choose left or right."
    if field in ("title", "greeting") and ("at least" in message or "empty" in message or "blank" in message):
        return "This must not be empty."
    if field == "allowed_origins" and "at most" in message:
        return f"At most {MAX_ORIGINS} origins."
    if field == "quick_replies" and "at most" in message:
        return f"At most {MAX_QUICK_REPLIES} buttons."
    return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")


def widget_errors(exc: FieldInvalid) -> Dict[str, str]:
    """Field name in the form (policies as policy_<key>) → the first message for it."""
    errors: Dict[str, str] = {}
    for item in exc.details or [{"field": None, "message": exc.message}]:
        path = [p for p in str(item.get("field") or "").split("/") if p]
        field = path[0] if path else "form"
        if field == "policies" and len(path) > 1:
            field = f"policy_{path[1]}"
        errors.setdefault(field, _friendly(field, path, str(item.get("message") or exc.message)))
    return errors


@action
async def widget_save(ctx: Ctx) -> web.Response:
    store_id = _store_id(ctx)
    values = {k: ctx.form.get(k, "") for k in WIDGET_FIELDS + tuple(f"policy_{k}" for k in POLICY_KEYS)}
    if not ctx.once():
        return await _widget_page(ctx, store_id, values=values, status=409,
                                  errors={"form": "This form was already saved. The page below shows what is saved now; "
                                                  "reload to edit again."})
    body, errors = widget_body(ctx.form)
    if not errors:
        try:
            await update_widget_config(ctx.app, ctx.merchant_id, store_id, body)
        except FieldInvalid as exc:
            errors = widget_errors(exc)
    if errors:  # nothing is saved when any field is wrong
        return await _widget_page(ctx, store_id, values=values, errors=errors, status=422)
    ctx.used()
    return redirect(f"/dashboard/stores/{store_id}/widget?saved=1")


def _preview_data(session: Session, merchant_id: int, store_id: int) -> Dict[str, Any]:
    store = owned_store(session, merchant_id, store_id)
    return {"widget_id": store.widget_id, "name": store.display_name, "active": store.status == "active"}


@page
async def preview(ctx: Ctx) -> web.Response:
    """A page on the bot's own origin that loads the real widget for this store (the gateway accepts its
    own origin), with the editor's unsaved values applied to the widget's look (preview.js)."""
    data = await ctx.db(_preview_data, ctx.merchant_id, _store_id(ctx))
    from bot.gateway.widget_routes import WIDGET_SCRIPT

    version = ctx.app[WIDGET_SCRIPT].version
    return ctx.render("preview.html", csp=PREVIEW_CSP, store=data, script=f"/widget.js?v={version}")


# --- activity ------------------------------------------------------------------------------------

def _date(raw: str, field: str, errors: Dict[str, str]) -> Optional[date]:
    if not raw:
        return None
    if not DATE_RE.match(raw):
        errors[field] = "Use a date like 2024-05-03."
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[field] = "That date does not exist."
        return None


def _at(day: date) -> datetime:
    return datetime.combine(day, dtime.min, tzinfo=timezone.utc)


async def _activity_data(ctx: Ctx, filters: Dict[str, Any], page_no: int) -> Dict[str, Any]:
    choices = await ctx.db(queries.store_choices, ctx.merchant_id)
    result = await read_activity(ctx.app, ctx.merchant_id, filters, page_no, PER_PAGE)
    return {"stores": choices, "result": result}


@page
async def activity_page(ctx: Ctx) -> web.Response:
    q = ctx.request.query
    errors: Dict[str, str] = {}
    kind = q.get("type", "")
    if kind and kind not in ACTIVITY_TYPES:
        errors["type"] = "Unknown type."
        kind = ""
    store_raw = q.get("store", "")
    store_id = int(store_raw) if store_raw.isdigit() and 0 < int(store_raw) < 2**31 else None
    if store_raw and store_id is None:
        errors["store"] = "Unknown store."
    since = _date(q.get("from", ""), "from", errors)
    until = _date(q.get("to", ""), "to", errors)
    if since and until and since > until:
        errors["to"] = "The end date is before the start date."
        until = None
    page_raw = q.get("page", "1")
    page_no = int(page_raw) if page_raw.isdigit() and 0 < int(page_raw) <= 100000 else 1
    filters = {"types": [kind] if kind else None, "store_id": store_id,
               "since": _at(since) if since else None, "until": _at(until + timedelta(days=1)) if until else None}
    try:
        data = await _activity_data(ctx, filters, page_no)
    except NotFound:
        errors["store"] = "Unknown store."
        filters["store_id"] = None
        data = await _activity_data(ctx, filters, page_no)
    names = {s["id"]: s["name"] for s in data["stores"]}
    kept = {k: v for k, v in (("type", kind), ("store", str(filters["store_id"] or "")),
                              ("from", since.isoformat() if since else ""), ("to", until.isoformat() if until else "")) if v}
    result = data["result"]
    pages = {"prev": f"?{urlencode({**kept, 'page': page_no - 1})}" if page_no > 1 else None,
             "next": f"?{urlencode({**kept, 'page': page_no + 1})}" if result["has_more"] else None,
             "count": max(1, -(-result["total"] // PER_PAGE))}
    return ctx.render("activity.html", nav="activity", items=result["items"], total=result["total"], page_no=page_no,
                      pages=pages, stores=data["stores"], names=names, f=kept, errors=errors, types=ACTIVITY_TYPES)


# --- analytics -----------------------------------------------------------------------------------

def _analytics_data(session: Session, merchant_id: int, store_id: Optional[int], days: int) -> Dict[str, Any]:
    choices = queries.store_choices(session, merchant_id)
    ids = [s["id"] for s in choices]
    if store_id is not None:
        if store_id not in ids:
            raise NotFound("store")
        ids = [store_id]
    today = datetime.now(timezone.utc).date()
    until = _at(today + timedelta(days=1))
    since = _at(today - timedelta(days=days - 1))
    return {"stores": choices, "numbers": queries.analytics(session, merchant_id, ids, since, until),
            "conversation_ids": queries.recent_conversation_ids(session, merchant_id, ids, since, until)}


async def _with_intents(ctx: "Ctx", data: Dict[str, Any]) -> Dict[str, Any]:
    """Add the most common intents, read from Rasa's tracker store for the period's recent conversations."""
    numbers = data["numbers"]
    engine = ctx.request.app.get(TRACKER_ENGINE)
    ids = data.pop("conversation_ids", [])
    counts = await asyncio.get_running_loop().run_in_executor(None, intent_counts, engine, ids) if engine is not None else {}
    numbers["intents"] = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    numbers["intents_sampled"] = len(ids) >= queries.INTENT_SAMPLE
    return data


def _analytics_params(ctx: Ctx) -> Tuple[Optional[int], int]:
    q = ctx.request.query
    store_raw = q.get("store", "")
    store_id = int(store_raw) if store_raw.isdigit() and 0 < int(store_raw) < 2**31 else None
    if store_raw and store_id is None:
        raise NotFound("store")
    days_raw = q.get("days", "30")
    days = int(days_raw) if days_raw.isdigit() and int(days_raw) in PERIODS else 30
    return store_id, days


def _pct(value: Optional[float]) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


@page
async def analytics_page(ctx: Ctx) -> web.Response:
    store_id, days = _analytics_params(ctx)
    data = await _with_intents(ctx, await ctx.db(_analytics_data, ctx.merchant_id, store_id, days))
    n = data["numbers"]
    intent_chart = charts.bar_list(n["intents"][:10], label="Most common intents")
    tick = 1 if days <= 7 else 7 if days <= 90 else 30
    day_chart = charts.column_chart(n["days"], label=f"Conversations per day, last {days} days", tick_every=tick,
                                    tick_format=lambda k: words.day(k + "T00:00:00+00:00"))
    outcome_keys = ("shown", "mismatch", "not_found", "lockout", "store_error", "not_visible", "listed")
    outcome_chart = charts.bar_list([(words.OUTCOME_LABELS.get(k, k), n["lookups"].get(k, 0)) for k in outcome_keys],
                                    label="Order lookups by outcome",
                                    css=["good", "warn", "warn", "bad", "bad", "warn", "good"])
    topic_chart = charts.bar_list(n["topics"][:8], label="What shoppers asked for")
    hour_chart = charts.column_chart([(f"{h:02d}", c) for h, c in n["hours"]], label="Busiest hours (UTC)", tick_every=3,
                                     tick_format=lambda k: f"{k}h")
    handoff_chart = charts.column_chart(n["handoff_days"], label=f"Handoffs per day, last {days} days", tick_every=tick,
                                        tick_format=lambda k: words.day(k + "T00:00:00+00:00"))
    query = urlencode({k: v for k, v in (("store", str(store_id or "")), ("days", str(days))) if v})
    return ctx.render("analytics.html", nav="analytics", n=n, days=days, periods=PERIODS, store_id=store_id,
                      stores=data["stores"], day_chart=day_chart, outcome_chart=outcome_chart, topic_chart=topic_chart,
                      hour_chart=hour_chart, intent_chart=intent_chart, handoff_chart=handoff_chart, pct=_pct,
                      duration=words.duration, csv_url=f"/dashboard/analytics.csv?{query}")


def _cell(value: Any) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@page
async def analytics_csv(ctx: Ctx) -> web.Response:
    store_id, days = _analytics_params(ctx)
    data = await _with_intents(ctx, await ctx.db(_analytics_data, ctx.merchant_id, store_id, days))
    n = data["numbers"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["metric", "key", "value"])
    writer.writerow(["period", "from", n["since"].date().isoformat()])
    writer.writerow(["period", "to", (n["until"] - timedelta(days=1)).date().isoformat()])
    writer.writerow(["summary", "conversations", n["conversations"]])
    writer.writerow(["summary", "resolved_conversations", n["resolved"]])
    writer.writerow(["summary", "handoff_conversations", n["handoffs"]])
    writer.writerow(["summary", "resolution_rate", "" if n["resolution_rate"] is None else f"{n['resolution_rate']:.4f}"])
    writer.writerow(["summary", "handoff_rate", "" if n["handoff_rate"] is None else f"{n['handoff_rate']:.4f}"])
    writer.writerow(["summary", "handoffs_requested", n["handoffs_requested"]])
    writer.writerow(["summary", "first_human_reply_avg_seconds",
                     "" if n["first_reply_seconds"] is None else f"{n['first_reply_seconds']:.1f}"])
    writer.writerow(["summary", "handoffs_with_a_human_reply", n["first_replies"]])
    writer.writerow(["summary", "resolved_by_bot_share",
                     "" if n["resolved_by_bot_share"] is None else f"{n['resolved_by_bot_share']:.4f}"])
    writer.writerow(["summary", "resolved_by_person_share",
                     "" if n["resolved_by_person_share"] is None else f"{n['resolved_by_person_share']:.4f}"])
    writer.writerow(["summary", "handoffs_closed_by_person", n["closed_by"]["person"]])
    writer.writerow(["summary", "handoffs_closed_without_a_person", n["closed_by"]["bot"]])
    for day_key, count in n["handoff_days"]:
        writer.writerow(["handoffs_per_day", day_key, count])
    for day_key, count in n["days"]:
        writer.writerow(["conversations_per_day", day_key, count])
    for outcome, count in n["lookups"].items():
        writer.writerow(["lookups_by_outcome", _cell(outcome), count])
    for topic, count in n["topics"]:
        writer.writerow(["shopper_topics", _cell(topic), count])
    for intent, count in n["intents"]:
        writer.writerow(["intents", _cell(intent), count])
    for hour, count in n["hours"]:
        writer.writerow(["conversations_by_hour_utc", f"{hour:02d}", count])
    name = f"trulybot-analytics-{days}d{'-store' + str(store_id) if store_id else ''}.csv"
    return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8",
                        headers={**security_headers(), "Content-Disposition": f'attachment; filename="{name}"'})
