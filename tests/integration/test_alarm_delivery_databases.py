"""Alarm notices on PostgreSQL and MariaDB: two ticker processes delivering the same queue at
once send each notice exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.metering import alarms
from sws.metering.tables import alarm_deliveries
from tests.servicedb import mariadb_database, postgres_database
from tests.unit.metering.test_alarm_claims import Recorder, queue

NOTICES = 200
WORKERS = 2


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres),
                        pytest.param("mariadb", marks=pytest.mark.mariadb)])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    server = postgres_database if request.param == "postgresql" else mariadb_database
    with server() as found:
        yield found


def _ticker(url: str, clock: SimulatedClock, notifier: Recorder, start: threading.Barrier,
            errors: list[BaseException]) -> None:
    """One ticker process: its own engine, delivering until a pass finds nothing to send."""
    engine = make_engine(url)
    try:
        db = Database(engine)
        start.wait()
        while sum(alarms.deliver_due(db=db, clock=clock, notifiers=notifier).values()):
            pass
    except BaseException as error:  # reported by the test, not lost in the thread
        errors.append(error)
    finally:
        engine.dispose()


def test_two_tickers_send_each_notice_exactly_once(url: str) -> None:
    clock = SimulatedClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    engine = make_engine(url)
    db = Database(engine)
    ids = queue(db, clock, NOTICES)
    notifier, start, errors = Recorder(pause=0.002), threading.Barrier(WORKERS), []
    threads = [threading.Thread(target=_ticker, args=(url, clock, notifier, start, errors))
               for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with db.read() as conn:
        query = select(alarm_deliveries.c.id, alarm_deliveries.c.status)
        statuses = {row.id: row.status for row in conn.execute(query)}
    engine.dispose()
    assert not errors
    repeated = {i: n for i, n in Counter(notifier.sent).items() if n > 1}
    assert not repeated, f"{len(repeated)} notices sent twice or more, {len(notifier.sent)} sends"
    assert set(notifier.sent) == ids
    assert set(statuses.values()) == {"delivered"}
