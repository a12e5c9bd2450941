"""Scripted shopper conversations (against the demo stores' seed orders, see README).

Every step says what the reply must contain (``expect``) and what the turn exercises (``kind``):
``utter`` a response from the domain only (NLU + policies, no action server), ``action`` a custom action
without a store call, ``lookup`` a custom action that calls the store (emulator) API.
"""
from __future__ import annotations

from dataclasses import dataclass
import itertools
import random
from typing import Any, Dict, List, Tuple


@dataclass(frozen=True)
class Step:
    text: str
    kind: str = "action"  # utter | action | lookup
    expect: str = "reply"  # reply | card | not_found | asks_number | asks_email
    #: Other wordings of ``text``; each conversation draws one of ``texts`` (see :meth:`pick`).
    paraphrases: Tuple[str, ...] = ()
    #: Send :func:`fresh_unknown_number` instead of ``text`` (a number no other conversation sent).
    fresh_number: bool = False

    @property
    def texts(self) -> Tuple[str, ...]:
        return (self.text,) + self.paraphrases

    def pick(self, rng: random.Random) -> str:
        """The wording this conversation sends (``text`` when the step has no paraphrases)."""
        if self.fresh_number:
            return fresh_unknown_number()
        return rng.choice(self.texts) if self.paraphrases else self.text


@dataclass(frozen=True)
class Scenario:
    name: str
    widget_id: str
    weight: int
    steps: Tuple[Step, ...]


S = Step

# Failed lookups are counted per order number, and a number with 5 failures in an hour is locked for
# everyone (actions/attempts.py). Real shoppers who get their details wrong are spread over many
# orders, so every wrong-email conversation of a bench process sends a number used by no other
# conversation and unknown to the demo store (the reply is the same "couldn't find" as for a wrong
# email on a real order). Drawing from a fixed pool per conversation number would repeat the same
# numbers in every phase and trip that lock after a few phases.
_FRESH_NUMBERS = itertools.count(300001)


def fresh_unknown_number() -> str:
    """An order number no earlier conversation of this process sent (300001, 300002, ...)."""
    return str(next(_FRESH_NUMBERS))


SHOPPER_MIX: Tuple[Scenario, ...] = (
    Scenario("track-woocommerce", "demo-woocommerce", 3, (
        S("hi"), S("where is my order?", expect="asks_number"), S("1002", expect="asks_email"),
        S("jane.doe@example.com", "lookup", "card"), S("has it shipped yet?", "lookup", "card"),
        S("thanks", "utter"), S("bye", "utter"))),
    Scenario("track-shopify", "demo-shopify", 3, (
        S("hello"), S("track my order", expect="asks_number"), S("1003", expect="asks_email"),
        S("noah.wilson@example.com", "lookup", "card"), S("has it shipped yet?", "lookup", "card"),
        S("thank you", "utter"), S("goodbye", "utter"))),
    Scenario("wrong-email", "demo-woocommerce", 2, (
        S("hey"), S("where's my package", expect="asks_number"),
        S("300000", expect="asks_email", fresh_number=True),
        S("wrong.person@example.com", "lookup", "not_found"), S("bye", "utter"))),
    Scenario("cancel-request", "demo-woocommerce", 1, (
        S("hi"), S("i want to cancel my order"), S("1001", expect="asks_email"),
        S("jane.doe@example.com", "lookup", "card"), S("bye", "utter"))),
    Scenario("out-of-scope", "demo-shopify", 1, (
        S("hi"), S("recommend me a good laptop", "utter"), S("are you a bot?", "utter"),
        S("thanks", "utter"), S("bye", "utter"))),
)

# Runs through both our stack and stock Rasa: every turn is answered by a domain response (utter_*),
# so stock Rasa without an action server answers it too. What is compared is NLU + policies + tracker
# store + each system's public entry (our widget socket through the bot service vs. Rasa's REST channel).
# Each conversation draws every message from a pool of paraphrases (the same draws for both systems),
# so a cache keyed on the message text cannot answer most turns from memory.
COMPARABLE: Tuple[Scenario, ...] = (
    Scenario("comparable", "demo-woocommerce", 1, (
        S("what can you do?", "utter", paraphrases=(
            "how can you help me?", "what do you do", "what are my options?", "what can i ask you",
            "how does this work?", "can you help me", "what kind of things can you help with?")),
        S("are you a bot?", "utter", paraphrases=(
            "are you human?", "am i talking to a bot", "is this a robot?", "are you a real person",
            "is this automated?", "who am i talking to?", "am i chatting with a real human?")),
        S("recommend me a good laptop", "utter", paraphrases=(
            "what should i buy for my mom", "which jacket is best for winter?", "do you sell gift cards",
            "is this product vegan?", "what size should i get", "is there a sale on")),
        S("thanks", "utter", paraphrases=(
            "thank you", "thanks a lot", "thank you so much", "much appreciated", "thanks for your help",
            "great, thanks", "cheers")),
        S("bye", "utter", paraphrases=(
            "goodbye", "see you later", "bye bye", "that's all, bye", "have a nice day", "ok bye",
            "talk to you later")),
    )),
)


def weighted(scenarios: Tuple[Scenario, ...]) -> List[Scenario]:
    """The scenarios repeated by weight, interleaved (conversation n runs ``mix[n % len(mix)]``)."""
    pool = {s.name: s.weight for s in scenarios}
    out: List[Scenario] = []
    while any(pool.values()):
        for s in scenarios:
            if pool[s.name]:
                out.append(s)
                pool[s.name] -= 1
    return out


def has_card(messages: List[Dict[str, Any]]) -> bool:
    return any((m.get("custom") or {}).get("type") == "order" for m in messages)


def text_of(messages: List[Dict[str, Any]]) -> str:
    return " ".join(str(m.get("text") or "") for m in messages)


def check(step: Step, messages: List[Dict[str, Any]]) -> bool:
    """True when the reply is what the script expects."""
    if not messages:
        return False
    text = text_of(messages).lower()
    if step.expect == "card":
        return has_card(messages)
    if step.expect == "not_found":
        return "couldn't find" in text and not has_card(messages)
    if step.expect == "asks_number":
        return "order number" in text
    if step.expect == "asks_email":
        return "email" in text
    return True
