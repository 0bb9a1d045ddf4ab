"""Set-based SQL on PostgreSQL: many rows in one INSERT, and one statement for any number of ids.

An executemany runs the statement once per row: PostgreSQL binds, plans and executes it N
times, and the driver sends N messages. Here the rows travel as one JSON parameter (written by
orjson, in C) that `json_to_recordset` turns back into typed columns, so the server runs one
statement for the whole batch. Elsewhere (SQLite, MariaDB) the portable executemany serves.
Rows are dicts naming the same columns; a TypeDecorator's conversion is applied first, as
SQLAlchemy's own insert would apply it. A Decimal travels as its exact text, never a float.

`one_statement(conn)` goes further for a use case whose writes are all known before it commits:
inside it, `insert_rows` and `write` on PostgreSQL queue their statements, and at the end of the
block they go to the server together as one statement (each a data-modifying `WITH` part), in
one round trip. Reads inside the block do not see the queued writes, and the parts of one
statement cannot see each other's rows; so a write to a table something already queued for
sends the queue first, and the block should hold only writes that nothing in it reads back.

`among` is `column IN (...)` written `column = ANY(:ids)` on PostgreSQL: one statement text
whatever the number of ids, so the driver prepares it once and the server plans it once.

Columns are read from the JSON in their base types (`text`, not `varchar(64)`): an explicit cast
to `varchar(n)` would cut a long value silently, while the assignment into the column refuses
it, as a plain INSERT does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Table,
    TypeDecorator,
    any_,
    bindparam,
    insert,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from sws.db.once import insert_once


def insert_rows(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_existing: str | None = None,
) -> None:
    """Insert `rows` into `table`: one statement on PostgreSQL, an executemany elsewhere.
    With `skip_existing` (a unique column), a row whose key is there already is left out
    (`ON CONFLICT DO NOTHING` on PostgreSQL; elsewhere `sws.db.once`, row by row)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        if skip_existing is None:
            conn.execute(insert(table), list(rows))
            return
        for row in rows:
            insert_once(conn, table, dict(row), key=skip_existing)
        return
    names = tuple(rows[0])
    statement, processors = _json_insert(table, names, conn.dialect)
    if skip_existing is not None:
        quoted = conn.dialect.identifier_preparer.quote(skip_existing)
        statement = f"{statement} ON CONFLICT ({quoted}) DO NOTHING"
    if processors:
        rows = [{**row, **{n: p(row[n]) for n, p in processors.items()}} for row in rows]
    write(conn, table, statement, (orjson.dumps(rows, default=_json_value).decode(),))


_QUEUE = "sws.db.bulk.queued"


@dataclass
class _Queued:
    tables: set[str] = field(default_factory=set)
    statements: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)


def write(conn: Connection, table: Table, statement: str, params: Sequence[Any]) -> None:
    """Run a PostgreSQL write on `table` (positional `%b`/`%s` parameters) now, or inside
    `one_statement` queue it; the queue is sent first if it already writes to `table`."""
    queued: _Queued | None = conn.info.get(_QUEUE)
    if queued is None:
        conn.exec_driver_sql(statement, tuple(params))
        return
    if table.name in queued.tables:
        _send(conn, queued)
    queued.tables.add(table.name)
    queued.statements.append(statement)
    queued.params.extend(params)


@contextmanager
def one_statement(conn: Connection) -> Iterator[None]:
    """The block's queued writes sent as one statement when it ends without an error (on
    PostgreSQL; elsewhere, and when nested, each write runs as it comes)."""
    if conn.dialect.name != "postgresql" or _QUEUE in conn.info:
        yield
        return
    queued = conn.info[_QUEUE] = _Queued()
    try:
        yield
        _send(conn, queued)
    finally:
        del conn.info[_QUEUE]


def _send(conn: Connection, queued: _Queued) -> None:
    parts = [f"w{n} AS ({statement})" for n, statement in enumerate(queued.statements)]
    if len(parts) == 1:
        conn.exec_driver_sql(queued.statements[0], tuple(queued.params))
    elif parts:
        conn.exec_driver_sql(f"WITH {', '.join(parts)} SELECT 1", tuple(queued.params))
    queued.tables.clear()
    queued.statements.clear()
    queued.params.clear()


@cache
def _json_insert(
    table: Table, names: tuple[str, ...], dialect: Dialect
) -> tuple[str, dict[str, Callable[[Any], Any]]]:
    """The INSERT of `names` from one JSON array of row objects, and the columns whose
    values need their TypeDecorator's conversion first."""
    quote = dialect.identifier_preparer.quote  # a column may be named `end`
    columns = [table.c[name] for name in names]
    listed = ", ".join(quote(name) for name in names)
    typed = ", ".join(f"{quote(c.name)} {base_type(c)}" for c in columns)
    statement = (
        f"INSERT INTO {quote(table.name)} ({listed}) SELECT {listed} "
        f"FROM json_to_recordset(%s::json) AS r({typed})"
    )
    found = {c.name: _processor(c, dialect) for c in columns}
    return statement, {name: process for name, process in found.items() if process}


def _json_value(value: Any) -> Any:
    """What orjson does not write itself: a Decimal as its exact text, bytes as bytea hex."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    raise TypeError(f"no JSON form for {type(value).__name__}")


def _processor(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """A TypeDecorator's own conversion (orjson writes the plain types itself)."""
    kind = column.type
    return kind.bind_processor(dialect) if isinstance(kind, TypeDecorator) else None


def array_type(column: Column[Any]) -> str:
    """The PostgreSQL array type a column's values travel in (its base type)."""
    return f"{base_type(column)}[]"


def base_type(column: Column[Any]) -> str:
    """The PostgreSQL type of a column, without length or precision."""
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    for python_type, name in _BASE_TYPES:
        if isinstance(kind, python_type):
            return name
    raise TypeError(f"no PostgreSQL base type for {column}")


# Subclasses before their bases: BigInteger and SmallInteger are Integers, Float is Numeric.
_BASE_TYPES: tuple[tuple[type[Any], str], ...] = (
    (BigInteger, "int8"),
    (SmallInteger, "int2"),
    (Integer, "int4"),
    (Boolean, "bool"),
    (Float, "float8"),
    (Numeric, "numeric"),
    (Date, "date"),
    (LargeBinary, "bytea"),
    (String, "text"),
)


def among(dialect: str, column: Any, name: str = "ids") -> ColumnElement[bool]:
    """`column IN :name`, as `column = ANY(:name)` on PostgreSQL (bind a list to `name`)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(String)))  # type: ignore[no-any-return]
    return column.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]
