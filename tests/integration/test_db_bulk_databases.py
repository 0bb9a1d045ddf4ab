"""`sws.db.bulk.insert_rows` writes exactly what a plain INSERT writes, on every backend.

PostgreSQL takes the one-statement path (`unnest` of binary arrays); SQLite and MariaDB the
executemany. The same rows go in, and the same rows come back: exact decimals, times in UTC,
a column named with a reserved word, values of mixed Python types in one column, and a value
too long for its column refused (not cut) with nothing of the batch written.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    select,
)
from sqlalchemy.exc import DBAPIError

from sws.db.bulk import insert_rows, one_statement, write
from sws.db.engine import Database, make_engine
from tests.servicedb import mariadb_database, postgres_database

metadata = MetaData()
sample = Table(
    "bulk_sample",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(3), nullable=False),
    Column("amount", Numeric(24, 6)),
    Column("end", DateTime(timezone=True)),
)


class Kind(enum.StrEnum):  # a str subclass, as some domain values are
    A = "abc"


SERVERS = [
    pytest.param(postgres_database, marks=pytest.mark.postgres, id="postgresql"),
    pytest.param(mariadb_database, marks=pytest.mark.mariadb, id="mariadb"),
]


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A database server that enforces a column's length."""
    with request.param() as url:
        yield from _with_table(url)


@pytest.fixture(params=["sqlite", *SERVERS])
def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        yield from _with_table(f"sqlite:///{tmp_path_factory.mktemp('bulk')}/bulk.db")
        return
    with request.param() as url:
        yield from _with_table(url)


def _with_table(url: str) -> Iterator[Database]:
    engine = make_engine(url)
    metadata.create_all(engine)
    try:
        yield Database(engine)
    finally:
        metadata.drop_all(engine)
        engine.dispose()


T = datetime(2026, 12, 6, 12, 30, tzinfo=UTC)
ROWS = [
    {"id": 1, "code": "abc", "amount": Decimal("0.123457"), "end": T},
    {"id": 2, "code": Kind.A, "amount": 3, "end": None},  # a str subclass, an int
    {"id": 3, "code": "x", "amount": None, "end": T},
]


def test_rows_come_back_exactly_as_written(db: Database) -> None:
    with db.begin() as conn:
        insert_rows(conn, sample, ROWS)
    with db.read() as conn:
        found = [tuple(row) for row in conn.execute(select(sample).order_by(sample.c.id))]
    assert [(i, code, None if a is None else Decimal(a)) for i, code, a, _ in found] == [
        (1, "abc", Decimal("0.123457")),
        (2, "abc", Decimal("3")),
        (3, "x", None),
    ]
    ends = [end if end is None or end.tzinfo else end.replace(tzinfo=UTC) for *_, end in found]
    assert ends == [T, None, T]


def test_a_value_too_long_is_refused_and_nothing_of_the_batch_is_written(server: Database) -> None:
    too_long = [*ROWS[:1], {"id": 9, "code": "abcd", "amount": None, "end": None}]
    with pytest.raises(DBAPIError), server.begin() as conn:
        insert_rows(conn, sample, too_long)
    with server.read() as conn:
        assert conn.execute(select(sample)).first() is None


def test_no_rows_is_no_statement(db: Database) -> None:
    with db.begin() as conn:
        insert_rows(conn, sample, [])
    with db.read() as conn:
        assert conn.execute(select(sample)).first() is None


other = Table("bulk_other", metadata, Column("id", Integer, primary_key=True))


def test_one_statement_writes_everything_queued_and_in_order_per_table(db: Database) -> None:
    """Inside `one_statement` the inserts to two tables go together; an UPDATE of a table with
    queued rows sends them first, so it sees them (parts of one statement would not)."""
    with db.begin() as conn, one_statement(conn):
        insert_rows(conn, sample, ROWS[:1])
        insert_rows(conn, other, [{"id": 7}])
        write_update(conn, "UPDATE bulk_sample SET code = 'zz' WHERE id = 1")
        insert_rows(conn, sample, ROWS[2:])
    with db.read() as conn:
        codes = [tuple(r) for r in conn.execute(select(sample.c.id, sample.c.code))]
        assert sorted(codes) == [(1, "zz"), (3, "x")]
        assert list(conn.execute(select(other.c.id)).scalars()) == [7]


def test_an_error_in_the_block_sends_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.begin() as conn, one_statement(conn):
        insert_rows(conn, sample, ROWS[:1])
        raise RuntimeError("the use case failed after queueing")
    with db.read() as conn:
        assert conn.execute(select(sample)).first() is None


def write_update(conn: Connection, statement: str) -> None:
    if conn.dialect.name == "postgresql":
        write(conn, sample, statement, ())
    else:
        conn.exec_driver_sql(statement)
