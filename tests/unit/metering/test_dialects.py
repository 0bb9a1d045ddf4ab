"""The dialect seam: each database gets its strategy, and the window SQL a database computes
rollups with puts every sample in the same window as the Python rule (`model.align`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from sws.db.engine import Database
from sws.metering import repository as repo
from sws.metering.dialects import DIALECTS, PostgreSQLDialect, SQLiteDialect, dialect_of
from sws.metering.model import align
from sws.metering.tables import metering_raw

MOMENTS = [
    datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    datetime(2026, 1, 5, 9, 0, 59, 999_999, tzinfo=UTC),
    datetime(2026, 2, 28, 23, 59, 30, 250_000, tzinfo=UTC),
    datetime(2024, 2, 29, 12, 34, 56, tzinfo=UTC),
]


def test_each_database_gets_its_strategy_and_others_the_baseline(database: Database) -> None:
    with database.read() as conn:
        assert isinstance(dialect_of(conn), SQLiteDialect)
    assert isinstance(DIALECTS["postgresql"], PostgreSQLDialect)
    assert set(repo.ROLLS_UP_IN_DB) == {"sqlite", "postgresql"}
    assert not DIALECTS["mysql"].rolls_up_in_db and DIALECTS["postgresql"].partitioned


@pytest.mark.parametrize("resolution", [60, 300, 3600, 86400])
def test_sqlite_windows_agree_with_the_python_rule(database: Database, resolution: int) -> None:
    sqlite = DIALECTS["sqlite"]
    stored = sqlite.to_db_time()
    loaded = sqlite.from_db_time()
    with database.read() as conn:
        for moment in MOMENTS:
            sql = f"SELECT {sqlite.bucket_of('?', resolution)}"
            bucket = conn.exec_driver_sql(sql, (stored(moment),)).scalar_one()
            assert loaded(bucket) == align(moment, resolution), (moment, resolution)


def test_raw_samples_load_in_batches_and_skip_points_already_stored(database: Database) -> None:
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    rows = [(1, start + timedelta(seconds=n), float(n)) for n in range(650)]  # 300+300+50
    with database.begin() as conn:
        repo.insert_raw(conn, rows[:400])
        repo.insert_raw(conn, rows)  # the first 400 again: skipped, not doubled
    with database.read() as conn:
        count = conn.execute(text(f"SELECT count(*) FROM {metering_raw.name}")).scalar_one()
        stored = list(repo.read_raw(conn, start, start + timedelta(hours=1)))
    assert count == 650
    assert sorted(stored)[-1] == (1, start + timedelta(seconds=649), 649.0)
