"""Gapless numbers on PostgreSQL and MariaDB: receipts issued by racing threads, some of whose
transactions fail after taking a number, come out numbered 1..N, each number once; refunds
racing for the last of a payment never refund more than was paid; callbacks that arrive
together share transactions (group commit) and are still applied exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from sws.billing import service as billing
from sws.billing.invoices.tables import billing_documents
from sws.billing.payments import receipts, refunds, revenue, signing
from sws.billing.payments import service as payments
from sws.billing.payments.group import GroupCommit
from sws.billing.payments.model import Checkout, CheckoutSpec, RefundSpec
from sws.billing.payments.service import PaymentSetup
from sws.billing.payments.testprovider import HEADER, TestProvider
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
    real = receipts.issue_receipts

    def issue(conn: object, issuing: object, paid: list[Checkout], now: datetime) -> object:
        documents = real(conn, issuing, paid, now)  # type: ignore[arg-type]
        if any(c.id in doomed for c in paid):
            raise Broken  # the numbers were taken; the transaction rolls them back
        return documents

    monkeypatch.setattr(receipts, "issue_receipts", issue)

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
    (region,) = revenue.report(db=db, clock=clock, month="2026-04").regions
    assert region.cash_in == Money(balance, "CNY")


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


def test_callbacks_arriving_together_share_transactions_and_credit_once(
    shop: tuple[Database, SimulatedClock, str, PaymentSetup],
) -> None:
    db, clock, tenant, plain = shop
    setup = PaymentSetup(providers=plain.providers, regions=plain.regions, group=GroupCommit())
    checkouts = [_open(db, clock, tenant, setup, f"k{n}") for n in range(PAYMENTS)]
    provider = setup.providers["test"]
    assert isinstance(provider, TestProvider)
    calls = [provider.callback(c, "succeeded", at=clock.now()) for c in checkouts]
    wrong = {**json.loads(calls[0][0]), "id": "evt_forged", "amount": "99.00"}
    forged = json.dumps(wrong).encode()  # a wrong amount, correctly signed
    calls.append((forged, {HEADER: signing.sign(forged, provider.secret, at=clock.now())}))

    def deliver(call: tuple[bytes, dict[str, str]]) -> str:
        try:
            applied = payments.handle_callback(
                db=db, clock=clock, setup=setup, provider="test", body=call[0], headers=call[1]
            )
        except SWSError:
            return "refused"
        assert applied is not None
        return "duplicate" if applied.duplicate else "applied"

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(deliver, calls + calls[: PAYMENTS // 2]))

    assert outcomes.count("applied") == PAYMENTS and outcomes.count("refused") == 1
    assert outcomes.count("duplicate") == PAYMENTS // 2
    with db.read() as conn:
        numbers = sorted(conn.execute(select(billing_documents.c.number)).scalars())
    assert numbers == list(range(1, PAYMENTS + 1))
    balance = billing.get_account(db=db, clock=clock, tenant_id=tenant).balance.amount
    assert balance == Decimal(10) * PAYMENTS
