"""Exactly once on PostgreSQL and MariaDB: racing deliveries of the same payment's events, and
a real process killed with SIGKILL after applying a payment but before its commit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from sws.billing import service as billing
from sws.billing.payments import service as payments
from sws.billing.payments.model import Checkout, CheckoutSpec, PaymentEvent
from sws.billing.payments.service import PaymentSetup
from sws.billing.payments.testprovider import TestProvider
from sws.billing.tables import billing_ledger
from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.identity import service as identity
from sws.money import Money
from tests.servicedb import mariadb_database, postgres_database

SERVERS = [pytest.param(postgres_database, marks=pytest.mark.postgres, id="postgresql"),
           pytest.param(mariadb_database, marks=pytest.mark.mariadb, id="mariadb")]
START = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=SERVERS)
def pg(request: pytest.FixtureRequest) -> Iterator[tuple[Database, SimulatedClock, str,
                                                          PaymentSetup]]:
    with request.param() as url:
        db = Database(make_engine(url))
        clock = SimulatedClock(START)
        tenant = identity.create_tenant(db=db, clock=clock, name="acme", currency="CNY",
                                        billing_timezone="UTC").id
        setup = PaymentSetup(providers={"test": TestProvider()}, regions={"R": ("test",)})
        yield db, clock, tenant, setup
        db.engine.dispose()


def _open(db: Database, clock: SimulatedClock, tenant: str, setup: PaymentSetup, key: str,
          amount: str = "10.00") -> Checkout:
    spec = CheckoutSpec(tenant_id=tenant, provider="test", amount=Money.of(amount, "CNY"),
                        idempotency_key=key, region="R")
    return payments.create_checkout(db=db, clock=clock, setup=setup, spec=spec, return_url="/")


def _credits(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(billing_ledger.c.idempotency_key)
                                 .where(billing_ledger.c.kind == "topup")).scalars())


def test_racing_deliveries_credit_each_payment_once(
    pg: tuple[Database, SimulatedClock, str, PaymentSetup]
) -> None:
    db, clock, tenant, setup = pg
    opened = [_open(db, clock, tenant, setup, f"k{i}") for i in range(10)]
    # Each payment: its success replayed 3 times and told twice more under other event ids.
    events = [PaymentEvent("test", f"evt_{c.id}_{n % 3}", c.id, "succeeded")
              for c in opened for n in range(5)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda e: payments.apply_event(db=db, clock=clock, event=e), events))

    assert sorted(_credits(db)) == sorted(c.credit_key for c in opened)
    balance = billing.get_account(db=db, clock=clock, tenant_id=tenant).balance.amount
    assert balance == Decimal("100")


CHILD = textwrap.dedent("""
    import sys
    from datetime import datetime, UTC
    from sws.billing.payments import service
    from sws.billing.payments.model import PaymentEvent
    from sws.db.engine import Database, make_engine

    db = Database(make_engine(sys.argv[1]))
    event = PaymentEvent("test", "evt_killed", sys.argv[2], "succeeded")
    with db.begin() as conn:
        applied = service._apply(conn, event, datetime.now(UTC))
        print("applied, not committed", applied.credited, flush=True)
        sys.stdin.readline()  # wait here until killed
""")


def test_a_process_killed_before_its_commit_loses_nothing_and_doubles_nothing(
    pg: tuple[Database, SimulatedClock, str, PaymentSetup]
) -> None:
    db, clock, tenant, setup = pg
    checkout = _open(db, clock, tenant, setup, "killed", "25.00")
    url = db.engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, checkout.id],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env={**os.environ})
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "applied, not committed True"

    child.send_signal(signal.SIGKILL)
    child.wait()

    assert _credits(db) == []  # the provider was not answered: it will retry
    retried = payments.apply_event(
        db=db, clock=clock, event=PaymentEvent("test", "evt_killed", checkout.id, "succeeded"))
    again = payments.apply_event(
        db=db, clock=clock, event=PaymentEvent("test", "evt_killed", checkout.id, "succeeded"))
    assert retried.credited and again.duplicate
    assert _credits(db) == [checkout.credit_key]
    assert billing.get_account(db=db, clock=clock, tenant_id=tenant).balance.amount == 25
