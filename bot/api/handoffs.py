"""``/api/handoffs``: the live inbox as JSON for the merchant's team (owners and agents).

List, get (with transcript and what the bot knows), claim, release, close, hand back and reply,
through the same :mod:`bot.services.handoff_agent` the dashboard inbox uses: the transcript,
the widget's frames and every open inbox follow, on every replica. Refusals are the inbox's:
404 for a conversation that is not in the caller's stores, 409 when it is closed, a ticket or
held by someone else, 413 for a reply over 2,000 characters, 422 for an empty one, 429 past
30 replies a minute, 503 when Rasa did not take the turn into the transcript.
"""
from __future__ import annotations

from typing import Any, Dict

from aiohttp import web

from bot.api.auth import MerchantIdentity, member_required
from bot.services.db import in_db
from bot.api.errors import ApiError
from bot.api.registry import Param, route
from bot.api.validation import path_int, read_json
from bot.services import handoff as service
from bot.services import handoff_agent
from bot.services.handoff import Actor, HandoffError

ID = Param("id", "path", {"type": "integer", "minimum": 1}, required=True)
REPLY_SCHEMA: Dict[str, Any] = {"type": "object", "required": ["text"], "additionalProperties": False,
                                "properties": {"text": {"type": "string"}}}
ACTIONS = ("claim", "release", "close", "hand_back")


def actor(me: MerchantIdentity, merchant_name: str) -> Actor:
    """The person an API token speaks for: a team member, or the merchant's owner (named after the merchant)."""
    return Actor(merchant_id=me.merchant_id, name=me.name or merchant_name, agent_id=me.agent_id, role=me.role)


def _merchant_name(session: Any, merchant_id: int) -> str:
    from bot.core.db.models import Merchant

    merchant = session.get(Merchant, merchant_id)
    return merchant.name if merchant is not None else "The team"


async def _actor(request: web.Request, me: MerchantIdentity) -> Actor:
    return actor(me, me.name or await in_db(request.app, _merchant_name, me.merchant_id))


def _handoff_id(request: web.Request) -> int:
    try:
        return path_int(request, "id")
    except ApiError:
        raise ApiError(404, "not_found", "There is no such conversation in your inbox.") from None


def _api_error(exc: HandoffError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


@route("GET", "/api/handoffs", summary="Open handoffs of the merchant's stores (waiting oldest first, then active, "
       "then tickets), plus recently closed ones", tag="handoffs",
       params=[Param("closed", "query", {"type": "integer", "minimum": 0, "maximum": 100},
                     description="how many recently closed handoffs to add (default 0)")],
       responses={200: "HandoffList", 422: "Error"})
@member_required
async def list_handoffs(request: web.Request, me: MerchantIdentity) -> web.Response:
    from bot.api.validation import query_int

    closed = query_int(request, "closed", default=0, minimum=0, maximum=100) or 0
    items = await in_db(request.app, service.inbox, me.merchant_id, closed)
    return web.json_response({"items": items}, headers={"Cache-Control": "no-store"})


@route("GET", "/api/handoffs/{id}", summary="One handoff with its transcript and what the bot knows", tag="handoffs",
       params=[ID], responses={200: "HandoffConversation", 404: "Error"})
@member_required
async def get_handoff(request: web.Request, me: MerchantIdentity) -> web.Response:
    try:
        data = await handoff_agent.conversation(request.app, await _actor(request, me), _handoff_id(request))
    except HandoffError as exc:
        raise _api_error(exc) from None
    return web.json_response(data, headers={"Cache-Control": "no-store"})


def _action_route(name: str) -> None:
    async def handler(request: web.Request, me: MerchantIdentity) -> web.Response:
        try:
            result = await handoff_agent.act(request.app, await _actor(request, me), _handoff_id(request), name)
        except HandoffError as exc:
            raise _api_error(exc) from None
        return web.json_response({"handoff": result}, headers={"Cache-Control": "no-store"})

    handler.__name__ = handler.__qualname__ = f"{name}_handoff"
    route("POST", f"/api/handoffs/{{id}}/{name}", summary=f"{name.replace('_', ' ').capitalize()} a handoff",
          tag="handoffs", params=[ID], responses={200: "HandoffChange", 404: "Error", 409: "Error"})(member_required(handler))


for _name in ACTIONS:
    _action_route(_name)


@route("POST", "/api/handoffs/{id}/reply", summary="Send the shopper a message (1-2,000 characters)", tag="handoffs",
       params=[ID], body=REPLY_SCHEMA,
       responses={200: "HandoffChange", 404: "Error", 409: "Error", 413: "Error", 422: "Error", 429: "Error"})
@member_required
async def reply_handoff(request: web.Request, me: MerchantIdentity) -> web.Response:
    handoff_id = _handoff_id(request)
    body = await read_json(request, REPLY_SCHEMA)
    try:
        result = await handoff_agent.reply(request.app, await _actor(request, me), handoff_id, body["text"])
    except HandoffError as exc:
        raise _api_error(exc) from None
    return web.json_response({"handoff": result}, headers={"Cache-Control": "no-store"})
