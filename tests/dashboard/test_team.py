"""The merchant's team: invitations by email (real local SMTP server), the one-time link, what an
agent may and may not do in the dashboard and the API, and the handoff JSON API."""
from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import Any, Dict

import aiohttp
import pytest

from bot.api.auth import OWNER_ONLY, create_token
from bot.core.db.models import MerchantAgent, StoreIntegration, WidgetConfig, utcnow
from bot.services import agents
from bot.services import handoff as service
from tests.dashboard.conftest import csrf_of, form_id_of
from tests.dashboard.test_inbox import JSON, inbox, make_inbox  # noqa: F401 - fixture
from tests.support.smtp import smtp  # noqa: F401 - fixture

LINK_RE = re.compile(r"(https?://\S+/dashboard/invite/(tbi_[A-Za-z0-9_\-]+))")


class Browser:
    """A second browser (its own cookies) on the same test server."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def get(self, path: str, **kw: Any):
        return self.session.get(self._client.make_url(path), **kw)

    def post(self, path: str, **kw: Any):
        return self.session.post(self._client.make_url(path), **kw)


@pytest.fixture
async def team(env, make_api, aiohttp_server, smtp):  # noqa: F811
    box, port = smtp()
    env.settings = dataclasses.replace(env.settings, smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none",
                                       smtp_from="bot@shop.example")
    dash, ids, recorder, env = await make_inbox(env, make_api, aiohttp_server)
    browsers = []

    async def join(email: str, role: str = "agent", name: str = "Jo") -> Browser:
        """Invite from Alice's dashboard, follow the emailed link in a new browser, join."""
        page = await dash.page("/dashboard/team")
        box.arrived.clear()
        resp = await dash.post("/dashboard/team/invite", {"email": email, "name": name, "role": role},
                               form_id=form_id_of(page))
        assert resp.status == 303 and resp.headers["Location"] == "/dashboard/team?done=invited", await resp.text()
        assert await box.wait()
        mail = box.messages[-1]
        assert mail["to"] == [email] and "Alice's Shop" in mail["subject"]
        link, token = LINK_RE.search(mail["body"]).groups()
        browser = Browser(dash.client)
        browsers.append(browser)
        page = await browser.get(f"/dashboard/invite/{token}", allow_redirects=False)
        html = await page.text()
        assert page.status == 200 and "Join Alice" in html and email in html
        joined = await browser.post(f"/dashboard/invite/{token}", data={"csrf": csrf_of(html)}, allow_redirects=False)
        assert joined.status == 303 and joined.headers["Location"] == "/dashboard/inbox"
        browser.token = token
        return browser

    yield dash, ids, recorder, env, box, join
    for browser in browsers:
        await browser.session.close()


async def test_an_invited_agent_works_the_inbox_and_nothing_else(team):
    dash, ids, recorder, env, box, join = team
    jo = await join("jo@example.com")
    resp = await jo.get("/dashboard/inbox", allow_redirects=False)
    html = await resp.text()
    assert resp.status == 200 and f'/dashboard/inbox/{ids["alice"]}' in html and f'/dashboard/inbox/{ids["bob"]}' not in html
    assert 'href="/dashboard/stores"' not in html  # the navigation shows an agent the inbox only
    csrf = csrf_of(html)
    # The agent answers under their own name.
    resp = await jo.post(f"/dashboard/inbox/{ids['alice']}/reply", data={"csrf": csrf, "text": "Hi, Jo here"}, headers=JSON)
    assert resp.status == 200, await resp.text()
    assert recorder.events[-1] == {"kind": "agent", "text": "Hi, Jo here", "name": "Jo"}
    resp = await jo.get(f"/dashboard/inbox/{ids['bob']}", allow_redirects=False)
    assert resp.status == 404
    # Store settings and credentials: 403 with a clear sentence, for pages and forms alike.
    store_id = env.query(lambda s: s.get(service.Handoff, ids["alice"]).store_id)
    for method, path in (("get", "/dashboard/stores"), ("get", f"/dashboard/stores/{store_id}/widget"),
                         ("post", f"/dashboard/stores/{store_id}/widget"), ("post", f"/dashboard/stores/{store_id}/disconnect"),
                         ("get", "/dashboard/team"), ("get", "/dashboard/analytics"),
                         ("post", f"/dashboard/stores/{store_id}/handoff")):
        kwargs: Dict[str, Any] = {"allow_redirects": False}
        if method == "post":
            kwargs["data"] = {"csrf": csrf, "title": "Hacked"}
        resp = await getattr(jo, method)(path, **kwargs)
        body = await resp.text()
        assert resp.status == 403, (path, resp.status)
        assert "agents work the inbox only" in body, path
    widget = env.query(lambda s: s.get(StoreIntegration, store_id).widget.title)
    assert widget != "Hacked"
    # The owner removes Jo: Jo's session ends at once.
    member = env.query(lambda s: s.query(MerchantAgent).filter_by(email="jo@example.com").one().id)
    resp = await dash.post(f"/dashboard/team/{member}/remove", {})
    assert resp.status == 303
    resp = await jo.get("/dashboard/inbox", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/dashboard/signin")


async def test_the_invitation_link_works_once_and_expires(team):
    dash, ids, recorder, env, box, join = team
    jo = await join("jo@example.com")
    again = await jo.get(f"/dashboard/invite/{jo.token}", allow_redirects=False)
    assert again.status == 410 and "already used" in await again.text()
    # An expired invitation is refused too.
    page = await dash.page("/dashboard/team")
    assert "jo@example.com" in page and "active" in page
    invitation = env.query(lambda s: agents.invite(s, dash.merchant.id, "kim@example.com", "Kim", "agent"))
    env.query(lambda s: setattr(s.get(MerchantAgent, invitation.agent_id), "invite_expires_at",
                                utcnow() - timedelta(minutes=1)))
    late = Browser(dash.client)
    try:
        resp = await late.get(f"/dashboard/invite/{invitation.token}", allow_redirects=False)
        assert resp.status == 410
        signin = await late.get("/dashboard/signin")
        resp = await late.post(f"/dashboard/invite/{invitation.token}", data={"csrf": csrf_of(await signin.text())},
                               allow_redirects=False)
        assert resp.status == 410
    finally:
        await late.session.close()
    assert (await dash.get("/dashboard/invite/tbi_nonsense")).status == 410


async def test_invite_form_errors_are_shown_next_to_the_field(team):
    dash, ids, recorder, env, box, join = team
    page = await dash.page("/dashboard/team")
    resp = await dash.post("/dashboard/team/invite", {"email": "not-an-email", "name": "X", "role": "agent"},
                           form_id=form_id_of(page))
    html = await resp.text()
    assert resp.status == 422 and 'id="email-error"' in html and 'aria-invalid="true"' in html
    resp = await dash.post("/dashboard/team/invite", {"email": "a@example.com", "name": "X", "role": "boss"},
                           form_id=form_id_of(page))
    assert resp.status == 422 and 'id="role-error"' in await resp.text()


async def test_without_smtp_the_owner_gets_the_link_to_pass_on(inbox):  # noqa: F811
    dash, ids, recorder, env = inbox
    page = await dash.page("/dashboard/team")
    resp = await dash.post("/dashboard/team/invite", {"email": "lee@example.com", "name": "", "role": "agent"},
                           form_id=form_id_of(page))
    html = await resp.text()
    assert resp.status == 200 and "/dashboard/invite/tbi_" in html and "no SMTP server" in html


# --- the API ------------------------------------------------------------------------------------

def _agent_token(env: Any, merchant_id: int, email: str, role: str = "agent") -> str:
    def make(session: Any) -> str:
        invitation = agents.invite(session, merchant_id, email, "Robo", role)
        agents.accept(session, invitation.token)
        return create_token(session, merchant_id, "api", invitation.agent_id)[1]
    return env.query(make)


async def test_agent_tokens_cannot_change_stores_but_work_the_handoff_api(inbox):  # noqa: F811
    dash, ids, recorder, env = inbox
    client = dash.client
    token = _agent_token(env, dash.merchant.id, "robo@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    store_id = env.query(lambda s: s.get(service.Handoff, ids["alice"]).store_id)
    for method, path, body in (("GET", "/api/integrations", None), ("PUT", f"/api/integrations/{store_id}/widget", {"title": "x"}),
                               ("DELETE", "/api/integrations", {"store_id": store_id})):
        resp = await client.request(method, path, headers=auth, json=body)
        data = await resp.json()
        assert resp.status == 403 and data["error"]["code"] == "owner_only", (path, data)
        assert data["error"]["message"] == OWNER_ONLY
    # The merchant's own token is an owner's.
    resp = await client.get("/api/integrations", headers=dash.merchant.headers)
    assert resp.status == 200

    resp = await client.get("/api/handoffs", headers=auth)
    items = (await resp.json())["items"]
    assert resp.status == 200 and [h["id"] for h in items] == [ids["alice"]]
    resp = await client.get(f"/api/handoffs/{ids['alice']}", headers=auth)
    assert resp.status == 200 and set(await resp.json()) == {"handoff", "transcript", "facts"}
    for path in (f"/api/handoffs/{ids['bob']}", "/api/handoffs/999999", "/api/handoffs/abc"):
        resp = await client.get(path, headers=auth)
        assert resp.status == 404 and "no such conversation" in (await resp.json())["error"]["message"]
    resp = await client.post(f"/api/handoffs/{ids['bob']}/reply", headers=auth, json={"text": "hi"})
    assert resp.status == 404
    resp = await client.post(f"/api/handoffs/{ids['alice']}/reply", headers=auth, json={"text": "x" * 2001})
    assert resp.status == 413 and "2000" in (await resp.json())["error"]["message"]
    resp = await client.post(f"/api/handoffs/{ids['alice']}/reply", headers=auth, json={"text": "  "})
    assert resp.status == 422
    resp = await client.post(f"/api/handoffs/{ids['alice']}/reply", headers=auth, json={"txt": "hi"})
    assert resp.status == 422
    resp = await client.post(f"/api/handoffs/{ids['alice']}/claim", headers=auth)
    assert resp.status == 200 and (await resp.json())["handoff"]["agent"]["name"] == "Robo"
    resp = await client.post(f"/api/handoffs/{ids['alice']}/reply", headers=auth, json={"text": "Hello from the API"})
    assert resp.status == 200 and recorder.events[-1] == {"kind": "agent", "text": "Hello from the API", "name": "Robo"}
    resp = await client.post(f"/api/handoffs/{ids['alice']}/release", headers=auth)
    assert resp.status == 200 and (await resp.json())["handoff"]["state"] == "waiting"
    resp = await client.post(f"/api/handoffs/{ids['alice']}/hand_back", headers=auth)
    assert resp.status == 200 and (await resp.json())["handoff"]["state"] == "closed"
    assert recorder.events[-1] == {"kind": "resume"}
    resp = await client.post(f"/api/handoffs/{ids['alice']}/reply", headers=auth, json={"text": "still there?"})
    data = await resp.json()
    assert resp.status == 409 and data["error"]["code"] == "closed" and "closed" in data["error"]["message"]
    resp = await client.post(f"/api/handoffs/{ids['alice']}/close", headers=auth)
    assert resp.status == 409
    resp = await client.get("/api/handoffs?closed=5", headers=auth)
    assert [h["state"] for h in (await resp.json())["items"]] == ["closed"]


async def test_a_removed_agents_token_stops_working(inbox):  # noqa: F811
    dash, ids, recorder, env = inbox
    token = _agent_token(env, dash.merchant.id, "robo@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    assert (await dash.client.get("/api/handoffs", headers=auth)).status == 200
    agent_id = env.query(lambda s: s.query(MerchantAgent).filter_by(email="robo@example.com").one().id)
    assert env.query(lambda s: agents.revoke(s, dash.merchant.id, agent_id))
    assert (await dash.client.get("/api/handoffs", headers=auth)).status == 401


async def test_an_invited_owner_may_change_stores(inbox):  # noqa: F811
    dash, ids, recorder, env = inbox
    token = _agent_token(env, dash.merchant.id, "co@example.com", role="owner")
    resp = await dash.client.get("/api/integrations", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
