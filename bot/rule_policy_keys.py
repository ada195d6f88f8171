"""RulePolicy's feature key of a conversation, written out only when it can change a prediction.

When no rule applies, RulePolicy names its prediction by the JSON of the conversation's whole
history of states (`_create_feature_key`, rasa/core/policies/rule_policy.py), and that name is
used for one thing: whether it is one of the trained rules that no story contains, which hides
the turn from the other policies (`hide_rule_turn`). The JSON of every state, on every turn, cost
more the longer the conversation. A key of more states than the longest of those rules cannot be
one of them: such a history gets a name that says so and is no rule's, and only shorter ones are
written out. While the policy is trained (the rules not in stories not known yet) every key is
Rasa's own.
"""

from __future__ import annotations

import json
from typing import Dict, List, Optional, Text, Tuple

from rasa.core.policies.rule_policy import RULES_NOT_IN_STORIES, RulePolicy
from rasa.shared.core.domain import State

rasa_create_feature_key = RulePolicy._create_feature_key

# Per list of rules not in stories (the policy's lookup, fixed once trained): its longest rule.
_longest: Dict[int, Tuple[List[Text], int]] = {}


def longest_rule(rules: List[Text]) -> int:
    """The number of states of the longest of `rules` that are feature keys (JSON lists of
    states); the others are names such as "predicting default action with intent restart"."""
    known = _longest.get(id(rules))
    if known is None or known[0] is not rules:
        lengths = (len(json.loads(rule)) for rule in rules if rule.startswith("["))
        known = (rules, max(lengths, default=0))
        _longest[id(rules)] = known
    return known[1]


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
    RulePolicy._create_feature_key = create_feature_key
