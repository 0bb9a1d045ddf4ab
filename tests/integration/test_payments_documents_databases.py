"""Gapless numbers on PostgreSQL and MariaDB: receipts issued by racing threads, some of whose
transactions fail after taking a number, come out numbered 1..N, each number once; refunds
racing for the last of a payment never refund more than was paid."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from sws.billing import service as billing
from sws.billing.invoices.tables import billing_documents
from sws.billing.payments import refunds
from sws.billing.payments import service as payments
from sws.billing.payments.model import Checkout, CheckoutSpec, RefundSpec
from sws.billing.payments.service import PaymentSetup
from sws.billing.payments.testprovider import TestProvider
from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.errors import SWSError
from sws.identity import service as identity
from sws.money import Money
from tests.servicedb import mariadb_database, postgres_database

SERVERS = [
    pytest.param(postgres_database, marks=pytest.mark.postgres, id="postgresql"),
    pytest.param(mariadb_database, marks=pytest.mark.mariadb, id="mariadb"),
]
START = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
PAYMENTS, THREADS = 40, 8


class Broken(Exception):
    """A failure after the receipt took its number, before the commit."""


@pytest.fixture(params=SERVERS)
def shop(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[Database, SimulatedClock, str, PaymentSetup]]:
    with request.param() as url:
        db = Database(make_engine(url))
        clock = SimulatedClock(START)
        tenant = identity.create_tenant(
            db=db, clock=clock, name="acme", currency="CNY", billing_timezone="UTC"
        ).id
        setup = PaymentSetup(providers={"test": TestProvider()}, regions={"R": ("test",)})
        yield db, clock, tenant, setup
        db.engine.dispose()


def _open(
    db: Database, clock: SimulatedClock, tenant: str, setup: PaymentSetup, key: str
) -> Checkout:
    spec = CheckoutSpec(
        tenant_id=tenant,
        provider="test",
        amount=Money.of("10.00", "CNY"),
        idempotency_key=key,
        region="R",
    )
    return payments.create_checkout(db=db, clock=clock, setup=setup, spec=spec, return_url="/")


def test_racing_receipts_are_numbered_without_gaps(
    shop: tuple[Database, SimulatedClock, str, PaymentSetup], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, clock, tenant, setup = shop
    checkouts = [_open(db, clock, tenant, setup, f"k{n}") for n in range(PAYMENTS)]
    doomed = {c.id for c in checkouts[::5]}
    real = payments.receipts.issue_receipt

    def issue(conn: object, issuing: object, checkout: Checkout, now: datetime) -> object:
        document = real(conn, issuing, checkout, now)  # type: ignore[arg-type]
        if checkout.id in doomed:
            raise Broken  # the number was taken; the transaction rolls it back
        return document

    monkeypatch.setattr(payments.receipts, "issue_receipt", issue)

    def pay(checkout: Checkout) -> None:
        body, headers = setup.providers["test"].callback(  # type: ignore[attr-defined]
            checkout, "succeeded", at=clock.now()
        )
        with suppress(Broken):
            payments.handle_callback(
                db=db, clock=clock, setup=setup, provider="test", body=body, headers=headers
            )

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(pay, checkouts))

    with db.read() as conn:
        numbers = sorted(conn.execute(select(billing_documents.c.number)).scalars())
    assert numbers == list(range(1, PAYMENTS - len(doomed) + 1))
    balance = billing.get_account(db=db, clock=clock, tenant_id=tenant).balance.amount
    assert balance == Decimal(10) * (PAYMENTS - len(doomed))


def test_racing_refunds_never_give_back_more_than_was_paid(
    shop: tuple[Database, SimulatedClock, str, PaymentSetup],
) -> None:
    db, clock, tenant, setup = shop
    checkout = _open(db, clock, tenant, setup, "k")
    body, headers = setup.providers["test"].callback(  # type: ignore[attr-defined]
        checkout, "succeeded", at=clock.now()
    )
    payments.handle_callback(
        db=db, clock=clock, setup=setup, provider="test", body=body, headers=headers
    )

    def refund(n: int) -> bool:
        spec = RefundSpec(
            payment_id=checkout.id,
            amount=Money.of("3.00", "CNY"),
            idempotency_key=f"r{n}",
            reason="race",
            actor="admin",
        )
        try:
            refunds.refund_payment(db=db, clock=clock, setup=setup, spec=spec)
        except SWSError:
            return False
        return True

    with ThreadPoolExecutor(THREADS) as pool:
        made = sum(pool.map(refund, range(THREADS)))

    assert made == 3  # 3 x 3.00 of 10.00; the fourth would pass it
    balance = billing.get_account(db=db, clock=clock, tenant_id=tenant).balance.amount
    assert balance == Decimal("1.00")
