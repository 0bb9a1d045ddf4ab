"""Use cases of the events domain: ingest notification batches, import captures, read results.

`ingest` applies one batch in one transaction:
1. translate every notification (outside the transaction; pure and fast);
2. dead-letter the malformed ones with their reason;
3. skip message_ids seen before, in an earlier batch or earlier in this one;
4. journal the new events, remember every handled message_id (accepted or ignored);
5. re-fold the touched resources: load their states in one query, merge, write back.

Re-delivered and reordered notifications therefore converge to the state of the ordered
sequence (see `events.model`). Dead letters are not remembered as processed: a malformed message
delivered twice is dead-lettered twice, once per delivery.

Two workers racing on the same resource or message: one transaction fails on a unique key and
the batch is retried, after which the loser sees the winner's rows. (On PostgreSQL a message
the other worker is recording makes this one wait for its commit, then counts as seen.)
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection

from sws.billing import service as billing
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Contended, Duplicate, Invalid, NotFound
from sws.events import repository
from sws.events.bus import Envelope
from sws.events.model import (
    INSTANCE,
    TERMINAL_ACTIONS,
    DeadLetter,
    ResourceEvent,
    ResourceState,
    fold,
)
from sws.events.translate import Ignored, MalformedNotification, translate

Raw = Envelope | str | bytes
ATTEMPTS = 3
MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class IngestCounts:
    """What happened to each notification of a batch (or of a whole import)."""

    accepted: int = 0
    duplicate: int = 0
    dead_lettered: int = 0
    ignored: int = 0

    def __add__(self, other: IngestCounts) -> IngestCounts:
        return IngestCounts(
            accepted=self.accepted + other.accepted,
            duplicate=self.duplicate + other.duplicate,
            dead_lettered=self.dead_lettered + other.dead_lettered,
            ignored=self.ignored + other.ignored,
        )

    @property
    def total(self) -> int:
        return self.accepted + self.duplicate + self.dead_lettered + self.ignored


class Incoming(NamedTuple):
    """One raw notification and where it came from (`line` for files, None for the bus). A
    tuple, not a frozen dataclass: one is built per notification, and a frozen dataclass's
    `__init__` costs three `object.__setattr__` calls."""

    raw: Raw
    source: str
    line: int | None = None


@dataclass(slots=True)
class _Triage:
    """A translated batch, before the database is asked what it has already seen."""

    events: list[ResourceEvent] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    dead: list[dict[str, Any]] = field(default_factory=list)
    duplicate: int = 0


def ingest(
    *, db: Database, envelopes: Iterable[Raw], clock: Clock, region: str, source: str = "bus"
) -> IngestCounts:
    """Apply one batch of notifications (envelopes, inner messages, or their JSON text)."""
    items = [Incoming(raw, source) for raw in envelopes]
    return ingest_items(db=db, items=items, clock=clock, region=region)


def import_jsonl(
    *,
    db: Database,
    lines: Iterable[str],
    clock: Clock,
    region: str,
    batch_size: int = 1000,
    source: str = "import",
) -> IngestCounts:
    """Import a capture, one notification per line; blank lines are skipped."""
    if batch_size < 1:
        raise Invalid("batch_size must be at least 1", field="batch_size")
    counts, batch = IngestCounts(), []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            batch.append(Incoming(line, source, number))
        if len(batch) >= batch_size:
            counts += ingest_items(db=db, items=batch, clock=clock, region=region)
            batch = []
    if batch:
        counts += ingest_items(db=db, items=batch, clock=clock, region=region)
    return counts


def bus_consumer(
    *, db: Database, clock: Clock, region: str
) -> Callable[[Sequence[Envelope]], IngestCounts]:
    """A handler for `InProcessBus.subscribe`: each flushed batch is one `ingest`."""

    def consume(batch: Sequence[Envelope]) -> IngestCounts:
        return ingest(db=db, envelopes=batch, clock=clock, region=region)

    return consume


def ingest_items(
    *, db: Database, items: Sequence[Incoming], clock: Clock, region: str
) -> IngestCounts:
    """Translate, then apply in one transaction (retried if a concurrent worker collided)."""
    received_at = clock.now()
    triage = _triage(items, received_at)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with db.begin() as conn:
                return _apply(conn, triage, region=region, received_at=received_at)
        except (Duplicate, Contended):  # a racing worker: its rows are there on the next try
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def ingest_in(
    conn: Connection, *, envelopes: Iterable[Raw], received_at: datetime, region: str,
    source: str,
) -> IngestCounts:
    """Apply a batch inside the caller's transaction: it commits with the caller's writes."""
    triage = _triage([Incoming(raw, source) for raw in envelopes], received_at)
    return _apply(conn, triage, region=region, received_at=received_at)


def _triage(items: Sequence[Incoming], received_at: datetime) -> _Triage:
    triage, seen = _Triage(), set()
    for item in items:
        try:
            result = translate(item.raw)
        except MalformedNotification as exc:
            triage.dead.append(_dead_letter(item, exc.reason, received_at))
            continue
        if result.message_id in seen:
            triage.duplicate += 1
            continue
        seen.add(result.message_id)
        if isinstance(result, Ignored):
            triage.ignored.append(result)
        else:
            triage.events.append(result)
    return triage


def _dead_letter(item: Incoming, reason: str, received_at: datetime) -> dict[str, Any]:
    where = f"line {item.line}: " if item.line is not None else ""
    source = item.source if item.line is None else f"{item.source}:{item.line}"
    return {
        "received_at": received_at,
        "reason": where + reason,
        "raw": _raw_text(item.raw),
        "source": source[-255:],
    }


def _raw_text(raw: Raw) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bytes | bytearray):
        return bytes(raw).decode("utf-8", errors="replace")
    try:
        return json.dumps(raw, default=repr)
    except (TypeError, ValueError):
        return repr(raw)


def _apply(
    conn: Connection, triage: _Triage, *, region: str, received_at: datetime
) -> IngestCounts:
    outcomes = [(e.message_id, "accepted") for e in triage.events]
    outcomes += [(i.message_id, "ignored") for i in triage.ignored]
    fresh = repository.claim_new(conn, outcomes, received_at=received_at)
    events = [e for e in triage.events if e.message_id in fresh]
    ignored = [i for i in triage.ignored if i.message_id in fresh]
    repository.insert_events(conn, events, region=region, received_at=received_at)
    repository.insert_dead_letters(conn, triage.dead)
    renamed = _refold(conn, events, region=region, received_at=received_at)
    _follow_up(conn, events, renamed, received_at=received_at)
    return IngestCounts(
        accepted=len(events),
        duplicate=triage.duplicate + len(outcomes) - len(fresh),
        dead_lettered=len(triage.dead),
        ignored=len(ignored),
    )


def _refold(
    conn: Connection, events: Sequence[ResourceEvent], *, region: str, received_at: datetime
) -> list[tuple[str, str, str]]:
    """Merge `events` into the stored states of the resources they touch; the resources whose
    name changed, as (type, id, new name)."""
    grouped: dict[repository.ResourceKey, list[ResourceEvent]] = defaultdict(list)
    for event in events:
        grouped[(event.resource_type, event.resource_id)].append(event)
    stored = repository.load_states(conn, list(grouped))
    created: list[ResourceState] = []
    changed: list[ResourceState] = []
    for key, group in grouped.items():
        before = stored.get(key)
        after = fold(group, state=before, region=region)
        if after is not None and after != before:
            (changed if before is not None else created).append(after)
    repository.save_states(conn, created=created, changed=changed, updated_at=received_at)
    return [(s.resource_type, s.resource_id, s.name) for s in changed
            if s.name and s.name != stored[(s.resource_type, s.resource_id)].name]


class _At:
    """A clock that reads the moment a batch was received, for the follow-ups' writes."""

    def __init__(self, moment: datetime) -> None:
        self._moment = moment

    def now(self) -> datetime:
        return self._moment


def _follow_up(
    conn: Connection, events: Sequence[ResourceEvent], renamed: list[tuple[str, str, str]],
    *, received_at: datetime,
) -> None:
    """What the batch means to other domains, in its transaction, whoever caused it (the API,
    the console, Nova or Neutron themselves, the simulated region, the reconciler):
    - a deleted instance's public domain is deleted with it, its billing ending at the
      instance's delete (`sws.loadbalancer.service.instances_deleted_in`);
    - a renamed resource has its new name on the open bills at once (`sws.billing`).
    `sws.loadbalancer.service` is imported here, not at the top: it journals through
    `ingest_in`, so it imports this module."""
    deleted: dict[str, datetime] = {}
    for event in events:
        if event.resource_type == INSTANCE and event.action in TERMINAL_ACTIONS:
            earlier = deleted.get(event.resource_id)
            if earlier is None or event.occurred_at < earlier:
                deleted[event.resource_id] = event.occurred_at
    if deleted:
        from sws.loadbalancer import service as loadbalancers

        loadbalancers.instances_deleted_in(conn, _At(received_at), deleted)
    if renamed:
        billing.renamed_in(conn, renamed)


# --- Reads --------------------------------------------------------------------------------


def list_dead_letters(
    *, db: Database, limit: int = 100, offset: int = 0, before: int | None = None,
    source: str | None = None,
) -> list[DeadLetter]:
    """Dead letters, newest first (an admin's view); `before` (an id) starts after that one."""
    _check_page(limit=limit, offset=offset)
    with db.read() as conn:
        return repository.dead_letter_page(
            conn, limit=limit, offset=offset, before=before, source=source
        )


def count_dead_letters(*, db: Database) -> int:
    with db.read() as conn:
        return repository.count_dead_letters(conn)


def totals(*, db: Database) -> dict[str, int]:
    with db.read() as conn:
        return repository.totals(conn)


def get_resource(
    *, db: Database, resource_id: str, resource_type: str | None = None
) -> ResourceState:
    """One resource's state; NotFound if SWS has never heard of it."""
    with db.read() as conn:
        found = repository.resources_by_id(conn, resource_id)
    matching = [s for s in found if resource_type is None or s.resource_type == resource_type]
    if not matching:
        raise NotFound(f"no resource {resource_id!r}", field="resource_id")
    return matching[0]


def list_resources(
    *,
    db: Database,
    project_id: str | None,
    resource_type: str | None = None,
    include_deleted: bool = True,
    limit: int = 100,
    offset: int = 0,
    after: tuple[str, str] | None = None,
) -> list[ResourceState]:
    """Resources of `project_id` (every project when None: admins only), in (type, id)
    order; `after` (a type and an id) starts past that resource."""
    _check_page(limit=limit, offset=offset)
    with db.read() as conn:
        return repository.resource_page(
            conn,
            project_id=project_id,
            resource_type=resource_type,
            include_deleted=include_deleted,
            limit=limit,
            offset=offset,
            after=after,
        )


def resource_history(*, db: Database, resource_id: str, resource_type: str) -> list[ResourceEvent]:
    """The journal of one resource, in time order."""
    with db.read() as conn:
        return repository.events_of(conn, (resource_type, resource_id))


def _check_page(*, limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if offset < 0:
        raise Invalid("offset must not be negative", field="offset")
