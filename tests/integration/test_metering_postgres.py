"""Metering on PostgreSQL: time partitions, retention by dropping them, and the API suite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.db.migrate import upgrade
from sws.metering import repository as repo
from sws.metering import service
from sws.metering.model import Retention, Sample, SeriesQuery
from sws.metering.tables import ROLLUPS, metering_raw
from tests.api.conftest import cloud  # noqa: F401
from tests.api.test_metering import *  # noqa: F403
from tests.servicedb import postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
def pg(database_url: str) -> Iterator[Database]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield Database(engine)
    engine.dispose()


def test_partitions_hold_the_data_and_dropping_them_enforces_retention(pg: Database) -> None:
    clock = SimulatedClock(datetime(2026, 1, 5, 22, tzinfo=UTC))
    start = clock.now()
    while clock.now() < start + timedelta(hours=4):
        sample = Sample("vm", "p", "cpu_util", "", clock.now(), 1.0)
        service.ingest(db=pg, clock=clock, samples=[sample])
        clock.advance(timedelta(minutes=1))
    service.seal(db=pg, clock=clock)
    with pg.read() as conn:
        assert repo.partitions(conn, metering_raw) == [
            "metering_raw_p20260105", "metering_raw_p20260106"]
        assert len(repo.partitions(conn, ROLLUPS[60])) == 2
    request = SeriesQuery.build(start, clock.now(), 3600, "count")
    series = service.query(db=pg, project_id="p", resource_id="vm", meter="cpu_util",
                           request=request)
    assert [v for _, v in series.points] == [60, 60, 60, 60]
    clock.advance(timedelta(days=2))
    removed = service.enforce_retention(db=pg, clock=clock, retention=Retention(
        raw=timedelta(hours=30)))
    with pg.read() as conn:
        assert repo.partitions(conn, metering_raw) == ["metering_raw_p20260106"]
        remaining = conn.execute(metering_raw.select()).all()
    assert removed["metering_raw"] >= 1
    assert all(row.ts >= clock.now() - timedelta(hours=30) for row in remaining)
