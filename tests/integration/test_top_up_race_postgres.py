"""Two tenants' top-ups racing with one new idempotency key on PostgreSQL: the loser gets a 409."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from sws.billing import repository as repo
from sws.billing import service as billing
from sws.billing.ledger import Books, Posting
from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.errors import Conflict
from sws.identity import service as identity
from sws.money import Money
from tests.servicedb import postgres_database

pytestmark = pytest.mark.postgres
TEN = Money.of("10", "CNY")


@pytest.fixture
def db() -> Iterator[Database]:
    with postgres_database() as url:
        engine = make_engine(url)
        yield Database(engine)
        engine.dispose()


def _until(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the racing top-up never reached the ledger"
        time.sleep(0.02)


def _waiting_on_a_lock(db: Database) -> bool:
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() " \
            "AND wait_event_type = 'Lock'"
    with db.read() as conn:
        return bool(conn.execute(text(query)).scalar_one())


def test_the_top_up_that_loses_the_race_for_a_key_is_a_conflict(db: Database) -> None:
    clock = SimulatedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    acme, globex = (identity.create_tenant(db=db, clock=clock, name=n, currency="CNY").id
                    for n in ("acme", "globex"))
    billing.top_up(db=db, clock=clock, tenant_id=acme, amount=TEN, idempotency_key="order-6")
    outcome: list[BaseException] = []

    def globex_top_up() -> None:
        try:
            billing.top_up(db=db, clock=clock, tenant_id=globex, amount=TEN,
                           idempotency_key="order-7")
        except BaseException as error:  # handed to the test thread
            outcome.append(error)

    with db.begin() as conn:  # acme's top-up has written the key but not yet committed
        books = Books((), now=clock.now())
        books.credit(acme, TEN, Posting("topup:order-7", "topup", "top-up"))
        repo.claim_entries(conn, books.entries)
        racer = threading.Thread(target=globex_top_up)
        racer.start()
        _until(lambda: _waiting_on_a_lock(db))  # globex looked, saw nothing, and now waits
    racer.join(timeout=30)
    assert [type(e) for e in outcome] == [Conflict]
    assert "order-7" in str(outcome[0]) and "same time" in str(outcome[0])
