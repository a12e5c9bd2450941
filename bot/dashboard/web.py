"""Request plumbing of the dashboard: templates, the signed-in context, CSRF and error pages."""
from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional
from urllib.parse import quote, urlencode

import jinja2
from aiohttp import web

from bot.api.auth import MerchantIdentity, require_owner
from bot.services.db import in_db
from bot.services.errors import ApiError
from bot.dashboard import queries, session as sess, words

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                               autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                               trim_blocks=True, lstrip_blocks=True)
TEMPLATES.filters.update(day=words.day, when=words.when, ago=words.ago, platform=words.platform_name)
TEMPLATES.globals.update(type_labels=words.TYPE_LABELS, outcome_labels=words.OUTCOME_LABELS)

USED_FORMS = web.AppKey("dashboard_used_forms", sess.UsedForms)
MAX_FORM_BYTES = 32 * 1024
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
       "connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'")


def security_headers(csp: str = CSP) -> Dict[str, str]:
    return {"Cache-Control": "no-store", "Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin", "X-Frame-Options": "SAMEORIGIN"}


class Ctx:
    """One dashboard request: the session, the merchant, template rendering."""

    def __init__(self, request: web.Request, session: sess.DashSession, merchant: Optional[Dict[str, Any]],
                 form: Optional[Dict[str, str]] = None, new_cookie: bool = False) -> None:
        self.request = request
        self.app = request.app
        self.session = session
        self.merchant = merchant
        self.form = form or {}
        self.new_cookie = new_cookie

    @property
    def me(self) -> MerchantIdentity:
        assert self.merchant is not None and self.session.token_id is not None
        return MerchantIdentity(self.merchant["id"], self.session.token_id, self.merchant.get("role", "owner"),
                                self.merchant.get("agent_id"), self.merchant.get("name"))

    @property
    def merchant_id(self) -> int:
        return self.me.merchant_id

    @property
    def csrf(self) -> str:
        return sess.csrf_token(self.app, self.session)

    def render(self, template: str, status: int = 200, *, csp: str = CSP, **values: Any) -> web.Response:
        values.setdefault("form_id", sess.new_form_id())
        body = TEMPLATES.get_template(template).render(
            merchant=self.merchant, csrf=self.csrf, path=self.request.path, nav=values.pop("nav", ""), **values)
        resp = web.Response(text=body, status=status, content_type="text/html", headers=security_headers(csp))
        if self.new_cookie:
            sess.set_cookie(self.app, resp, self.session)
        return resp

    def db(self, fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
        return in_db(self.app, fn, *args)

    def once(self) -> bool:
        """False when this form (its ``form_id``) was already submitted successfully."""
        form_id = self.form.get("form_id", "")
        return not (form_id and self.app[USED_FORMS].seen(self.merchant_id, form_id))

    def used(self) -> None:
        form_id = self.form.get("form_id", "")
        if form_id:
            self.app[USED_FORMS].use(self.merchant_id, form_id[:40])


def redirect(location: str, ctx: Optional[Ctx] = None) -> web.Response:
    resp = web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})
    if ctx is not None and ctx.new_cookie:
        sess.set_cookie(ctx.app, resp, ctx.session)
    return resp


def to_signin(request: web.Request, expired: bool) -> web.Response:
    query = {"next": request.path if request.method == "GET" else "/dashboard/stores"}
    if request.method == "GET" and request.query_string:
        query["next"] = f"{request.path}?{request.query_string}"
    if expired:
        query["expired"] = "1"
    resp = redirect("/dashboard/signin?" + urlencode(query, quote_via=quote))
    if expired:
        sess.clear_cookie(request.app, resp)
    return resp


def error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    body = TEMPLATES.get_template("error.html").render(title=title, message=message, merchant=None, csrf="",
                                                       path=request.path, nav="")
    return web.Response(text=body, status=status, content_type="text/html", headers=security_headers())


async def read_form(request: web.Request) -> Dict[str, str]:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise ApiError(413, "too_large", "form too large")
    try:
        data = await request.post()
    except (ValueError, web.HTTPRequestEntityTooLarge):
        raise ApiError(400, "bad_form", "the form could not be read") from None
    return {k: v for k, v in data.items() if isinstance(v, str)}


async def _identity(request: web.Request) -> "tuple[Optional[sess.DashSession], Optional[Dict[str, Any]]]":
    session = sess.decode(request.app, request.cookies.get(sess.COOKIE))
    if session is None or not session.signed_in:
        return session, None
    merchant = await in_db(request.app, queries.session_identity, session.merchant_id, session.token_id)
    return session, merchant


def _guard(handler: Callable[[Ctx], Awaitable[web.StreamResponse]], *, post: bool, team: bool = False
           ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            session, merchant = await _identity(request)
            if session is None or merchant is None:
                return to_signin(request, expired=session is not None and session.merchant_id is not None)
            if not team:  # the role check of every owner page and form (the API's require_owner)
                require_owner(MerchantIdentity(merchant["id"], session.token_id or 0, merchant.get("role", "owner")))
            form: Dict[str, str] = {}
            if post:
                form = await read_form(request)
                if not sess.csrf_ok(request.app, session, form.get("csrf")):
                    return error_page(request, 403, "Form expired",
                                      "This form is missing its security token or it does not match your session. "
                                      "Go back, reload the page and try again.")
            return await handler(Ctx(request, session, merchant, form))
        except ApiError as exc:
            if exc.status == 404:
                return error_page(request, 404, "Not found", "There is no such store in your account.")
            if exc.status == 503:
                return error_page(request, 503, "Try again shortly", "The database is not answering. Try again in a moment.")
            if exc.code == "owner_only":
                return error_page(request, 403, "Owners only", exc.message)
            return error_page(request, exc.status, "Something is not right", exc.message)

    return wrapper


def page(handler: Callable[[Ctx], Awaitable[web.StreamResponse]]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A GET page for signed-in owners (others are sent to the sign-in page; agents get 403)."""
    return _guard(handler, post=False)


def action(handler: Callable[[Ctx], Awaitable[web.StreamResponse]]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A form POST of owners: signed in, and a CSRF token matching the session (403 otherwise)."""
    return _guard(handler, post=True)


def team_page(handler: Callable[[Ctx], Awaitable[web.StreamResponse]]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A GET page for anyone on the merchant's team (the inbox)."""
    return _guard(handler, post=False, team=True)


def team_action(handler: Callable[[Ctx], Awaitable[web.StreamResponse]]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A form POST for anyone on the merchant's team, with the session's CSRF token."""
    return _guard(handler, post=True, team=True)
