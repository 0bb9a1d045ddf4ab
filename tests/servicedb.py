"""Throwaway databases on the machine's PostgreSQL and MariaDB, one per test, already migrated.

Migrations run once per test process and server, not once per test, and databases are reused:
- Each process keeps a small pool of migrated databases per server; a test gets one to itself,
  and on return every table is emptied (the schema stays). Emptying a few dozen small tables
  costs milliseconds, where creating a database costs a fraction of a second and, on a loaded
  machine, seconds.
- A database is dropped, not reused, when it cannot be emptied within 10 s (a lock a test left
  behind) or when a test moved its schema away from the migrations' head. On PostgreSQL the
  tables SWS makes at run time (metering's partitions) are dropped on return.
- New PostgreSQL databases are copied from a migrated template database of the process
  (`CREATE DATABASE ... TEMPLATE`); MariaDB has no template databases and migrates each one.
Callers may still run `upgrade` on the URL: at head it does nothing.
"""

from __future__ import annotations

import atexit
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from sws.db.engine import make_engine
from sws.db.migrate import MIGRATIONS, upgrade

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MARIADB_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{}"
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/{}"


def _unavailable(what: str, exc: Exception) -> None:
    pytest.skip(f"{what} is not reachable ({type(exc).__name__}); start it with scripts/services")


def _new_name() -> str:
    return f"sws_test_{uuid.uuid4().hex[:12]}"


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@cache
def _postgres_admin() -> Engine:
    return create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")


def _postgres(statement: str) -> None:
    with _postgres_admin().connect() as conn:
        conn.execute(text(statement))


@cache
def _postgres_template() -> str:
    name = _new_name() + "_tmpl"
    _postgres(f'CREATE DATABASE "{name}"')
    atexit.register(_postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _migrate(POSTGRES_URL.format(name))
    return name


def _postgres_new() -> str:
    name = _new_name()
    _postgres(f'CREATE DATABASE "{name}" TEMPLATE "{_postgres_template()}"')
    atexit.register(_postgres_drop, name)
    return name


@cache
def _postgres_engine(name: str) -> Engine:
    return create_engine(POSTGRES_URL.format(name), pool_size=1)


def _postgres_empty(name: str) -> None:
    """Delete every row but Alembic's, foreign keys unchecked (a superuser's replica role), and
    drop the tables SWS made at run time (metering's partitions): the template's schema again."""
    with _postgres_engine(name).begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        _check_heads(conn, "alembic_version")
        tables, schema = set(_postgres_tables(conn)), _postgres_template_tables()
        for table in tables - schema:
            conn.execute(text(f'DROP TABLE IF EXISTS "{table}"'))
        for table in (tables & schema) - {"alembic_version"}:
            conn.execute(text(f'DELETE FROM "{table}"'))


def _postgres_tables(conn: Connection) -> list[str]:
    query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    return list(conn.execute(text(query)).scalars())


@cache
def _postgres_template_tables() -> frozenset[str]:
    engine = create_engine(POSTGRES_URL.format(_postgres_template()))
    try:
        with engine.connect() as conn:
            return frozenset(_postgres_tables(conn))
    finally:
        engine.dispose()


def _postgres_drop(name: str) -> None:
    _postgres_engine(name).dispose()
    _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_database() -> Iterator[str]:
    with _pooled(POSTGRES, "PostgreSQL at 127.0.0.1:5432") as name:
        yield POSTGRES_URL.format(name)


@cache
def _mariadb_admin() -> Engine:
    return create_engine(MARIADB_ADMIN, pool_size=1)


def _mariadb_drop(name: str) -> None:
    with _mariadb_admin().begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))


def _mariadb_new() -> str:
    name = _new_name()
    with _mariadb_admin().begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    atexit.register(_mariadb_drop, name)
    _migrate(MARIADB_URL.format(name))
    return name


def _mariadb_empty(name: str) -> None:
    """Delete every row but Alembic's; waits at most 10 s for a lock a test left behind."""
    with _mariadb_admin().begin() as conn:
        tables = conn.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :db "
                 "AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version'"),
            {"db": name},
        ).scalars().all()
        _check_heads(conn, f"`{name}`.alembic_version")
        conn.execute(text("SET SESSION lock_wait_timeout = 10, innodb_lock_wait_timeout = 10"))
        conn.execute(text("SET SESSION foreign_key_checks = 0"))
        for table in tables:
            conn.execute(text(f"DELETE FROM `{name}`.`{table}`"))
        conn.execute(text("SET SESSION foreign_key_checks = 1"))


def _check_heads(conn: Connection, table: str) -> None:
    versions = frozenset(conn.execute(text(f"SELECT version_num FROM {table}")).scalars())
    if versions != _heads():
        raise NotReusable(f"the schema is at {sorted(versions)}, not at the migrations' heads")


@cache
def _heads() -> frozenset[str]:
    """The migrations' heads: one per domain's branch."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


@contextmanager
def mariadb_database() -> Iterator[str]:
    with _pooled(MARIADB, "MariaDB at 127.0.0.1:3306") as name:
        yield MARIADB_URL.format(name)


class NotReusable(Exception):
    """A returned database that must be dropped rather than handed to the next test."""


@dataclass
class _Server:
    new: Callable[[], str]
    empty: Callable[[str], None]
    drop: Callable[[str], None]
    pool: list[str] = field(default_factory=list)


POSTGRES = _Server(_postgres_new, _postgres_empty, _postgres_drop)
MARIADB = _Server(_mariadb_new, _mariadb_empty, _mariadb_drop)


@contextmanager
def _pooled(server: _Server, what: str) -> Iterator[str]:
    try:
        name = server.pool.pop() if server.pool else server.new()
    except OperationalError as exc:
        _unavailable(what, exc)
    try:
        yield name
    finally:
        try:
            server.empty(name)
            server.pool.append(name)
        except (SQLAlchemyError, NotReusable):
            server.drop(name)
