"""Property: callbacks duplicated, reordered, interleaved with janitor runs and crashes before
commit, leave balance == the sum of the succeeded payments, each credited exactly once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sws.billing.payments import service as payments
from sws.billing.payments import signing
from sws.billing.payments.model import Checkout, PaymentEvent
from sws.billing.payments.service import Applied
from sws.billing.payments.testprovider import HEADER
from sws.identity import service as identity
from sws.money import Money
from tests.unit.payments.conftest import Till, signed, stripe_event, stripe_session

AMOUNTS = ("10.00", "25.50", "99.99")
step = st.one_of(
    st.tuples(st.just("test"), st.integers(0, 2), st.sampled_from(["succeeded", "failed"])),
    st.tuples(st.just("stripe"), st.integers(0, 2), st.sampled_from([
        "checkout.session.completed", "checkout.session.expired",
        "checkout.session.async_payment_failed"])),
    st.tuples(st.just("replay"), st.integers(0, 50), st.just("")),
    st.tuples(st.just("janitor"), st.integers(1, 90), st.just("")),
    st.tuples(st.just("crash"), st.integers(0, 2), st.just("")),
)


class Crash(Exception):
    """The process dies after the work, before the commit."""


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, max_size=25))
def test_any_interleaving_credits_each_succeeded_payment_once(
    till: Till, steps: list[tuple[str, int, str]]
) -> None:
    _fresh_tenant(till)
    checkouts = [till.checkout(a, provider=p, key=f"{p}{i}") for i, a in enumerate(AMOUNTS)
                 for p in ("test", "stripe")]
    sent: list[tuple[str, bytes, int]] = []  # provider, body, index of the checkout
    for kind, n, detail in steps:
        if kind == "test":
            checkout = checkouts[2 * n]
            body, _ = till.test.callback(checkout, detail, at=till.clock.now())
            sent.append(("test", body, 2 * n))
        elif kind == "stripe":
            checkout = checkouts[2 * n + 1]
            body = stripe_event(detail, stripe_session(checkout),
                                event_id=f"evt_{checkout.id}_{detail}")
            sent.append(("stripe", body, 2 * n + 1))
        elif kind == "replay" and sent:
            sent.append(sent[n % len(sent)])
        elif kind == "janitor":
            till.clock.advance(timedelta(minutes=n))
            payments.run_janitor(db=till.db, clock=till.clock, setup=till.setup)
            continue
        elif kind == "crash":
            _crash_while_crediting(till, checkouts[2 * n])
            continue
        else:
            continue
        _deliver(till, *sent[-1][:2])

    states = [till.state(c) for c in checkouts]
    paid = sum((c.amount.amount for c, s in zip(checkouts, states, strict=True)
                if s == "succeeded"), Decimal(0))
    assert till.balance() == paid
    credited = [key for key, _ in till.credits() if any(c.id in key for c in checkouts)]
    assert sorted(credited) == sorted(c.credit_key for c, s in zip(checkouts, states,
                                                                   strict=True)
                                      if s == "succeeded")


def _deliver(till: Till, provider: str, body: bytes) -> None:
    """Deliver `body` signed now, as a provider retrying days later signs it afresh."""
    if provider == "test":
        headers = {HEADER: signing.sign(body, till.test.secret, at=till.clock.now())}
    else:
        headers = signed(body, till.clock.now())
    till.deliver(provider, body, headers)


def _fresh_tenant(till: Till) -> None:
    """Each example gets its own tenant (the database lives for the whole test)."""
    till.tenant = identity.create_tenant(db=till.db, clock=till.clock,
                                         name=f"t-{uuid.uuid4().hex[:12]}", currency="CNY",
                                         billing_timezone="UTC").id


def _crash_while_crediting(till: Till, checkout: Checkout) -> None:
    """Apply a success in a transaction that dies before its commit: nothing may remain."""
    event = PaymentEvent("test", f"evt_crash_{checkout.id}", checkout.id, "succeeded",
                         Money(checkout.amount.amount, "CNY"))
    with pytest.raises(Crash), till.db.begin() as conn:
        applied: Applied = payments._apply(conn, event, till.clock.now())
        assert applied is not None
        raise Crash


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(4)), repeat=st.lists(st.integers(0, 3), max_size=4))
def test_the_end_state_does_not_depend_on_the_order_of_callbacks(
    till: Till, order: list[int], repeat: list[int]
) -> None:
    _fresh_tenant(till)
    checkout = till.checkout("42.00", key="only")
    outcomes = ["failed", "expired", "succeeded", "failed"]
    events = [PaymentEvent("test", f"evt_{checkout.id}_{i}", checkout.id, o)
              for i, o in enumerate(outcomes)]

    for i in [*order, *repeat]:
        payments.apply_event(db=till.db, clock=till.clock, event=events[i])

    assert till.state(checkout) == "succeeded" and till.balance() == Decimal("42")
