"""Fixtures of the dashboard server tests: the API test environment (migrated SQLite, the bot service
app, store emulators) plus a signed-in dashboard client."""
from __future__ import annotations

import re
from typing import Any, Dict, Optional

import pytest

from tests.api.conftest import Env, Merchant, env, log_records, make_api, shop, woo  # noqa: F401 - fixtures

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
FORM_ID_RE = re.compile(r'name="form_id" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, html[:2000]
    return match.group(1)


def form_id_of(html: str) -> str:
    match = FORM_ID_RE.search(html)
    assert match, html[:2000]
    return match.group(1)


class Dash:
    """A browser-like client of the dashboard (cookies kept by the aiohttp test client)."""

    def __init__(self, client: Any, merchant: Optional[Merchant] = None) -> None:
        self.client = client
        self.merchant = merchant
        self.csrf = ""

    async def sign_in(self, token: Optional[str] = None) -> None:
        resp = await self.client.get("/dashboard/signin")
        assert resp.status == 200
        csrf = csrf_of(await resp.text())
        resp = await self.client.post("/dashboard/signin", data={"csrf": csrf, "token": token or self.merchant.token},
                                      allow_redirects=False)
        assert resp.status == 303, await resp.text()
        resp = await self.client.get("/dashboard/stores")
        assert resp.status == 200
        self.csrf = csrf_of(await resp.text())

    async def get(self, path: str, **kw: Any):
        return await self.client.get(path, allow_redirects=False, **kw)

    async def page(self, path: str) -> str:
        resp = await self.get(path)
        text = await resp.text()
        assert resp.status == 200, (resp.status, text[:500])
        return text

    async def post(self, path: str, data: Dict[str, Any], *, csrf: Optional[str] = "auto", form_id: Optional[str] = None):
        body = dict(data)
        if csrf == "auto":
            body["csrf"] = self.csrf
        elif csrf is not None:
            body["csrf"] = csrf
        if form_id is not None:
            body["form_id"] = form_id
        return await self.client.post(path, data=body, allow_redirects=False)


@pytest.fixture
async def dash(env, make_api):  # noqa: F811
    client = await make_api()
    merchant = env.merchant("Alice's Shop")
    d = Dash(client, merchant)
    await d.sign_in()
    return d
