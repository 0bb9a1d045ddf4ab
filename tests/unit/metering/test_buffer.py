"""SQLite's metering buffer: points wait there, move once, and every read sees them."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.errors import Duplicate, NotFound
from sws.metering import repository as repo
from sws.metering import service
from sws.metering.model import AGGREGATES, RESOLUTIONS, Sample, SeriesQuery
from tests.budget import examples, repeats
from tests.schema import migrate

T0 = datetime(2026, 1, 5, 23, 50, tzinfo=UTC)


def _database(directory: Path, *, direct: bool = False) -> Database:
    engine = make_engine(f"sqlite:///{directory / f'{uuid.uuid4().hex}.db'}")
    migrate(engine)
    if direct:
        repo.write_directly(engine)
    return Database(engine)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = _database(tmp_path)
    yield database
    database.engine.dispose()


def _count(db: Database, table: str) -> int:
    with db.read() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _sample(seconds: int, value: float, resource: str = "vm-1") -> Sample:
    return Sample(resource, "p", "cpu_util", "", T0 + timedelta(seconds=seconds), value)


def _mean(db: Database, granularity: int = 60, resource: str = "vm-1") -> list[tuple[datetime,
                                                                                     float]]:
    request = SeriesQuery.build(T0, T0 + timedelta(hours=1), granularity, "mean")
    return service.query(db=db, project_id="p", resource_id=resource, meter="cpu_util",
                         request=request).points


def test_points_wait_in_the_buffer_and_a_query_sees_them(db: Database) -> None:
    clock = SimulatedClock(T0)
    service.ingest(db=db, clock=clock, samples=[_sample(0, 1.0), _sample(10, 3.0)])
    assert (_count(db, "metering_buffer"), _count(db, "metering_raw")) == (2, 0)

    assert _mean(db) == [(T0, 2.0)]  # the query flushed first
    assert (_count(db, "metering_buffer"), _count(db, "metering_raw")) == (0, 2)


def test_sealing_a_minute_moves_the_buffer_with_the_watermark(db: Database) -> None:
    clock = SimulatedClock(T0 + timedelta(seconds=30))
    service.seal(db=db, clock=clock)  # the watermarks start at 23:50
    for poll in range(6):  # 23:50:30 to 23:51:20
        service.ingest(db=db, clock=clock, samples=[_sample(30 + 10 * poll, float(poll))])
        service.seal(db=db, clock=clock)
        clock.advance(timedelta(seconds=10))
    assert _count(db, "metering_buffer") == 6  # no window had closed yet: nothing moved
    service.seal(db=db, clock=clock)  # 23:51:30: the minute 23:50 has closed, grace included
    assert (_count(db, "metering_buffer"), _count(db, "metering_raw")) == (0, 6)
    assert _count(db, "metering_rollup_1m") == 1


def test_duplicates_are_ignored_the_first_point_wins(db: Database) -> None:
    clock = SimulatedClock(T0)
    service.ingest(db=db, clock=clock, samples=[_sample(0, 1.0)])
    service.ingest(db=db, clock=clock, samples=[_sample(0, 9.0)])  # both in the buffer
    service.flush(db=db)
    service.ingest(db=db, clock=clock, samples=[_sample(0, 7.0)])  # raw has it already
    assert _mean(db) == [(T0, 1.0)]
    assert _count(db, "metering_raw") == 1 and _count(db, "metering_buffer") == 0


def test_a_late_point_goes_straight_in_and_its_rollups_are_rebuilt(db: Database) -> None:
    clock = SimulatedClock(T0)
    service.ingest(db=db, clock=clock, samples=[_sample(0, 1.0)])
    clock.advance(timedelta(minutes=10))
    service.seal(db=db, clock=clock)
    service.ingest(db=db, clock=clock, samples=[_sample(5, 3.0), _sample(600, 5.0)])
    assert (_count(db, "metering_buffer"), _count(db, "metering_raw")) == (1, 2)
    with db.read() as conn:
        row = conn.execute(text("SELECT sum, count FROM metering_rollup_1m")).one()
    assert (row.sum, row.count) == (4.0, 2)


def test_a_failed_move_loses_and_doubles_nothing(db: Database) -> None:
    """The move and the emptying are one transaction: when the DELETE fails (a crash between
    the two statements), the copies in metering_raw roll back with it."""
    clock = SimulatedClock(T0)
    service.ingest(db=db, clock=clock, samples=[_sample(s, float(s)) for s in range(0, 60, 10)])
    with db.begin() as conn:
        conn.execute(text("CREATE TRIGGER crash BEFORE DELETE ON metering_buffer "
                          "BEGIN SELECT RAISE(ABORT, 'crash mid-move'); END"))
    with pytest.raises(Duplicate) as failed:  # how Database reports SQLite's ABORT
        service.flush(db=db)
    assert "crash mid-move" in str(failed.value.__cause__)
    assert (_count(db, "metering_buffer"), _count(db, "metering_raw")) == (6, 0)
    with db.begin() as conn:
        conn.execute(text("DROP TRIGGER crash"))
    assert service.flush(db=db) == 6
    assert (_count(db, "metering_buffer"), _count(db, "metering_raw")) == (0, 6)


def test_series_reads_buffered_points_without_writing(db: Database) -> None:
    """Alarm evaluation and free-tier CPU read through `service.series`, the latter in a
    read-only connection: the buffer is read as the next flush would store it."""
    clock = SimulatedClock(T0)
    service.ingest(db=db, clock=clock, samples=[_sample(0, 4.0), _sample(20, 8.0)])
    service.flush(db=db)
    service.ingest(db=db, clock=clock, samples=[
        _sample(20, 99.0),  # already stored: ignored
        _sample(40, 6.0), _sample(40, 50.0),  # the first of two duplicates wins
        _sample(50, 1.0),
    ])
    request = SeriesQuery.build(T0, T0 + timedelta(minutes=5), 60, "max")
    with db.read() as conn:
        metric = repo.metric_row(conn, "vm-1", "cpu_util", "")
        buckets, _ = service.series(conn, [metric.id], request)
    assert (buckets[metric.id][T0].max, buckets[metric.id][T0].count) == (8.0, 4)
    assert _count(db, "metering_buffer") == 4  # nothing was moved


def test_bandwidth_usage_sees_buffered_points(db: Database) -> None:
    clock = SimulatedClock(T0)
    sample = Sample("vm-1", "p", "network.outgoing.bytes", "", T0, 1500.0)
    service.ingest(db=db, clock=clock, samples=[sample])
    usage = service.bandwidth_usage(db=db, start=T0 - timedelta(minutes=50),
                                    end=T0 + timedelta(minutes=10))
    assert [(u.resource_id, u.bytes) for u in usage] == [("vm-1", 1500)]


def test_bandwidth_usage_inside_a_writers_transaction_reads_the_buffer_in_place(
    db: Database,
) -> None:
    # The farmer rates bandwidth while its own transaction holds SQLite's write lock: a move of
    # the buffer from a second connection would wait on that lock and fail as Contended.
    clock = SimulatedClock(T0)
    sample = Sample("vm-1", "p", "network.outgoing.bytes", "", T0, 1500.0)
    service.ingest(db=db, clock=clock, samples=[sample])
    with db.begin() as farmer:
        farmer.execute(text("DELETE FROM metering_raw WHERE metric_id = -1"))  # takes the lock
        usage = service.bandwidth_usage(db=db, start=T0 - timedelta(minutes=50),
                                        end=T0 + timedelta(minutes=10))
    assert [(u.resource_id, u.bytes) for u in usage] == [("vm-1", 1500)]
    assert _count(db, "metering_buffer") == 1  # read where it waits, not moved


def test_retention_is_unaffected(db: Database) -> None:
    clock = SimulatedClock(T0)
    service.ingest(db=db, clock=clock, samples=[_sample(0, 1.0)])
    clock.advance(timedelta(hours=3))
    service.seal(db=db, clock=clock)
    service.ingest(db=db, clock=clock, samples=[_sample(3 * 3600, 2.0)])  # waits in the buffer
    retention = service.Retention(raw=timedelta(hours=1))
    removed = service.enforce_retention(db=db, clock=clock, retention=retention)
    assert removed["metering_raw"] == 1
    assert (_count(db, "metering_buffer"), _count(db, "metering_raw")) == (1, 0)


# ---- property: any interleaving gives the series of today's path --------------------------

steps = st.lists(
    st.one_of(
        st.tuples(st.just("ingest"), st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, 359),
                      st.integers(-1000, 1000).map(float)),
            min_size=1, max_size=12)),
        st.tuples(st.just("advance"), st.integers(1, 900)),
        st.tuples(st.just("seal"), st.none()),
        st.tuples(st.just("flush"), st.none()),
        st.tuples(st.just("read"), st.sampled_from(RESOLUTIONS)),
    ),
    min_size=1, max_size=25,
)


def _all_series(db: Database, granularity: int) -> list[object]:
    """Every metric's series at `granularity`, read the two ways: `series` in a read-only
    connection (buffered points read, not moved) first, then `query` (which moves them)."""
    request = SeriesQuery.build(T0 - timedelta(days=1), T0 + timedelta(days=1), granularity,
                                "mean")
    with db.read() as conn:
        names = {m.id: m.resource_id for m in repo.metric_ids_of_meter(conn, "cpu_util").values()}
        buckets, _ = service.series(conn, list(names), request)
    out: list[object] = [sorted(
        (names[m], at, agg.min, agg.max, agg.sum, agg.count, agg.last, agg.last_at)
        for m, windows in buckets.items() for at, agg in windows.items())]
    for resource in ("vm-0", "vm-1", "vm-2"):
        for name in AGGREGATES:
            request = SeriesQuery.build(T0 - timedelta(days=1), T0 + timedelta(days=1),
                                        granularity, name)
            try:
                found = service.query(db=db, project_id="p", resource_id=resource,
                                      meter="cpu_util", request=request)
            except NotFound:
                out.append([])
                continue
            out.append(found.points)
    return out


@settings(max_examples=examples(25), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_any_interleaving_reads_as_today_s_path(tmp_path: Path, plan: list[tuple[str, object]]
                                               ) -> None:
    """Ingests (duplicates and late points included), seals, flushes and reads, in any order:
    the buffered database answers every read exactly as one that writes metering_raw directly
    (today's path, the oracle)."""
    buffered, oracle = _database(tmp_path), _database(tmp_path, direct=True)
    clock = SimulatedClock(T0)
    try:
        for action, argument in plan:
            if action == "ingest":
                assert isinstance(argument, list)
                # points up to 6 min back from now: some land in windows already sealed
                samples = [Sample(f"vm-{r}", "p", "cpu_util", "",
                                  clock.now() - timedelta(seconds=back), v)
                           for r, back, v in argument]
                for db in (buffered, oracle):
                    service.ingest(db=db, clock=clock, samples=samples)
            elif action == "advance":
                assert isinstance(argument, int)
                clock.advance(timedelta(seconds=argument))
            elif action == "seal":
                for db in (buffered, oracle):
                    service.seal(db=db, clock=clock)
            elif action == "flush":
                assert service.flush(db=oracle) == 0
                service.flush(db=buffered)
            else:
                assert isinstance(argument, int)
                assert _all_series(buffered, argument) == _all_series(oracle, argument)
        for granularity in RESOLUTIONS:
            assert _all_series(buffered, granularity) == _all_series(oracle, granularity)
        assert _count(oracle, "metering_buffer") == 0
    finally:
        buffered.engine.dispose()
        oracle.engine.dispose()


# ---- kill -9 in the middle of a move -----------------------------------------------------

_MOVER = """
import sys
import threading
from sws.db.engine import Database, make_engine
from sws.metering import service
db = Database(make_engine(sys.argv[1]))
print("moving", flush=True)
service.flush(db=db)
print("moved", flush=True)
"""


def test_a_process_killed_mid_move_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """A process moving 30,000 buffered points (55 ms of CPU, 0.35 s of wall on a loaded
    machine) is killed with SIGKILL at a random moment of its first 0.4 s (before, during or
    after the move): the points are all in the buffer or all in metering_raw, never both or
    neither, and the next flush leaves exactly them in metering_raw."""
    expected = {(m, s): float(m * 1000 + s) for m in range(3000) for s in range(0, 100, 10)}
    for round_ in range(repeats(3)):
        db = _database(tmp_path)
        clock = SimulatedClock(T0)
        for s in range(0, 100, 10):
            service.ingest(db=db, clock=clock, samples=[
                _sample(s, expected[(m, s)], f"vm-{m:04d}") for m in range(3000)])
        mover = subprocess.Popen(
            [sys.executable, "-c", _MOVER, str(db.engine.url)],
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[3],
        )
        assert mover.stdout is not None
        assert mover.stdout.readline().strip() == "moving"
        time.sleep(random.Random(round_).uniform(0.0, 0.4))
        mover.kill()
        mover.wait()
        buffered, raw = _count(db, "metering_buffer"), _count(db, "metering_raw")
        assert (buffered, raw) in ((len(expected), 0), (0, len(expected)))
        service.flush(db=db)
        with db.read() as conn:
            rows = conn.execute(text(
                "SELECT m.resource_id, r.ts, r.value FROM metering_raw r "
                "JOIN metering_metrics m ON m.id = r.metric_id")).all()
        got = {(int(resource[3:]), int((repo.from_db_time(conn)(ts) - T0).total_seconds())): value
               for resource, ts, value in rows}
        assert got == expected and _count(db, "metering_buffer") == 0
        db.engine.dispose()


def test_reads_flushing_while_the_collector_ingests_never_fail(tmp_path: Path) -> None:
    """Queries that move the buffer, from another thread with its own connections, while
    polls are ingested: no read fails on SQLite's locks, and the last one sees every point."""
    db = _database(tmp_path)
    clock = SimulatedClock(T0)
    failures: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                _mean(db, resource="vm-0000")
        except BaseException as error:  # reported by the test below
            failures.append(error)

    service.ingest(db=db, clock=clock, samples=[_sample(0, 0.0, "vm-0000")])
    reader = threading.Thread(target=read)
    reader.start()
    try:
        for poll in range(1, 30):
            at = 2 * poll  # 2 s apart, all within the first minute
            service.ingest(db=db, clock=clock, samples=[
                _sample(at, float(poll), f"vm-{m:04d}") for m in range(200)])
    finally:
        done.set()
        reader.join()
    assert failures == []
    request = SeriesQuery.build(T0, T0 + timedelta(minutes=1), 60, "count")
    found = service.query(db=db, project_id="p", resource_id="vm-0199", meter="cpu_util",
                          request=request)
    assert found.points == [(T0, 29.0)]
    db.engine.dispose()
