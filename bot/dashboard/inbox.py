"""The live inbox (``/dashboard/inbox``): conversations handed to a person, answered from the dashboard.

Open to everyone on the merchant's team (owners and agents; see :mod:`bot.services.agents`).

* ``GET /dashboard/inbox`` and ``/dashboard/inbox/{id}``: the list (waiting oldest first, then
  active, then tickets) and one conversation with its transcript, what the bot knows and a reply box.
  Server-rendered; ``inbox.js`` keeps it live.
* ``GET /dashboard/inbox/events``: server-sent events for the signed-in merchant's stores (one
  stream per open inbox tab; fed by the handoff bus, so any replica's changes arrive).
* ``GET /dashboard/inbox/{id}/data``: the conversation as JSON (for the live page).
* ``POST /dashboard/inbox/{id}/reply|claim|release|close|hand_back|typing``: forms with the session's
  CSRF token. A request with ``Accept: application/json`` gets JSON (``{"error", "message"}`` with
  404, 409, 413, 422 or 429 when refused); a plain form post is redirected back to the conversation.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, Optional

from aiohttp import web

from bot.dashboard.web import Ctx, error_page, redirect, team_action as action, team_page as page
from bot.services import handoff as service
from bot.services import handoff_agent
from bot.services.handoff import Actor, HandoffError
from bot.services.handoff_bus import HANDOFF_BUS

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
MAX_QUEUE = 200
STREAMS = web.AppKey("inbox_streams", set)
STOP = {"kind": "_stop"}
ACTIONS = ("claim", "release", "close", "hand_back")


def actor_of(ctx: Ctx) -> Actor:
    """The signed-in person: a team member (their name and role), or the merchant's owner when
    signed in with a merchant token (the merchant's name)."""
    assert ctx.merchant is not None
    return Actor(merchant_id=ctx.merchant_id, name=ctx.merchant["name"], agent_id=ctx.merchant.get("agent_id"),
                 role=ctx.merchant.get("role", "owner"))


def _wants_json(ctx: Ctx) -> bool:
    return "application/json" in ctx.request.headers.get("Accept", "")


def _handoff_id(ctx: Ctx) -> int:
    raw = ctx.request.match_info.get("id", "")
    if not raw.isdigit() or len(raw) > 12:
        raise HandoffError(404, "not_found", "There is no such conversation in your inbox.")
    return int(raw)


def _refused(ctx: Ctx, exc: HandoffError) -> web.Response:
    if _wants_json(ctx):
        return web.json_response({"error": exc.code, "message": exc.message}, status=exc.status,
                                 headers={"Cache-Control": "no-store"})
    return error_page(ctx.request, exc.status, "Not possible", exc.message)


@page
async def inbox_page(ctx: Ctx) -> web.StreamResponse:
    items = await ctx.db(service.inbox, ctx.merchant_id, 20)
    selected: Optional[Dict[str, Any]] = None
    if ctx.request.match_info.get("id"):
        try:
            selected = await handoff_agent.conversation(ctx.app, actor_of(ctx), _handoff_id(ctx))
        except HandoffError as exc:
            return _refused(ctx, exc)
    return ctx.render("inbox.html", nav="inbox", items=items, selected=selected, actions=ACTIONS,
                      max_reply=handoff_agent.MAX_REPLY_CHARS)


@page
async def conversation_data(ctx: Ctx) -> web.StreamResponse:
    try:
        data = await handoff_agent.conversation(ctx.app, actor_of(ctx), _handoff_id(ctx))
    except HandoffError as exc:
        return web.json_response({"error": exc.code, "message": exc.message}, status=exc.status)
    return web.json_response(data, headers={"Cache-Control": "no-store"})


@page
async def inbox_list(ctx: Ctx) -> web.StreamResponse:
    items = await ctx.db(service.inbox, ctx.merchant_id, 20)
    return web.json_response({"items": items}, headers={"Cache-Control": "no-store"})


@action
async def reply(ctx: Ctx) -> web.StreamResponse:
    try:
        handoff_id = _handoff_id(ctx)
        await handoff_agent.reply(ctx.app, actor_of(ctx), handoff_id, ctx.form.get("text"))
    except HandoffError as exc:
        return _refused(ctx, exc)
    if _wants_json(ctx):
        return web.json_response({"ok": True}, headers={"Cache-Control": "no-store"})
    return redirect(f"/dashboard/inbox/{handoff_id}")


@action
async def change(ctx: Ctx) -> web.StreamResponse:
    name = ctx.request.match_info.get("action", "")
    try:
        handoff_id = _handoff_id(ctx)
        if name == "typing":
            await handoff_agent.typing(ctx.app, actor_of(ctx), handoff_id)
            return web.json_response({"ok": True})
        if name not in ACTIONS:
            raise HandoffError(404, "not_found", "Unknown action.")
        result = await handoff_agent.act(ctx.app, actor_of(ctx), handoff_id, name)
    except HandoffError as exc:
        return _refused(ctx, exc)
    if _wants_json(ctx):
        return web.json_response({"ok": True, "handoff": result}, headers={"Cache-Control": "no-store"})
    return redirect(f"/dashboard/inbox/{handoff_id}")


@page
async def events(ctx: Ctx) -> web.StreamResponse:
    """Server-sent events: ``event: <kind>`` with the bus event's JSON as data, and keep-alives."""
    merchant_id = ctx.merchant_id
    queue: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue(MAX_QUEUE)

    async def subscriber(event: Dict[str, Any]) -> None:
        if event.get("merchant_id") != merchant_id:
            return
        if queue.full():  # a stalled tab: drop the oldest, the page reloads its list on "resync"
            queue.get_nowait()
            queue.put_nowait({"kind": "resync"})
        queue.put_nowait(event)

    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no", "X-Content-Type-Options": "nosniff"})
    await response.prepare(ctx.request)
    unsubscribe = ctx.app[HANDOFF_BUS].subscribe(subscriber)
    ctx.app[STREAMS].add(queue)
    try:
        await response.write(b"retry: 2000\nevent: ready\ndata: {}\n\n")
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except asyncio.TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if event is STOP:
                break
            kind = str(event.get("kind") or "changed")
            public = {k: v for k, v in event.items() if k != "frame"}
            await response.write(f"event: {kind}\ndata: {json.dumps(public, separators=(',', ':'))}\n\n".encode("utf-8"))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        unsubscribe()
        ctx.app[STREAMS].discard(queue)
    return response


async def _end_streams(app: web.Application) -> None:
    """On shutdown end every open event stream (browsers reconnect to another replica)."""
    for queue in list(app[STREAMS]):
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(STOP)


def setup_inbox(app: web.Application) -> None:
    """Add the inbox's routes (the handoff bus must be set up)."""
    app[STREAMS] = set()
    app.on_shutdown.append(_end_streams)
    r = app.router
    r.add_get("/dashboard/inbox", inbox_page)
    r.add_get("/dashboard/inbox/events", events)
    r.add_get("/dashboard/inbox/list", inbox_list)
    r.add_get(r"/dashboard/inbox/{id:\d+}", inbox_page)
    r.add_get(r"/dashboard/inbox/{id:\d+}/data", conversation_data)
    r.add_post(r"/dashboard/inbox/{id:\d+}/reply", reply)
    r.add_post(r"/dashboard/inbox/{id:\d+}/{action:[a-z_]+}", change)


__all__ = ["setup_inbox"]
