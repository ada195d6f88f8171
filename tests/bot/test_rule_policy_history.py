"""RulePolicy's work over a long history: the rules that apply are Rasa's own, found without
walking back further than the rules reach; and the key of a long history is written out only
when it could be one of the rules not in stories (whether a prediction's name is one of them,
which hides the turn, is the same as with Rasa's own key)."""

from __future__ import annotations

import json
import random

import pytest
from rasa.core.policies.rule_policy import RULES_NOT_IN_STORIES, RulePolicy
from rasa.shared.core.constants import RULE_SNIPPET_ACTION_NAME

from bot import rule_policy_history


def state(rng: random.Random) -> dict:
    return {
        "prev_action": {"action_name": rng.choice(["action_listen", "utter_greet", "verification_form"])},
        "user": {"intent": rng.choice(["greet", "inform", "ask_balance"])},
    }


def policy(rules_not_in_stories) -> RulePolicy:
    rule_policy = RulePolicy.__new__(RulePolicy)  # only its lookup is read
    rule_policy.lookup = {RULES_NOT_IN_STORIES: rules_not_in_stories} if rules_not_in_stories is not None else {}
    return rule_policy


def rasa_key(states) -> str:
    return rule_policy_history.rasa_create_feature_key(policy(None), states)


@pytest.mark.parametrize("seed", range(20))
def test_a_history_is_one_of_the_rules_not_in_stories_exactly_when_rasas_key_is(seed: int) -> None:
    rng = random.Random(seed)
    rules = [[state(rng) for _ in range(rng.randint(1, 4))] for _ in range(6)]
    names = [rasa_key(rule) for rule in rules] + ["predicting default action with intent restart"]
    rule_policy = policy(names)
    histories = [rule for rule in rules] + [[state(rng) for _ in range(length)] for length in range(1, 40)]
    # Longer histories that end like a rule, one after a rule snippet (as in training data).
    histories += [[state(rng) for _ in range(10)] + rule for rule in rules]
    snippet = {"prev_action": {"action_name": RULE_SNIPPET_ACTION_NAME}}
    histories += [[state(rng) for _ in range(10)] + [snippet] + rule for rule in rules]
    longest = max(len(rule) for rule in rules)
    assert rule_policy_history.longest_rule(names) == longest
    for history in histories:
        ours = rule_policy_history.create_feature_key(rule_policy, history)
        assert (ours in names) == (rasa_key(history) in names)
        if len(history) <= longest or snippet in history[-longest - 1 :]:
            assert ours == rasa_key(history)


def test_a_long_history_is_not_written_out() -> None:
    rng = random.Random(1)
    rule_policy = policy([rasa_key([state(rng), state(rng)])])
    history = [state(rng) for _ in range(500)]
    key = rule_policy_history.create_feature_key(rule_policy, history)
    assert key == "<500 states, longer than any rule not in stories>"
    assert not key.startswith("[")  # no rule's key, which is a JSON list


def test_while_the_policy_is_trained_every_key_is_rasas_own() -> None:
    rng = random.Random(2)
    history = [state(rng) for _ in range(50)]
    assert rule_policy_history.create_feature_key(policy(None), history) == rasa_key(history)


def rule_state(rng: random.Random, start: bool = False) -> dict:
    sub_states = {"user": {"intent": rng.choice(["greet", "inform", "ask_balance"])}}
    if not start:
        sub_states["prev_action"] = {"action_name": rng.choice(["action_listen", "utter_greet", "verification_form"])}
    if rng.random() < 0.3:
        sub_states["active_loop"] = {"name": rng.choice(["verification_form", "should_not_be_set"])}
    if rng.random() < 0.3:
        sub_states["slots"] = {"verified": rng.choice([(1.0,), "should_not_be_set"])}
    return sub_states


@pytest.mark.parametrize("seed", range(20))
def test_the_rules_that_apply_to_a_history_are_rasas_own(seed: int) -> None:
    rng = random.Random(seed)
    rules = [
        [rule_state(rng, start=(position == 0 and rng.random() < 0.2)) for position in range(rng.randint(1, 5))]
        for _ in range(40)
    ]
    lookup = {json.dumps(rule, sort_keys=True): "utter_greet" for rule in rules}
    rule_policy = policy(None)
    for length in [1, 2, 3, 5, 8, 30, 200]:
        for ending in rules[:10]:
            history = [rule_state(rng, start=(position == 0)) for position in range(length)] + ending
            history = [{**state, "user": dict(state["user"])} for state in history]
            expected = rule_policy_history.rasa_get_possible_keys(rule_policy, lookup, history)
            assert rule_policy_history.get_possible_keys(rule_policy, lookup, history) == expected
            assert json.dumps(ending, sort_keys=True) in expected or any(s.get("prev_action") is None for s in ending)


def test_a_long_history_is_walked_back_only_as_far_as_the_longest_rule(monkeypatch) -> None:
    rng = random.Random(3)
    rules = [[rule_state(rng) for _ in range(length)] for length in (1, 2, 3)]
    lookup = {json.dumps(rule, sort_keys=True): "utter_greet" for rule in rules}
    looked_at = []
    is_rule_applicable = RulePolicy._is_rule_applicable
    monkeypatch.setattr(
        RulePolicy,
        "_is_rule_applicable",
        lambda self, key, turn_index, state: (
            looked_at.append(turn_index) or is_rule_applicable(self, key, turn_index, state)
        ),
    )
    history = [rule_state(rng) for _ in range(500)] + rules[2]
    rule_policy_history.get_possible_keys(policy(None), lookup, history)
    assert max(looked_at) <= 2
