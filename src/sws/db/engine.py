"""Engine and transaction factory for SQLite, PostgreSQL (psycopg 3) and MariaDB (PyMySQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from sws.errors import Contended, Duplicate


def _is_lock_failure(exc: OperationalError) -> bool:
    """A deadlock, a lock wait or serialisation timeout, SQLite's "database is locked"."""
    text = str(exc.orig).lower()
    return "lock" in text or "serializ" in text


def normalise_url(url: str) -> str:
    """Pick the drivers SWS ships with: psycopg 3 for PostgreSQL, PyMySQL for MariaDB."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername in ("mysql", "mariadb"):
        parsed = parsed.set(drivername="mysql+pymysql")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's begin says BEGIN (_sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Checkpoint every ~80 MB of WAL rather than 4 MB: metering writes touch many index pages
    # per commit, and copying them back on nearly every commit halved steady ingest.
    cursor.execute("PRAGMA wal_autocheckpoint=20000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Open SQLite's transaction at SQLAlchemy's begin. Left to pysqlite, it opens only at the
    first INSERT/UPDATE/DELETE: a SAVEPOINT before that becomes the outermost transaction, and
    its RELEASE commits on the spot, whatever the enclosing `begin()` does later."""
    connection.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("mysql"):
        return create_engine(url, pool_pre_ping=True, isolation_level="READ COMMITTED")
    return create_engine(url, pool_pre_ping=True)


class Database:
    """Hands out transactions; every use case runs in exactly one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction; the database's integrity and lock failures leave it as SWS's own
        `Duplicate` and `Contended`, so no service handles a driver's exception."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except IntegrityError as exc:
            # The key's name stays in the chained exception (logs), not in what users read.
            raise Duplicate("another request wrote the same thing first; try again") from exc
        except OperationalError as exc:
            if not _is_lock_failure(exc):
                raise
            raise Contended("the database was busy with a conflicting change; try again") from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection
