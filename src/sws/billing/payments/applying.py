"""Applying verified provider events, one or many in one transaction, exactly once.

Every event goes through `apply_batch`; one callback is a batch of one. In the caller's
transaction it locks the checkouts the events name (in id order), finds which events were
applied before, then steps each checkout up its ladder event by event, in the order given, in
memory, and writes the outcome with a few statements for the whole batch: the new events, the
new states, the credits (ledger, balances, audit), the receipts (one counter bump per series)
and the notices. The result is the same as applying the events one by one in that order.

A replayed event finds its row and changes nothing; two transactions that race for one event
serialize on the checkout's row lock, and the event table's unique key stops what gets past
(the caller retries the batch once on a `Duplicate`, and the retry sees the winner's rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from sws.billing import repository as billing_repo
from sws.billing import service as billing
from sws.billing.invoices.service import Issuing
from sws.billing.ledger import Books, Posting
from sws.billing.payments import notices, receipts
from sws.billing.payments import repository as repo
from sws.billing.payments.model import (
    FAILED,
    SUCCEEDED,
    CallbackRejected,
    Checkout,
    PaymentEvent,
    credits,
    next_state,
)
from sws.clock import Clock
from sws.db.bulk import one_statement
from sws.db.engine import Database
from sws.errors import Duplicate

MAX_EVENT_ID = 255  # billing_payment_events.event_id
NOTICES = {SUCCEEDED: "payment_received", FAILED: "payment_failed"}


@dataclass(frozen=True, slots=True)
class Applied:
    """What a callback did: `duplicate` if its event was applied before; `credited` if this
    one took the money in."""

    payment_id: str
    tenant_id: str
    state: str
    duplicate: bool = False
    credited: bool = False


@dataclass
class _Steps:
    """The batch worked out in memory: each checkout's state, the events to record, the
    payments to credit and the moves to tell the tenant about."""

    checkouts: dict[str, Checkout]
    recorded: set[tuple[str, str]]
    states: dict[str, str] = field(default_factory=dict)
    events: list[PaymentEvent] = field(default_factory=list)
    credited: list[Checkout] = field(default_factory=list)
    moves: list[tuple[Checkout, str]] = field(default_factory=list)

    def take(self, event: PaymentEvent) -> Applied | CallbackRejected:
        checkout = self.checkouts.get(event.payment_id)
        try:
            check_event(checkout, event)
        except CallbackRejected as rejected:
            return rejected
        assert checkout is not None
        before = self.states.setdefault(checkout.id, checkout.state)
        if (event.provider, event.event_id) in self.recorded:
            return Applied(checkout.id, checkout.tenant_id, before, duplicate=True)
        self.recorded.add((event.provider, event.event_id))
        self.events.append(event)
        after = self.states[checkout.id] = next_state(before, event.outcome)
        if credits(before, after):
            self.credited.append(checkout)
        if after != before and after in NOTICES:
            self.moves.append((checkout, after))
        return Applied(checkout.id, checkout.tenant_id, after, credited=credits(before, after))

    def changed(self) -> dict[str, str]:
        return {i: s for i, s in self.states.items() if s != self.checkouts[i].state}


def apply_batch(
    conn: Connection, events: Sequence[PaymentEvent], now: datetime, issuing: Issuing | None
) -> list[Applied | CallbackRejected]:
    """Apply `events` in order in the caller's transaction; each one's result, a refusal as
    a CallbackRejected (nothing of it written)."""
    sane = [e for e in events if 0 < len(e.event_id) <= MAX_EVENT_ID]
    checkouts = repo.get_many(conn, [e.payment_id for e in sane], lock=True)
    steps = _Steps(checkouts, repo.recorded_events(conn, [(e.provider, e.event_id) for e in sane]))
    results = [steps.take(e) for e in events]
    with one_statement(conn):  # the batch's writes go to the server together
        repo.insert_events(conn, steps.events, now)
        repo.set_states(conn, steps.changed(), now)
        _credit(conn, steps.credited, now)
        issued = receipts.issue_receipts(conn, issuing, steps.credited, now)
        # The receipts name their buyers as the mails name the tenants: asked once.
        _notify(conn, steps.moves, now, {d.draft.account_id: d.draft.buyer.name for d in issued})
    return results


def apply_events(
    *, db: Database, clock: Clock, events: Sequence[PaymentEvent], issuing: Issuing | None
) -> list[Applied | CallbackRejected]:
    """`apply_batch` in a transaction of its own, retried once if a racing transaction
    recorded one of the events first (the retry sees its rows: those are duplicates)."""
    for attempt in (1, 2):
        try:
            with db.begin() as conn:
                return apply_batch(conn, events, clock.now(), issuing)
        except Duplicate:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def check_event(checkout: Checkout | None, event: PaymentEvent) -> None:
    """Refuse an event SWS must not apply: a bad id, an unknown payment, a wrong amount."""
    if not 0 < len(event.event_id) <= MAX_EVENT_ID:
        raise CallbackRejected("the event id must be 1 to 255 characters")
    if checkout is None or checkout.provider != event.provider:
        raise CallbackRejected(f"unknown payment {event.payment_id!r}", payment_id=event.payment_id)
    if event.amount is not None and event.amount != checkout.amount:
        raise CallbackRejected(
            f"amount {event.amount} does not match the checkout's {checkout.amount}",
            payment_id=checkout.id,
        )
    if checkout.provider_ref and event.provider_ref and event.provider_ref != checkout.provider_ref:
        raise CallbackRejected(
            f"provider reference {event.provider_ref!r} is not this checkout's",
            payment_id=checkout.id,
        )


def _credit(conn: Connection, checkouts: Sequence[Checkout], now: datetime) -> None:
    """The top-up path of billing for each payment, inside this transaction."""
    if not checkouts:
        return
    books = Books((), now=now)
    for checkout in checkouts:
        memo = f"payment {checkout.id} ({checkout.provider})"
        books.credit(
            checkout.tenant_id, checkout.amount, Posting(checkout.credit_key, "topup", memo)
        )
    billing_repo.accounts(conn, [c.tenant_id for c in checkouts], lock=True)
    billing.write_books(conn, books)
    billing_repo.audit(
        conn, [billing.audit_row(c.tenant_id, now, "payment", c.amount) for c in checkouts]
    )


def _notify(
    conn: Connection, moves: Sequence[tuple[Checkout, str]], now: datetime,
    names: Mapping[str, str],
) -> None:
    """Mail the tenants that the money came in, or that a payment failed (once each)."""
    notices.notify_many(conn, [_notice(checkout, after) for checkout, after in moves], now, names)


def _notice(checkout: Checkout, after: str) -> notices.Notice:
    template = NOTICES[after]
    context = {
        "amount": str(checkout.amount.rounded()),
        "payment": checkout.id,
        "provider": checkout.provider,
    }
    return notices.Notice(checkout.tenant_id, template, f"{template}:{checkout.id}", context)
