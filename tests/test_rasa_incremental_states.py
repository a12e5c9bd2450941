"""The incremental ``applied_events`` / ``states_for_tracker_history`` give exactly Rasa's results.

Every conversation below is replayed one event at a time on one tracker object (as the tracker cache
keeps it between turns); after each event the patched functions must equal Rasa's own, called on a
fresh tracker with the same events, for every combination of flags the policies use.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, List

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, ActionReverted, ActiveLoop, BotUttered, Restarted, SessionStarted, SlotSet,
    UserUtteranceReverted, UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa import speedups

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[1] / "domain.yml"))
RULE_ONLY = {"rule_only_slots": ["requested_slot"], "rule_only_loops": ["order_lookup_form"]}
FLAGS = [dict(), dict(omit_unset_slots=True), dict(ignore_rule_only_turns=True, rule_only_data=RULE_ONLY),
         dict(ignore_rule_only_turns=True, rule_only_data=None)]


@pytest.fixture(scope="module", autouse=True)
def patched():
    speedups.apply()


def user(intent: str, text: str = "x", **entities: str) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 1.0},
                       [{"entity": k, "value": v, "start": 0, "end": 1} for k, v in entities.items()])


def act(name: str, hide: bool = False) -> ActionExecuted:
    return ActionExecuted(name, hide_rule_turn=hide)


def turn(intent: str, *actions: str) -> List[Any]:
    out: List[Any] = [user(intent)]
    for name in actions:
        out += [act(name), BotUttered("ok")]
    return out + [act("action_listen")]


def form_lookup() -> List[Any]:
    return [user("track_order"), act("order_lookup_form"), ActiveLoop("order_lookup_form"),
            SlotSet("requested_slot", "order_number"), act("action_listen"),
            user("inform", order_number="1001"), act("order_lookup_form"), SlotSet("order_number", "1001"),
            SlotSet("requested_slot", "email"), act("action_listen"),
            user("inform", email="a@b.example"), act("order_lookup_form"), SlotSet("email", "a@b.example"),
            ActiveLoop(None), SlotSet("requested_slot", None), act("action_lookup_order", hide=True),
            BotUttered("card"), act("action_listen")]


CONVERSATIONS = {
    "long smalltalk": [act("action_session_start"), SessionStarted(), act("action_listen")]
    + [e for n in range(25) for e in turn(["help", "bot_challenge", "thank", "goodbye"][n % 4], "utter_help")],
    "form, then more": [act("action_session_start"), SessionStarted(), act("action_listen")]
    + turn("greet", "utter_greet") + form_lookup() + turn("thank", "utter_you_are_welcome") + form_lookup(),
    "rewinds and restarts": [act("action_listen")] + turn("greet", "utter_greet")
    + [user("help"), UserUtteranceReverted(), act("action_listen")] + turn("bot_challenge", "utter_iamabot")
    + [ActionReverted()] + turn("help", "utter_help") + [Restarted(), act("action_listen")]
    + turn("greet", "utter_greet") + [SessionStarted(), act("action_listen")] + form_lookup(),
}


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_incremental_states_equal_a_full_replay_after_every_event(name):
    events = CONVERSATIONS[name]
    original_applied = speedups.ORIGINALS["applied_events"]
    original_states = speedups.ORIGINALS["states_for_tracker_history"]
    live = DialogueStateTracker("s", DOMAIN.slots)
    for n, event in enumerate(events, 1):
        live.update(event)
        fresh = DialogueStateTracker.from_events("s", events[:n], DOMAIN.slots)
        assert live.applied_events() == original_applied(fresh), f"after event {n}"
        for flags in FLAGS:
            expected = original_states(DOMAIN, fresh, **flags)
            assert DOMAIN.states_for_tracker_history(live, **flags) == expected, f"after event {n} with {flags}"
            assert live.past_states(DOMAIN, **flags) == expected


def test_a_tracker_that_loses_events_is_folded_again():
    events = CONVERSATIONS["form, then more"]
    tracker = DialogueStateTracker.from_events("s", events, DOMAIN.slots)
    DOMAIN.states_for_tracker_history(tracker)
    short = DialogueStateTracker.from_events("s", events[:10], DOMAIN.slots)
    tracker.events.clear()
    tracker.events.extend(short.events)
    assert tracker.applied_events() == speedups.ORIGINALS["applied_events"](short)
    assert DOMAIN.states_for_tracker_history(tracker) == speedups.ORIGINALS["states_for_tracker_history"](DOMAIN, short)
