"""Measured fixes to per-turn overhead inside the Rasa server (see docs/benchmarks.md).

Applied once, when Rasa imports the TrulyBot channel (:mod:`bot.rasa.channel`):

* **Action-response validation.** ``RemoteAction._validate_action_result`` calls
  ``jsonschema.validate``, which re-checks Rasa's large events schema against the meta-schema on every
  custom-action call (~35 ms of CPU per call, about two thirds of a lookup turn), and then tries each
  event against all 23 event schemas. :class:`bot.rasa.action_response.ActionResponseValidator` is
  built once and checks each event against the one schema its name selects, with the same verdict
  and, for an invalid response, the same errors.
* **Keep-alive to the action server.** ``EndpointConfig.request`` opens a new ``aiohttp`` session —
  a new TCP connection — for every action call; one session per endpoint is reused instead.
* **Event type lookups.** ``Event.resolve_by_type`` scans every ``Event`` subclass for each event it
  deserialises; answers are remembered.
* **Incremental tracker states.** Memoization and Rule policies call ``tracker.past_states`` several
  times per turn, and each call replays the whole conversation (``applied_events`` and one
  ``get_active_state`` per past action), so a turn cost grew with the conversation's length. Both
  are folds over the event list: each tracker object remembers how far it folded and continues from
  there when events were only appended (any rewind, restart or new loop name falls back to a fold
  from the start). With the tracker cache of :mod:`bot.rasa.stores` the tracker object, and so this
  memo, lives from one turn to the next.
* **Graph runs without dask** (:mod:`bot.rasa.graph_runner`): the NLU parse and every action
  prediction run the model graph node after node instead of through dask's scheduler.
* **The classifier's feature matrix** (:mod:`bot.rasa.sentence_matrix`): built from the sentence
  features alone, without deep copies of the per-token matrices; its probabilities
  (:mod:`bot.rasa.intent_probabilities`) without scikit-learn re-checking that matrix on every call.
* **Rule matches remembered** (:mod:`bot.rasa.rule_lookup`): RulePolicy's filter of its rules by
  the conversation's recent states is kept per distinct states.
* **Tracker copies without a replay** (:mod:`bot.rasa.tracker_copy`): the copy Rasa takes before
  each action is built from the tracker's state instead of replaying every event.
* **Debug formatting of states.** RulePolicy formats every past state of the conversation into a
  string for a debug log line on each prediction, even when debug logging is off; the string is now
  built only if a log handler renders it.

Each patch keeps Rasa's behaviour (tests in ``tests/test_rasa_speedups.py``,
``tests/test_rasa_incremental_states.py`` and ``tests/test_rasa_fast_paths.py``).
"""
from __future__ import annotations

import itertools
import operator
import threading
from typing import Any, Dict, List, Optional, Tuple

_applied = False
_lock = threading.Lock()
#: Rasa's own functions replaced by a patch, by name (the tests compare both).
ORIGINALS: Dict[str, Any] = {}


def _fast_action_validation() -> None:
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction

    from bot.rasa.action_response import ActionResponseValidator

    built: Dict[str, Any] = {}

    def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
        validator = built.get("validator")
        if validator is None:
            validator = built["validator"] = ActionResponseValidator(self.action_response_format_spec())
        try:
            validator.validate(result)
        except ValidationError as error:
            error.message += (
                ". Failed to validate Action server response from API, make sure your response from the "
                "Action endpoint is valid."
            )
            raise
        return True

    RemoteAction._validate_action_result = _validate_action_result


class _Reused:
    """Async context manager over a session that must stay open after the ``async with``."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc: Any) -> bool:
        return False


def _keep_alive_sessions() -> None:
    from rasa.utils.endpoints import EndpointConfig

    new_session = EndpointConfig.session
    sessions: Dict[int, Any] = {}

    def session(self: EndpointConfig) -> _Reused:
        current: Optional[Any] = sessions.get(id(self))
        if current is None or current.closed:
            current = sessions[id(self)] = new_session(self)
        return _Reused(current)

    EndpointConfig.session = session


def _cached_event_types() -> None:
    from rasa.shared.core.events import Event

    resolve = Event.resolve_by_type
    known: Dict[str, Any] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        found = known.get(type_name)
        if found is None:
            found = resolve(type_name, default)
            if found is not None and found is not default:
                known[type_name] = found
        return found

    Event.resolve_by_type = staticmethod(resolve_by_type)


class _AppliedMemo:
    """How far ``applied_events`` folded a tracker's event deque."""

    __slots__ = ("events", "n", "last", "loop_names", "applied")

    def __init__(self, events: Any, n: int, loop_names: set, applied: List[Any]) -> None:
        self.events, self.n, self.loop_names, self.applied = events, n, loop_names, applied
        self.last = events[n - 1] if n else None


class _StatesMemo:
    """How far ``states_for_tracker_history`` folded a tracker's applied events, for one set of flags."""

    __slots__ = ("prefix", "replay", "states", "last_ml_action_sub_state", "turn_was_hidden")

    def __init__(self, replay: Any) -> None:
        self.prefix: List[Any] = []
        self.replay = replay
        self.states: List[Any] = []
        self.last_ml_action_sub_state: Any = None
        self.turn_was_hidden = False


def _incremental_tracker_states() -> None:
    import json

    from rasa.shared.core import constants
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import (
        ActionExecuted, ActionReverted, ActiveLoop, Restarted, SessionStarted, UserUtteranceReverted, UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    def fold(tracker: Any, applied: List[Any], events: Any, loop_names: set) -> List[Any]:
        # Same fold as rasa.shared.core.trackers.DialogueStateTracker.applied_events (Rasa 3.6).
        for event in events:
            if isinstance(event, (Restarted, SessionStarted)):
                applied = []
            elif isinstance(event, ActionReverted):
                tracker._undo_till_previous(ActionExecuted, applied)
            elif isinstance(event, UserUtteranceReverted):
                tracker._undo_till_previous(UserUttered, applied)
                tracker._undo_till_previous(ActionExecuted, applied)
            elif (isinstance(event, ActionExecuted) and event.action_name in loop_names
                  and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)):
                tracker._undo_till_previous_loop_execution(event.action_name, applied)
            else:
                applied.append(event)
        return applied

    def loops_in(events: Any) -> set:
        return {event.name for event in events if isinstance(event, ActiveLoop) and event.name}

    def applied_events(self: Any) -> List[Any]:
        events = self.events
        n = len(events)
        memo: Optional[_AppliedMemo] = self.__dict__.get("_trulybot_applied")
        if memo is not None and memo.events is events and memo.n <= n and (not memo.n or events[memo.n - 1] is memo.last):
            new = list(itertools.islice(events, memo.n, n))
            if loops_in(new) <= memo.loop_names:  # no new loop: earlier events keep their meaning
                applied = fold(self, list(memo.applied), new, memo.loop_names)
                self.__dict__["_trulybot_applied"] = _AppliedMemo(events, n, memo.loop_names, applied)
                return list(applied)
        loop_names = loops_in(events)
        applied = fold(self, [], events, loop_names)
        self.__dict__["_trulybot_applied"] = _AppliedMemo(events, n, loop_names, applied)
        return list(applied)

    def states_for_tracker_history(self: Any, tracker: Any, omit_unset_slots: bool = False,
                                   ignore_rule_only_turns: bool = False,
                                   rule_only_data: Optional[Dict[str, Any]] = None) -> List[Any]:
        # Same fold as rasa.shared.core.domain.Domain.states_for_tracker_history (Rasa 3.6), over
        # the prior trackers of generate_all_prior_trackers, resumed where the last call stopped.
        applied = tracker.applied_events()
        key: Tuple[Any, ...] = (id(self), omit_unset_slots, ignore_rule_only_turns,
                                json.dumps(rule_only_data, sort_keys=True, default=str) if rule_only_data else None)
        memos: Dict[Tuple[Any, ...], _StatesMemo] = tracker.__dict__.setdefault("_trulybot_states", {})
        memo = memos.get(key)
        if memo is None or len(memo.prefix) > len(applied) or not all(map(operator.is_, memo.prefix, applied)):
            memo = memos[key] = _StatesMemo(tracker.init_copy())

        def step(state_memo: Any, tr: Any, hide_rule_turn: bool, states: List[Any]) -> None:
            if ignore_rule_only_turns:
                if not state_memo.turn_was_hidden:
                    state_memo.last_ml_action_sub_state = self._get_prev_action_sub_state(tr)
                if not tr.followup_action and not tr.latest_action_name == tr.active_loop_name:
                    state_memo.turn_was_hidden = hide_rule_turn
                if state_memo.turn_was_hidden:
                    return
            state = self.get_active_state(tr, omit_unset_slots=omit_unset_slots)
            if ignore_rule_only_turns:
                self._remove_rule_only_features(state, rule_only_data)
                if states:
                    self._substitute_rule_only_user_input(state, states[-1])
                if state_memo.last_ml_action_sub_state:
                    state[constants.PREVIOUS_ACTION] = state_memo.last_ml_action_sub_state
            states.append(self._clean_state(state))

        replay = memo.replay
        for event in applied[len(memo.prefix):]:
            if isinstance(event, ActionExecuted):
                step(memo, replay, event.hide_rule_turn, memo.states)
            replay.update(event)
        memo.prefix = applied
        states = list(memo.states)
        final = _StatesMemo(None)
        final.last_ml_action_sub_state, final.turn_was_hidden = memo.last_ml_action_sub_state, memo.turn_was_hidden
        step(final, replay, False, states)
        return states

    ORIGINALS.setdefault("applied_events", DialogueStateTracker.applied_events)
    ORIGINALS.setdefault("states_for_tracker_history", Domain.states_for_tracker_history)
    DialogueStateTracker.applied_events = applied_events
    Domain.states_for_tracker_history = states_for_tracker_history


class _LazyStates:
    """``Policy.format_tracker_states(states)``, computed when rendered (``str``/``repr``)."""

    __slots__ = ("states", "_format")

    def __init__(self, fmt: Any, states: Any) -> None:
        self._format, self.states = fmt, states

    def __str__(self) -> str:
        return self._format(self.states)

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __deepcopy__(self, memo: Dict[int, Any]) -> "_LazyStates":
        return self  # immutable as far as its users go: the states are not changed after formatting


def _lazy_state_formatting() -> None:
    from rasa.core.policies.policy import Policy
    from rasa.core.policies.rule_policy import RulePolicy

    fmt = Policy.format_tracker_states
    ORIGINALS.setdefault("format_tracker_states", fmt)
    # Only RulePolicy's debug line uses it; the method stays eager on Policy for anyone else.
    RulePolicy.format_tracker_states = staticmethod(lambda states: _LazyStates(fmt, states))


def apply() -> None:
    """Install every patch once per process."""
    global _applied
    with _lock:
        if _applied:
            return
        _fast_action_validation()
        _keep_alive_sessions()
        _cached_event_types()
        _incremental_tracker_states()
        _lazy_state_formatting()
        # Rasa's engine, policies and scikit-learn: imported here, not when this module is.
        from bot.rasa import graph_runner, intent_probabilities, rule_lookup, sentence_matrix, tracker_copy

        graph_runner.install()
        sentence_matrix.install()
        intent_probabilities.install()
        rule_lookup.install()
        tracker_copy.install()
        _applied = True
