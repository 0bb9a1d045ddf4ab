"""Throwaway databases on the machine's PostgreSQL and MariaDB, one per test, already migrated.

Migrations run once per test process and server, not once per test:
- PostgreSQL: each test's database is created from a migrated template database of its own
  process (`CREATE DATABASE ... TEMPLATE`), and dropped afterwards.
- MariaDB has no template databases, and its DDL costs seconds per schema. Each process keeps a
  small pool of migrated databases; a test gets one to itself, and on return every table is
  emptied (the schema stays). A database that cannot be emptied is dropped, not reused.
Callers may still run `upgrade` on the URL: at head it does nothing.
"""

from __future__ import annotations

import atexit
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from sws.db.engine import make_engine
from sws.db.migrate import upgrade

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


@contextmanager
def postgres_database() -> Iterator[str]:
    name = _new_name()
    try:
        _postgres(f'CREATE DATABASE "{name}" TEMPLATE "{_postgres_template()}"')
    except OperationalError as exc:
        _unavailable("PostgreSQL at 127.0.0.1:5432", exc)
    try:
        yield POSTGRES_URL.format(name)
    finally:
        _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@cache
def _mariadb_admin() -> Engine:
    return create_engine(MARIADB_ADMIN, pool_size=1)


_mariadb_pool: list[str] = []


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
        conn.execute(text("SET SESSION lock_wait_timeout = 10, innodb_lock_wait_timeout = 10"))
        conn.execute(text("SET SESSION foreign_key_checks = 0"))
        for table in tables:
            conn.execute(text(f"DELETE FROM `{name}`.`{table}`"))
        conn.execute(text("SET SESSION foreign_key_checks = 1"))


@contextmanager
def mariadb_database() -> Iterator[str]:
    try:
        name = _mariadb_pool.pop() if _mariadb_pool else _mariadb_new()
    except OperationalError as exc:
        _unavailable("MariaDB at 127.0.0.1:3306", exc)
    try:
        yield MARIADB_URL.format(name)
    finally:
        try:
            _mariadb_empty(name)
            _mariadb_pool.append(name)
        except SQLAlchemyError:
            _mariadb_drop(name)
