"""Throwaway databases on the machine's PostgreSQL and MariaDB, one per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MARIADB_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/"


def _unavailable(what: str, exc: Exception) -> None:
    pytest.skip(f"{what} is not reachable ({type(exc).__name__}); start it with scripts/services")


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"sws_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        _unavailable("PostgreSQL at 127.0.0.1:5432", exc)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def mariadb_database() -> Iterator[str]:
    name = f"sws_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(MARIADB_ADMIN)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    except OperationalError as exc:
        _unavailable("MariaDB at 127.0.0.1:3306", exc)
    try:
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()
