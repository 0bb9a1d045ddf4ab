"""Bank transfer: each tenant has a reference code to write on its transfer, and an admin
matches a transfer that arrived (amount, reference, the bank's transaction id) to credit it.

A match is a payment with provider `bank` whose provider reference is the bank's transaction
id, created `succeeded` and credited (receipt included) in one transaction through the same
exactly-once path as a provider's callback: matching the same transaction id again answers the
same payment and credits nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from sws.billing import service as billing
from sws.billing.payments import repository as repo
from sws.billing.payments import service as payments
from sws.billing.payments.applying import Applied
from sws.billing.payments.model import PENDING, SUCCEEDED, Checkout, PaymentEvent
from sws.billing.payments.service import PaymentSetup
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, Invalid, NotFound
from sws.money import Money

BANK = "bank"
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand


@dataclass(frozen=True, slots=True)
class TransferMatch:
    """What the operator read on the bank statement."""

    reference: str
    amount: Money
    bank_transaction_id: str
    actor: str


def reference_code(*, db: Database, clock: Clock, tenant_id: str) -> str:
    """The tenant's transfer reference (`SWS-XXXX-XXXX`), made on first ask and kept."""
    with db.begin() as conn:
        found = repo.bank_reference(conn, tenant_id)
        while found is None:
            code = "SWS-" + "-".join(_chunk() for _ in range(2))
            repo.insert_bank_reference(conn, tenant_id, code, clock.now())
            found = repo.bank_reference(conn, tenant_id)
    return found


def _chunk() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(4))


def match_transfer(
    *, db: Database, clock: Clock, setup: PaymentSetup, match: TransferMatch
) -> Applied:
    """Credit a bank transfer once per bank transaction id."""
    _check(match)
    with db.read() as conn:
        tenant_id = _tenant(conn, match.reference)
    account = billing.get_account(db=db, clock=clock, tenant_id=tenant_id)
    if account.currency != match.amount.currency:
        raise Invalid(f"this account is in {account.currency}", field="currency")
    earlier = _matched(db, match)
    if earlier is None:
        try:
            with db.begin() as conn:
                earlier = _checkout(conn, tenant_id, match, setup, clock.now())
        except Conflict:  # another admin matched the same transaction a moment ago
            earlier = _matched(db, match)
            if earlier is None:
                raise
    _same(earlier, tenant_id, match)
    return _credit(db, clock, setup, earlier)  # matched before: a duplicate, credits nothing


def _matched(db: Database, match: TransferMatch) -> Checkout | None:
    with db.read() as conn:
        return repo.by_provider_ref(conn, BANK, match.bank_transaction_id)


def _credit(db: Database, clock: Clock, setup: PaymentSetup, checkout: Checkout) -> Applied:
    event = PaymentEvent(
        BANK,
        f"bank:{checkout.provider_ref}",
        checkout.id,
        SUCCEEDED,
        checkout.amount,
        checkout.provider_ref,
    )
    return payments.apply_event(db=db, clock=clock, event=event, issuing=setup.issuing)


def _check(match: TransferMatch) -> None:
    if not 0 < len(match.bank_transaction_id) <= 128:
        raise Invalid("the bank transaction id is 1 to 128 characters", field="bank_transaction_id")
    if match.amount.amount <= 0 or match.amount.rounded() != match.amount:
        raise Invalid("amount must be more than 0, in whole minor units", field="amount")


def _tenant(conn: Connection, reference: str) -> str:
    tenant_id = repo.account_of_reference(conn, reference.strip().upper())
    if tenant_id is None:
        raise NotFound(f"no tenant has the transfer reference {reference!r}", field="reference")
    return tenant_id


def _same(earlier: Checkout, tenant_id: str, match: TransferMatch) -> None:
    if earlier.tenant_id != tenant_id or earlier.amount != match.amount:
        raise Conflict(
            f"bank transaction {match.bank_transaction_id} was already matched: "
            f"{earlier.amount} to payment {earlier.id}",
            field="bank_transaction_id",
        )


def _checkout(
    conn: Connection, tenant_id: str, match: TransferMatch, setup: PaymentSetup, now: datetime
) -> Checkout:
    checkout = Checkout(
        id=f"pay_{secrets.token_hex(12)}",
        tenant_id=tenant_id,
        provider=BANK,
        region=setup.issuing.home if setup.issuing else "",
        amount=match.amount,
        state=PENDING,
        idempotency_key=f"bank:{match.bank_transaction_id}",
        provider_ref=match.bank_transaction_id,
        redirect_url=None,
        created_at=now,
        updated_at=now,
    )
    repo.insert_checkout(conn, checkout)
    return checkout


def payment(*, db: Database, payment_id: str) -> Checkout:
    """A matched transfer's payment (the admin's answer shows it)."""
    with db.read() as conn:
        found = repo.get(conn, payment_id)
    if found is None:
        raise NotFound(f"payment {payment_id} not found", field="payment_id")
    return found


def tenant_of_reference(*, db: Database, reference: str) -> str:
    """The tenant whose transfer reference this is; an unknown one is a 404."""
    with db.read() as conn:
        return _tenant(conn, reference)
