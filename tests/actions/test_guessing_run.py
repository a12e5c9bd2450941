"""A guessing run: 1,000 lookups over sequential order numbers with common emails, postcodes and
surnames, from many conversations and addresses at once, through the real action code against the
store emulators (loopback). Every fifth guess goes back to a few "hot" numbers, as a guesser
working on one order would. Nothing is disclosed, and the lockouts trip: per conversation, the
address slowdown, the store's failure budget, and the per-order lock on the hot numbers."""
from __future__ import annotations

import asyncio
import itertools
import random
import re
from collections import Counter

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.order_actions import ActionLookupOrder
from bot.core.db import UserActivity
from plugins.emulation.faults import STATS_KEY
from tests.actions.conftest import make_tracker

ATTEMPTS = 1000
CONVERSATIONS = 50
ADDRESSES = 60
CONCURRENCY = 40
COMMON_EMAILS = ["info@example.com", "test@example.com", "john.smith@example.com", "orders@example.com"]
COMMON_POSTCODES = ["94103", "10118", "SW1A 1AA", "10001", "90210"]  # real seed postcodes among them
COMMON_SURNAMES = ["Smith", "Johnson", "Williams", "Brown", "1234", "0000"]
EXISTING = {"A": {str(n) for n in range(1001, 1010)}, "S": {str(n) for n in range(1001, 1009)}}
#: numbers guessed again and again (real ones and an unknown one per store): the per-order lock must trip
HOT = {"A": ["1001", "1003", "1777"], "S": ["1002", "1004", "1888"]}
ORDER_LOCKED_TEXT = "I've paused lookups of that order number"
REACHED_TEXTS = ("I couldn't find an order", "This store keeps customer emails private")  #: the store was asked


def _attempts(rng: random.Random):
    numbers = itertools.cycle(range(1000, 1250))  # sequential: walks across the real orders again and again
    for index in range(ATTEMPTS):
        store = "A" if index % 2 == 0 else "S"
        number = str(next(numbers))
        if index % 5 == 0:  # every fifth guess: one of the store's hot numbers
            number = HOT[store][(index // 10) % len(HOT[store])]
        slots = {"order_number": number}
        if store == "S" and rng.random() < 0.6:
            slots.update(postcode=rng.choice(COMMON_POSTCODES), second_fact=rng.choice(COMMON_SURNAMES))
        elif store == "A" and rng.random() < 0.3:
            slots.update(postcode=rng.choice(COMMON_POSTCODES), second_fact=rng.choice(COMMON_SURNAMES))
        else:
            slots["email"] = rng.choice(COMMON_EMAILS)
        # half the guesses come from a few long conversations, half open a new conversation each time
        sender = f"guess-{index % CONVERSATIONS}" if index % 4 < 2 else f"fresh-{index}"
        yield store, slots, sender, f"addr-{index % ADDRESSES}"


async def test_a_thousand_guesses_disclose_nothing_and_trip_the_lockouts(stores, runtime):
    gate = asyncio.Semaphore(CONCURRENCY)
    replies = []

    async def attempt(store_name, slots, sender, client):
        async with gate:
            dispatcher = CollectingDispatcher()
            tracker = make_tracker(stores[store_name], slots=dict(slots), sender=sender, client=client)
            await ActionLookupOrder().run(dispatcher, tracker, {})
            replies.append((store_name, slots["order_number"], dispatcher.messages))

    runs = [attempt(*a) for a in _attempts(random.Random(14))]
    await asyncio.wait_for(asyncio.gather(*runs), timeout=300)
    assert len(replies) == ATTEMPTS

    # nothing disclosed: no order card, no status sentence, no listing
    for _store, _number, messages in replies:
        for message in messages:
            assert not message.get("custom"), message
            assert "Your order #" not in (message.get("text") or "")
            assert not any("/inform" in b.get("payload", "") for b in message.get("buttons") or [])
    with runtime.sessions() as session:
        outcomes = Counter(a.details.get("outcome") for a in session.execute(select(UserActivity)).scalars())
    assert outcomes["shown"] == 0 and outcomes["listed"] == 0

    # no reply tells an existing number from an unknown one
    for store_name, existing in EXISTING.items():
        texts = {True: set(), False: set()}
        for name, number, messages in replies:
            if name == store_name:
                texts[number in existing].add(re.sub(r"\d+", "N", messages[0]["text"]))  # counts vary, not wording
        assert texts[True] <= texts[False], texts[True] - texts[False]

    # the lockouts tripped, and most guesses never reached a store
    firsts = Counter(messages[0]["text"].split(" ")[0:4].__str__() for _s, _n, messages in replies)
    assert outcomes["lockout"] > 0 and outcomes["slowed"] > 0, outcomes
    assert outcomes["store_budget_exceeded"] == 2, outcomes  # one alert per store
    reached = sum(outcomes[k] for k in ("mismatch", "not_found", "not_visible", "need_postcode"))
    assert reached <= ATTEMPTS // 2, (reached, firsts)
    woo_hits = stores["A"].emulator.app[STATS_KEY].hits
    assert woo_hits <= 3 * reached

    # the per-order lock tripped on every hot number, whether it exists or not, from any conversation
    # and address; no more than the order limit of failed verifications of one number reached the store
    order_locks = Counter(a.details.get("scope") for a in _lockouts(runtime))
    assert order_locks["order"] > 0, order_locks
    limit = runtime.limits.order
    for store_name, numbers in HOT.items():
        for number in numbers:
            texts = [m[0]["text"] for s, n, m in replies if s == store_name and n == number]
            assert len(texts) >= 30
            assert sum(ORDER_LOCKED_TEXT in t for t in texts) >= len(texts) // 2, (store_name, number)
            assert sum(any(r in t for r in REACHED_TEXTS) for t in texts) <= limit, (store_name, number)


def _lockouts(runtime):
    with runtime.sessions() as session:
        return [a for a in session.execute(select(UserActivity)).scalars() if a.details.get("outcome") == "lockout"]
