"""Resource lifecycle values and the order-independent fold of events into a resource's state.

A `ResourceEvent` is one fact ("instance X was powered off at T"), keyed by the notification's
message_id. A `ResourceState` is what all the facts about one resource add up to. `apply_event`
is a merge, not a replay: every field is a min, a max or a "latest by (occurred_at, message_id)"
choice, so applying any permutation of a set of events, with duplicates, gives the same state as
applying them once in time order. That is what lets out-of-order and re-delivered notifications
converge.

Rules:
- a delete is terminal: nothing after it (in time or in arrival) brings the resource back;
- `created_at` is the earliest `create` event; `deleted_at` the earliest delete;
- attributes (name, state, flavor, sizes, port) come from the latest event by occurred_at,
  ties broken by message_id; an older event never overwrites them;
- identity attributes (project, address) that an event may omit are filled from any event
  that carries them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

INSTANCE = "instance"
FLOATING_IP = "floating_ip"
LOAD_BALANCER = "load_balancer"
FLAVOR = "flavor"

CREATE = "create"
CREATE_ERROR = "create_error"
DELETE = "delete"
DELETE_NOT_SCHEDULED = "delete_not_scheduled"
DELETED = "deleted"
ERROR = "error"

#: Actions after which a resource no longer exists. Billing charges nothing for a resource whose
#: `end_action` is `delete_not_scheduled` and whose `created_at` is None (it never ran).
TERMINAL_ACTIONS = frozenset({DELETE, DELETE_NOT_SCHEDULED})


@dataclass(frozen=True, slots=True)
class ResourceEvent:
    """One lifecycle fact about one resource, as translated from a notification."""

    message_id: str
    event_type: str
    resource_type: str
    resource_id: str
    project_id: str | None
    occurred_at: datetime
    action: str
    state: str | None = None
    name: str | None = None
    flavor_id: str | None = None
    flavor_name: str | None = None
    vcpus: int | None = None
    memory_mb: int | None = None
    root_gb: int | None = None
    address: str | None = None
    port_id: str | None = None
    launched_at: datetime | None = None
    terminated_at: datetime | None = None
    #: Where `occurred_at` came from: the payload field (`launched_at`, `terminated_at`,
    #: `updated_at`, ...), or `notification` when the payload had none and the message's
    #: timestamp served; None for events SWS wrote itself and for older journal rows.
    time_source: str | None = None

    @property
    def key(self) -> tuple[datetime, str]:
        """The total order events are compared by: time first, message_id to break ties."""
        return (self.occurred_at, self.message_id)

    @property
    def is_terminal(self) -> bool:
        return self.action in TERMINAL_ACTIONS


@dataclass(frozen=True, slots=True)
class ResourceState:
    """The end state of one resource: what every event about it adds up to."""

    resource_type: str
    resource_id: str
    project_id: str | None
    region: str | None
    name: str | None
    state: str | None
    flavor_id: str | None
    flavor_name: str | None
    vcpus: int | None
    memory_mb: int | None
    root_gb: int | None
    address: str | None
    port_id: str | None
    created_at: datetime | None
    deleted_at: datetime | None
    end_action: str | None
    last_action: str
    last_occurred_at: datetime
    last_message_id: str

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def last_key(self) -> tuple[datetime, str]:
        return (self.last_occurred_at, self.last_message_id)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A notification SWS could not understand, kept with the reason so an operator can act."""

    id: int
    received_at: datetime
    reason: str
    raw: str
    source: str


def new_state(event: ResourceEvent, *, region: str | None = None) -> ResourceState:
    """The state of a resource known only through `event`."""
    terminal = event.is_terminal
    return ResourceState(
        resource_type=event.resource_type,
        resource_id=event.resource_id,
        project_id=event.project_id,
        region=region,
        name=event.name,
        state=DELETED if terminal else event.state,
        flavor_id=event.flavor_id,
        flavor_name=event.flavor_name,
        vcpus=event.vcpus,
        memory_mb=event.memory_mb,
        root_gb=event.root_gb,
        address=event.address,
        port_id=event.port_id,
        created_at=event.occurred_at if event.action == CREATE else None,
        deleted_at=event.occurred_at if terminal else None,
        end_action=event.action if terminal else None,
        last_action=event.action,
        last_occurred_at=event.occurred_at,
        last_message_id=event.message_id,
    )


def apply_event(state: ResourceState | None, event: ResourceEvent) -> ResourceState:
    """Merge `event` into `state`; commutative, associative and idempotent."""
    if state is None:
        return new_state(event)
    if state.resource_type != event.resource_type or state.resource_id != event.resource_id:
        raise ValueError("event is about another resource")
    created_at, deleted_at, end_action = _lifetime(state, event)
    # One constructor call, not a chain of `replace`: the fold runs once per event applied.
    latest = state if event.key <= state.last_key else event
    last_action, last_occurred_at, last_message_id = (
        (state.last_action, state.last_occurred_at, state.last_message_id) if latest is state
        else (event.action, event.occurred_at, event.message_id)
    )
    return ResourceState(
        resource_type=state.resource_type,
        resource_id=state.resource_id,
        project_id=_smallest(state.project_id, event.project_id),
        region=state.region,
        name=latest.name,
        state=DELETED if event.is_terminal or (latest is event and deleted_at) else latest.state,
        flavor_id=latest.flavor_id,
        flavor_name=latest.flavor_name,
        vcpus=latest.vcpus,
        memory_mb=latest.memory_mb,
        root_gb=latest.root_gb,
        address=_smallest(state.address, event.address),
        port_id=latest.port_id,
        created_at=created_at,
        deleted_at=deleted_at,
        end_action=end_action,
        last_action=last_action,
        last_occurred_at=last_occurred_at,
        last_message_id=last_message_id,
    )


def fold(
    events: list[ResourceEvent], *, state: ResourceState | None = None, region: str | None = None
) -> ResourceState | None:
    """Apply `events` (in any order) to `state`; None when there is nothing at all.

    The same as `apply_event` one event at a time, computed in one pass: every field is a min,
    a max or a latest, so one new state is built per resource, not one per event."""
    if state is None and events:  # a new resource: born in `region`, no `replace` later
        state, events = new_state(events[0], region=region), events[1:]
    if len(events) > 1:
        state = _merge_all(state, events)
    elif events:
        state = apply_event(state, events[0])
    if state is not None and state.region is None and region is not None:
        state = replace(state, region=region)
    return state


def _merge_all(state: ResourceState | None, events: list[ResourceEvent]) -> ResourceState:
    # Comparisons are written out (no per-event key tuples, properties or lists): this loop
    # runs once per event applied, and `apply_event` stays the oracle in the property tests.
    base = state if state is not None else new_state(events[0])
    kind, ident = base.resource_type, base.resource_id
    latest = events[0]
    latest_at, latest_id = latest.occurred_at, latest.message_id
    created_at, deleted_at, end_action = base.created_at, base.deleted_at, base.end_action
    project_id, address = base.project_id, base.address
    terminal = state is None and latest.is_terminal
    for event in events:
        if event.resource_id != ident or event.resource_type != kind:
            raise ValueError("event is about another resource")
        at, action = event.occurred_at, event.action
        if at > latest_at or (at == latest_at and event.message_id > latest_id):
            latest, latest_at, latest_id = event, at, event.message_id
        if action == CREATE and (created_at is None or at < created_at):
            created_at = at
        if action in TERMINAL_ACTIONS:
            terminal = True
            if (deleted_at is None or end_action is None or at < deleted_at
                    or (at == deleted_at and action < end_action)):
                deleted_at, end_action = at, action
        if event.project_id is not None and (project_id is None or event.project_id < project_id):
            project_id = event.project_id
        if event.address is not None and (address is None or event.address < address):
            address = event.address
    newer = state is None or (latest_at, latest_id) > (base.last_occurred_at, base.last_message_id)
    source: ResourceState | ResourceEvent = latest if newer else base
    deleted = terminal or (newer and deleted_at is not None)
    last = (
        (latest.action, latest_at, latest_id) if newer
        else (base.last_action, base.last_occurred_at, base.last_message_id)
    )
    return ResourceState(
        kind, ident, project_id, base.region, source.name,
        DELETED if deleted else source.state, source.flavor_id, source.flavor_name,
        source.vcpus, source.memory_mb, source.root_gb, address, source.port_id,
        created_at, deleted_at, end_action, *last,
    )


def _lifetime(
    state: ResourceState, event: ResourceEvent
) -> tuple[datetime | None, datetime | None, str | None]:
    """(created_at, deleted_at, end_action) once `event` is merged into `state`."""
    created_at = state.created_at
    if event.action == CREATE:
        created_at = _earliest(created_at, event.occurred_at)
    if not event.is_terminal:
        return created_at, state.deleted_at, state.end_action
    end = (event.occurred_at, event.action)
    if state.deleted_at is not None and state.end_action is not None:
        end = min(end, (state.deleted_at, state.end_action))
    return created_at, end[0], end[1]


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def _smallest(*values: str | None) -> str | None:
    """The smallest non-None value: a deterministic pick that does not depend on order."""
    present = [value for value in values if value is not None]
    return min(present) if present else None
