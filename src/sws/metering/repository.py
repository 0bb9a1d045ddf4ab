"""Metering persistence in SQLAlchemy Core: batched writes, rollups, partitions, alarms.

What differs between SQLite, PostgreSQL and MariaDB is asked of `dialects.dialect_of(conn)`.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Table,
    and_,
    delete,
    func,
    literal_column,
    select,
    text,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.sqltypes import NullType

from sws.db.paging import keyset
from sws.events.tables import dead_letters
from sws.metering.dialects import DIALECTS, Dialect, chunks, dialect_of
from sws.metering.model import EPOCH, Aggregate, Alarm, Sample, align
from sws.metering.tables import (
    ROLLUPS,
    alarm_deliveries,
    alarm_history,
    alarms,
    metering_buffer,
    metering_cursors,
    metering_metrics,
    metering_raw,
    metering_watermarks,
)
from sws.paging import PageRequest

MetricKey = tuple[str, str, str]  # resource_id, meter, device
# On PostgreSQL: the width of one partition of each series table (aligned to the epoch).
PARTITION_WIDTH: dict[str, int] = {
    "metering_raw": 86400, "metering_rollup_1m": 86400, "metering_rollup_5m": 7 * 86400,
    "metering_rollup_1h": 30 * 86400, "metering_rollup_1d": 365 * 86400,
}
_known_partitions: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()


def insert_ignoring_duplicates(conn: Connection, table: Table) -> Insert:
    """An INSERT that skips rows whose primary key is already there, in each dialect."""
    return dialect_of(conn).insert_ignoring_duplicates(table)


# ---- metrics ------------------------------------------------------------------------------


class MetricCatalog:
    """Metric ids by (resource, meter, device); ids never change, so they are cached."""

    def __init__(self) -> None:
        self._ids: dict[MetricKey, int] = {}

    def ids(
        self, conn: Connection, samples: Sequence[Sample], now: datetime
    ) -> dict[MetricKey, int]:
        known = self._ids
        missing = {
            key: s for s in samples
            if (key := (s.resource_id, s.meter, s.device)) not in known
        }
        if missing:
            self._load(conn, list(missing))
            new = [s for key, s in missing.items() if key not in self._ids]
            if new:
                _create_metrics(conn, new, now)
                self._load(conn, [s.key for s in new])
        return self._ids

    def _load(self, conn: Connection, keys: Sequence[MetricKey]) -> None:
        resources = sorted({key[0] for key in keys})
        for part in chunks(resources):
            query = select(
                metering_metrics.c.id, metering_metrics.c.resource_id,
                metering_metrics.c.meter, metering_metrics.c.device,
            ).where(metering_metrics.c.resource_id.in_(part))
            for row in conn.execute(query):
                self._ids[(row.resource_id, row.meter, row.device)] = row.id


def _create_metrics(conn: Connection, samples: Sequence[Sample], now: datetime) -> None:
    rows = [
        {
            "resource_id": s.resource_id, "project_id": s.project_id, "meter": s.meter,
            "device": s.device, "unit": s.unit, "kind": s.kind, "created_at": now,
        }
        for s in samples
    ]
    conn.execute(insert_ignoring_duplicates(conn, metering_metrics), rows)


def resource_metrics(conn: Connection, resource_id: str) -> list[Any]:
    query = select(metering_metrics).where(metering_metrics.c.resource_id == resource_id)
    return list(conn.execute(query.order_by(metering_metrics.c.meter, metering_metrics.c.device)))


def metric_row(conn: Connection, resource_id: str, meter: str, device: str) -> Any:
    columns = metering_metrics.c
    query = select(metering_metrics).where(
        columns.resource_id == resource_id, columns.meter == meter, columns.device == device
    )
    return conn.execute(query).first()


def metric_ids_of_meter(conn: Connection, meter: str, device: str = "") -> dict[int, Any]:
    query = select(metering_metrics).where(
        metering_metrics.c.meter == meter, metering_metrics.c.device == device
    )
    return {row.id: row for row in conn.execute(query)}


def project_of(conn: Connection, resource_id: str) -> str | None:
    query = select(metering_metrics.c.project_id).where(
        metering_metrics.c.resource_id == resource_id
    )
    found = conn.execute(query.limit(1)).scalar()
    return None if found is None else str(found)


# ---- raw samples and rollups --------------------------------------------------------------


def to_db_time(conn: Connection) -> Callable[[datetime], Any]:
    """How this dialect stores a UTC time, exactly as `UTCDateTime` binds it (hot paths)."""
    return dialect_of(conn).to_db_time()


def from_db_time(conn: Connection) -> Callable[[Any], datetime]:
    return dialect_of(conn).from_db_time()


def insert_raw(conn: Connection, rows: Sequence[tuple[int, datetime, float]]) -> None:
    """Batched insert of (metric_id, ts, value); duplicates of a stored point are skipped."""
    if not rows:
        return
    times = [at for _, at, _ in rows]
    ensure_partitions(conn, metering_raw, min(times), max(times))
    dialect_of(conn).insert_raw(conn, rows)


# ---- SQLite's buffer of new points ---------------------------------------------------------
# On SQLite, ingest appends to metering_buffer (no index: an append) and `flush_buffer` moves the
# buffer into metering_raw in key order, so each leaf of metering_raw's primary key is dirtied
# once a minute rather than once a poll. Invariant: every point in the buffer is at or after the
# 1-minute watermark (a transaction that moves the watermark flushes first), so rollups and the
# late-sample rebuild never need the buffer; reads flush before they look.

FLUSH_BUFFER = (
    f"INSERT INTO {metering_raw.name} (metric_id, ts, value) SELECT metric_id, ts, value "
    f"FROM {metering_buffer.name} WHERE true ORDER BY metric_id, ts, rowid "
    "ON CONFLICT DO NOTHING"  # a point already stored (or earlier in the buffer) wins
)
_direct: weakref.WeakSet[Engine] = weakref.WeakSet()


def write_directly(engine: Engine) -> None:
    """Make this database's ingest write metering_raw directly even on SQLite (the path of
    PostgreSQL and MariaDB; the oracle of the buffered path's tests)."""
    _direct.add(engine)


def buffers(conn: Connection) -> bool:
    """Whether new points of this database go to metering_buffer first."""
    return dialect_of(conn).buffers_raw and conn.engine not in _direct


def claim_writes(conn: Connection) -> None:
    """On SQLite, take the write lock now, at the transaction's first statement: reads that
    move the buffer also write, and a transaction that read first could not upgrade to a write
    once another commits (it fails at once instead of waiting its turn)."""
    if dialect_of(conn).buffers_raw:
        conn.exec_driver_sql(f"DELETE FROM {metering_buffer.name} WHERE 0")


def append_buffer(conn: Connection, rows: Sequence[tuple[int, datetime, float]]) -> None:
    """Batched append of (metric_id, ts, value) to the buffer; duplicates are skipped at flush."""
    if rows:
        dialect_of(conn).append_buffer(conn, rows)


def has_buffered(conn: Connection) -> bool:
    """Whether points wait in the buffer (always False where the database does not buffer)."""
    if not dialect_of(conn).buffers_raw:
        return False
    found = conn.exec_driver_sql(f"SELECT 1 FROM {metering_buffer.name} LIMIT 1").first()
    return found is not None


def flush_buffer(conn: Connection) -> int:
    """Move every buffered point into metering_raw in key order and empty the buffer, in the
    caller's transaction (both or neither); returns the points moved (duplicates are not).

    Its first statement is a write, so a transaction that starts with it waits for SQLite's
    write lock before it reads (a read first could not upgrade after another writer commits).
    """
    if not dialect_of(conn).buffers_raw:
        return 0
    moved = conn.exec_driver_sql(FLUSH_BUFFER).rowcount
    conn.exec_driver_sql(f"DELETE FROM {metering_buffer.name}")
    return max(moved, 0)


def existing_raw(
    conn: Connection, keys: Sequence[tuple[int, datetime]]
) -> set[tuple[int, datetime]]:
    """Which (metric_id, ts) pairs are already stored."""
    found: set[tuple[int, datetime]] = set()
    for part in chunks(sorted({k[0] for k in keys})):
        times = [k[1] for k in keys]
        query = select(metering_raw.c.metric_id, metering_raw.c.ts).where(
            metering_raw.c.metric_id.in_(part),
            metering_raw.c.ts >= min(times), metering_raw.c.ts <= max(times),
        )
        found.update((row.metric_id, row.ts) for row in conn.execute(query))
    return found


def oldest_raw(conn: Connection) -> datetime | None:
    found: datetime | None = conn.execute(select(func.min(metering_raw.c.ts))).scalar()
    return found


def read_raw(
    conn: Connection, start: datetime, end: datetime, metric_ids: Any = None, *,
    buffered: bool = False,
) -> Iterator[tuple[int, datetime, float]]:
    """Raw samples in [start, end), optionally for some metrics (a list or a subquery); with
    `buffered`, also the points waiting in SQLite's buffer, as the next flush would store them
    (the first of duplicates, none already stored), read without writing."""
    raw = metering_raw
    query: Any = select(raw.c.metric_id, raw.c.ts, raw.c.value).where(
        raw.c.ts >= start, raw.c.ts < end
    )
    if metric_ids is not None:
        query = query.where(raw.c.metric_id.in_(metric_ids))
    if buffered and dialect_of(conn).buffers_raw:
        query = union_all(query, _waiting(start, end, metric_ids))
    for row in conn.execute(query):
        yield row.metric_id, row.ts, row.value


def _waiting(start: datetime, end: datetime, metric_ids: Any) -> Select[Any]:
    """Buffered points in [start, end) that the next flush would move: per key, the first to
    arrive (SQLite takes a bare column from the row of the single min()), if none is stored."""
    buffer = metering_buffer
    first = select(
        buffer.c.metric_id, buffer.c.ts, buffer.c.value, func.min(literal_column("rowid"))
    ).where(buffer.c.ts >= start, buffer.c.ts < end)
    if metric_ids is not None:
        first = first.where(buffer.c.metric_id.in_(metric_ids))
    found = first.group_by(buffer.c.metric_id, buffer.c.ts).subquery()
    stored = select(metering_raw.c.metric_id).where(
        metering_raw.c.metric_id == found.c.metric_id, metering_raw.c.ts == found.c.ts
    )
    return select(found.c.metric_id, found.c.ts, found.c.value).where(~stored.exists())


def read_rollup(
    conn: Connection, resolution: int, start: datetime, end: datetime, metric_ids: Any = None
) -> Iterator[tuple[int, datetime, Aggregate]]:
    """Rollup rows in [start, end); the rows come back through the driver, untyped, for speed."""
    table = ROLLUPS[resolution]
    query = select(*table.c).where(table.c.bucket >= start, table.c.bucket < end)
    if metric_ids is not None:
        query = query.where(table.c.metric_id.in_(metric_ids))
    loaded = from_db_time(conn)
    result = conn.execute(query.with_only_columns(*(_untyped(c) for c in table.c)))
    for metric_id, bucket, low, high, total, count, last, last_at in result:
        aggregate = Aggregate(low, high, total, count, last, loaded(last_at))
        yield metric_id, loaded(bucket), aggregate


def _untyped(column: Any) -> Any:
    return type_coerce(column, NullType()).label(column.name)


def replace_rollups(
    conn: Connection,
    resolution: int,
    window: tuple[datetime, datetime],
    rows: Mapping[tuple[int, datetime], Aggregate],
    metric_ids: Sequence[int] | None = None,
) -> None:
    """Make `rows` the whole content of the rollup for [start, end) (and `metric_ids`)."""
    table = ROLLUPS[resolution]
    start, end = window
    ensure_partitions(conn, table, start, end - timedelta(microseconds=1))
    doomed = delete(table).where(table.c.bucket >= start, table.c.bucket < end)
    if metric_ids is None:
        conn.execute(doomed)
    for part in chunks(list(metric_ids or [])):
        conn.execute(doomed.where(table.c.metric_id.in_(part)))
    values = [_rollup_row(key, agg) for key, agg in rows.items()]
    for part in chunks(values, 5000):
        conn.execute(table.insert(), list(part))


def _rollup_row(key: tuple[int, datetime], agg: Aggregate) -> dict[str, Any]:
    return {
        "metric_id": key[0], "bucket": key[1], "min": agg.min, "max": agg.max,
        "sum": agg.sum, "count": agg.count, "last": agg.last, "last_at": agg.last_at,
    }


# ---- rollups computed in the database (SQLite, PostgreSQL) ---------------------------------

ROLLS_UP_IN_DB = tuple(name for name, d in DIALECTS.items() if d.rolls_up_in_db)


def rolls_up_in_db(conn: Connection) -> bool:
    """Whether `roll_up` can compute this database's rollups in SQL (else Python does)."""
    return dialect_of(conn).rolls_up_in_db


def _roll_up_sql(dialect: Dialect, resolution: int, finer: int, metric_filter: str) -> str:
    """INSERT ... SELECT of one rollup's windows from the next finer source, exactly.

    `last` is the value at the latest time: the raw point with the greatest `ts`, or the finer
    window with the greatest bucket (windows are disjoint, so it also holds the latest
    `last_at`); it is found again through the source's primary key.
    """
    mark = dialect.mark
    target = ROLLUPS[resolution].name
    if finer == 0:
        source, time, low, high, total, count = "metering_raw", "ts", *("value",) * 3, "count(*)"
        latest, last, last_at = "max(ts)", "s.value", "s.ts"
    else:
        source, time, low, high, total = ROLLUPS[finer].name, "bucket", "min", "max", "sum"
        count, latest, last, last_at = "sum(count)", "max(bucket)", "s.last", "s.last_at"
    return (
        f"INSERT INTO {target} (metric_id, bucket, min, max, sum, count, last, last_at) "
        f"SELECT g.metric_id, g.b, g.lo, g.hi, g.total, g.n, {last}, {last_at} FROM ("
        f"SELECT metric_id, {dialect.bucket_of(time, resolution)} AS b, min({low}) AS lo, "
        f"max({high}) AS hi, sum({total}) AS total, {count} AS n, {latest} AS latest "
        f"FROM {source} WHERE {time} >= {mark} AND {time} < {mark}{metric_filter} "
        f"GROUP BY metric_id, b) AS g "
        f"JOIN {source} AS s ON s.metric_id = g.metric_id AND s.{time} = g.latest"
    )


def roll_up(
    conn: Connection,
    resolution: int,
    finer: int,
    window: tuple[datetime, datetime],
    metric_ids: Sequence[int] | None = None,
) -> int:
    """Replace the rollup's windows in [start, end) by an aggregation of the finer source (0 is
    raw) computed in the database; returns the windows written. SQLite and PostgreSQL only."""
    table = ROLLUPS[resolution]
    start, end = window
    ensure_partitions(conn, table, start, end - timedelta(microseconds=1))
    stored = to_db_time(conn)
    bounds = (stored(start), stored(end))
    dialect = dialect_of(conn)
    mark = dialect.mark
    groups: list[str] = [""]
    if metric_ids is not None:
        groups = [
            f" AND metric_id IN ({','.join(str(int(m)) for m in part)})"
            for part in chunks(sorted(set(metric_ids)))
        ]
    written = 0
    for metric_filter in groups:
        conn.exec_driver_sql(
            f"DELETE FROM {table.name} WHERE bucket >= {mark} AND bucket < {mark}{metric_filter}",
            bounds,
        )
        result = conn.exec_driver_sql(
            _roll_up_sql(dialect, resolution, finer, metric_filter), bounds
        )
        written += max(result.rowcount, 0)
    return written


# ---- one metric's series in one statement ---------------------------------------------------

SeriesRow = tuple[int, datetime, float, float, float, int, float, datetime | None]


@dataclass(frozen=True, slots=True)
class OneSeries:
    """What `read_series` found: the metric, each source's range, and its rows."""

    project_id: str
    unit: str
    ranges: list[tuple[int, datetime, datetime]]  # (source, start, end); 0 is raw
    rows: list[SeriesRow]  # (source, time, min, max, sum, count, last, last_at)


def read_series(
    conn: Connection, key: MetricKey, sources: Sequence[int], start: datetime, end: datetime,
    whole: int,
) -> OneSeries | None:
    """A metric's rows over [start, end) from `sources` (coarsest first, raw last), in ONE
    statement: the metric, the watermarks that split the range between the sources, and the
    rows. Each source answers from where the coarser one stopped up to its watermark (raw: up
    to `end`). Rows of the source `whole` come without `last_at` (the caller does not merge
    them); a raw point is a window of one. None if the metric is not stored.
    """
    dialect = dialect_of(conn)
    sql = _SERIES_SQL.get((dialect.name, tuple(sources)))
    if sql is None:
        sql = _SERIES_SQL[(dialect.name, tuple(sources))] = _series_sql(dialect, sources)
    stored = dialect.to_db_time()
    with dialect.single_read(conn):
        rows = dialect.fetch(conn, sql, {
            "resource": key[0], "meter": key[1], "device": key[2],
            "start": stored(start), "end": stored(end),
        })
    if not rows:
        return None
    loaded = dialect.from_db_time()
    project_id = unit = ""
    edges: dict[int, datetime] = {}
    data: list[SeriesRow] = []
    for source, at, low, high, total, count, last, last_at, project, metric_unit in rows:
        if source < 0:  # a header row
            project_id, unit = project, metric_unit
            if source < -1:
                edges[-source] = loaded(at)
        else:
            data.append((source, loaded(at), low, high, total, count, last,
                         None if source == whole else loaded(last_at)))
    bounds = [start, *(edges[n] for n in sorted(edges)), end]
    ranges = [
        (source, low, high)
        for source, low, high in zip(sources, bounds[:-1], bounds[1:], strict=True)
        if high > low
    ]
    return OneSeries(project_id, unit, ranges, data)


_SERIES_SQL: dict[tuple[str, tuple[int, ...]], str] = {}


def _series_sql(dialect: Dialect, sources: Sequence[int]) -> str:
    param, greatest, least = dialect.param, dialect.greatest, dialect.least
    start, end = param("start"), param("end")
    ctes = [
        "m AS (SELECT id, project_id, unit FROM metering_metrics WHERE resource_id = "
        f"{param('resource')} AND meter = {param('meter')} AND device = {param('device')})"
    ]
    previous = start
    bounds: list[str] = []
    for n, source in enumerate(sources[:-1], start=1):  # bound n: where source n stops
        mark = f"(SELECT sealed_until FROM metering_watermarks WHERE resolution = {int(source)})"
        ctes.append(
            f"b{n} AS (SELECT {greatest}({previous}, {least}({end}, "
            f"COALESCE({mark}, {previous}))) AS at)"
        )
        previous = f"(SELECT at FROM b{n})"
        bounds.append(previous)
    parts: list[str] = []
    edges = [start, *bounds, end]
    for source, low, high in zip(sources, edges[:-1], edges[1:], strict=True):
        if source == 0:
            columns, table, time = "0, ts, value, value, value, 1, value, ts", "metering_raw", "ts"
        else:
            table, time = ROLLUPS[source].name, "bucket"
            columns = f"{int(source)}, bucket, min, max, sum, count, last, last_at"
        parts.append(
            f"SELECT {columns}, NULL, NULL FROM {table} WHERE metric_id = (SELECT id FROM m) "
            f"AND {time} >= {low} AND {time} < {high}"
        )
    # Header rows last, so the data rows give every column its type: -1 is the metric, -n
    # (n >= 2) also carries where source n - 1 stops.
    parts.append("SELECT -1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, project_id, unit FROM m")
    parts.extend(
        f"SELECT -{n}, {bound}, NULL, NULL, NULL, NULL, NULL, NULL, project_id, unit FROM m"
        for n, bound in enumerate(bounds, start=2)
    )
    return f"WITH {', '.join(ctes)} " + " UNION ALL ".join(parts)


def watermarks(conn: Connection) -> dict[int, datetime]:
    rows = conn.execute(select(metering_watermarks))
    return {row.resolution: row.sealed_until for row in rows}


def set_watermark(conn: Connection, resolution: int, sealed_until: datetime, *, new: bool) -> None:
    table = metering_watermarks
    if new:
        conn.execute(insert_ignoring_duplicates(conn, table).values(
            resolution=resolution, sealed_until=sealed_until
        ))
        return
    conn.execute(
        update(table).where(table.c.resolution == resolution).values(sealed_until=sealed_until)
    )


def delete_before(conn: Connection, table: Table, horizon: datetime) -> int:
    """Enforce retention: drop whole expired partitions (PostgreSQL), then delete the rest."""
    column = table.c.ts if "ts" in table.c else table.c.bucket
    dropped = drop_partitions_before(conn, table, horizon)
    result = conn.execute(delete(table).where(column < horizon))
    return dropped + max(result.rowcount, 0)


# ---- PostgreSQL partitions ----------------------------------------------------------------


def _partition_name(table: Table, start: datetime) -> str:
    return f"{table.name}_p{start:%Y%m%d}"


def delete_expired(
    conn: Connection, horizon: Callable[[int | None], datetime]
) -> dict[str, int]:
    """Retention over raw samples (`horizon(None)`) and each rollup (`horizon(resolution)`):
    rows or partitions removed, by table."""
    removed = {metering_raw.name: delete_before(conn, metering_raw, horizon(None))}
    for resolution, table in ROLLUPS.items():
        removed[table.name] = delete_before(conn, table, horizon(resolution))
    return removed


def ensure_all_partitions(conn: Connection, first: datetime, last: datetime) -> None:
    """The partitions of raw samples and of every rollup for [first, last] (PostgreSQL)."""
    for table in (metering_raw, *ROLLUPS.values()):
        ensure_partitions(conn, table, first, last)


def metric_ids_query(meter: str, device: str = "") -> Select[tuple[int]]:
    """The ids of a meter's metrics, as a subquery for the series walk."""
    return select(metering_metrics.c.id).where(
        metering_metrics.c.meter == meter, metering_metrics.c.device == device
    )


def ensure_partitions(conn: Connection, table: Table, first: datetime, last: datetime) -> None:
    """Create the partitions that will hold [first, last] on PostgreSQL; a no-op elsewhere."""
    if not dialect_of(conn).partitioned:
        return
    known = _known_partitions.setdefault(conn.engine, set())
    width = timedelta(seconds=PARTITION_WIDTH[table.name])
    start = align(first, PARTITION_WIDTH[table.name])
    while start <= last:
        name = _partition_name(table, start)
        if name not in known:
            conn.execute(text(
                f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{table.name}" '
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{(start + width).isoformat()}')"
            ))
            known.add(name)
        start += width


def partitions(conn: Connection, table: Table) -> list[str]:
    query = text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :parent ORDER BY c.relname"
    )
    return [str(name) for name in conn.execute(query, {"parent": table.name}).scalars()]


def drop_partitions_before(conn: Connection, table: Table, horizon: datetime) -> int:
    """Drop every partition whose whole range lies before `horizon`; returns how many."""
    if not dialect_of(conn).partitioned:
        return 0
    width = timedelta(seconds=PARTITION_WIDTH[table.name])
    dropped = 0
    for name in partitions(conn, table):
        start = datetime.strptime(name.rsplit("_p", 1)[1], "%Y%m%d").replace(tzinfo=EPOCH.tzinfo)
        if start + width <= horizon:
            conn.execute(text(f'DROP TABLE "{name}"'))
            _known_partitions.get(conn.engine, set()).discard(name)
            dropped += 1
    return dropped


# ---- counter cursors ----------------------------------------------------------------------


def load_cursors(conn: Connection) -> dict[MetricKey, tuple[float, datetime]]:
    rows = conn.execute(select(metering_cursors))
    return {(r.resource_id, r.meter, r.device): (r.value, r.read_at) for r in rows}


def save_cursors(
    conn: Connection, cursors: Mapping[MetricKey, tuple[float, datetime]], resources: set[str]
) -> None:
    """Replace the stored cursors of `resources` by those in `cursors` (delete, then insert)."""
    for part in chunks(sorted(resources)):
        conn.execute(delete(metering_cursors).where(metering_cursors.c.resource_id.in_(part)))
    rows = [
        {"resource_id": k[0], "meter": k[1], "device": k[2], "value": v, "read_at": at}
        for k, (v, at) in cursors.items()
        if k[0] in resources
    ]
    for part in chunks(rows, 5000):
        conn.execute(metering_cursors.insert(), list(part))


# ---- alarms ---------------------------------------------------------------------------------


def insert_alarm(conn: Connection, alarm: Alarm) -> None:
    conn.execute(alarms.insert().values(
        id=alarm.id, project_id=alarm.project_id, name=alarm.name,
        description=alarm.description, rule=json.dumps(alarm.rule),
        actions=json.dumps(alarm.actions), repeat_actions=alarm.repeat_actions,
        enabled=alarm.enabled, state=alarm.state, state_reason=alarm.state_reason,
        state_changed_at=alarm.state_changed_at, evaluated_at=alarm.evaluated_at,
        created_at=alarm.created_at,
    ))


def change_alarm(conn: Connection, alarm_id: str, changes: Mapping[str, Any]) -> None:
    """`enabled`, `repeat_actions` or `description` (the service says which may change)."""
    conn.execute(update(alarms).where(alarms.c.id == alarm_id).values(**changes))


def delete_alarm(conn: Connection, alarm_id: str) -> None:
    conn.execute(delete(alarms).where(alarms.c.id == alarm_id))


def record_evaluation(
    conn: Connection, row: Any, state: str, reason: str, now: datetime, *, changed: bool
) -> None:
    """The alarm's new state; a change of state also goes into its history."""
    values: dict[str, Any] = {"evaluated_at": now, "state": state, "state_reason": reason}
    if changed:
        values["state_changed_at"] = now
        conn.execute(alarm_history.insert().values(
            alarm_id=row.id, project_id=row.project_id, at=now, previous=row.state,
            state=state, reason=reason,
        ))
    conn.execute(update(alarms).where(alarms.c.id == row.id).values(**values))


def insert_delivery(
    conn: Connection, delivery_id: str, alarm_id: str, action: Mapping[str, Any],
    notice: Mapping[str, Any], now: datetime,
) -> None:
    """A notice to send to `action` (its target, secret included), due now."""
    conn.execute(alarm_deliveries.insert().values(
        id=delivery_id, alarm_id=alarm_id, kind=action["type"], target=json.dumps(action),
        payload=json.dumps(notice, sort_keys=True), attempts=0, status="pending",
        next_attempt_at=now, last_error=None, created_at=now,
    ))


def claim_delivery(conn: Connection, delivery_id: str, now: datetime, until: datetime) -> Any:
    """The delivery, taken until `until` if still due and pending; None if another has it."""
    table = alarm_deliveries
    # The UPDATE re-checks the row as last committed (after waiting on a claimer's row lock),
    # so of two processes claiming at once exactly one matches, on every backend.
    result = conn.execute(update(table).where(
        table.c.id == delivery_id, table.c.status == "pending", table.c.next_attempt_at <= now,
    ).values(next_attempt_at=until))
    if result.rowcount != 1:
        return None
    return conn.execute(select(table).where(table.c.id == delivery_id)).one()


def mark_delivery(
    conn: Connection, delivery_id: str, status: str, attempts: int, *, claimed_until: datetime,
    error: str | None = None, retry_at: datetime | None = None,
) -> bool:
    """Record an attempt; False if the claim ran out and another process holds the row now."""
    values: dict[str, Any] = {"status": status, "attempts": attempts, "last_error": error}
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    table = alarm_deliveries
    result = conn.execute(update(table).where(
        table.c.id == delivery_id, table.c.status == "pending",
        table.c.next_attempt_at == claimed_until,
    ).values(**values))
    return result.rowcount == 1


def dead_letter(conn: Connection, source: str, raw: str, reason: str, now: datetime) -> None:
    """A notice given up on, where admins look for what SWS could not handle."""
    conn.execute(dead_letters.insert().values(
        received_at=now, source=source, raw=raw, reason=reason,
    ))


def alarm_row(conn: Connection, project_id: str | None, alarm_id: str) -> Any:
    query = select(alarms).where(alarms.c.id == alarm_id)
    if project_id is not None:
        query = query.where(alarms.c.project_id == project_id)
    return conn.execute(query).first()


def alarm_rows(
    conn: Connection, project_id: str | None, *, enabled_only: bool = False
) -> list[Any]:
    query = select(alarms).order_by(alarms.c.created_at, alarms.c.id)
    if project_id is not None:
        query = query.where(alarms.c.project_id == project_id)
    if enabled_only:
        query = query.where(alarms.c.enabled.is_(True))
    return list(conn.execute(query))


def alarm_page(conn: Connection, project_id: str, page: PageRequest) -> list[Any]:
    query = select(alarms).where(alarms.c.project_id == project_id)
    order = (alarms.c.created_at, alarms.c.id)
    return list(conn.execute(keyset(conn, query, order=order, request=page)))


def history_rows(
    conn: Connection, alarm_id: str, limit: int, *, before: int | None = None
) -> list[Any]:
    query = select(alarm_history).where(alarm_history.c.alarm_id == alarm_id)
    if before is not None:
        query = query.where(alarm_history.c.id < before)
    return list(conn.execute(query.order_by(alarm_history.c.id.desc()).limit(limit)))


def due_deliveries(conn: Connection, now: datetime, limit: int = 100) -> list[str]:
    """Candidates only: a row is sent by whoever wins `claim_delivery` for it."""
    query = select(alarm_deliveries.c.id).where(
        alarm_deliveries.c.status == "pending", alarm_deliveries.c.next_attempt_at <= now
    )
    query = query.order_by(alarm_deliveries.c.next_attempt_at).limit(limit)
    return list(conn.execute(query).scalars())


def count_by(conn: Connection, table: Table, column: str) -> dict[str, int]:
    query = select(table.c[column], func.count()).group_by(table.c[column])
    return {str(key): int(n) for key, n in conn.execute(query)}


def delete_where(conn: Connection, table: Table, *clauses: Any) -> None:
    conn.execute(delete(table).where(and_(*clauses)))


def rows_in(conn: Connection, table: Table, column: str, values: Iterable[Any]) -> list[Any]:
    return list(conn.execute(select(table).where(table.c[column].in_(list(values)))))
