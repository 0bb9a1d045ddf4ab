"""PostgreSQL's set-based writes for the events repository: COPY, `= ANY(array)`, JSON rows.

A batch of a thousand notifications is a handful of statements here, not a thousand
executions: PostgreSQL parses, plans and runs each statement once, and the driver sends rows
in its C COPY encoder. `repository` calls these on PostgreSQL only; elsewhere its portable SQL
serves. Driver errors are turned into SWS errors as `Database.begin` turns SQLAlchemy's.

Statements that take JSON are never prepared (`prepare=False`): a prepared statement soon runs
a generic plan, which cannot see how many values the JSON holds and scans the whole table; it
cost 5-10 ms per batch, growing with the table.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC
from typing import Any, TypeVar

import orjson
import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import Connection, Table

from sws.db.bulk import base_type
from sws.errors import Contended, Duplicate

_R = TypeVar("_R")
_LOCK_FAILURES = (
    pg_errors.DeadlockDetected, pg_errors.LockNotAvailable, pg_errors.SerializationFailure,
)


def is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def existing(conn: Connection, table: str, column: str, values: Sequence[str]) -> list[str]:
    """Those of `values` present in `table.column`: one statement, one parameter."""
    statement = f"SELECT {column} FROM {table} WHERE {among(column)}"
    with _driver_errors(), _cursor(conn) as cursor:
        cursor.execute(statement.replace(":among", "%(among)s"), json_values(values),
                       prepare=False)
        return [row[0] for row in cursor.fetchall()]


def among(column: str) -> str:
    """`column` is one of the `:among` values; `json_values` binds them. The values travel as
    one JSON array: orjson writes it in C, where the driver would dump an array value by value."""
    return f"{column} = ANY(ARRAY(SELECT json_array_elements_text(CAST(:among AS json))))"


def json_values(values: Sequence[str]) -> dict[str, str]:
    return {"among": orjson.dumps(list(values)).decode()}


def copy_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Append `rows` (values in the order of `columns`) to `table` with a binary COPY: the
    driver's C dumpers write each value, PostgreSQL reads it without parsing text."""
    if not rows:
        return
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    with _driver_errors(), _cursor(conn) as cursor, cursor.copy(statement) as copy:
        copy.set_types([base_type(table.c[name]) for name in columns])
        for row in rows:
            copy.write_row(row)


def copy_records(
    conn: Connection, table: Table, records: Sequence[Any], tail: Mapping[str, Any]
) -> None:
    """COPY `records` (dataclasses whose fields are columns of `table`) into `table`, each row
    ending with the `tail` columns' values."""
    if not records:
        return
    names = tuple(field.name for field in dataclasses.fields(records[0]))
    values = operator.attrgetter(*names)
    ending = tuple(tail.values())
    copy_rows(conn, table, (*names, *tail), [values(record) + ending for record in records])


def insert_new_keys(
    conn: Connection, table: Table, rows: Sequence[Sequence[Any]], constants: Mapping[str, Any]
) -> set[str]:
    """INSERT `rows` (the primary key, then the next columns, as text) with `constants`, skipping
    keys already there; the keys actually inserted."""
    if not rows:
        return set()
    width = len(rows[0])
    names = [column.name for column in table.columns][:width]
    key = names[0]
    extra = list(constants)
    values = ", ".join(
        [*(f"CAST(r->>{index} AS {base_type(table.c[name])})" for index, name in
           enumerate(names)), *(f"%({name})s" for name in extra)]
    )
    statement = (
        f"INSERT INTO {table.name} ({', '.join([*names, *extra])}) SELECT {values} "
        f"FROM json_array_elements(%(rows)s::json) AS r "
        f"ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
    )
    params = {**constants, "rows": orjson.dumps(rows).decode()}
    with _driver_errors(), _cursor(conn) as cursor:
        cursor.execute(statement, params, prepare=False)
        return {row[0] for row in cursor.fetchall()}


def locked_records(
    conn: Connection, table: Table, make: Callable[..., _R], names: Sequence[str], column: str,
    values: Sequence[str],
) -> list[_R]:
    """Rows of `table` whose `column` is among `values`, locked FOR UPDATE, each built as
    `make(*row)` from the `names` columns; times come back as aware UTC, as `UTCDateTime`'s."""
    statement = (
        f"SELECT {', '.join(names)} FROM {table.name} "
        f"WHERE {among(column).replace(':among', '%(among)s')} FOR UPDATE"
    )
    times = [i for i, name in enumerate(names) if base_type(table.c[name]) == "timestamptz"]
    records = []
    with _driver_errors(), _cursor(conn) as cursor:
        for row in cursor.execute(statement, json_values(values), prepare=False):
            row = list(row)
            for index in times:
                if row[index] is not None:
                    row[index] = row[index].astimezone(UTC)
            records.append(make(*row))
    return records


def update_records(
    conn: Connection, table: str, keys: Sequence[str], records: Sequence[Any],
    constants: Mapping[str, Any], *, indexed: str,
) -> None:
    """UPDATE the rows of `table` matching `records` on `keys`: their fields and `constants`
    become the row's values. One statement, the records as one JSON array. `indexed` (one of
    the keys, with an index of its own) is matched against an array of the records' values
    too: PostgreSQL cannot tell how many records the JSON holds, and without it scans the
    whole table to join them."""
    if not records:
        return
    names = [field.name for field in dataclasses.fields(records[0])]
    assignments = ", ".join(
        [*(f"{name} = r.{name}" for name in names if name not in keys),
         *(f"{name} = %({name})s" for name in constants)]
    )
    matches = " AND ".join(f"t.{key} = r.{key}" for key in keys)
    statement = (
        f"UPDATE {table} AS t SET {assignments} "
        f"FROM json_populate_recordset(NULL::{table}, %(rows)s::json) AS r WHERE {matches} "
        f"AND {among('t.' + indexed).replace(':among', '%(among)s')}"
    )
    ids = [getattr(record, indexed) for record in records]
    params = {**constants, "rows": orjson.dumps(records).decode(), **json_values(ids)}
    _run(conn, statement, params)


def _run(conn: Connection, statement: str, params: Mapping[str, Any]) -> None:
    with _driver_errors(), _cursor(conn) as cursor:
        cursor.execute(statement, params, prepare=False)


@contextmanager
def _cursor(conn: Connection) -> Iterator[psycopg.Cursor[Any]]:
    """A cursor on the transaction `conn` has open (the COPY protocol is below SQLAlchemy)."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError("a psycopg connection was expected")
    with driver.cursor() as cursor:
        yield cursor


@contextmanager
def _driver_errors() -> Iterator[None]:
    try:
        yield
    except psycopg.IntegrityError as exc:
        raise Duplicate("another worker wrote the same thing first; try again") from exc
    except _LOCK_FAILURES as exc:
        raise Contended("the database was busy with a conflicting change; try again") from exc
