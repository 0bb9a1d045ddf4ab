"""Store, seal, query, retention, bandwidth and import on a migrated SQLite database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import Invalid, NotFound
from sws.metering import service
from sws.metering.model import Retention, Sample, SeriesQuery
from sws.metering.tables import ROLLUPS, metering_raw

DAY = timedelta(days=1)


def _sample(at: datetime, value: float, meter: str = "cpu_util", resource: str = "srv-1") -> Sample:
    return Sample(resource, "proj-a", meter, "", at, value)


def _run(db: Database, clock: SimulatedClock, until: datetime, step: timedelta) -> None:
    """Collect one sample per step (value = minute of day) and seal as a collector would."""
    while clock.now() < until:
        now = clock.now()
        service.ingest(db=db, clock=clock, samples=[_sample(now, now.hour * 60 + now.minute)])
        if now.minute == 0 and now.second == 0:
            service.seal(db=db, clock=clock)
        clock.advance(step)
    service.seal(db=db, clock=clock)


def _query(db: Database, start: datetime, end: datetime, granularity: int, aggregate: str,
           project: str | None = "proj-a") -> service.Series:
    request = SeriesQuery.build(start, end, granularity, aggregate)
    return service.query(db=db, project_id=project, resource_id="srv-1", meter="cpu_util",
                         request=request)


def test_max_and_min_come_back_through_the_store(database: Database, clock: SimulatedClock) -> None:
    start = clock.now()
    service.ingest(db=database, clock=clock, samples=[
        _sample(start + timedelta(seconds=s), v) for s, v in ((0, 5), (10, 3), (20, 4))
    ])
    end = start + timedelta(minutes=1)
    assert _query(database, start, end, 60, "max").points == [(start, 5)]
    assert _query(database, start, end, 60, "min").points == [(start, 3)]


def test_sealed_rollups_answer_and_the_open_tail_comes_from_raw(
    database: Database, clock: SimulatedClock
) -> None:
    start = clock.now()
    _run(database, clock, start + timedelta(hours=3, minutes=7), timedelta(seconds=30))
    series = _query(database, start, clock.now(), 3600, "count")
    assert [v for _, v in series.points] == [120, 120, 120, 14]
    assert series.sources[0].startswith("3600s:")
    assert any(s.startswith("raw:") for s in series.sources)


def test_a_30_day_query_is_never_cut_short(database: Database, clock: SimulatedClock) -> None:
    start = clock.now()
    _run(database, clock, start + timedelta(days=30), timedelta(minutes=5))
    hourly = _query(database, start, start + timedelta(days=30), 3600, "count")
    assert len(hourly.points) == 30 * 24
    assert all(value == 12 for _, value in hourly.points)
    daily = _query(database, start, start + timedelta(days=30), 86400, "count")
    assert len(daily.points) == 31  # 09:00 to 09:00 touches 31 UTC days
    assert sum(value for _, value in daily.points) == 30 * 24 * 12


def test_retention_really_deletes_expired_rows(database: Database, clock: SimulatedClock) -> None:
    start = clock.now()
    _run(database, clock, start + timedelta(hours=6), timedelta(minutes=1))
    clock.advance(timedelta(days=3))
    service.seal(db=database, clock=clock)  # the last minute, now past its grace
    retention = Retention(raw=timedelta(hours=2), rollups=(
        (60, timedelta(days=2)), (300, timedelta(days=35)),
        (3600, timedelta(days=400)), (86400, timedelta(days=1830))))
    removed = service.enforce_retention(db=database, clock=clock, retention=retention)
    assert removed["metering_raw"] == 6 * 60 and removed["metering_rollup_1m"] == 6 * 60
    with database.read() as conn:
        assert conn.execute(select(func.count()).select_from(metering_raw)).scalar() == 0
        five = conn.execute(select(func.count()).select_from(ROLLUPS[300])).scalar()
    assert five == 6 * 12


def test_another_projects_resource_is_not_found(database: Database, clock: SimulatedClock) -> None:
    service.ingest(db=database, clock=clock, samples=[_sample(clock.now(), 1)])
    with pytest.raises(NotFound):
        _query(database, clock.now() - DAY, clock.now() + DAY, 3600, "mean", project="proj-b")
    with pytest.raises(NotFound):
        service.list_meters(db=database, project_id="proj-b", resource_id="srv-1")


def test_a_late_sample_rebuilds_the_sealed_windows(
    database: Database, clock: SimulatedClock
) -> None:
    start = clock.now()
    _run(database, clock, start + timedelta(hours=2), timedelta(minutes=1))
    late = _sample(start + timedelta(minutes=10, seconds=30), 10_000)
    service.ingest(db=database, clock=clock, samples=[late])
    series = _query(database, start, start + timedelta(hours=1), 3600, "max")
    assert series.points == [(start, 10_000)]
    assert series.sources[0].startswith("3600s:")


def test_bandwidth_is_exact_bytes_per_instance_hour(
    database: Database, clock: SimulatedClock
) -> None:
    start = clock.now()
    deltas = [1_000_003, 7, 123_456_789_012]
    for n, delta in enumerate(deltas):
        at = start + timedelta(minutes=20 * n)
        service.ingest(db=database, clock=clock,
                       samples=[_sample(at, delta, "network.outgoing.bytes")])
    service.ingest(db=database, clock=clock, samples=[
        _sample(start + timedelta(hours=1), 5, "network.outgoing.bytes")])
    usage = service.bandwidth_usage(db=database, start=start, end=start + timedelta(hours=2))
    assert [(u.hour_start, u.bytes, u.unit) for u in usage] == [
        (start, sum(deltas), "B"), (start + timedelta(hours=1), 5, "B")]
    assert usage[0].project_id == "proj-a" and usage[0].resource_id == "srv-1"


def _line(**fields: object) -> str:
    base: dict[str, object] = {
        "resource_id": "srv-9", "project_id": "proj-a", "meter": "network.outgoing.bytes",
        "unit": "B", "type": "cumulative", "value": 0, "timestamp": "2026-01-05T08:00:00Z",
    }
    return json.dumps({**base, **fields})


def test_import_accepts_good_lines_and_names_each_rejection(
    database: Database, clock: SimulatedClock
) -> None:
    lines = [
        _line(value=1000, timestamp="2026-01-05T08:00:00Z"),
        _line(value=1500, timestamp="2026-01-05T08:00:10Z"),
        _line(value=300, timestamp="2026-01-05T08:00:20Z"),
        _line(value=800, timestamp="2026-01-05T08:00:30Z"),
        _line(value="lots"),
        _line(meter="cpu.bogus"),
        _line(timestamp="2026-01-05T08:00:00"),
        _line(unit="KB"),
        "{not json",
        _line(value=800, timestamp="2026-01-05T08:00:30Z"),
    ]
    report = service.import_jsonl(db=database, clock=clock, lines=lines)
    assert (report.accepted, report.baselines, report.rejected_total) == (3, 1, 5)
    assert report.duplicates == 1
    assert report.rejected["value is not a finite number"] == 1
    assert any("unknown meter" in reason for reason in report.rejected)
    assert report.rejected["timestamp has no time zone"] == 1
    assert report.rejected["not JSON"] == 1
    request = SeriesQuery.build(datetime(2026, 1, 5, 8, tzinfo=UTC),
                                datetime(2026, 1, 5, 9, tzinfo=UTC), 60, "sum")
    series = service.query(db=database, project_id="proj-a", resource_id="srv-9",
                           meter="network.outgoing.bytes", request=request)
    assert series.points == [(datetime(2026, 1, 5, 8, tzinfo=UTC), 500 + 300 + 500)]


def test_an_unknown_meter_is_invalid_and_a_missing_one_not_found(
    database: Database, clock: SimulatedClock
) -> None:
    service.ingest(db=database, clock=clock, samples=[_sample(clock.now(), 1)])
    request = SeriesQuery.build(clock.now() - DAY, clock.now() + DAY, 3600, "mean")
    with pytest.raises(Invalid):
        service.query(db=database, project_id="proj-a", resource_id="srv-1", meter="nope",
                      request=request)
    with pytest.raises(NotFound):
        service.query(db=database, project_id="proj-a", resource_id="srv-1", meter="vcpus",
                      request=request)


def test_query_meters_answers_as_query_does_in_one_read(
    database: Database, clock: SimulatedClock
) -> None:
    """The graphs page's read: each stored meter's series as `query` gives it, the meters
    `query` says NotFound for left out, an unknown meter Invalid as there."""
    start = clock.now()
    for minute in range(90):
        at = start + timedelta(minutes=minute)
        service.ingest(db=database, clock=clock, samples=[
            _sample(at, minute), _sample(at, 2.0 * minute, meter="disk.device.read.bytes.rate")])
    clock.advance(timedelta(minutes=91))
    service.seal(db=database, clock=clock)
    service.ingest(db=database, clock=clock, samples=[_sample(clock.now(), 7)])  # the tail
    request = SeriesQuery.build(start, clock.now() + timedelta(minutes=1), 300, "mean")
    meters = ["cpu_util", "disk.device.read.bytes.rate", "network.incoming.bytes.rate"]
    found = service.query_meters(db=database, project_id="proj-a", resource_id="srv-1",
                                 meters=meters, request=request)
    assert sorted(found) == meters[:2]  # no network point stored: left out
    for meter in meters[:2]:
        alone = service.query(db=database, project_id="proj-a", resource_id="srv-1",
                              meter=meter, request=request)
        assert found[meter] == alone and len(alone.points) >= 18  # 90 minutes in 5s
    assert found["cpu_util"].points[-1][1] == 7  # the buffered tail is read too
    assert service.query_meters(db=database, project_id="proj-b", resource_id="srv-1",
                                meters=meters, request=request) == {}
    with pytest.raises(Invalid):
        service.query_meters(db=database, project_id="proj-a", resource_id="srv-1",
                             meters=["nope"], request=request)
