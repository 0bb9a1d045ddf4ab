"""Ingest on PostgreSQL (COPY, one-statement look-ups and updates) ends where the portable SQL
ends on SQLite: same resources, same journal, same counts, replays applied once, bad input
dead-lettered, a concurrent worker's message counted as seen."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.db.metadata import metadata
from sws.db.migrate import load_all_tables
from sws.events import repository, service
from sws.events.service import IngestCounts
from sws.events.tables import processed_messages, resource_events
from tests.servicedb import postgres_database
from tests.unit.events.factories import T0, as_line, floating_ip_message, instance_message
from tests.unit.events.samples import lifecycle_lines

pytestmark = pytest.mark.postgres

STEPS = ("create.end", "power_off.end", "power_on.end", "resize_finish.end", "delete.end")


def _lines() -> list[str]:
    """The captured lifecycle and a busy region's worth of instances and floating IPs."""
    lines = lifecycle_lines()
    for n in range(40):
        for k, action in enumerate(STEPS[: 2 + n % 4]):
            at = T0 + timedelta(minutes=k * 7 + n)
            flavor = "m1.large" if action == "resize_finish.end" else "m1.small"
            lines.append(as_line(instance_message(
                message_id=f"i-{n}-{k}", uuid=f"i-{n}", action=action, at=at, flavor=flavor)))
        fip = floating_ip_message(message_id=f"f-{n}", fip_id=f"f-{n}", action="create.end",
                                  at=T0 + timedelta(seconds=n))
        lines.append(as_line(fip))
    return lines


@pytest.fixture
def postgres() -> Iterator[Database]:
    with postgres_database() as url:
        database = Database(make_engine(url))
        yield database
        database.engine.dispose()


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Database]:
    engine = make_engine(f"sqlite:///{tmp_path / 'events.sqlite'}")
    load_all_tables()
    metadata.create_all(engine)
    yield Database(engine)
    engine.dispose()


def _import(db: Database) -> tuple[list[IngestCounts], object]:
    """Shuffled batches, then everything again in order and reversed with one bad line."""
    lines = _lines()
    shuffled = random.Random(5).sample(lines, len(lines))
    clock = SimulatedClock(datetime(2026, 12, 1, tzinfo=UTC))
    runs = [
        service.import_jsonl(db=db, lines=shuffled[: len(lines) // 2], clock=clock,
                             region="r", batch_size=37),
        service.import_jsonl(db=db, lines=lines, clock=clock, region="r", batch_size=50),
        service.import_jsonl(db=db, lines=[*lines[::-1], "{not json"], clock=clock, region="r",
                             batch_size=64),
    ]
    with db.read() as conn:
        journal = sorted(tuple(row)[1:] for row in conn.execute(select(resource_events)))
        processed = sorted(tuple(row) for row in conn.execute(select(processed_messages)))
        totals = repository.totals(conn)
    states = service.list_resources(db=db, project_id=None, limit=1000)
    return runs, (states, journal, processed, totals)


def test_postgresql_ends_where_the_portable_sql_ends(postgres: Database, sqlite: Database) -> None:
    on_postgres, on_sqlite = _import(postgres), _import(sqlite)

    assert on_postgres == on_sqlite
    runs, (states, _, _, totals) = on_postgres
    assert runs[2].accepted == 0 and runs[2].dead_lettered == 1  # replays apply once
    assert runs[1].duplicate >= runs[0].accepted + runs[0].ignored
    assert totals["dead letters"] == 1 and len(states) == totals["resources tracked"] > 80


def test_a_message_recorded_by_another_worker_is_seen(postgres: Database) -> None:
    line = as_line(instance_message(message_id="m-1", uuid="i-1", action="create.end", at=T0))
    clock = SimulatedClock(datetime(2026, 12, 1, tzinfo=UTC))
    with postgres.begin() as conn:  # the other worker's batch, committed first
        repository.claim_new(conn, [("m-1", "accepted")], received_at=clock.now())

    counts = service.ingest(db=postgres, envelopes=[line], clock=clock, region="r")

    assert counts == IngestCounts(duplicate=1)
