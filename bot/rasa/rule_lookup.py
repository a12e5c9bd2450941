"""RulePolicy's rule matching, remembered per conversation state.

For every prediction RulePolicy filters all its memorised rules (``_get_possible_keys``), once for
the rules and once more for a loop's unhappy paths, by testing each rule against each past state of
the conversation (about a hundred rules times every state of the conversation, a fifth of a turn's CPU in
the Rasa process: docs/benchmarks.md). The answer depends only on the rule table and on those
states. A rule is tested against at most as many of the latest states as it is long, and RulePolicy
hands over the whole conversation's states, so the match only needs the last few (as many as the
longest rule has) — which conversations repeat again and again. :func:`install` wraps
``_get_possible_keys`` to match on those states only, with a bounded memo per rule table keyed by a
hashable copy of them. States that cannot be hashed are matched the normal way.

``ORIGINAL_GET_POSSIBLE_KEYS`` keeps Rasa's function for comparison.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Hashable, List, Optional, Set, Tuple

from rasa.core.policies.rule_policy import RulePolicy

ORIGINAL_GET_POSSIBLE_KEYS = RulePolicy._get_possible_keys

#: Distinct (rule table, states) answers kept per policy before the memo starts over.
MEMO_SIZE = 4096


def _frozen(value: Any) -> Hashable:
    """A hashable stand-in for a state value (dicts, lists and sets of hashable leaves)."""
    if isinstance(value, dict):
        return frozenset((key, _frozen(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(_frozen(item) for item in value)
    hash(value)  # raises TypeError for anything else that cannot be a key
    return value


def states_key(states: List[Dict[str, Any]]) -> Optional[Tuple[Hashable, ...]]:
    """The states as a hashable key, or ``None`` when some value cannot be hashed."""
    try:
        return tuple(_frozen(state) for state in states)
    except TypeError:
        return None


@dataclass
class _Table:
    """What is known about one rule table: its rules, its longest rule, and answers by recent states."""

    lookup: Dict[str, str]  # kept so that its id cannot be reused by another table
    rules: frozenset
    depth: int
    answers: Dict[Tuple[Hashable, ...], frozenset] = field(default_factory=dict)


def _table(policy: RulePolicy, lookup: Dict[str, str]) -> _Table:
    tables: Dict[int, _Table] = policy.__dict__.setdefault("_trulybot_rule_tables", {})
    table = tables.get(id(lookup))
    # Valid while it is the same table with the same rules (training adds rules to a table).
    if table is None or table.lookup is not lookup or lookup.keys() != table.rules:
        depth = max((len(policy._rule_key_to_state(rule)) for rule in lookup), default=0)
        table = tables[id(lookup)] = _Table(lookup, frozenset(lookup), depth)
    return table


def _get_possible_keys(self: RulePolicy, lookup: Dict[str, str], states: List[Dict[str, Any]]) -> Set[str]:
    table = _table(self, lookup)
    # A rule is tested against at most as many past states as it has; every older state lets all
    # rules through, so the answer depends only on the last `depth` states.
    recent = states[-table.depth:] if table.depth else []
    key = states_key(recent)
    if key is None:
        return ORIGINAL_GET_POSSIBLE_KEYS(self, lookup, states)
    found = table.answers.get(key)
    if found is None:
        found = frozenset(ORIGINAL_GET_POSSIBLE_KEYS(self, lookup, recent))
        if len(table.answers) >= MEMO_SIZE:
            table.answers.clear()
        table.answers[key] = found
    return set(found)


def install() -> None:
    """Make every RulePolicy of this process remember its rule matches."""
    RulePolicy._get_possible_keys = _get_possible_keys
