"""``GET /api/activities``: the merchant's activity log with paging and filters."""
from __future__ import annotations

from typing import Any, Dict, Optional

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.api.auth import MerchantIdentity, merchant_required
from bot.services.db import in_db
from bot.api.registry import Param, route
from bot.api.stores import iso, owned_store
from bot.api.validation import query_datetime, query_int, query_str, validation_error
from bot.core.db.models import UserActivity

TYPE_PATTERN = r"^[a-z_]{1,50}$"


def _page(session: Session, merchant_id: int, filters: Dict[str, Any], page: int, per_page: int) -> Dict[str, Any]:
    if filters.get("store_id") is not None:
        owned_store(session, merchant_id, filters["store_id"])
    conditions = [UserActivity.user_id == merchant_id]
    if filters.get("types"):
        conditions.append(UserActivity.activity_type.in_(filters["types"]))
    if filters.get("store_id") is not None:
        conditions.append(UserActivity.store_id == filters["store_id"])
    if filters.get("since") is not None:
        conditions.append(UserActivity.created_at >= filters["since"])
    if filters.get("until") is not None:
        conditions.append(UserActivity.created_at < filters["until"])
    total = session.execute(select(func.count()).select_from(UserActivity).where(*conditions)).scalar() or 0
    rows = session.execute(
        select(UserActivity).where(*conditions).order_by(UserActivity.created_at.desc(), UserActivity.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ).scalars()
    items = [{**r.to_dict(), "created_at": iso(r.created_at)} for r in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total, "has_more": page * per_page < total}


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
    return web.json_response(await in_db(request.app, _page, me.merchant_id, filters, page, per_page))
