"""A resource's billable spans, re-derived from its whole event history by a pure function.

The history may arrive in any order and with duplicates: events are de-duplicated by
message_id and sorted by `(occurred_at, message_id)` before the walk, so every arrival order
gives the same spans. Rules:
- charging starts at the earliest `create` event's `occurred_at` (never `launched_at`, which
  Nova resets on resize and unshelve) and ends at the earliest delete;
- no `create` (a `create_error`, or a `delete_not_scheduled` alone) means no spans at all;
- `resize_finish` and `resize_revert` switch the item type (the flavor) at their time;
- power_off, suspend, pause, shelve and soft_delete stop a resource; shelve_offload offloads
  it; power_on, resume, unpause, unshelve and restore run it again. The item's `ItemPolicy`
  says whether stopped and offloaded time is charged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sws.billing.model import INSTANCE, STANDARD, ItemPolicy
from sws.events.model import CREATE, TERMINAL_ACTIONS, ResourceEvent

RUNNING, STOPPED, OFFLOADED = "running", "stopped", "offloaded"
_STATE_AFTER = {
    "power_off": STOPPED,
    "suspend": STOPPED,
    "pause": STOPPED,
    "shelve": STOPPED,
    "soft_delete": STOPPED,
    "shelve_offload": OFFLOADED,
    "power_on": RUNNING,
    "resume": RUNNING,
    "unpause": RUNNING,
    "unshelve": RUNNING,
    "restore": RUNNING,
}
_FLAVOR_ACTIONS = frozenset({CREATE, "resize_finish", "resize_revert"})


@dataclass(frozen=True, slots=True)
class Span:
    """`[start, end)` during which a resource is charged as `item_type`; `end` None: still on."""

    start: datetime
    end: datetime | None
    item_type: str


def ordered(events: Iterable[ResourceEvent]) -> list[ResourceEvent]:
    """De-duplicated by message_id, in (occurred_at, message_id) order."""
    unique = {event.message_id: event for event in events}
    return sorted(unique.values(), key=lambda event: event.key)


def derive_spans(events: Iterable[ResourceEvent], policy: ItemPolicy) -> list[Span]:
    """The billable spans of one resource, whatever order its events came in."""
    history = ordered(events)
    creates = [e for e in history if e.action == CREATE]
    if not creates:
        return []
    start, item_type = creates[0].occurred_at, _item_type(creates[0])
    ends = [
        e.occurred_at for e in history if e.action in TERMINAL_ACTIONS and e.occurred_at >= start
    ]
    end = min(ends, default=None)
    inside = [e for e in history if e.occurred_at >= start and (end is None or e.occurred_at < end)]
    return _merge(_walk(inside, (start, end), item_type, policy))


def _walk(
    events: Sequence[ResourceEvent],
    life: tuple[datetime, datetime | None],
    item_type: str,
    policy: ItemPolicy,
) -> list[Span]:
    spans: list[Span] = []
    (since, end), state = life, RUNNING
    for event in events:
        new_state = _STATE_AFTER.get(event.action, state)
        new_type = _item_type(event) if event.action in _FLAVOR_ACTIONS else item_type
        if (new_state, new_type) != (state, item_type):
            spans.extend(_span(since, event.occurred_at, item_type, state, policy))
            state, item_type, since = new_state, new_type, event.occurred_at
    spans.extend(_span(since, end, item_type, state, policy))
    return spans


def _span(
    start: datetime, end: datetime | None, item_type: str, state: str, policy: ItemPolicy
) -> list[Span]:
    charged = (
        state == RUNNING
        or (state == STOPPED and policy.charge_stopped)
        or (state == OFFLOADED and policy.charge_offloaded)
    )
    if not charged or (end is not None and end <= start):
        return []
    return [Span(start, end, item_type)]


def _item_type(event: ResourceEvent) -> str:
    if event.resource_type != INSTANCE:
        return STANDARD
    return event.flavor_name or event.flavor_id or "unknown"


def _merge(spans: list[Span]) -> list[Span]:
    """Adjacent spans of the same item type become one."""
    merged: list[Span] = []
    for span in spans:
        last = merged[-1] if merged else None
        if last is not None and last.end == span.start and last.item_type == span.item_type:
            merged[-1] = Span(last.start, span.end, span.item_type)
        else:
            merged.append(span)
    return merged


def spans_to_json(spans: Sequence[Span]) -> str:
    return json.dumps(
        [[s.start.isoformat(), s.end.isoformat() if s.end else None, s.item_type] for s in spans]
    )


def spans_from_json(text: str) -> list[Span]:
    return [
        Span(datetime.fromisoformat(a), datetime.fromisoformat(b) if b else None, t)
        for a, b, t in json.loads(text)
    ]
