"""``GET /api/activities``: the merchant's activity log with paging and filters."""
from __future__ import annotations

from typing import Optional

from aiohttp import web

from bot.api.auth import MerchantIdentity, merchant_required
from bot.services.activity import activity_page
from bot.api.registry import Param, route
from bot.api.validation import query_datetime, query_int, query_str, validation_error

TYPE_PATTERN = r"^[a-z_]{1,50}$"


@route("GET", "/api/activities", summary="The activity log (newest first) with paging and filters", tag="activities",
       params=[Param("page", "query", {"type": "integer", "minimum": 1, "maximum": 100000}),
               Param("per_page", "query", {"type": "integer", "minimum": 1, "maximum": 100}),
               Param("type", "query", {"type": "string", "pattern": "^[a-z_]{1,50}(,[a-z_]{1,50}){0,9}$"},
                     description="activity type, or several separated by commas"),
               Param("store_id", "query", {"type": "integer", "minimum": 1}),
               Param("since", "query", {"type": "string", "format": "date-time"}, description="inclusive lower bound"),
               Param("until", "query", {"type": "string", "format": "date-time"}, description="exclusive upper bound")],
       responses={200: "ActivityPage", 404: "Error", 422: "Error"})
@merchant_required
async def list_activities(request: web.Request, me: MerchantIdentity) -> web.Response:
    page = query_int(request, "page", default=1, maximum=100000) or 1
    per_page = query_int(request, "per_page", default=20, maximum=100) or 20
    raw_type: Optional[str] = query_str(request, "type", max_length=520, pattern=r"[a-z_]{1,50}(,[a-z_]{1,50}){0,9}")
    since = query_datetime(request, "since")
    until = query_datetime(request, "until")
    if since and until and since >= until:
        raise validation_error("since must be before until", "since")
    filters = {"types": raw_type.split(",") if raw_type else None, "store_id": query_int(request, "store_id"),
               "since": since, "until": until}
    return web.json_response(await activity_page(request.app, me.merchant_id, filters, page, per_page))
