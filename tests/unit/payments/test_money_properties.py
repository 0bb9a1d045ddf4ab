"""Property: callbacks duplicated and reordered (some applied together in one batch), janitor
runs, refunds (some cut short by a crash after the provider refunded), bank transfers matched
twice, charges, and crashes before a credit's commit, in any interleaving, leave

- the balance equal to the succeeded payments, less the refunds made, less the charges; and
- the documents of each series numbered 1..N, each number once: one receipt per credited
  payment, one credit note per refund made.
"""

from __future__ import annotations

import uuid
from collections import Counter
from contextlib import suppress
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sws.billing import service as billing
from sws.billing.invoices.tables import billing_documents
from sws.billing.ledger import Books, Posting
from sws.billing.payments import bank, refunds
from sws.billing.payments import service as payments
from sws.billing.payments.bank import TransferMatch
from sws.billing.payments.model import CallbackRejected, Checkout, PaymentEvent, RefundSpec
from sws.billing.payments.testprovider import TestProvider
from sws.errors import SWSError
from sws.identity import service as identity
from sws.money import Money
from tests.budget import examples
from tests.unit.payments.conftest import Till

AMOUNTS = ("10.00", "25.50", "99.99")
step = st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 2), st.sampled_from(["succeeded", "failed"])),
    st.tuples(st.just("replay"), st.integers(0, 50), st.just(0)),
    st.tuples(st.just("janitor"), st.integers(1, 90), st.just(0)),
    st.tuples(st.just("refund"), st.integers(0, 2), st.integers(1, 3000)),
    st.tuples(st.just("refund_cut"), st.integers(0, 2), st.integers(1, 3000)),
    st.tuples(st.just("crash"), st.integers(0, 2), st.just(0)),
    st.tuples(st.just("bank"), st.integers(0, 3), st.integers(1, 50000)),
    st.tuples(st.just("charge"), st.integers(0, 1000), st.integers(1, 5000)),
    st.tuples(st.just("batch"), st.integers(0, 2), st.sampled_from(["succeeded", "failed"])),
)


class Crash(Exception):
    """The process dies after the work, before the commit."""


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(step, max_size=30))
def test_any_interleaving_keeps_the_books_and_the_numbers(
    till: Till, steps: list[tuple[str, int, int | str]]
) -> None:
    till.tenant = identity.create_tenant(
        db=till.db,
        clock=till.clock,
        name=f"t-{uuid.uuid4().hex[:12]}",
        currency="CNY",
        billing_timezone="UTC",
    ).id
    code = bank.reference_code(db=till.db, clock=till.clock, tenant_id=till.tenant)
    checkouts = [till.checkout(a, key=f"k{i}") for i, a in enumerate(AMOUNTS)]
    sent: list[tuple[bytes, dict[str, str]]] = []
    charged = Decimal(0)
    for number, (kind, n, detail) in enumerate(steps):
        if kind == "pay":
            sent.append(till.test.callback(checkouts[n], str(detail), at=till.clock.now()))
            till.deliver("test", *sent[-1])
        elif kind == "replay" and sent:
            body, _ = sent[n % len(sent)]
            till.deliver("test", body, _signed_now(till, body))
        elif kind == "janitor":
            till.clock.advance(timedelta(minutes=n))
            payments.run_janitor(db=till.db, clock=till.clock, setup=till.setup)
            refunds.retry_pending(db=till.db, clock=till.clock, setup=till.setup)
        elif kind in ("refund", "refund_cut"):
            _refund(till, checkouts[n], int(detail), f"r{number}", cut=kind == "refund_cut")
        elif kind == "crash":
            _crash_while_crediting(till, checkouts[n])
        elif kind == "bank":
            _match(till, code, f"{till.tenant}-tx{n}", int(detail))
        elif kind == "charge":
            charged += _charge(till, f"{till.tenant}-c{number}", int(detail))
        elif kind == "batch":
            _batch(till, checkouts, n, str(detail))

    till.clock.advance(timedelta(minutes=10))  # the janitor finishes refunds a crash cut short
    refunds.retry_pending(db=till.db, clock=till.clock, setup=till.setup)
    _assert_books(till, charged)
    _assert_numbers(till)


def _signed_now(till: Till, body: bytes) -> dict[str, str]:
    from sws.billing.payments import signing
    from sws.billing.payments.testprovider import HEADER

    return {HEADER: signing.sign(body, till.test.secret, at=till.clock.now())}


def _refund(till: Till, checkout: Checkout, cents: int, key: str, *, cut: bool) -> None:
    spec = RefundSpec(
        payment_id=checkout.id,
        amount=Money(Decimal(cents) / 100, "CNY"),
        idempotency_key=key,
        reason="asked",
        actor="admin",
    )
    try:
        if not cut:
            refunds.refund_payment(db=till.db, clock=till.clock, setup=till.setup, spec=spec)
            return
        pending = refunds._reserve(till.db, till.clock, spec)  # then the provider refunds ...
        provider = till.setup.providers["test"]
        assert isinstance(provider, TestProvider)
        provider.refund(checkout, pending)  # ... and the process dies before recording it
    except SWSError:
        pass  # more than is left to refund, or nothing paid yet: refused, nothing written


def _batch(till: Till, checkouts: list[Checkout], first: int, outcome: str) -> None:
    """Callbacks that arrived together, applied in one transaction: from checkout `first` on,
    each twice (a provider's immediate retry), and a stranger's."""
    events = [
        PaymentEvent("test", f"evt_{c.id}_{outcome}", c.id, outcome, c.amount)
        for c in checkouts[first:]
    ]
    unknown = PaymentEvent("test", "evt_unknown", "pay_unknown", outcome)
    results = payments.apply_events(
        db=till.db, clock=till.clock, events=[*events, unknown, *events]
    )
    assert isinstance(results[len(events)], CallbackRejected)


def _crash_while_crediting(till: Till, checkout: Checkout) -> None:
    event = PaymentEvent(
        "test", f"evt_crash_{checkout.id}", checkout.id, "succeeded", checkout.amount
    )
    with pytest.raises(Crash), till.db.begin() as conn:
        payments._apply(conn, event, till.clock.now())
        raise Crash


def _match(till: Till, code: str, transaction: str, cents: int) -> None:
    match = TransferMatch(code, Money(Decimal(cents) / 100, "CNY"), transaction, "admin")
    with suppress(SWSError):  # the same bank transaction again, another amount: refused
        bank.match_transfer(db=till.db, clock=till.clock, setup=till.setup, match=match)


def _charge(till: Till, key: str, cents: int) -> Decimal:
    amount = Decimal(cents) / 100
    books = Books((), now=till.clock.now())
    books.credit(till.tenant, Money(-amount, "CNY"), Posting(key, "charge", "usage"))
    with till.db.begin() as conn:
        billing.write_books(conn, books)
    return amount


def _assert_books(till: Till, charged: Decimal) -> None:
    listed = payments.list_payments(db=till.db, tenant_id=till.tenant, limit=100)
    paid = sum(
        (p.amount.amount for p in listed if p.state in ("succeeded", "refunded")), Decimal(0)
    )
    made = [
        r
        for p in listed
        for r in refunds.list_refunds(db=till.db, payment_id=p.id)
        if r.state == "succeeded"
    ]
    refunded = sum((r.amount.amount for r in made), Decimal(0))
    assert till.balance() == paid - refunded - charged
    for p in listed:
        back = sum((r.amount.amount for r in made if r.payment_id == p.id), Decimal(0))
        assert back <= p.amount.amount
    kinds = Counter(_documents(till, till.tenant))
    assert kinds["receipt"] == sum(p.state in ("succeeded", "refunded") for p in listed)
    assert kinds["credit_note"] == len(made)


def _documents(till: Till, tenant: str) -> list[str]:
    with till.db.read() as conn:
        query = select(billing_documents.c.kind).where(billing_documents.c.account_id == tenant)
        return list(conn.execute(query).scalars())


def _assert_numbers(till: Till) -> None:
    d = billing_documents.c
    with till.db.read() as conn:
        rows = conn.execute(select(d.issuer, d.kind, d.number)).all()
    series: dict[tuple[str, str], list[int]] = {}
    for issuer, kind, number in rows:
        series.setdefault((issuer, kind), []).append(number)
    for numbers in series.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
