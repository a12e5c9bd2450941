"""RulePolicy's rule matching, remembered per conversation state.

For every prediction RulePolicy filters all its memorised rules (``_get_possible_keys``), once for
the rules and once more for a loop's unhappy paths, by testing each rule against each past state of
the conversation (about a hundred rules times up to five states here, a fifth of a turn's CPU in
the Rasa process: docs/benchmarks.md). The answer depends only on the rule table and on those
states, and conversations go through the same few states again and again, so :func:`install`
wraps ``_get_possible_keys`` with a bounded memo keyed by the rule table's identity and a hashable
copy of the states. States that cannot be hashed are matched the normal way.

``ORIGINAL_GET_POSSIBLE_KEYS`` keeps Rasa's function for comparison.
"""
from __future__ import annotations

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


def _get_possible_keys(self: RulePolicy, lookup: Dict[str, str], states: List[Dict[str, Any]]) -> Set[str]:
    key = states_key(states)
    if key is None:
        return ORIGINAL_GET_POSSIBLE_KEYS(self, lookup, states)
    memo: Dict[Tuple[int, Any], Tuple[Dict[str, str], frozenset, frozenset]] = self.__dict__.setdefault(
        "_trulybot_rule_memo", {})
    found = memo.get((id(lookup), key))
    # Valid while it is the same table with the same rules (training adds rules to a table).
    if found is not None and found[0] is lookup and lookup.keys() == found[1]:
        return set(found[2])
    keys = ORIGINAL_GET_POSSIBLE_KEYS(self, lookup, states)
    if len(memo) >= MEMO_SIZE:
        memo.clear()
    # The table itself is kept so that its id cannot be reused by another one.
    memo[(id(lookup), key)] = (lookup, frozenset(lookup), frozenset(keys))
    return keys


def install() -> None:
    """Make every RulePolicy of this process remember its rule matches."""
    RulePolicy._get_possible_keys = _get_possible_keys
