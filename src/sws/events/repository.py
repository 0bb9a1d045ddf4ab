"""Persistence of the events domain in portable SQL (SQLite, PostgreSQL, MariaDB).

Writes are batched: one SELECT per table per chunk of ids, then one executemany per table.
No dialect-specific upserts: callers select what exists, then insert or update. On PostgreSQL
the same reads and writes are set-based (`events.bulk`): one `= ANY(array)` per look-up, COPY
for appends, one `UPDATE ... FROM unnest(...)` for the states that changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    RowMapping,
    Table,
    bindparam,
    func,
    select,
    tuple_,
    update,
)

from sws.events import bulk
from sws.events.model import DeadLetter, ResourceEvent, ResourceState
from sws.events.tables import dead_letters, processed_messages, resource_events, resources

#: Ids per IN (...) list: well under every engine's bound-parameter limit.
CHUNK = 500

ResourceKey = tuple[str, str]
_T = TypeVar("_T")

_STATE_FIELDS = tuple(field.name for field in dataclasses.fields(ResourceState))
_EVENT_FIELDS = tuple(field.name for field in dataclasses.fields(ResourceEvent))
_KEY_COLUMNS = ("resource_type", "resource_id")



def chunks(items: Sequence[_T], size: int = CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def find_processed(conn: Connection, message_ids: Sequence[str]) -> set[str]:
    """The subset of `message_ids` already handled by an earlier batch."""
    if bulk.is_postgresql(conn):
        return set(bulk.existing(conn, "processed_messages", "message_id", message_ids))
    found: set[str] = set()
    column = processed_messages.c.message_id
    for chunk in chunks(message_ids):
        found.update(conn.execute(select(column).where(column.in_(chunk))).scalars())
    return found


def record_processed(
    conn: Connection, outcomes: Iterable[tuple[str, str]], *, received_at: datetime
) -> None:
    """Remember (message_id, outcome) pairs so a re-delivery is recognised as a duplicate."""
    if bulk.is_postgresql(conn):
        lines = [(message_id, outcome, received_at) for message_id, outcome in outcomes]
        bulk.copy_rows(conn, processed_messages, ("message_id", "outcome", "received_at"), lines)
        return
    rows = [
        {"message_id": message_id, "outcome": outcome, "received_at": received_at}
        for message_id, outcome in outcomes
    ]
    if rows:
        conn.execute(processed_messages.insert(), rows)


def claim_new(
    conn: Connection, outcomes: Sequence[tuple[str, str]], *, received_at: datetime
) -> set[str]:
    """Record the (message_id, outcome) pairs not handled before; return their ids. On
    PostgreSQL one INSERT ... ON CONFLICT DO NOTHING does both: a message a concurrent worker
    has just recorded waits for its commit and then counts as seen."""
    if bulk.is_postgresql(conn):
        constants = {"received_at": received_at}
        return bulk.insert_new_keys(conn, processed_messages, outcomes, constants)
    seen = find_processed(conn, [message_id for message_id, _ in outcomes])
    fresh = [(message_id, outcome) for message_id, outcome in outcomes if message_id not in seen]
    record_processed(conn, fresh, received_at=received_at)
    return {message_id for message_id, _ in fresh}


def insert_events(
    conn: Connection, events: Sequence[ResourceEvent], *, region: str, received_at: datetime
) -> None:
    """Append applied events to the journal."""
    if bulk.is_postgresql(conn):
        bulk.copy_records(
            conn, resource_events, events, {"region": region, "received_at": received_at}
        )
        return
    rows = [_event_row(event, region=region, received_at=received_at) for event in events]
    if rows:
        conn.execute(resource_events.insert(), rows)


def _event_row(event: ResourceEvent, *, region: str, received_at: datetime) -> dict[str, Any]:
    row = {name: getattr(event, name) for name in _EVENT_FIELDS}
    row["region"] = region
    row["received_at"] = received_at
    return row


def insert_dead_letters(conn: Connection, letters: Sequence[Mapping[str, Any]]) -> None:
    """Keep rows of (received_at, reason, raw, source) for notifications nobody understood."""
    if letters:
        conn.execute(dead_letters.insert(), list(letters))


def load_states(conn: Connection, keys: Sequence[ResourceKey]) -> dict[ResourceKey, ResourceState]:
    """Current states of `keys`, locked for this transaction where the engine supports it."""
    wanted = set(keys)
    ids = sorted({resource_id for _, resource_id in wanted})
    states: dict[ResourceKey, ResourceState] = {}
    if bulk.is_postgresql(conn):
        found = bulk.locked_records(
            conn, resources, ResourceState, _STATE_FIELDS, "resource_id", ids
        )
        return {key: state for state in found if (key := _key(state)) in wanted}
    for chunk in chunks(ids):
        query = select(resources).where(resources.c.resource_id.in_(chunk))
        query = query.with_for_update()
        for row in conn.execute(query).mappings():
            state = _state_from_row(row)
            if (state.resource_type, state.resource_id) in wanted:
                states[(state.resource_type, state.resource_id)] = state
    return states


def _key(state: ResourceState) -> ResourceKey:
    return (state.resource_type, state.resource_id)


def save_states(
    conn: Connection,
    *,
    created: Sequence[ResourceState],
    changed: Sequence[ResourceState],
    updated_at: datetime,
) -> None:
    """Insert states seen for the first time, update the others."""
    if bulk.is_postgresql(conn):
        constants = {"updated_at": updated_at}
        bulk.copy_records(conn, resources, created, constants)
        bulk.update_records(
            conn, "resources", _KEY_COLUMNS, changed, constants, indexed="resource_id"
        )
        return
    if created:
        conn.execute(resources.insert(), [_state_row(s, updated_at=updated_at) for s in created])
    if changed:
        conn.execute(_UPDATE_STATE, [_update_row(s, updated_at=updated_at) for s in changed])


_UPDATE_STATE = (
    update(resources)
    .where(resources.c.resource_type == bindparam("key_type"))
    .where(resources.c.resource_id == bindparam("key_id"))
)


def _state_row(state: ResourceState, *, updated_at: datetime) -> dict[str, Any]:
    row = {name: getattr(state, name) for name in _STATE_FIELDS}
    row["updated_at"] = updated_at
    return row


def _update_row(state: ResourceState, *, updated_at: datetime) -> dict[str, Any]:
    row = _state_row(state, updated_at=updated_at)
    row["key_type"] = row.pop("resource_type")
    row["key_id"] = row.pop("resource_id")
    return row


def _state_from_row(row: RowMapping) -> ResourceState:
    return ResourceState(**{name: row[name] for name in _STATE_FIELDS})


def _dead_letter_from_row(row: RowMapping) -> DeadLetter:
    return DeadLetter(
        id=row["id"],
        received_at=row["received_at"],
        reason=row["reason"],
        raw=row["raw"],
        source=row["source"],
    )


def dead_letter_page(
    conn: Connection, *, limit: int, offset: int, before: int | None = None,
    source: str | None = None,
) -> list[DeadLetter]:
    """Dead letters, newest first; those older than the id `before` when it is given."""
    query = select(dead_letters).order_by(dead_letters.c.id.desc()).limit(limit).offset(offset)
    if before is not None:
        query = query.where(dead_letters.c.id < before)
    if source is not None:
        query = query.where(dead_letters.c.source == source)
    return [_dead_letter_from_row(row) for row in conn.execute(query).mappings()]


def count_dead_letters(conn: Connection) -> int:
    return _count(conn, dead_letters)


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def totals(conn: Connection) -> dict[str, int]:
    """Row counts an operator checks after an import or a demo."""
    live = select(func.count()).select_from(resources).where(resources.c.deleted_at.is_(None))
    return {
        "events applied": _count(conn, resource_events),
        "resources tracked": _count(conn, resources),
        "resources live": int(conn.execute(live).scalar_one()),
        "dead letters": _count(conn, dead_letters),
    }


def resources_by_id(conn: Connection, resource_id: str) -> list[ResourceState]:
    query = select(resources).where(resources.c.resource_id == resource_id)
    return [_state_from_row(row) for row in conn.execute(query).mappings()]


def resource_page(
    conn: Connection,
    *,
    project_id: str | None,
    resource_type: str | None,
    include_deleted: bool,
    limit: int,
    offset: int,
    after: ResourceKey | None = None,
) -> list[ResourceState]:
    """Resources of one project (or of every project when None), in key order; those past
    the key `after` when it is given."""
    query = select(resources)
    if after is not None:
        key = tuple_(*[resources.c[name] for name in _KEY_COLUMNS])
        query = query.where(key > tuple_(*after))
    if project_id is not None:
        query = query.where(resources.c.project_id == project_id)
    if resource_type is not None:
        query = query.where(resources.c.resource_type == resource_type)
    if not include_deleted:
        query = query.where(resources.c.deleted_at.is_(None))
    query = query.order_by(*[resources.c[name] for name in _KEY_COLUMNS])
    query = query.limit(limit).offset(offset)
    return [_state_from_row(row) for row in conn.execute(query).mappings()]


def events_of(conn: Connection, key: ResourceKey) -> list[ResourceEvent]:
    """The journal of one resource, in time order."""
    query = (
        select(resource_events)
        .where(resource_events.c.resource_type == key[0])
        .where(resource_events.c.resource_id == key[1])
        .order_by(resource_events.c.occurred_at, resource_events.c.message_id)
    )
    rows = conn.execute(query).mappings()
    return [ResourceEvent(**{name: row[name] for name in _EVENT_FIELDS}) for row in rows]
