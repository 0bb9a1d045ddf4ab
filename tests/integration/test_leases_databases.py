"""Leases on PostgreSQL and MariaDB: a take-over after the TTL, a stale leader refused, and
the server-side idle timeout of fenced transactions confined to them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, text

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.leases import service as leases
from sws.leases.model import LeaseTerms
from tests.servicedb import mariadb_database, postgres_database

TERMS = LeaseTerms.of_seconds(ttl=6, renew=2)
IDLE = {"postgresql": "idle_in_transaction_session_timeout", "mysql": "idle_transaction_timeout"}


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres),
                        pytest.param("mariadb", marks=pytest.mark.mariadb)])
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    server = postgres_database if request.param == "postgresql" else mariadb_database
    with server() as url:
        engine = make_engine(url)
        yield Database(engine)
        engine.dispose()


def _idle_timeout(conn: Connection) -> str:
    """The server's idle-in-transaction timeout for this session, as the server shows it."""
    name = IDLE[conn.dialect.name]
    query = f"SELECT @@{name}" if conn.dialect.name == "mysql" else f"SHOW {name}"
    return str(conn.execute(text(query)).scalar_one())


def _every_pooled_session(db: Database) -> list[str]:
    """The timeout in each session the pool holds (all checked out at once)."""
    with db.read() as one, db.read() as two, db.read() as three:
        return [_idle_timeout(conn) for conn in (one, two, three)]


def test_take_over_and_fencing(db: Database) -> None:
    clock = SimulatedClock(datetime(2026, 12, 6, 9, tzinfo=UTC))
    a = leases.Leadership(db=db, clock=clock, name="month-close", terms=TERMS, holder="a")
    b = leases.Leadership(db=db, clock=clock, name="month-close", terms=TERMS, holder="b")
    assert a.fence() is not None and b.fence() is None
    with db.begin() as conn:
        a.check(conn)
        assert _idle_timeout(conn) in ("6", "6s")  # a paused leader's session would end
    # ... but no other transaction, whichever pooled session it gets:
    assert set(_every_pooled_session(db)) == {"0"}
    clock.advance(timedelta(seconds=8))
    assert b.fence() is not None
    with db.begin() as conn, pytest.raises(leases.LeaseLost):
        a.check(conn)
    lease = leases.lease_of(db=db, name="month-close")
    assert lease is not None and (lease.holder, lease.epoch) == ("b", 2)
