"""The bot service's bounded Rasa queue: bursts wait in the bot service, shoppers see ``typing``."""
from __future__ import annotations

import asyncio
from typing import Dict, List

import pytest

from bot import appkeys
from bot.rasa.queue import QueueFull, RasaQueue
from tests.gateway.helpers import WidgetSocket


async def test_a_burst_waits_for_slots_and_every_message_gets_its_answer_in_order(aiohttp_client, make_app, fake_rasa):
    fake_rasa.delay = 0.15  # a slow Rasa: 16 sockets x 3 messages through 2 slots take ~3.6 s
    client = await aiohttp_client(make_app(TRULYBOT_RASA_CONCURRENCY="2"))
    client.app[appkeys.RASA].queue.wait_signal_seconds = 0.3
    sockets = [await WidgetSocket.connect(client) for _ in range(16)]
    senders = [(await sock.hello())["conversation_id"] for sock in sockets]

    async def converse(sock: WidgetSocket) -> List[Dict]:
        ids = [await sock.say(f"turn {n}") for n in range(3)]
        answers = [await sock.recv_type("bot", "error", timeout=30) for _ in ids]
        assert [a.get("reply_to") for a in answers] == ids
        return answers

    results = await asyncio.gather(*(converse(sock) for sock in sockets))
    answers = [a for per_socket in results for a in per_socket]
    assert {a["type"] for a in answers} == {"bot"}, [a for a in answers if a["type"] != "bot"]
    for per_socket in results:
        assert [a["messages"][0]["text"] for a in per_socket] == ["echo: turn 0", "echo: turn 1", "echo: turn 2"]
    assert fake_rasa.max_active <= 2  # never more than the configured slots reached Rasa
    for sender in senders:  # Rasa saw each conversation's messages in the order they were sent
        assert [c["message"] for c in fake_rasa.calls if c["sender"] == sender] == ["turn 0", "turn 1", "turn 2"]
    typing = [sum(f["type"] == "typing" for f in sock.frames) for sock in sockets]
    assert all(n >= 3 for n in typing)  # one per turn at least
    assert max(typing) > 3  # the last in the queue were told again that the bot is typing


async def test_a_full_queue_answers_unavailable_instead_of_hanging(aiohttp_client, make_app, fake_rasa):
    fake_rasa.delay = 0.5
    client = await aiohttp_client(make_app(TRULYBOT_RASA_CONCURRENCY="1"))
    client.app[appkeys.RASA].queue.max_waiting = 1
    sockets = [await WidgetSocket.connect(client) for _ in range(3)]
    for sock in sockets:
        await sock.hello()
    answers = await asyncio.gather(*(sock.ask("hi") for sock in sockets))
    assert sorted(a["type"] for a in answers) == ["bot", "bot", "error"]
    assert [a["code"] for a in answers if a["type"] == "error"] == ["unavailable"]


async def test_slots_are_granted_first_come_first_served():
    queue = RasaQueue(1)
    order: List[int] = []
    release = asyncio.Event()

    async def turn(n: int) -> None:
        async with queue.slot():
            order.append(n)
            await release.wait()

    tasks = [asyncio.create_task(turn(n)) for n in range(5)]
    await asyncio.sleep(0.05)
    assert order == [0] and queue.waiting == 4 and queue.in_flight == 1
    release.set()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
    assert queue.in_flight == 0 and queue.waiting == 0


async def test_a_turn_that_gives_up_frees_its_place_and_the_slot_passes_on():
    queue = RasaQueue(1, max_wait=0.2, wait_signal_seconds=0.05)
    signals: List[float] = []
    hold = asyncio.Event()

    async def holder() -> None:
        async with queue.slot():
            await hold.wait()

    first = asyncio.create_task(holder())
    await asyncio.sleep(0.01)

    async def signal() -> None:
        signals.append(asyncio.get_running_loop().time())

    with pytest.raises(QueueFull):
        async with queue.slot(signal):
            pass
    assert len(signals) >= 2 and queue.waiting == 0

    cancelled = asyncio.create_task(holder())
    await asyncio.sleep(0.01)
    cancelled.cancel()
    await asyncio.sleep(0.01)
    assert queue.waiting == 0
    hold.set()
    await first
    assert queue.in_flight == 0
    async with queue.slot():  # nothing leaked: the slot is free again
        assert queue.in_flight == 1


def test_concurrency_must_be_positive():
    with pytest.raises(ValueError):
        RasaQueue(0)
