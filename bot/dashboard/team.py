"""The merchant's team: who works the inbox, invitations by email, and the one-time invitation link.

* ``GET /dashboard/team`` (owners): members and pending invitations, the invite form.
* ``POST /dashboard/team/invite`` (owners): email, name, role → the invitation email goes out
  through the SMTP notifier (:func:`bot.services.notify.deliver_email`) with a link
  ``/dashboard/invite/<token>`` (one use, ``INVITE_HOURS`` valid).
* ``POST /dashboard/team/{id}/remove`` (owners): removes someone and ends their sessions.
* ``GET /dashboard/invite/{token}`` shows what the link is for (a GET never uses it up: mail
  scanners open links); ``POST`` uses it and signs the person in (to the inbox).
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from aiohttp import web

from bot import appkeys
from bot.services.db import in_db
from bot.services.errors import ApiError
from bot.dashboard import session as sess
from bot.dashboard.web import Ctx, action, error_page, page, read_form, redirect
from bot.services import agents
from bot.services.notify import deliver_email

INVALID_LINK = ("This invitation link was already used, has expired or was withdrawn. "
                "Ask an owner of the account to invite you again.")


def invite_link(app: web.Application, token: str) -> str:
    return f"{app[appkeys.SETTINGS].public_url.rstrip('/')}/dashboard/invite/{token}"


def invitation_email(invitation: agents.Invitation, link: str) -> "tuple[str, str]":
    role = "an owner" if invitation.role == agents.OWNER else "an agent"
    subject = f"You are invited to the {invitation.merchant_name} chat inbox"
    body = (f"Hello{(' ' + invitation.name) if invitation.name else ''},\n\n"
            f"You are invited to join {invitation.merchant_name} on TrulyBot as {role}: you answer shoppers who ask "
            f"for a person in the chat.\n\nOpen this link to join (it works once, for {agents.INVITE_HOURS} hours):\n"
            f"{link}\n\nIf you did not expect this email, ignore it.\n")
    return subject, body


async def _team_page(ctx: Ctx, status: int = 200, **values: Any) -> web.Response:
    members = await ctx.db(agents.team, ctx.merchant_id)
    values.setdefault("errors", {})
    values.setdefault("f", {"email": "", "name": "", "role": agents.AGENT})
    smtp = bool(ctx.app[appkeys.SETTINGS].smtp_host)
    return ctx.render("team.html", status, nav="team", members=members, roles=agents.ROLES, smtp=smtp, **values)


@page
async def team_page(ctx: Ctx) -> web.Response:
    notice = {"invited": "Invitation sent.", "removed": "Removed from the team; their sessions ended."}.get(
        ctx.request.query.get("done", ""))
    return await _team_page(ctx, notice=notice)


@action
async def invite(ctx: Ctx) -> web.Response:
    form = {k: ctx.form.get(k, "") for k in ("email", "name", "role")}
    try:
        invitation = await ctx.db(agents.invite, ctx.merchant_id, form["email"], form["name"], form["role"])
    except agents.TeamError as exc:
        return await _team_page(ctx, 422, f=form, errors={exc.field or "form": str(exc)})
    link = invite_link(ctx.app, invitation.token)
    subject, body = invitation_email(invitation, link)
    sent = await deliver_email(ctx.app[appkeys.SETTINGS], [invitation.email], subject, body, "invite")
    if not sent:  # no SMTP or it failed: the owner passes the link on themselves
        return await _team_page(ctx, f={"email": "", "name": "", "role": agents.AGENT}, link=link, link_for=invitation.email)
    return redirect("/dashboard/team?done=invited", ctx)


@action
async def remove(ctx: Ctx) -> web.Response:
    raw = ctx.request.match_info.get("id", "")
    if not raw.isdigit() or not await ctx.db(agents.revoke, ctx.merchant_id, int(raw)):
        return error_page(ctx.request, 404, "Not found", "There is no such person on your team.")
    return redirect("/dashboard/team?done=removed", ctx)


async def invitation_page(request: web.Request, error: Optional[str] = None) -> web.Response:
    token = request.match_info.get("token", "")
    view = await in_db(request.app, agents.invitation_view, token)
    if view is None:
        return error_page(request, 410, "Invitation not valid", INVALID_LINK)
    session = sess.decode(request.app, request.cookies.get(sess.COOKIE))
    new = session is None or session.merchant_id is not None
    if new:
        session = sess.new_session()
    assert session is not None
    ctx = Ctx(request, session, None, new_cookie=new)
    return ctx.render("invite.html", invitation=view, token=token, error=error)


async def accept_invitation(request: web.Request) -> web.Response:
    session = sess.decode(request.app, request.cookies.get(sess.COOKIE))
    try:
        form: Dict[str, str] = await read_form(request)
    except ApiError:
        return error_page(request, 400, "Bad form", "The form could not be read.")
    if not sess.csrf_ok(request.app, session, form.get("csrf")):
        return error_page(request, 403, "Form expired", "This form is missing its security token or it expired. "
                                                          "Open the invitation link again.")
    accepted = await in_db(request.app, agents.accept, request.match_info.get("token", ""))
    if accepted is None:
        return error_page(request, 410, "Invitation not valid", INVALID_LINK)
    merchant_id, token_id = accepted
    resp = redirect("/dashboard/inbox")
    sess.set_cookie(request.app, resp, sess.new_session(merchant_id, token_id))  # a fresh nonce
    return resp


def setup_team(app: web.Application) -> None:
    r = app.router
    r.add_get("/dashboard/team", team_page)
    r.add_post("/dashboard/team/invite", invite)
    r.add_post(r"/dashboard/team/{id:\d+}/remove", remove)
    r.add_get(r"/dashboard/invite/{token:[A-Za-z0-9_\-]{1,100}}", invitation_page)
    r.add_post(r"/dashboard/invite/{token:[A-Za-z0-9_\-]{1,100}}", accept_invitation)


__all__ = ["setup_team"]
