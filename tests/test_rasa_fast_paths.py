"""The dask-free graph runner, the classifier's feature matrix, the rule-match memo and the tracker
copy give exactly what Rasa's own functions give.

Graph and matrix: the real model parses the same messages (odd ones included) and predicts the same
actions for the same conversations with Rasa's functions and with ours. Rules: the memo answers what
RulePolicy computes, also after rules are added to a table. Copy: after every event of several
conversations, a copy equals Rasa's replayed copy attribute by attribute and does not share mutable
state with the original.
"""
from __future__ import annotations

import copy
from typing import Any, Dict, List

import pytest
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.core.events import ActiveLoop, EntitiesAdded, LoopInterrupted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa import graph_runner, rule_lookup, sentence_matrix, tracker_copy
from tests.test_rasa_incremental_states import CONVERSATIONS, DOMAIN, act, form_lookup, user

MESSAGES = ["where is my order 1001", "hi", "", "   ", "CANCEL ORDER #WC-5521 jane@example.com",
            "what are your opening hours?", "🙂🙂", "x" * 600, "is there a fee to cancel?", "1001",
            "jane@example.com", "talk to a human please", "wo ist meine bestellung"]


@pytest.fixture(scope="module")
def agent(rasa_model_path):
    from rasa.core.agent import Agent

    return Agent.load(str(rasa_model_path))


@pytest.fixture
def rasa_functions():
    """Switch Rasa's own graph runner and feature matrix back in for the duration of a block."""
    class Switch:
        def __enter__(self) -> None:
            self.saved = DaskGraphRunner.run, LogisticRegressionClassifier._create_X
            DaskGraphRunner.run = graph_runner.ORIGINAL_RUN
            LogisticRegressionClassifier._create_X = sentence_matrix.ORIGINAL_CREATE_X

        def __exit__(self, *exc: Any) -> None:
            DaskGraphRunner.run, LogisticRegressionClassifier._create_X = self.saved

    graph_runner.install()
    sentence_matrix.install()
    return Switch()


@pytest.fixture(scope="module", autouse=True)
def _loads_with_fast_probabilities():
    from bot.rasa import intent_probabilities

    intent_probabilities.install()


async def test_parses_equal_rasas(agent, rasa_functions):
    ours = [await agent.parse_message(text) for text in MESSAGES]
    with rasa_functions:
        theirs = [await agent.parse_message(text) for text in MESSAGES]
    assert ours == theirs  # intents, confidences to the last bit, rankings, entities


async def test_predictions_equal_rasas(agent, rasa_functions):
    for name, events in CONVERSATIONS.items():
        for n in range(1, len(events) + 1, 3):
            tracker = DialogueStateTracker.from_events("s", events[:n], agent.domain.slots)
            ours = agent.processor._predict_next_with_tracker(tracker)
            with rasa_functions:
                theirs = agent.processor._predict_next_with_tracker(tracker)
            assert (ours.max_confidence, ours.policy_name, ours.probabilities) == \
                (theirs.max_confidence, theirs.policy_name, theirs.probabilities), f"{name}, {n} events"


@pytest.fixture(scope="module")
def classifier_input(agent):
    """(the model's LR classifier component, MESSAGES as the classifier receives them: featurised)."""
    from rasa.core.channels.channel import UserMessage

    runner = agent.processor.graph_runner
    classifier = next(name for name in runner._graph_schema.nodes if "LogisticRegression" in name)
    featurised = list(runner._graph_schema.nodes[classifier].needs.values())[0]
    messages = []
    for text in MESSAGES:
        messages.extend(runner.run(inputs={"__message__": [UserMessage(text)]}, targets=[featurised])[featurised])
    return runner._instantiated_nodes[classifier]._component, messages


def test_feature_matrix_equals_rasas(classifier_input):
    _, messages = classifier_input
    ours = sentence_matrix.sentence_matrix(messages)
    theirs = sentence_matrix.ORIGINAL_CREATE_X(None, messages)
    assert ours.shape == theirs.shape and ours.shape[0] == len(MESSAGES)
    assert abs(ours - theirs).max() == 0
    assert sentence_matrix.sentence_matrix([]).shape == (0, 0)


def test_intent_probabilities_equal_scikit_learns(classifier_input):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from bot.rasa import intent_probabilities

    component, messages = classifier_input
    clf = component.clf
    matrix = sentence_matrix.sentence_matrix(messages)
    assert intent_probabilities.is_multinomial(clf)
    probabilities = intent_probabilities.Probabilities(clf)
    assert np.array_equal(probabilities(matrix), LogisticRegression.predict_proba(clf, matrix))
    for one in range(matrix.shape[0]):  # one message at a time, as a parse does
        assert np.array_equal(probabilities(matrix[one]), LogisticRegression.predict_proba(clf, matrix[one]))
    with pytest.raises(ValueError, match="features"):  # a width mismatch is scikit-learn's error
        probabilities(matrix[:, :-1])
    assert isinstance(clf.predict_proba, intent_probabilities.Probabilities)  # the loaded model uses it


def _node(fn: Any, needs: Dict[str, str], target: bool = False) -> SchemaNode:
    return SchemaNode(needs=needs, uses=fn, constructor_name="create", fn="run", config={}, is_target=target)


class _Node:
    """Stands in for an instantiated GraphNode: records its inputs."""

    def __init__(self, name: str, fail: bool = False) -> None:
        self.name, self.fail, self.calls = name, fail, []

    def __call__(self, *inputs: Any) -> Any:
        self.calls.append(inputs)
        if self.fail:
            raise RuntimeError("boom")
        return self.name, [value for _, value in inputs]


def _runner(fail: str = "") -> DaskGraphRunner:
    schema = GraphSchema({
        "a": _node(object, {"x": "__input__"}),
        "b": _node(object, {"first": "a", "second": "__input__"}),
        "c": _node(object, {"i": "b", "j": "a"}, target=True),
        "unused": _node(object, {"x": "__input__"}),
    })
    runner = DaskGraphRunner.__new__(DaskGraphRunner)
    runner._graph_schema = schema
    runner._instantiated_nodes = {name: _Node(name, fail=name == fail) for name in schema.nodes}
    runner._execution_context = None
    return runner


def test_graph_run_passes_the_same_inputs_as_dask():
    ours, theirs = _runner(), _runner()
    result = graph_runner.run_graph(ours, inputs={"__input__": 7}, targets=["c"])
    expected = graph_runner.ORIGINAL_RUN(theirs, inputs={"__input__": 7}, targets=["c"])
    assert result == expected == {"c": [[[7], 7], [7]]}
    for name in "abc":
        assert ours._instantiated_nodes[name].calls == theirs._instantiated_nodes[name].calls
        assert len(ours._instantiated_nodes[name].calls) == 1  # each node once, "a" not twice
    assert ours._instantiated_nodes["unused"].calls == []
    # the plan is computed once per targets and reused
    graph_runner.run_graph(ours, inputs={"__input__": 8}, targets=["c"])
    assert list(ours.__dict__["_trulybot_plans"]) == [("c",)]


def test_graph_run_errors_are_rasas():
    with pytest.raises(GraphRunError, match="Error running runner"):
        graph_runner.run_graph(_runner(fail="b"), inputs={"__input__": 1}, targets=["c"])
    with pytest.raises(GraphRunError, match="clashes with a node name"):
        graph_runner.run_graph(_runner(), inputs={"__input__": "a"}, targets=["c"])


def _rule_policy(agent) -> RulePolicy:
    for node in agent.processor.graph_runner._instantiated_nodes.values():
        if isinstance(node._component, RulePolicy):
            return node._component
    raise AssertionError("the model has no RulePolicy")


def test_rule_memo_answers_what_rasa_computes(agent):
    policy = _rule_policy(agent)
    lookup = policy.lookup["rules"]
    for events in CONVERSATIONS.values():
        for n in range(1, len(events) + 1):
            tracker = DialogueStateTracker.from_events("s", events[:n], agent.domain.slots)
            states = policy._prediction_states(tracker, agent.domain, False, rule_only_data=policy._get_rule_only_data())
            expected = rule_lookup.ORIGINAL_GET_POSSIBLE_KEYS(policy, lookup, states)
            assert rule_lookup._get_possible_keys(policy, lookup, states) == expected
            assert rule_lookup._get_possible_keys(policy, lookup, states) == expected  # from the memo


def test_rule_memo_sees_rules_added_to_a_table(agent):
    policy = _rule_policy(agent)
    lookup = dict(policy.lookup["rules"])
    tracker = DialogueStateTracker.from_events("s", CONVERSATIONS["form, then more"][:12], agent.domain.slots)
    states = policy._prediction_states(tracker, agent.domain, False)
    before = rule_lookup._get_possible_keys(policy, lookup, states)
    new_rule = '[{"prev_action": {"action_name": "action_listen"}}]'
    lookup[new_rule] = "utter_greet"
    after = rule_lookup._get_possible_keys(policy, lookup, states)
    assert after == rule_lookup.ORIGINAL_GET_POSSIBLE_KEYS(policy, lookup, states)
    assert new_rule in after and new_rule not in before


def test_unhashable_states_are_matched_without_the_memo(agent):
    policy = _rule_policy(agent)
    states: List[Dict[str, Any]] = [{"user": {"intent": "greet", "odd": bytearray(b"x")}}]
    assert rule_lookup.states_key(states) is None
    lookup = policy.lookup["rules"]
    assert rule_lookup._get_possible_keys(policy, lookup, states) == \
        rule_lookup.ORIGINAL_GET_POSSIBLE_KEYS(policy, lookup, states)


def _state(tracker: DialogueStateTracker) -> Dict[str, Any]:
    attributes = {k: v for k, v in vars(tracker).items() if not k.startswith("_trulybot")}
    attributes["slots"] = {name: (slot.value, slot._has_been_set, type(slot)) for name, slot in tracker.slots.items()}
    attributes["events"] = list(tracker.events)
    for key in ("latest_message", "latest_bot_utterance"):
        value = attributes[key]
        attributes[key] = value if any(value is e for e in tracker.events) else ("fresh", type(value), value)
    return attributes


EXTRA = [act("action_listen"), user("track_order", order_number="1001"), EntitiesAdded([{"entity": "email", "value": "a@b.c"}]),
         act("order_lookup_form"), ActiveLoop("order_lookup_form"), LoopInterrupted(True),
         SlotSet("order_number", "1002"), act("action_listen")]


@pytest.mark.parametrize("name", sorted(CONVERSATIONS) + ["interrupted loop"])
def test_copy_equals_a_replayed_copy_after_every_event(name):
    events = CONVERSATIONS.get(name) or (EXTRA + form_lookup())
    tracker = DialogueStateTracker("s", DOMAIN.slots)
    tracker.model_id, tracker.assistant_id = "m", "a"
    for n, event in enumerate(events, 1):
        tracker.update(event)
        ours, theirs = tracker_copy.fast_copy(tracker), tracker_copy.ORIGINAL_COPY(tracker)
        assert _state(ours) == _state(theirs), f"after event {n}"
        assert ours.current_state() == theirs.current_state()
        # the copy is independent: changing it leaves the original as it was
        before = copy.deepcopy(tracker.current_state())
        ours.update(SlotSet("email", "changed@example.com"))
        ours.update(ActiveLoop("order_lookup_form"))
        ours.update(LoopInterrupted(True))
        assert tracker.current_state() == before


def test_bounded_history_falls_back_to_rasas_copy():
    tracker = DialogueStateTracker("s", DOMAIN.slots, max_event_history=3)
    for event in CONVERSATIONS["form, then more"][:20]:
        tracker.update(event)
    assert _state(tracker_copy.fast_copy(tracker)) == _state(tracker_copy.ORIGINAL_COPY(tracker))
