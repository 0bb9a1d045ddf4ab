"""Refunds: an admin gives back all or part of a succeeded payment, through its provider.

Three steps, so no money is ever given twice or debited without being given:
1. in one transaction, with the payment's row locked, the refund is checked against what is
   still refundable (paid less every refund not failed) and recorded `pending`;
2. the provider is asked to refund, outside any transaction, with the refund's id as its
   idempotency key (a retry after a crash gets the same provider refund);
3. in one transaction the refund becomes `succeeded`, the payment `refunded`, the account is
   debited (ledger key `refund:<id>`, cash only, never coupons) and the credit note issued.
A provider that refuses makes the refund `failed` (its amount is refundable again); one that
does not answer leaves it `pending`, and the janitor asks again.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection

from sws.billing import repository as billing_repo
from sws.billing import service as billing
from sws.billing.ledger import Books, Posting
from sws.billing.payments import receipts
from sws.billing.payments import repository as repo
from sws.billing.payments.model import (
    REFUND_FAILED,
    REFUND_PENDING,
    REFUND_SUCCEEDED,
    REFUNDED,
    Checkout,
    Refund,
    RefundingProvider,
    RefundSpec,
    has_whole_minor_units,
    refundable,
)
from sws.billing.payments.service import MAX_KEY, PaymentSetup
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, Invalid, NotFound, SWSError, Unavailable
from sws.money import Money

BANK = "bank"  # bank transfers are refunded by the operator's bank, recorded here only
RETRY_AFTER = timedelta(minutes=5)


def refund_payment(*, db: Database, clock: Clock, setup: PaymentSetup, spec: RefundSpec) -> Refund:
    """Refund `spec.amount` of a payment (see the module's steps). The same key again answers
    the same refund; the key reused for another amount is a Conflict."""
    _check_spec(spec)
    refund = _reserve(db, clock, spec)
    if refund.state != REFUND_PENDING:
        return refund
    return execute(db=db, clock=clock, setup=setup, refund=refund)


def _check_spec(spec: RefundSpec) -> None:
    if not 0 < len(spec.idempotency_key) <= MAX_KEY:
        raise Invalid(
            f"a refund needs an idempotency_key of 1 to {MAX_KEY} characters",
            field="idempotency_key",
        )
    if spec.amount.amount <= 0 or not has_whole_minor_units(spec.amount):
        raise Invalid("a refund is more than 0, in whole minor units (cents)", field="amount")
    if not spec.reason.strip() or len(spec.reason) > 255:
        raise Invalid("a refund needs a reason of 1 to 255 characters", field="reason")


def _reserve(db: Database, clock: Clock, spec: RefundSpec) -> Refund:
    now = clock.now()
    with db.begin() as conn:
        checkout = _payment(conn, spec.payment_id)
        earlier = repo.refunds_of(conn, checkout.id)
        same = next((r for r in earlier if r.idempotency_key == spec.idempotency_key), None)
        if same is not None:
            return _same_refund(same, spec)
        _check_amount(checkout, earlier, spec.amount)
        refund = Refund(
            id=f"re_{secrets.token_hex(12)}",
            payment_id=checkout.id,
            tenant_id=checkout.tenant_id,
            amount=spec.amount,
            state=REFUND_PENDING,
            reason=spec.reason.strip(),
            idempotency_key=spec.idempotency_key,
            provider_ref=None,
            error=None,
            actor=spec.actor[:255],
            created_at=now,
        )
        repo.insert_refund(conn, refund)
        return refund


def _payment(conn: Connection, payment_id: str) -> Checkout:
    checkout = repo.get(conn, payment_id, lock=True)
    if checkout is None:
        raise NotFound(f"payment {payment_id} not found", field="payment_id")
    return checkout


def _check_amount(checkout: Checkout, earlier: list[Refund], amount: Money) -> None:
    if amount.currency != checkout.amount.currency:
        raise Invalid(f"this payment was in {checkout.amount.currency}", field="currency")
    taken = sum(
        (r.amount for r in earlier if r.state != REFUND_FAILED), Money.of(0, amount.currency)
    )
    left = refundable(checkout, taken)
    if amount.amount > left.amount:
        raise Invalid(
            f"at most {left} of payment {checkout.id} can be refunded "
            f"(state {checkout.state}, paid {checkout.amount}, refunded {taken})",
            field="amount",
        )


def _same_refund(earlier: Refund, spec: RefundSpec) -> Refund:
    if earlier.amount != spec.amount:
        raise Conflict(
            f"idempotency_key {spec.idempotency_key!r} was already used for a "
            f"refund of {earlier.amount}",
            field="idempotency_key",
        )
    return earlier


def execute(*, db: Database, clock: Clock, setup: PaymentSetup, refund: Refund) -> Refund:
    """Steps 2 and 3 for a pending refund (the janitor's retry too)."""
    with db.read() as conn:
        checkout = repo.get(conn, refund.payment_id)
    assert checkout is not None
    try:
        provider_ref = _at_provider(setup, checkout, refund)
    except Unavailable:
        raise  # no answer: still pending, asked again later
    except SWSError as refused:  # the provider said no: nothing was given back
        _finish_failed(db, clock, refund, refused.detail)
        raise
    with db.begin() as conn:
        _complete(conn, setup, checkout, refund, provider_ref, clock.now())
        found = repo.get_refund(conn, refund.id)
    assert found is not None
    return found


def _at_provider(setup: PaymentSetup, checkout: Checkout, refund: Refund) -> str:
    if checkout.provider == BANK:
        return f"bank:{refund.id}"
    provider = setup.provider(checkout.provider)
    if not hasattr(provider, "refund"):
        raise Invalid(f"{checkout.provider} refunds are not supported here", field="payment_id")
    refunding: RefundingProvider = provider  # type: ignore[assignment]
    return refunding.refund(checkout, refund)


def _finish_failed(db: Database, clock: Clock, refund: Refund, error: str) -> None:
    with db.begin() as conn:
        repo.finish_refund(
            conn, refund.id, state=REFUND_FAILED, provider_ref=None, error=error, now=clock.now()
        )


def _complete(
    conn: Connection,
    setup: PaymentSetup,
    checkout: Checkout,
    refund: Refund,
    provider_ref: str,
    now: datetime,
) -> None:
    """Succeeded, debited once, credit note issued: all or nothing."""
    locked = _payment(conn, checkout.id)
    if not repo.finish_refund(
        conn, refund.id, state=REFUND_SUCCEEDED, provider_ref=provider_ref, error=None, now=now
    ):
        return  # another worker completed it
    repo.set_state(conn, locked.id, REFUNDED, now)
    books = Books((), now=now)
    memo = f"refund {refund.id} of payment {checkout.id}"
    books.credit(
        refund.tenant_id, -refund.amount, Posting(refund.debit_key, "payment_refund", memo)
    )
    billing_repo.accounts(conn, [refund.tenant_id], lock=True)
    billing.write_books(conn, books)
    billing_repo.audit(
        conn,
        [
            billing.audit_row(
                refund.tenant_id, now, "payment_refund", f"{refund.amount} of {checkout.id}"
            )
        ],
    )
    receipts.issue_credit_note(conn, setup.issuing, locked, refund, now)


def list_refunds(*, db: Database, payment_id: str) -> list[Refund]:
    with db.read() as conn:
        return repo.refunds_of(conn, payment_id)


def retry_pending(*, db: Database, clock: Clock, setup: PaymentSetup) -> int:
    """The janitor's part: refunds left pending (a crash, a provider that did not answer)
    are asked again; the provider's idempotency makes the retry safe."""
    with db.read() as conn:
        stale = repo.pending_refunds(conn, clock.now() - RETRY_AFTER, 100)
    done = 0
    for refund in stale:
        try:
            execute(db=db, clock=clock, setup=setup, refund=refund)
            done += 1
        except SWSError:
            continue
    return done
