"""Install flows of any platform over HTTP: an install redirect (OAuth) or an authorization callback.

The platform plugin says which flows it has (``connection_schema.flows``) and does its own part;
the work is done by the service layer (:mod:`bot.services.install_redirect`,
:mod:`bot.services.authorization`, shared with the dashboard); these handlers read requests and
shape answers:

``POST /api/integrations/{platform}/install`` (merchant token; ``POST .../connect`` with an install
flow as ``method`` does the same), or ``GET .../install`` (the same, answered with a redirect)
    validates the platform's fields, then for an **install redirect** answers
    ``{"install_url", "expires_at", "shop"}`` and sets the signed state cookie; for an
    **authorization callback** creates a pending store and answers
    ``202 {"authorize_url", "expires_at", "store"}``.
``GET /api/integrations/{platform}/callback`` (the merchant's browser, back from the platform)
    finishes an install redirect; every answer is an HTML page (or a redirect to ``return_to``).
``POST /api/integrations/{platform}/callback`` (the store, server to server)
    the credentials of an authorization callback for a pending store.
``GET /api/integrations/{platform}/return`` (the merchant's browser after an authorization)
    says how the flow ended, or sends the merchant back to the dashboard page they came from.
"""
from __future__ import annotations

import html
from typing import Any, Dict, Mapping, Tuple

from aiohttp import web

from bot.api.auth import MerchantIdentity, merchant_required
from bot.api.integrations import CONNECT_SCHEMA, connect_answer
from bot.api.registry import Param, route
from bot.api.validation import check, read_json, validation_error
from bot.services import authorization, install_redirect, install_state
from bot.services import integrations as service
from bot.services.platforms import platform_class

PLATFORM_PARAM = Param("platform", "path", {"type": "string", "maxLength": 40}, required=True,
                       description="an installed platform with an install flow")
#: what the store POSTs to the authorization callback; its fields are the platform's to read
CALLBACK_BODY: Dict[str, Any] = {"type": "object", "maxProperties": 40,
                                 "description": "what the platform posts (e.g. new API keys and the state)"}


def html_page(status: int, title: str, message: str) -> web.Response:
    """A minimal HTML page for the merchant's browser (no script, no referrer)."""
    body = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)} - TrulyBot</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>")
    return web.Response(text=body, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'",
                                 "Referrer-Policy": "no-referrer"})


async def _start(request: web.Request, me: MerchantIdentity, body: Mapping[str, Any], redirect: bool) -> web.Response:
    result = await service.connect_store(request.app, me.merchant_id, request.match_info.get("platform", ""), body,
                                         install_only=True)
    if not redirect:
        return connect_answer(result)
    resp = web.Response(status=302, headers={"Location": str(result.redirect_url)})
    for cookie in result.cookies:
        cookie.set_on(resp)
    return resp


@route("POST", "/api/integrations/{platform}/install", summary="Start a platform's install flow (OAuth redirect or store authorization)",
       tag="integrations", body=CONNECT_SCHEMA, params=[PLATFORM_PARAM],
       responses={200: "InstallStart", 202: "AuthorizationStart", 404: "Error", 409: "Error", 422: "Error"})
@merchant_required
async def start_install(request: web.Request, me: MerchantIdentity) -> web.Response:
    """Validate the platform's fields and start its install flow (``method``: default its first)."""
    platform_class(request.app, request.match_info.get("platform", ""))  # 404 before reading the body
    return await _start(request, me, await read_json(request, CONNECT_SCHEMA), redirect=False)


@route("GET", "/api/integrations/{platform}/install", summary="Start a platform's install flow, answered with a redirect to the platform",
       tag="integrations", params=[PLATFORM_PARAM, Param("method", "query", {"type": "string", "maxLength": 40}),
                                   Param("return_to", "query", {"type": "string", "maxLength": 100})],
       responses={302: "Redirect", 404: "Error", 409: "Error", 422: "Error"})
@merchant_required
async def start_install_redirect(request: web.Request, me: MerchantIdentity) -> web.Response:
    """The query carries the platform's fields (and ``method``, ``display_name``, ``return_to``)."""
    platform_class(request.app, request.match_info.get("platform", ""))
    if len(request.query_string) > install_redirect.MAX_QUERY or len(set(request.query.keys())) != len(request.query):
        raise validation_error("query: too long or a parameter is repeated", "query")
    return await _start(request, me, check(CONNECT_SCHEMA, dict(request.query)), redirect=True)


@route("GET", "/api/integrations/{platform}/callback", summary="Install redirect target (the merchant's browser, back from the platform)",
       tag="integrations", auth="cookie", response_content_type="text/html",
       params=[PLATFORM_PARAM, Param("state", "query", {"type": "string", "maxLength": 200},
                                     description="the product's state, echoed (other parameters are the platform's)")],
       responses={200: "Html", 302: "Redirect", 400: "Html", 401: "Html", 403: "Html", 404: "Error", 409: "Html"})
async def install_callback(request: web.Request) -> web.Response:
    platform = request.match_info.get("platform", "")
    cookie = request.cookies.get(install_state.cookie_name(platform))
    done = await install_redirect.finish_install(request.app, platform, list(request.query.items()), cookie,
                                                 query_size=len(request.query_string))
    if done.location:
        resp = web.Response(status=302, headers={"Location": done.location})
    else:
        resp = html_page(done.status, done.title, done.message)
    resp.del_cookie(done.cookie_name, path=done.cookie_path)
    return resp


@route("POST", "/api/integrations/{platform}/callback", summary="Authorization callback: the store posts new credentials here",
       tag="integrations", auth="state", body=CALLBACK_BODY, params=[PLATFORM_PARAM],
       responses={200: "Ok", 400: "Error", 401: "Error", 403: "Error", 404: "Error", 422: "Error"})
async def authorization_callback(request: web.Request) -> web.Response:
    platform = request.match_info.get("platform", "")
    platform_class(request.app, platform)
    body = await read_json(request, CALLBACK_BODY)
    await authorization.complete_authorization(request.app, platform, body)
    return web.json_response({"status": "ok"})


def _return_text(platform: Any) -> Dict[str, Tuple[int, str, str]]:
    name = platform.display_name or platform.name
    return {
        "ok": (200, "Store connected", f"Your {name} store is connected to TrulyBot. You can close this page."),
        "pending": (200, "Almost there", f"{name} has not sent the credentials yet. Reload this page in a few seconds."),
        "denied": (200, "Connection cancelled", "You did not approve the connection. Nothing was saved."),
        "failed": (200, "Connection failed", f"The credentials {name} sent did not work. Please try connecting again."),
        "unknown": (400, "Connection failed", "This connection link is unknown or has expired. Please start again."),
    }


@route("GET", "/api/integrations/{platform}/return", summary="Where the platform sends the merchant after an authorization (success or failure)",
       tag="integrations", auth="state", response_content_type="text/html", params=[PLATFORM_PARAM],
       responses={200: "Html", 302: "Redirect", 400: "Html", 404: "Error"})
async def authorization_return(request: web.Request) -> web.Response:
    platform = request.match_info.get("platform", "")
    cls = platform_class(request.app, platform)
    outcome, return_to = await authorization.authorization_outcome(request.app, platform, request.query)
    if return_to:
        return web.Response(status=302, headers={"Location": f"{return_to}?done=connected"})
    return html_page(*_return_text(cls)[outcome])


__all__ = ["start_install", "start_install_redirect", "install_callback", "authorization_callback",
           "authorization_return", "html_page"]
