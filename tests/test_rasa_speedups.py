"""The Rasa patches keep Rasa's behaviour: valid action responses pass, invalid ones still fail the
same way, event types resolve as before, and the SQLite tracker store runs in WAL mode."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import text

from bot.rasa import speedups as rasa_speedups


@pytest.fixture(scope="module", autouse=True)
def patched():
    rasa_speedups.apply()
    rasa_speedups.apply()  # idempotent


def _action() -> RemoteAction:
    return RemoteAction("action_lookup_order", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_valid_action_response_passes():
    result = {"events": [{"event": "slot", "name": "email", "value": None}], "responses": [{"text": "hi"}]}
    assert _action()._validate_action_result(result) is True


@pytest.mark.parametrize("bad", [
    {"events": [{"event": 42}]},
    {"events": "not a list"},
    {"responses": [{"text": 5}], "events": [{"no_event_key": True}]},
])
def test_invalid_action_response_still_fails(bad):
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        _action()._validate_action_result(bad)


def test_event_types_resolve_as_before():
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("action") is ActionExecuted
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no-such-event")
    assert Event.resolve_by_type("no-such-event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("slot") is SlotSet  # served from the cache


async def test_endpoint_session_is_reused_until_closed():
    endpoint = EndpointConfig("http://127.0.0.1:1")
    async with endpoint.session() as first:
        pass
    async with endpoint.session() as second:
        pass
    assert first is second and not first.closed
    await first.close()
    async with endpoint.session() as third:
        assert third is not first
    await third.close()


def test_sqlite_tracker_store_uses_wal(tmp_path, monkeypatch):
    from rasa.shared.core.domain import Domain

    from bot.rasa.stores import SettingsSQLTrackerStore

    monkeypatch.setenv("TRULYBOT_TRACKER_STORE_URL", f"sqlite:///{tmp_path}/t.db")
    store = SettingsSQLTrackerStore(domain=Domain.empty())
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_rule_policy_formats_states_only_when_rendered():
    from rasa.core.policies.policy import Policy
    from rasa.core.policies.rule_policy import RulePolicy

    states = [{"user": {"intent": "greet"}, "prev_action": {"action_name": "action_listen"}}, {}]
    lazy = RulePolicy.format_tracker_states(states)
    import copy

    assert copy.deepcopy(lazy) is lazy
    assert str(lazy) == Policy.format_tracker_states(states) and "user intent: greet" in str(lazy)
    assert lazy == Policy.format_tracker_states(states)


RESPONSES = [
    {},
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "email", "value": "a@b.example"}, {"event": "bot", "text": "hi"},
                {"event": "active_loop", "name": None}, {"event": "followup", "name": "x"},
                {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet", "confidence": 1},
                                                               "entities": [{"entity": "e", "value": 1}]}},
                {"event": "action", "name": "utter_x", "policy": None, "confidence": None}],
     "responses": [{"text": "ok"}]},
    {"events": [{"event": "slot", "name": "email"}]},  # no value
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "email", "value": 1}]},  # no event name
    {"events": [{"event": 7}]},
    {"events": ["slot"]},
    {"events": {"event": "slot"}},
    {"events": [{"event": "user", "parse_data": {"entities": [{"entity": "e"}]}}]},  # entity without value
    {"events": [{"event": "user", "parse_data": {"intent": {"confidence": "high"}}}]},
    {"events": [{"event": "action", "hide_rule_turn": "yes"}]},
    {"events": [{"event": "entities", "entities": [{"entity": "e", "value": "v"}]}]},
    {"events": [{"event": "entities"}]},
    {"events": [{"event": "bot", "timestamp": "now"}]},
    {"events": [{"event": "bot", "metadata": []}]},
    {"responses": [{"text": "hi"}, "plain string"]},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("result", RESPONSES, ids=range(len(RESPONSES)))
def test_action_response_verdict_and_error_equal_the_full_schema(result):
    from jsonschema import validators

    from bot.rasa.action_response import ActionResponseValidator

    schema = RemoteAction.action_response_format_spec()
    full = validators.validator_for(schema)(schema)
    fast = ActionResponseValidator(schema)
    assert fast.is_valid(result) == full.is_valid(result)
    if full.is_valid(result):
        fast.validate(result)
    else:
        with pytest.raises(ValidationError) as raised:
            fast.validate(result)
        assert raised.value.message == next(full.iter_errors(result)).message
