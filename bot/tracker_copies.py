"""Copies of a tracker made from its state instead of by replaying the whole session.

Rasa copies a tracker by replaying every event of it into a new one: before each action it runs
(`MessageProcessor._run_action`: `tracker.copy()`), and each time a form validates or asks for a
slot (`FormAction._temporary_tracker`: the session replayed with a few events added). The cost
grew with the conversation: late in a 60-second load test, with about a thousand events a
conversation, these replays took a quarter of the dialogue server's time and the throughput fell
to half. A tracker's state is what its events replay to (Rasa keeps it so), so copying the state
gives the same tracker; tests/bot/test_tracker_copies.py checks that after every kind of event.
"""

from __future__ import annotations

from typing import List

from rasa.core.actions.forms import FormAction
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_cache import working_copy

rasa_tracker_copy = DialogueStateTracker.copy  # Rasa's own, as the reference
rasa_form_temporary_tracker = FormAction._temporary_tracker


def copy_with_events(tracker: DialogueStateTracker, events: List[Event], domain: Domain) -> DialogueStateTracker:
    """What `DialogueStateTracker.from_events(sender_id, tracker.events_after_latest_restart() +
    events, slots=domain.slots)` gives, without replaying the session: `working_copy` of the
    tracker, then `events` applied. After a restart the replay (of the events after it) differs
    from the state: replayed then."""
    after_restart = tracker.events_after_latest_restart()
    if len(after_restart) < len(tracker.events):
        return DialogueStateTracker.from_events(tracker.sender_id, after_restart + events, slots=domain.slots)
    copied = working_copy(tracker)
    for event in events:
        copied.update(event)
    return copied


def form_temporary_tracker(
    self: FormAction, current_tracker: DialogueStateTracker, additional_events: List[Event], domain: Domain
) -> DialogueStateTracker:
    """FormAction._temporary_tracker, with the same events added to a copy of the state."""
    added = [SlotSet(REQUESTED_SLOT, self.get_slot_to_fill(current_tracker)), ActionExecuted(self.name())]
    return copy_with_events(current_tracker, added + list(additional_events), domain)


def install() -> None:
    DialogueStateTracker.copy = working_copy  # a duplicate in the same state, changed on its own
    FormAction._temporary_tracker = form_temporary_tracker
