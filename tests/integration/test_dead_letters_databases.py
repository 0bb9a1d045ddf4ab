"""The dead letters of every source, read as one list on PostgreSQL and MariaDB: the UNION of
refused notifications and refused payment callbacks, its filters, order and paging."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from sws.billing.payments import repository as payments
from sws.db.engine import Database, make_engine
from sws.deadletters import service as dead_letters
from sws.deadletters.model import NOTIFICATION, PAYMENT, DeadLetterFilter
from sws.events import repository as events
from tests.servicedb import mariadb_database, postgres_database

SERVERS = [
    pytest.param(postgres_database, marks=pytest.mark.postgres, id="postgresql"),
    pytest.param(mariadb_database, marks=pytest.mark.mariadb, id="mariadb"),
]
MONDAY = datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)


@pytest.fixture(params=SERVERS)
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    with request.param() as url:
        database = Database(make_engine(url))
        yield database
        database.engine.dispose()


def _refused(db: Database) -> None:
    """Monday's last second: a bad notification and a forged Stripe callback; Tuesday's
    first: an Alipay callback for an unknown payment."""
    with db.begin() as conn:
        events.insert_dead_letters(conn, [{
            "received_at": MONDAY, "reason": "not an oslo envelope",
            "raw": '{"not": "an oslo envelope"}', "source": "rabbitmq"}])
        payments.dead_letter(conn, "stripe", "bad signature", b'{"id": "evt_1"}', "pay_1",
                             MONDAY)
        payments.dead_letter(conn, "alipay", "unknown payment 'x'", b"out_trade_no=x", None,
                             MONDAY + timedelta(seconds=1))


def test_one_list_newest_first_with_times_in_utc(db: Database) -> None:
    _refused(db)

    found = dead_letters.list_page(db=db)

    assert found.total == 3
    assert [(d.kind, d.source) for d in found.letters] == [
        (PAYMENT, "payment:alipay"), (NOTIFICATION, "rabbitmq"), (PAYMENT, "payment:stripe")]
    assert found.letters[0].received_at == MONDAY + timedelta(seconds=1)
    assert found.letters[2].payment_id == "pay_1" and found.letters[1].payment_id is None
    assert found.letters[1].body == '{"not": "an oslo envelope"}'


def test_filters_and_paging(db: Database) -> None:
    _refused(db)
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)

    def reasons(wanted: DeadLetterFilter, offset: int = 0) -> list[str]:
        return [d.reason for d in dead_letters.list_page(
            db=db, wanted=wanted, limit=1, offset=offset).letters]

    assert reasons(DeadLetterFilter(kind=NOTIFICATION)) == ["not an oslo envelope"]
    assert reasons(DeadLetterFilter(source="payment:st")) == ["bad signature"]
    assert reasons(DeadLetterFilter(source="payment_")) == []  # _ is no wildcard
    assert reasons(DeadLetterFilter(since=tuesday)) == ["unknown payment 'x'"]
    assert reasons(DeadLetterFilter(until=monday, kind=PAYMENT)) == ["bad signature"]
    assert reasons(DeadLetterFilter(), offset=2) == ["bad signature"]
    assert dead_letters.list_page(db=db, wanted=DeadLetterFilter(until=monday)).total == 2
