"""``GET /api/integrations/{id}/data-requests/{request_id}/export``: a privacy data-request export,
delivered once.

A customer data request (a platform webhook read as a ``CUSTOMER_DATA_REQUEST`` store notice) leaves a JSON file of what TrulyBot
holds about the customer (see :mod:`bot.api.webhooks`). The store's merchant downloads it here; it
counts as delivered once the whole response has been written to the merchant's connection, and is
then deleted, so a second download answers 404. A download cut off before the end puts the file
back. Files never downloaded are deleted after ``TRULYBOT_EXPORT_RETENTION_DAYS``.
"""
from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Tuple

from aiohttp import web
from sqlalchemy.orm import Session

from bot import appkeys
from bot.api.auth import MerchantIdentity, merchant_required
from bot.api.errors import ApiError
from bot.api.registry import Param, route
from bot.api.stores import owned_store
from bot.api.validation import path_int
from bot.services import activity
from bot.services.db import in_db
from bot.services.privacy import claim_export, export_path, return_export

logger = logging.getLogger(__name__)

REQUEST_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def _store(session: Session, merchant_id: int, store_id: int) -> Tuple[int, str]:
    store = owned_store(session, merchant_id, store_id)
    return store.user_id, store.widget_id


def _record(session: Session, merchant_id: int, store_id: int, request_id: str) -> None:
    activity.record_activity(session, merchant_id, activity.WEBHOOK, "Customer data export downloaded and deleted",
                             store_id, {"topic": "customers/data_request", "data_request_id": request_id,
                                        "outcome": "export_delivered"})


@route("GET", "/api/integrations/{id}/data-requests/{request_id}/export",
       summary="Download a customer data-request export once (it is deleted after delivery)", tag="integrations",
       params=[Param("id", "path", {"type": "integer", "minimum": 1}, required=True, description="store id"),
               Param("request_id", "path", {"type": "string", "pattern": REQUEST_ID_PATTERN}, required=True,
                     description="the platform's data request id")],
       responses={200: "DataRequestExport", 404: "Error", 422: "Error"})
@merchant_required
async def download_export(request: web.Request, me: MerchantIdentity) -> web.StreamResponse:
    store_id = path_int(request, "id")
    request_id = request.match_info.get("request_id", "")
    merchant_id, widget_id = await in_db(request.app, _store, me.merchant_id, store_id)
    if not re.fullmatch(REQUEST_ID_PATTERN, request_id):
        raise ApiError(404, "not_found", "export not found")
    path = export_path(request.app[appkeys.SETTINGS].data_dir, widget_id, request_id)
    loop = asyncio.get_running_loop()
    claimed = await loop.run_in_executor(None, claim_export, path)
    if claimed is None:
        raise ApiError(404, "not_found", "export not found (never requested, already downloaded or expired)")
    delivered = False
    try:
        body = await loop.run_in_executor(None, claimed.read_bytes)
        response = web.Response(body=body, content_type="application/json", headers={
            "Content-Disposition": f'attachment; filename="{path.name}"', "Cache-Control": "no-store"})
        await response.prepare(request)
        await response.write_eof()
        delivered = True
    finally:
        if delivered:
            await loop.run_in_executor(None, _delete, claimed)
        else:
            await loop.run_in_executor(None, return_export, claimed, path)
    await in_db(request.app, _record, merchant_id, store_id, request_id)
    return response


def _delete(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
