"""Metering use cases: ingest, seal rollups, enforce retention, query, bandwidth, import."""

from __future__ import annotations

import json
import math
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from sws.clock import Clock, ensure_utc
from sws.db.engine import Database
from sws.errors import Invalid, NotFound
from sws.metering import model
from sws.metering import repository as repo
from sws.metering.model import RESOLUTIONS, Aggregate, Retention, Sample, SeriesQuery, align

DEFAULT_GRACE = timedelta(seconds=30)
_catalogs: weakref.WeakKeyDictionary[Engine, repo.MetricCatalog] = weakref.WeakKeyDictionary()


def catalog(db: Database) -> repo.MetricCatalog:
    """The metric-id cache of one database."""
    return _catalogs.setdefault(db.engine, repo.MetricCatalog())


@contextmanager
def writing(db: Database) -> Iterator[Connection]:
    """A transaction whose failure also forgets metric ids it may have cached."""
    try:
        with db.begin() as conn:
            yield conn
    except BaseException:
        _catalogs.pop(db.engine, None)
        raise


# ---- ingest and rollups -------------------------------------------------------------------


def ingest(*, db: Database, clock: Clock, samples: Sequence[Sample]) -> int:
    """Store samples in one transaction; rollups already sealed are rebuilt if a sample is late."""
    with writing(db) as conn:
        return store(conn, db=db, clock=clock, samples=samples)


def store(conn: Connection, *, db: Database, clock: Clock, samples: Sequence[Sample]) -> int:
    if not samples:
        return 0
    repo.claim_writes(conn)  # before any read: the collector waits for a read's flush
    ids = catalog(db).ids(conn, samples, clock.now())
    rows = [(ids[(s.resource_id, s.meter, s.device)], s.at, s.value) for s in samples]
    sealed = repo.watermarks(conn).get(RESOLUTIONS[0])
    late: list[tuple[int, datetime, float]] = []
    on_time = rows
    if sealed is not None and min(at for _, at, _ in rows) < sealed:
        late = [row for row in rows if row[1] < sealed]
        on_time = [row for row in rows if row[1] >= sealed]
    if repo.buffers(conn):  # SQLite: late points go straight in (their rollups are rebuilt
        repo.insert_raw(conn, late)  # below), the others wait for the next flush
        repo.append_buffer(conn, on_time)
    else:
        repo.insert_raw(conn, rows)
    if late:
        rebuild(conn, metric_ids=sorted({m for m, _, _ in late}),
                start=min(at for _, at, _ in late), end=max(at for _, at, _ in late))
    return len(samples)


def flush(*, db: Database) -> int:
    """Move the points waiting in SQLite's buffer into metering_raw (one transaction); 0 where
    none wait."""
    with db.read() as conn:
        if not repo.has_buffered(conn):
            return 0
    with db.begin() as conn:
        return repo.flush_buffer(conn)


@contextmanager
def reading(db: Database) -> Iterator[Connection]:
    """A read that sees every point ingested before it: if points wait in SQLite's buffer, they
    are moved first (committed), and the read starts after that."""
    with db.read() as conn:
        if repo.has_buffered(conn):
            conn.rollback()  # the next statement starts a snapshot that holds the moved points
            with db.begin() as writer:
                repo.flush_buffer(writer)
        yield conn


def rebuild(conn: Connection, *, metric_ids: Sequence[int], start: datetime, end: datetime) -> None:
    """Recompute the sealed windows of every rollup that hold [start, end], finest first."""
    marks = repo.watermarks(conn)
    for resolution in RESOLUTIONS:
        low = align(start, resolution)
        high = min(model.align_up(end + timedelta(microseconds=1), resolution), marks[resolution])
        if low < high:
            _roll_up(conn, resolution, (low, high), metric_ids)


def _roll_up(
    conn: Connection, resolution: int, window: tuple[datetime, datetime],
    metric_ids: Sequence[int] | None = None,
) -> int:
    """Make a rollup's windows in [start, end) (of `metric_ids`, or all) equal their source's."""
    if repo.rolls_up_in_db(conn):
        return repo.roll_up(conn, resolution, _finer(resolution), window, metric_ids)
    rows = _compute(conn, resolution, *window, metric_ids)
    repo.replace_rollups(conn, resolution, window, rows, metric_ids)
    return len(rows)


def _compute(
    conn: Connection, resolution: int, start: datetime, end: datetime, metric_ids: Any = None
) -> dict[tuple[int, datetime], Aggregate]:
    """A rollup's windows in [start, end) from the next finer source (raw for 1 minute)."""
    finer = _finer(resolution)
    out: dict[tuple[int, datetime], Aggregate] = {}
    if finer == 0:
        parts: Iterable[tuple[int, datetime, Aggregate]] = (
            (m, at, Aggregate.of(at, v)) for m, at, v in repo.read_raw(conn, start, end, metric_ids)
        )
    else:
        parts = repo.read_rollup(conn, finer, start, end, metric_ids)
    for metric_id, at, partial in parts:
        key = (metric_id, align(at, resolution))
        found = out.get(key)
        out[key] = partial if found is None else found.merge(partial)
    return out


def _finer(resolution: int) -> int:
    index = RESOLUTIONS.index(resolution)
    return 0 if index == 0 else RESOLUTIONS[index - 1]


# How far each resolution is known to be sealed, per database: a lower bound of the stored
# watermarks (they only move forward), so a poll that crosses no window needs no transaction.
_sealed: weakref.WeakKeyDictionary[Engine, dict[int, datetime]] = weakref.WeakKeyDictionary()


def seal(*, db: Database, clock: Clock, grace: timedelta = DEFAULT_GRACE) -> int:
    """Write every window that has closed (and waited `grace` for late samples) to its rollup."""
    sealed = 0
    known = _sealed.setdefault(db.engine, {})
    now = clock.now()
    for resolution in RESOLUTIONS:
        target = align(now - grace, resolution)
        if resolution in known and known[resolution] >= target:
            continue  # the database says at least this much; nothing new has closed
        while True:
            with db.begin() as conn:
                repo.flush_buffer(conn)  # the watermark moves only with the buffer emptied
                done = _seal_step(conn, resolution, target, known)
            if done is None:
                break
            sealed += done
    return sealed


def _seal_step(
    conn: Connection, resolution: int, target: datetime, known: dict[int, datetime]
) -> int | None:
    """Seal the next chunk (at most an hour, or one window) below `target`; None when done."""
    marks = repo.watermarks(conn)
    if resolution not in marks:
        oldest = repo.oldest_raw(conn)
        first = target if oldest is None else min(target, align(oldest, resolution))
        repo.set_watermark(conn, resolution, first, new=True)
        return 0
    start = marks[resolution]
    if start >= target:
        known[resolution] = start
        return None
    end = min(target, start + timedelta(seconds=max(resolution, 3600)))
    written = _roll_up(conn, resolution, (start, end))
    repo.set_watermark(conn, resolution, end, new=False)
    return written


def enforce_retention(*, db: Database, clock: Clock, retention: Retention) -> dict[str, int]:
    """Delete what each resolution no longer keeps; returns rows or partitions removed per table."""
    now = clock.now()
    with db.begin() as conn:
        return repo.delete_expired(conn, lambda resolution: now - (
            retention.raw if resolution is None else retention.of(resolution)))


def prepare_partitions(*, db: Database, clock: Clock) -> None:
    """Create today's and tomorrow's partitions ahead of writes (PostgreSQL only)."""
    now = clock.now()
    with db.begin() as conn:
        repo.ensure_all_partitions(conn, now - timedelta(days=1), now + timedelta(days=1))


# ---- queries --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeterInfo:
    meter: str
    device: str
    unit: str
    kind: str


@dataclass(frozen=True, slots=True)
class Series:
    resource_id: str
    meter: str
    device: str
    unit: str
    granularity: int
    aggregate: str
    start: datetime
    end: datetime
    points: list[tuple[datetime, float]]
    sources: list[str] = field(default_factory=list)


def list_meters(*, db: Database, project_id: str | None, resource_id: str) -> list[MeterInfo]:
    """The meters stored for a resource of the caller's project; another project's is 404."""
    with db.read() as conn:
        rows = repo.resource_metrics(conn, resource_id)
    if not rows or (project_id is not None and rows[0].project_id != project_id):
        raise NotFound(f"Resource {resource_id} could not be found.")
    return [MeterInfo(r.meter, r.device, r.unit, r.kind) for r in rows]


def query(
    *,
    db: Database,
    project_id: str | None,
    resource_id: str,
    meter: str,
    request: SeriesQuery,
    device: str = "",
) -> Series:
    """One metric's aggregate per window, from the coarsest rollup that answers exactly."""
    with reading(db) as conn:
        return _query(conn, project_id, resource_id, meter, device, request)


def query_meters(
    *,
    db: Database,
    project_id: str | None,
    resource_id: str,
    meters: Sequence[str],
    request: SeriesQuery,
    device: str = "",
) -> dict[str, Series]:
    """`query` of several meters of one resource over the same range, in one read (a page of
    graphs); the meters `query` would answer NotFound for (no point stored, or the resource is
    not the project's) are left out."""
    for name in meters:
        model.meter(name)  # an unknown meter is bad input, as for `query`
    with reading(db) as conn:
        stored = {row.meter for row in repo.resource_metrics(conn, resource_id)
                  if row.device == device and project_id in (None, row.project_id)}
        return {name: _query(conn, project_id, resource_id, name, device, request)
                for name in meters if name in stored}


def _query(
    conn: Connection, project_id: str | None, resource_id: str, meter: str, device: str,
    request: SeriesQuery,
) -> Series:
    sources = model.sources_for(request.granularity)
    found = repo.read_series(conn, (resource_id, meter, device), sources, request.start,
                             request.end, whole=request.granularity)
    if found is not None and project_id in (None, found.project_id):
        unit, points = found.unit, _points(found.rows, request)
        names = _source_names(found.ranges)
    else:
        metric = _metric(conn, project_id, resource_id, meter, device)
        buckets, names = series(conn, [metric.id], request)
        unit, points = metric.unit, model.answer(buckets.get(metric.id, {}), request.aggregate)
    return Series(
        resource_id, meter, device, unit, request.granularity, request.aggregate,
        request.start, request.end, points, names,
    )


def _ranges(
    request: SeriesQuery, marks: dict[int, datetime]
) -> list[tuple[int, datetime, datetime]]:
    """(source, start, end) per source, coarsest first: each answers up to its watermark."""
    cursor = request.start
    out: list[tuple[int, datetime, datetime]] = []
    for source in model.sources_for(request.granularity):
        until = request.end if source == 0 else min(request.end, marks.get(source, cursor))
        if until > cursor:
            out.append((source, cursor, until))
            cursor = until
    return out


def _source_names(ranges: Sequence[tuple[int, datetime, datetime]]) -> list[str]:
    return [
        f"{'raw' if source == 0 else f'{source}s'}:[{start.isoformat()}, {end.isoformat()})"
        for source, start, end in ranges
    ]


def _points(rows: Iterable[repo.SeriesRow], request: SeriesQuery) -> list[tuple[datetime, float]]:
    """The requested aggregate per window from `read_series` rows (the query's hot path)."""
    granularity, name = request.granularity, request.aggregate
    exact: dict[datetime, float] = {}
    merged: dict[datetime, Aggregate] = {}
    for _source, at, low, high, total, count, last, last_at in rows:
        if last_at is None:  # a whole window of the granularity: no merge, so no `last_at`
            exact[at] = Aggregate(low, high, total, count, last, model.EPOCH).value(name)
        else:
            _merge_into(merged, align(at, granularity),
                        Aggregate(low, high, total, count, last, last_at))
    exact.update((at, agg.value(name)) for at, agg in merged.items())
    return sorted(exact.items())


def _metric(
    conn: Connection, project_id: str | None, resource_id: str, meter: str, device: str
) -> Any:
    found = repo.metric_row(conn, resource_id, meter, device)
    if found is not None and project_id in (None, found.project_id):
        return found
    rows = repo.resource_metrics(conn, resource_id)
    if not rows or (project_id is not None and rows[0].project_id != project_id):
        raise NotFound(f"Resource {resource_id} could not be found.")
    for row in rows:
        if row.meter == meter and row.device == device:
            return row
    model.meter(meter)  # an unknown meter is bad input, a known one without data is absent
    raise NotFound(f"Resource {resource_id} has no meter {meter!r} (device {device!r}).")


def series(
    conn: Connection, metric_ids: Any, request: SeriesQuery, *, flushed: bool = False
) -> tuple[dict[int, dict[datetime, Aggregate]], list[str]]:
    """Walk the sources coarsest first: each answers up to its watermark, raw the rest.

    Unless the caller has `flushed`, raw points still in SQLite's buffer are read too (without
    writing: `conn` may be a read, as alarm evaluation's and free-tier CPU's callers are not
    all writers)."""
    ranges = _ranges(request, repo.watermarks(conn))
    out: dict[int, dict[datetime, Aggregate]] = {}
    for source, start, until in ranges:
        exact = source == request.granularity  # rows are already whole windows
        for metric_id, at, partial in _read(conn, source, start, until, metric_ids,
                                            buffered=not flushed):
            found = out.setdefault(metric_id, {})
            if exact:
                found[at] = partial
            else:
                _merge_into(found, align(at, request.granularity), partial)
    return out, _source_names(ranges)


def _read(
    conn: Connection, source: int, start: datetime, end: datetime, metric_ids: Any, *,
    buffered: bool = False,
) -> Iterable[tuple[int, datetime, Aggregate]]:
    if source == 0:
        raw = repo.read_raw(conn, start, end, metric_ids, buffered=buffered)
        return ((m, at, Aggregate.of(at, v)) for m, at, v in raw)
    return repo.read_rollup(conn, source, start, end, metric_ids)


def _merge_into(buckets: dict[datetime, Aggregate], at: datetime, partial: Aggregate) -> None:
    found = buckets.get(at)
    buckets[at] = partial if found is None else found.merge(partial)


# ---- bandwidth for billing --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BandwidthUsage:
    """Outbound bytes of one instance in one clock hour [hour_start, hour_start + 1 h)."""

    project_id: str
    resource_id: str
    hour_start: datetime
    bytes: int
    unit: str = "B"


def bandwidth_usage(
    *, db: Database, start: datetime, end: datetime, project_id: str | None = None
) -> list[BandwidthUsage]:
    """Exact outbound bytes per (project, instance, hour) for the hours in [start, end), of
    one project when `project_id` is given.

    Traffic between two polls counts in the hour of the later poll. Values are whole bytes
    (sums of integer deltas, exact below 2**53 per instance-hour).
    """
    request = SeriesQuery.build(start, end, 3600, "sum")
    # Read SQLite's buffer in place, never move it: the farmer calls this inside its own write
    # transaction, and a move from a second connection would wait on that very lock.
    with db.read() as conn:
        metrics = repo.metric_ids_of_meter(conn, "network.outgoing.bytes")
        buckets, _ = series(conn, repo.metric_ids_query("network.outgoing.bytes"), request)
    usage = [
        BandwidthUsage(metrics[m].project_id, metrics[m].resource_id, hour, round(agg.sum))
        for m, hours in buckets.items()
        for hour, agg in hours.items()
        if project_id is None or metrics[m].project_id == project_id
    ]
    return sorted(usage, key=lambda u: (u.hour_start, u.project_id, u.resource_id))


# ---- import ---------------------------------------------------------------------------------


@dataclass
class ImportReport:
    accepted: int = 0
    baselines: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    first_rejections: list[tuple[int, str]] = field(default_factory=list)

    def reject(self, line_no: int, reason: str) -> None:
        self.rejected[reason] += 1
        if len(self.first_rejections) < 20:
            self.first_rejections.append((line_no, reason))

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    resource_id: str
    project_id: str | None
    meter: str
    device: str
    at: datetime
    value: float
    kind: str


def import_jsonl(
    *, db: Database, clock: Clock, lines: Iterable[str], retention: Retention = Retention()
) -> ImportReport:
    """Import samples (resource_id, meter, timestamp, value, unit, type; project_id, device).

    Every line is accepted or rejected with a reason; cumulative values become deltas per
    series in time order (the first is a baseline). Nothing is written unless all parse.
    """
    report = ImportReport()
    parsed = []
    for number, text in enumerate(lines, start=1):
        if text.strip():
            line = _parse_line(number, text, clock.now(), retention, report)
            if line is not None:
                parsed.append(line)
    with writing(db) as conn:
        samples = _to_samples(conn, parsed, report)
        fresh = _without_duplicates(conn, db, clock, samples, report)
        report.accepted = store(conn, db=db, clock=clock, samples=fresh)
    return report


def _parse_line(
    number: int, text: str, now: datetime, retention: Retention, report: ImportReport
) -> _Line | None:
    try:
        return _line(number, json.loads(text), now, retention)
    except (ValueError, TypeError, KeyError, Invalid) as error:
        report.reject(number, _reason(error))
        return None


def _reason(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing field {error.args[0]}"
    if isinstance(error, json.JSONDecodeError):
        return "not JSON"
    return str(error.detail if isinstance(error, Invalid) else error)


def _line(number: int, data: Any, now: datetime, retention: Retention) -> _Line:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    info = model.meter(str(data["meter"]))
    value = data["value"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("value is not a finite number")
    if data["unit"] != info.unit:
        raise ValueError(f"unit {data['unit']!r} is not {info.unit!r} for {info.name}")
    kind = _kind(str(data["type"]), info.kind, value)
    at = _timestamp(data["timestamp"], now, retention)
    project = data.get("project_id")
    return _Line(number, _text(data["resource_id"], "resource_id"),
                 None if project is None else _text(project, "project_id"),
                 info.name, _text(data.get("device", ""), "device", empty=True), at, value, kind)


def _kind(given: str, expected: str, value: float) -> str:
    allowed = {"cumulative": ("cumulative", "delta"), "gauge": ("gauge",)}[expected]
    if given not in allowed:
        raise ValueError(f"type {given!r} does not fit a {expected} meter")
    if given != "gauge" and value < 0:
        raise ValueError("a counter value cannot be negative")
    return given


def _timestamp(raw: Any, now: datetime, retention: Retention) -> datetime:
    at = datetime.fromisoformat(str(raw))
    if at.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    at = ensure_utc(at)
    if at < now - retention.raw:
        raise ValueError("timestamp is older than the raw retention")
    if at > now + timedelta(minutes=5):
        raise ValueError("timestamp is in the future")
    return at


def _text(raw: Any, name: str, *, empty: bool = False) -> str:
    if not isinstance(raw, str) or len(raw) > 64 or (not raw and not empty):
        raise ValueError(f"{name} must be a string of 1 to 64 characters")
    return raw


def _to_samples(conn: Connection, lines: list[_Line], report: ImportReport) -> list[Sample]:
    """Deltas for cumulative series (time order, first is a baseline); gauges as they are."""
    out: list[Sample] = []
    previous: dict[tuple[str, str, str], float] = {}
    owners: dict[str, str | None] = {}
    seen: set[tuple[str, str, str, datetime]] = set()
    for line in sorted(lines, key=lambda item: (item.at, item.number)):
        key = (line.resource_id, line.meter, line.device)
        project = _owner(conn, line, owners, report)
        if project is None or (*key, line.at) in seen:
            report.duplicates += project is not None
            continue
        seen.add((*key, line.at))
        value: float | None = line.value
        if line.kind == "cumulative":
            value = model.counter_delta(previous.get(key), line.value)
            previous[key] = line.value
        if value is None:
            report.baselines += 1
            continue
        out.append(Sample(line.resource_id, project, line.meter, line.device, line.at, value))
    return out


def _owner(
    conn: Connection, line: _Line, owners: dict[str, str | None], report: ImportReport
) -> str | None:
    """The resource's project: as stored, else as the line gives it; a mismatch is rejected."""
    if line.resource_id not in owners:
        owners[line.resource_id] = repo.project_of(conn, line.resource_id)
    known = owners[line.resource_id]
    if known is None and line.project_id is None:
        report.reject(line.number, "unknown resource and no project_id")
    elif known is not None and line.project_id not in (None, known):
        report.reject(line.number, "project_id differs from the resource's project")
    else:
        owners[line.resource_id] = known or line.project_id
        return owners[line.resource_id]
    return None


def _without_duplicates(
    conn: Connection, db: Database, clock: Clock, samples: list[Sample], report: ImportReport
) -> list[Sample]:
    repo.flush_buffer(conn)  # duplicates are looked for in metering_raw alone
    unique = {(s.key, s.at): s for s in samples}
    report.duplicates += len(samples) - len(unique)
    ids = catalog(db).ids(conn, list(unique.values()), clock.now())
    stored = repo.existing_raw(conn, [(ids[key], at) for key, at in unique])
    fresh = [s for (key, at), s in unique.items() if (ids[key], at) not in stored]
    report.duplicates += len(unique) - len(fresh)
    return fresh
