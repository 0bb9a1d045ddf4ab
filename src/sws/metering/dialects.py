"""What metering does differently on SQLite, PostgreSQL and MariaDB, behind one `Dialect`.

The repository asks `dialect_of(conn)` and never branches on a dialect's name: inserts that skip
duplicates, how a UTC time is bound and read back on the hot paths, bulk loading of raw samples,
SQL for windows and parameters, partitions, row locks and single-statement reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

RawRow = tuple[int, datetime, float]
CHUNK = 1000
_RAW_COLUMNS = "metering_raw (metric_id, ts, value)"
_BUFFER_COLUMNS = "metering_buffer (metric_id, ts, value)"


class Dialect:
    """MariaDB (and MySQL): the baseline that the other two refine."""

    name = "mysql"
    mark = "%s"  # the driver's positional parameter
    rolls_up_in_db = False  # rollups are computed in Python
    buffers_raw = False  # SQLite only: new points wait in metering_buffer (see append_buffer)
    partitioned = False  # PostgreSQL only: series tables are partitioned by time
    greatest, least = "GREATEST", "LEAST"

    def param(self, name: str) -> str:
        """A named parameter in driver-level SQL."""
        return f"%({name})s"

    def insert_ignoring_duplicates(self, table: Table) -> Insert:
        """An INSERT that skips rows whose primary key is already there."""
        return insert(table).prefix_with("IGNORE")

    def to_db_time(self) -> Callable[[datetime], Any]:
        """How a UTC time is bound, exactly as `UTCDateTime` binds it (hot paths)."""
        return lambda at: at.astimezone(UTC).replace(tzinfo=None)

    def from_db_time(self) -> Callable[[Any], datetime]:
        return _mysql_time

    def insert_raw(self, conn: Connection, rows: Sequence[RawRow]) -> None:
        """Batched insert of raw samples; duplicates of a stored point are skipped."""
        params = _bound(rows, self.to_db_time())
        for part in chunks(params, 10_000):
            conn.exec_driver_sql(f"INSERT IGNORE INTO {_RAW_COLUMNS} VALUES (%s, %s, %s)",
                                 list(part))

    def append_buffer(self, conn: Connection, rows: Sequence[RawRow]) -> None:
        """Append raw samples to metering_buffer (where `buffers_raw`)."""
        raise NotImplementedError(f"{self.name} writes metering_raw directly")

    def bucket_of(self, column: str, resolution: int) -> str:
        """SQL for the start of the clock-aligned window of `resolution` s holding `column`."""
        raise NotImplementedError(f"{self.name} rolls up in Python")

    @contextmanager
    def single_read(self, conn: Connection) -> Iterator[None]:
        """Around a one-statement read that needs no transaction of its own."""
        yield

    def fetch(self, conn: Connection, sql: str, params: Mapping[str, Any]) -> Sequence[Any]:
        """All rows of a driver-level statement."""
        return conn.exec_driver_sql(sql, dict(params)).all()


class SQLiteDialect(Dialect):
    name = "sqlite"
    mark = "?"
    rolls_up_in_db = True
    buffers_raw = True
    greatest, least = "max", "min"
    rows_per_insert = 300  # a multi-row INSERT of 900 parameters, under every SQLite limit

    def param(self, name: str) -> str:
        return f":{name}"

    def insert_ignoring_duplicates(self, table: Table) -> Insert:
        return sqlite.insert(table).on_conflict_do_nothing()

    def to_db_time(self) -> Callable[[datetime], Any]:
        return lambda at: at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def from_db_time(self) -> Callable[[Any], datetime]:
        return lambda value: datetime.fromisoformat(value + "+00:00")  # 3x faster than replace

    def insert_raw(self, conn: Connection, rows: Sequence[RawRow]) -> None:
        """Multi-row VALUES statements: one SQLite step per 300 rows instead of one per row."""
        self._insert(conn, rows, _RAW_COLUMNS)

    def append_buffer(self, conn: Connection, rows: Sequence[RawRow]) -> None:
        """The same statements into metering_buffer: no index, so each row is an append."""
        self._insert(conn, rows, _BUFFER_COLUMNS)

    def _insert(self, conn: Connection, rows: Sequence[RawRow], columns: str) -> None:
        bound = _bound(rows, self.to_db_time())
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            for part in chunks(bound, self.rows_per_insert):
                cursor.execute(_sqlite_insert(len(part), columns),
                               [x for row in part for x in row])
        finally:
            cursor.close()

    def bucket_of(self, column: str, resolution: int) -> str:
        if resolution == 60:  # 'YYYY-MM-DD HH:MM:SS.ffffff', as UTCDateTime stores it
            return f"substr({column}, 1, 16) || ':00.000000'"
        return (
            f"strftime('%Y-%m-%d %H:%M:%S', CAST(strftime('%s', {column}) AS INTEGER) "
            f"/ {resolution} * {resolution}, 'unixepoch') || '.000000'"
        )


class PostgreSQLDialect(Dialect):
    name = "postgresql"
    rolls_up_in_db = True
    partitioned = True

    def insert_ignoring_duplicates(self, table: Table) -> Insert:
        return postgresql.insert(table).on_conflict_do_nothing()

    def to_db_time(self) -> Callable[[datetime], Any]:
        return lambda at: at

    def from_db_time(self) -> Callable[[Any], datetime]:
        return lambda value: value.astimezone(UTC)

    def insert_raw(self, conn: Connection, rows: Sequence[RawRow]) -> None:
        """COPY (binary); if a point is already stored, INSERT skipping duplicates.

        COPY cannot skip a duplicate key, so it runs under a savepoint; a unique violation (a
        point polled twice, a re-import) rolls back to it and the rows go through INSERT ... ON
        CONFLICT.
        """
        import psycopg.errors  # only on PostgreSQL

        driver = conn.connection.driver_connection
        try:
            with (
                conn.begin_nested(),
                driver.cursor() as cursor,  # type: ignore[union-attr]
                cursor.copy(f"COPY {_RAW_COLUMNS} FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.set_types(["int4", "timestamptz", "float8"])
                for row in rows:
                    copy.write_row(row)
        except psycopg.errors.UniqueViolation:
            sql = f"INSERT INTO {_RAW_COLUMNS} VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
            for part in chunks(rows, 10_000):
                conn.exec_driver_sql(sql, list(part))

    def bucket_of(self, column: str, resolution: int) -> str:
        return f"to_timestamp(floor(extract(epoch FROM {column}) / {resolution}) * {resolution})"

    @contextmanager
    def single_read(self, conn: Connection) -> Iterator[None]:
        """Outside a transaction, the driver runs in autocommit: one statement is its own
        snapshot, with no BEGIN/ROLLBACK round trips."""
        driver = conn.connection.driver_connection
        if conn.in_transaction() or driver is None:
            yield
            return
        driver.autocommit = True
        try:
            yield
        finally:
            if not driver.closed:
                driver.autocommit = False

    def fetch(self, conn: Connection, sql: str, params: Mapping[str, Any]) -> Sequence[Any]:
        """Binary results: timestamps load in about half the time of text."""
        driver = conn.connection.driver_connection
        with driver.cursor(binary=True) as cursor:  # type: ignore[union-attr]
            cursor.execute(sql, params)
            rows: Sequence[Any] = cursor.fetchall()
        return rows


DIALECTS: dict[str, Dialect] = {
    d.name: d for d in (Dialect(), SQLiteDialect(), PostgreSQLDialect())
}


def dialect_of(conn: Connection) -> Dialect:
    """The strategy for this connection's database (MariaDB's for any other)."""
    return DIALECTS.get(conn.dialect.name, DIALECTS["mysql"])


def _mysql_time(value: datetime | str) -> datetime:
    """MariaDB returns DATETIME(6), or text where a UNION mixes it with NULL header columns."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def _bound(rows: Sequence[RawRow], stored: Callable[[datetime], Any]) -> list[tuple[Any, ...]]:
    as_stored = {at: stored(at) for at in {at for _, at, _ in rows}}
    return [(metric_id, as_stored[at], value) for metric_id, at, value in rows]


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """`items` in slices of `size` (statements stay under every driver's parameter limit)."""
    for index in range(0, len(items), size):
        yield items[index : index + size]


@lru_cache(maxsize=32)
def _sqlite_insert(rows: int, columns: str = _RAW_COLUMNS) -> str:
    values = ",".join(["(?,?,?)"] * rows)
    return f"INSERT INTO {columns} VALUES {values} ON CONFLICT DO NOTHING"
