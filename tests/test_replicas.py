"""Two replicas behind HAProxy (``trulybot up --replicas 2``), sharing PostgreSQL and Redis.

One topology for the module: a conversation moves between replicas, a push crosses replicas, and
shoppers survive ``kill -9`` of one bot service and of one Rasa process under load, with every turn
in the tracker exactly once.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Dict, List, Optional

import aiohttp
import pytest

from bot.core.settings import load_settings
from bot.core.shared_secrets import with_secrets
from bot.core.signing import sign
from tests.support.servers import require_postgres, require_redis
from tests.support.topology import Topology, haproxy_available

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def topology(rasa_model_path, tmp_path_factory):
    if not haproxy_available():
        import os

        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("haproxy is not installed, and CI=true requires it (.ci/run installs it)")
        pytest.skip("haproxy is not installed (Debian: apt-get install haproxy)")
    topo = Topology(tmp_path_factory.mktemp("replicas"), require_postgres(), require_redis(),
                    TRULYBOT_STARTUP_TIMEOUT="600")
    try:
        topo.wait_ready(600)  # two Rasa processes load their models at once on a shared 2-core machine
        yield topo
    finally:
        topo.close()


class Shopper:
    """A widget client that resumes its session after a lost socket or an ``unavailable`` answer.

    Before resending an unanswered message it reads the resumed history: when the history's last
    user message is newer than the first attempt (Rasa finished the turn but the socket closed before
    the reply), the turn counts as answered. Timestamps, not texts, decide: resumed history may mask
    what the shopper typed, and client and server share this machine's clock.
    """

    def __init__(self, http: aiohttp.ClientSession, base_url: str, address: str, widget: str = "demo-woocommerce") -> None:
        self.http, self.base_url, self.widget = http, base_url, widget
        self.headers = {"Origin": base_url, "X-Forwarded-For": address}
        self.ws: Optional[aiohttp.ClientWebSocketResponse] = None
        self.session: Optional[str] = None
        self.conversation_id: Optional[str] = None
        self.history: List[Dict[str, Any]] = []
        self.history_complete = True
        self.answered: List[str] = []     # texts the shopper saw answered, in order
        self.frames_by_id: Dict[str, int] = {}
        self.reconnects = 0
        self.seq = 0

    async def connect(self, url: Optional[str] = None) -> Dict[str, Any]:
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        ws_url = (url or self.base_url).replace("http://", "ws://") + "/ws"
        self.ws = await self.http.ws_connect(ws_url, headers=self.headers, heartbeat=None)
        await self.ws.send_json({"type": "hello", "widget_id": self.widget, "session": self.session, "locale": "en"})
        welcome = await self._next()
        assert welcome["type"] == "welcome", welcome
        self.session, self.conversation_id = welcome["session"], welcome["conversation_id"]
        self.history = welcome.get("history") or []
        self.history_complete = welcome.get("history_complete") is not False
        return welcome

    async def _next(self, timeout: float = 30) -> Dict[str, Any]:
        assert self.ws is not None
        while True:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"socket closed ({msg.type})")
            frame = json.loads(msg.data)
            if frame.get("type") != "typing":
                return frame

    async def say(self, text: str) -> Dict[str, Any]:
        """Send ``text`` once; return the bot frame for it."""
        self.seq += 1
        client_id = f"m{self.seq}"
        assert self.ws is not None
        await self.ws.send_json({"type": "message", "id": client_id, "text": text})
        while True:
            frame = await self._next()
            if frame.get("reply_to") == client_id:
                self.frames_by_id[client_id] = self.frames_by_id.get(client_id, 0) + 1
                return frame

    def _answered_since(self, sent_at: float) -> bool:
        stamps = [h.get("timestamp") for h in self.history if h.get("role") == "user"]
        return bool(stamps) and isinstance(stamps[-1], (int, float)) and stamps[-1] >= sent_at

    async def turn(self, text: str, deadline: float) -> None:
        """One turn that survives replica deaths: reconnect, check history, resend only if needed."""
        sent_at = time.time()
        while True:
            try:
                frame = await self.say(text)
                if frame["type"] == "bot":
                    self.answered.append(text)
                    return
                assert frame["type"] == "error" and frame["code"] == "unavailable", frame
            except (ConnectionError, aiohttp.ClientError, asyncio.TimeoutError, ConnectionResetError):
                pass
            # The reply is lost: resume the session (through the balancer) and look at the history.
            while True:
                if time.monotonic() > deadline:
                    raise AssertionError(f"turn {text!r} not answered before the deadline")
                await asyncio.sleep(0.5)
                try:
                    await self.connect()
                    self.reconnects += 1
                except (ConnectionError, aiohttp.ClientError, asyncio.TimeoutError, AssertionError):
                    continue
                if self.history_complete:
                    break  # otherwise Rasa could not give the history in time (busy or locked): ask again
            if self._answered_since(sent_at):
                self.answered.append(text)
                return
            sent_at = time.time()


def _run(coro):
    return asyncio.run(coro)


def test_conversation_moves_to_the_other_replica_with_state_and_history(topology):
    async def scenario():
        async with aiohttp.ClientSession() as http:
            shopper = Shopper(http, topology.base_url, "198.51.100.10")
            await shopper.connect(topology.bot_url(1))
            assert (await shopper.say("where is my order?"))["type"] == "bot"
            await shopper.ws.close()
            welcome = await shopper.connect(topology.bot_url(2))
            assert welcome["resumed"] is True and welcome["conversation_id"] == shopper.conversation_id
            assert [h["text"] for h in welcome["history"] if h["role"] == "user"] == ["where is my order?"]
            assert any(h["role"] == "bot" for h in welcome["history"])
            # The form's state lives in the shared tracker store: replica 2 continues it.
            await shopper.say("1001")
            frame = await shopper.say("jane.doe@example.com")
            orders = [m for m in frame["messages"] if (m.get("custom") or {}).get("type") == "order"]
            assert orders and orders[0]["custom"]["order"]["number"].endswith("1001"), frame
            await shopper.ws.close()

    _run(scenario())


def test_push_reaches_the_socket_held_by_the_other_replica(topology):
    secret = with_secrets(load_settings(topology.env)).channel_secret

    async def scenario():
        async with aiohttp.ClientSession() as http:
            shopper = Shopper(http, topology.base_url, "198.51.100.11")
            await shopper.connect(topology.bot_url(2))
            body = json.dumps({"conversation_id": shopper.conversation_id,
                               "messages": [{"text": "Your order has shipped."}]}).encode()
            async with http.post(topology.bot_url(1) + "/internal/push", data=body,
                                 headers={"Content-Type": "application/json", **sign(secret, body)}) as resp:
                assert resp.status == 202, await resp.text()
                assert (await resp.json())["published"] is True
            frame = await shopper._next(timeout=10)
            assert frame["type"] == "bot" and "reply_to" not in frame
            assert frame["messages"][0]["text"] == "Your order has shipped."
            await shopper.ws.close()

    _run(scenario())


SCRIPT = ["hi", "where is my order", "{n}", "jane.doe@example.com", "thanks", "do you ship abroad?"]


def test_shoppers_survive_kill_9_of_a_bot_service_and_of_a_rasa_process(topology):
    # Shoppers keep talking until both kills have happened (at least ``min_rounds`` rounds each,
    # at most ``max_rounds``), so the kills land under load however fast the machine is.
    shoppers_n, min_rounds, max_rounds = 8, 3, 40
    kills_done = asyncio.Event()
    progress: Dict[int, int] = {}

    async def shopper_run(http, i: int, deadline: float) -> Shopper:
        shopper = Shopper(http, topology.base_url, f"203.0.113.{i + 1}")
        await shopper.connect()
        shopper.rounds = 0
        while shopper.rounds < min_rounds or (not kills_done.is_set() and shopper.rounds < max_rounds):
            for line in SCRIPT:
                await shopper.turn(line.format(n=1001 + (i + shopper.rounds) % 8), deadline)
                progress[i] = progress.get(i, 0) + 1
            shopper.rounds += 1
        await shopper.ws.close()
        return shopper

    async def turns_after(seen: int, more: int) -> None:
        while sum(progress.values()) < seen + more and time.monotonic() < deadline_box[0]:
            await asyncio.sleep(0.02)

    deadline_box = [0.0]

    async def killer():
        await turns_after(0, shoppers_n)  # every shopper is mid-conversation
        topology.kill("bot-1")
        await turns_after(sum(progress.values()), shoppers_n)
        topology.kill("rasa-1")
        await turns_after(sum(progress.values()), shoppers_n)
        kills_done.set()

    async def scenario():
        deadline = time.monotonic() + 150
        deadline_box[0] = deadline
        async with aiohttp.ClientSession() as http:
            results = await asyncio.gather(killer(), *(shopper_run(http, i, deadline) for i in range(shoppers_n)))
        return results[1:]

    shoppers = _run(scenario())
    assert any(s.reconnects for s in shoppers), "no shopper lost its socket: the kill did not happen under load"
    tracker = topology.tracker_user_texts()
    for shopper in shoppers:
        # Every turn the shopper saw answered is in the tracker exactly once, in order; nothing else is.
        assert tracker.get(shopper.conversation_id) == shopper.answered, (shopper.conversation_id, shopper.answered,
                                                                           tracker.get(shopper.conversation_id))
        assert len(shopper.answered) == shopper.rounds * len(SCRIPT)
        assert all(count == 1 for count in shopper.frames_by_id.values())
    topology.wait_for_line("bot-1 is healthy again", 120)
    topology.wait_for_line("rasa-1 is healthy again", 120)
