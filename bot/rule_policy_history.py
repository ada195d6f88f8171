"""RulePolicy's work over a conversation's history of states, bounded by the length of its rules.

Matching: RulePolicy checks every remaining rule against every state of the history, from the
latest back (`_get_possible_keys`, rasa/core/policies/rule_policy.py), though a rule holds for
any state further back than its own length. Here the walk stops there, with the same result.

The key of a prediction no rule made: when no rule applies, RulePolicy names its prediction by the JSON of the conversation's whole
history of states (`_create_feature_key`, rasa/core/policies/rule_policy.py), and that name is
used for one thing: whether it is one of the trained rules that no story contains, which hides
the turn from the other policies (`hide_rule_turn`). The JSON of every state, on every turn, cost
more the longer the conversation. A key of more states than the longest of those rules cannot be
one of them: such a history gets a name that says so and is no rule's, and only shorter ones are
written out. While the policy is trained (the rules not in stories not known yet) every key is
Rasa's own.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Set, Text, Tuple

from rasa.core.policies.rule_policy import RULES_NOT_IN_STORIES, RulePolicy
from rasa.shared.core.domain import State

rasa_create_feature_key = RulePolicy._create_feature_key
rasa_get_possible_keys = RulePolicy._get_possible_keys

# What is worked out once from a policy's lookup (fixed once trained), by its kind and the lookup.
_derived: Dict[Tuple[str, int], Tuple[Any, Any]] = {}


def _once_per(kind: str, source: Any, compute: Callable[[Any], Any]) -> Any:
    known = _derived.get((kind, id(source)))
    if known is None or known[0] is not source:
        known = (source, compute(source))
        _derived[(kind, id(source))] = known
    return known[1]


def rule_lengths(lookup: Dict[Text, Any]) -> Dict[Text, int]:
    """The number of states of each rule of `lookup`."""
    return _once_per("lengths", lookup, lambda rules: {key: len(RulePolicy._rule_key_to_state(key)) for key in rules})


def get_possible_keys(self: RulePolicy, lookup: Dict[Text, Any], states: List[State]) -> Set[Text]:
    """Rasa's `_get_possible_keys`, stopping once the history reaches back further than the
    longest rule still possible (every rule holds for the states beyond its length)."""
    lengths = rule_lengths(lookup)
    possible_keys = set(lookup.keys())
    for turn_index, state in enumerate(reversed(states)):
        if turn_index >= max((lengths[key] for key in possible_keys), default=0):
            break
        possible_keys = {key for key in possible_keys if self._is_rule_applicable(key, turn_index, state)}
    return possible_keys


def longest_rule(rules: List[Text]) -> int:
    """The number of states of the longest of `rules` that are feature keys (JSON lists of
    states); the others are names such as "predicting default action with intent restart"."""
    return _once_per(
        "longest",
        rules,
        lambda names: max(
            (len(RulePolicy._rule_key_to_state(name)) for name in names if name.startswith("[")), default=0
        ),
    )


def create_feature_key(self: RulePolicy, states: List[State]) -> Optional[Text]:
    rules = self.lookup.get(RULES_NOT_IN_STORIES)
    if rules is not None:
        longest = longest_rule(rules)
        recent = states[-(longest + 1) :]
        # Rasa's key starts after the latest rule snippet state; without one among the latest
        # states, it has more states than any rule not in stories.
        if len(states) > longest and not any(self._is_rule_snippet_state(state) for state in recent):
            return f"<{len(states)} states, longer than any rule not in stories>"
    return rasa_create_feature_key(self, states)


def install() -> None:
    RulePolicy._get_possible_keys = get_possible_keys
    RulePolicy._create_feature_key = create_feature_key
