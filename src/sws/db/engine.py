"""Engine and transaction factory for SQLite, PostgreSQL (psycopg 3) and MariaDB (PyMySQL)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from sws.errors import Contended, Duplicate, Unavailable

#: How long a transaction waits for the database to take a connection again: a restart or a
#: fail-over takes a few seconds, and a request that waits them out is answered, not failed.
CONNECT_PATIENCE = 8.0


def _is_lock_failure(exc: OperationalError) -> bool:
    """A deadlock, a lock wait or serialisation timeout, SQLite's "database is locked"."""
    text = str(exc.orig).lower()
    return "lock" in text or "serializ" in text


#: What a database restarting, failing over or out of reach answers (PostgreSQL, MariaDB): worth
#: waiting out. A refused password or a missing database is not, and fails at once.
PASSING = (
    "connection refused", "could not connect", "can't connect", "timed out", "timeout",
    "starting up", "shutting down", "shutdown in progress", "recovery mode", "no route to host",
    "network is unreachable", "connection reset", "lost connection", "gone away",
    "server closed the connection", "terminating connection",
)


def _passing(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(sign in text for sign in PASSING)


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


#: The execution option of `Database.begin(immediate=True)`.
IMMEDIATE = "sws_immediate"


def _sqlite_begin(connection: Connection) -> None:
    """Open SQLite's transaction at SQLAlchemy's begin. Left to pysqlite, it opens only at the
    first INSERT/UPDATE/DELETE: a SAVEPOINT before that becomes the outermost transaction, and
    its RELEASE commits on the spot, whatever the enclosing `begin()` does later.

    `immediate` takes the write lock at BEGIN, waiting up to busy_timeout for another writer.
    A deferred transaction that reads first and writes after another writer committed fails
    at once with "database is locked", whatever the timeout (18 of 20 such transactions beside
    a busy writer)."""
    immediate = connection.get_execution_options().get(IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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
    """Hands out transactions; every use case runs in exactly one.

    The database's failures leave it as SWS's own errors, so no service handles a driver's
    exception: integrity as `Duplicate`, lock failures as `Contended`, a database that takes no
    connection for `patience` seconds, or drops one mid-transaction, as `Unavailable` (503).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        patience: float = CONNECT_PATIENCE,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.patience = patience
        self._sleep = sleep

    @contextmanager
    def begin(self, *, immediate: bool = False) -> Iterator[Connection]:
        """One transaction; `immediate`, on SQLite, holds the write lock from its start, for a
        short one that reads and then writes while other processes write (a purge beside the
        edges' reports). It must open no other transaction meanwhile: that one would wait."""
        with (_translated(), self._connect() as connection,
              connection.execution_options(**{IMMEDIATE: immediate}).begin()):
            yield connection

    @contextmanager
    def read(self, *, patience: float | None = None) -> Iterator[Connection]:
        """A connection for reads; a probe that must answer at once passes `patience=0`."""
        with _translated(), self._connect(patience) as connection:
            yield connection

    def answers(self) -> bool:
        """Whether the database answers a query right now (readiness probes: no waiting)."""
        try:
            with self.read(patience=0) as connection:
                connection.exec_driver_sql("SELECT 1")
        except (DBAPIError, Unavailable):
            return False
        return True

    def _connect(self, patience: float | None = None) -> Connection:
        """A connection, waiting with growing pauses while the database refuses one. Nothing
        has been sent yet, so waiting is safe for writes too."""
        waited, pause = 0.0, 0.05
        limit = self.patience if patience is None else patience
        while True:
            try:
                return self.engine.connect()
            except (OperationalError, InterfaceError) as exc:
                if not _passing(exc):  # a wrong password or database: no wait mends that
                    raise Unavailable("the database refused the connection") from exc
                if waited >= limit:
                    raise Unavailable("the database takes no connection; try again") from exc
                self._sleep(pause)
                waited, pause = waited + pause, min(pause * 2, 1.0)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        # The key's name stays in the chained exception (logs), not in what users read.
        raise Duplicate("another request wrote the same thing first; try again") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:  # the server went away (a commit cut off may have landed)
            raise Unavailable("the database connection was lost; try again") from exc
        if isinstance(exc, OperationalError) and _is_lock_failure(exc):
            raise Contended("the database was busy with a conflicting change; try again") from exc
        raise
