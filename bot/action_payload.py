"""What the dialogue server sends the action server: the tracker with the history actions read.

Rasa sends every custom action call the whole session's events (844 KB of JSON at turn 120 of a
conversation, serialised here and parsed there, twice a balance turn), so a turn cost more the
longer the conversation. The slots, the latest message, the active loop and the other top-level
fields are sent as Rasa sends them; of the events, `events_for_actions` keeps

- every event of the latest `TAIL_USER_TURNS` user turns (from the action just before the third
  latest user message): what rasa_sdk reads (the trailing slot candidates a validation action
  checks, the latest user message and input channel, the last executed actions) and what undo
  and rewind events in those turns refer to;
- and from before them, in their order, only what an action searches the history for (audited
  in actions/*.py; tests/bot/test_action_payload.py checks every reader on long conversations
  and fails when a new one appears):
  - the latest `TRANSCRIPT_LIMIT` messages (user or bot, with text): the handoff transcript
    (actions.conversation.transcript);
  - the latest user message of each intent: the dispute's reason and a rights request's own
    message are the latest message with that intent (actions.disputes, actions.rights);
  - the latest bot message of each response: "said once a session" checks (the frustration
    acknowledgement in actions.turn, the case choice offered in actions.claims);
  - the latest value set for each slot: a slot's value before the latest message
    (actions.verification.previous_value);
  - control events (session start, restart, resets, undo, rewind), rare and cheap.

Every reader gets the same answer from these events as from the whole session: the event it
looks for is kept wherever it is. The payload grows with the number of intents, responses and
slots in the domain, not with the conversation.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Set, Text, Tuple

from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    AllSlotsReset,
    BotUttered,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from actions.conversation import TRANSCRIPT_LIMIT
from bot.action_domain import DIGEST_KEY, domain_digest

TAIL_USER_TURNS = 3
CONTROL_EVENTS = (SessionStarted, Restarted, AllSlotsReset, UserUtteranceReverted, ActionReverted)


def tail_start(events: Sequence[Event], user_turns: int = TAIL_USER_TURNS) -> int:
    """Index of the action before the `user_turns`-th latest user message (0 if fewer)."""
    seen = 0
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            seen += 1
            if seen == user_turns:
                return index - 1 if index > 0 and isinstance(events[index - 1], ActionExecuted) else index
    return 0


def is_message(event: Event) -> bool:
    return isinstance(event, (UserUttered, BotUttered)) and bool(event.text)


def events_for_actions(events: Sequence[Event]) -> List[Event]:
    """The events actions read, in their order (see the module's docstring)."""
    events = list(events)
    start = tail_start(events)
    messages = sum(1 for event in events[start:] if is_message(event))
    seen: Set[Tuple[str, Any]] = set()
    earlier: List[Event] = []
    for event in reversed(events[:start]):
        keep = isinstance(event, CONTROL_EVENTS)
        if is_message(event) and messages < TRANSCRIPT_LIMIT:
            messages += 1
            keep = True
        if isinstance(event, UserUttered):
            key: Tuple[str, Any] = ("intent", event.intent_name)
        elif isinstance(event, BotUttered):
            key = ("response", (event.metadata or {}).get("utter_action"))
        elif isinstance(event, SlotSet):
            key = ("slot", event.key)
        else:
            key = ("", None)
        if key[0] and key not in seen:
            seen.add(key)
            keep = True
        if keep:
            earlier.append(event)
    earlier.reverse()
    return earlier + events[start:]


def tracker_state_for_actions(tracker: DialogueStateTracker) -> Dict[Text, Any]:
    """Rasa's `tracker.current_state(EventVerbosity.ALL)`, with only the events actions read."""
    state = tracker.current_state(EventVerbosity.NONE)
    state["events"] = [event.as_dict() for event in events_for_actions(tracker.events)]
    return state


def action_call_format(self: RemoteAction, tracker: DialogueStateTracker, domain: Domain) -> Dict[Text, Any]:
    """RemoteAction._action_call_format, sending `tracker_state_for_actions`, and the domain's
    digest instead of the domain (bot.action_domain sends the domain when it is asked for)."""
    import rasa

    return {
        "next_action": self._name,
        "sender_id": tracker.sender_id,
        "tracker": tracker_state_for_actions(tracker),
        "version": rasa.__version__,
        DIGEST_KEY: domain_digest(domain),
    }


def install() -> None:
    RemoteAction._action_call_format = action_call_format
