"""``DialogueStateTracker.copy`` without replaying the conversation.

Rasa copies the tracker before running every action (``MessageProcessor._run_action``), and its
``copy`` builds a new tracker and replays every event into it, so each action cost more the longer
the conversation (a tenth of a turn's CPU by turn 50: docs/benchmarks.md). A tracker's state is by
contract the fold of its events, so the copy can take that state directly: the same event objects
in a new list, a copy of each slot, a copy of the active loop, and the same latest message,
bot utterance, action, follow-up action and pause flag that the replay would set. Like Rasa's copy
it does not carry ``model_id``, ``assistant_id`` or ``sender_source``, nor anything remembered on the
original object.

Trackers whose state may differ from a replay of their events fall back to Rasa's copy: a bounded
event history (the replay would start from the truncated list) and trackers without a slot table
(``AnySlotDict``). :func:`install` replaces ``copy``; ``ORIGINAL_COPY`` keeps Rasa's.
"""
from __future__ import annotations

import copy as copy_module
import dataclasses

from typing import Any

from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

ORIGINAL_COPY = DialogueStateTracker.copy


def _is_event(tracker: DialogueStateTracker, message: Any) -> bool:
    """Whether ``message`` is one of the tracker's events (searched from the end, where it is)."""
    if message is None:
        return False
    return any(event is message for event in reversed(tracker.events))


def fast_copy(self: DialogueStateTracker) -> DialogueStateTracker:
    """A new tracker in the state a replay of ``self.events`` would give."""
    # init_copy substitutes Rasa's default sender id for an empty one: left to Rasa's copy too.
    if self._max_event_history is not None or type(self.slots) is not dict or not self.sender_id:
        return ORIGINAL_COPY(self)
    new = DialogueStateTracker.__new__(DialogueStateTracker)
    new._max_event_history = None
    new.events = self._create_events(self.events)
    new.sender_id = self.sender_id
    new.slots = {name: copy_module.copy(slot) for name, slot in self.slots.items()}
    new.sender_source = None
    new.is_rule_tracker = self.is_rule_tracker
    new._paused = self._paused
    new.followup_action = self.followup_action
    new.latest_action = dict(self.latest_action) if self.latest_action is not None else None
    # The replay shares these event objects; a reset creates fresh empty ones, so does the copy.
    new.latest_message = self.latest_message if _is_event(self, self.latest_message) else UserUttered.empty()
    new.latest_bot_utterance = (self.latest_bot_utterance if _is_event(self, self.latest_bot_utterance)
                                else BotUttered.empty())
    loop = self.active_loop
    new.active_loop = None if loop is None else dataclasses.replace(
        loop, trigger_message=dict(loop.trigger_message) if loop.trigger_message is not None else None)
    new.model_id = None
    new.assistant_id = None
    return new


def install() -> None:
    """Make ``DialogueStateTracker.copy`` use :func:`fast_copy`."""
    DialogueStateTracker.copy = fast_copy
