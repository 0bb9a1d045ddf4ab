"""Payment use cases: open a checkout, apply a provider's callback, run the janitor, list.

The credit is the billing ledger's own top-up path (`Books.credit` + `write_books`), keyed
`payment:<provider>:<payment id>` and written in the transaction that moves the checkout to
`succeeded`; the ledger's unique idempotency key makes a second credit impossible.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import Connection

from sws.billing import service as billing
from sws.billing import standing
from sws.billing.invoices.service import Issuing
from sws.billing.payments import applying
from sws.billing.payments import repository as repo
from sws.billing.payments.applying import Applied
from sws.billing.payments.group import GroupCommit
from sws.billing.payments.model import (
    PENDING,
    CallbackRejected,
    Checkout,
    CheckoutSpec,
    PaymentEvent,
    PaymentProvider,
    has_whole_minor_units,
)
from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import CloudDriver
from sws.errors import Conflict, Invalid, NotFound, SWSError
from sws.money import check_currency
from sws.paging import PageRequest

MAX_KEY = 128
JANITOR_BATCH = 100


@dataclass(frozen=True)
class PaymentSetup:
    """The providers SWS runs, which of them each region offers, and in which currencies."""

    providers: Mapping[str, PaymentProvider]
    regions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    currencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # empty: any
    pending_timeout: timedelta = timedelta(hours=1)
    issuing: Issuing | None = None  # sellers and tax rates of the receipts; None: defaults
    group: GroupCommit | None = None  # callbacks arriving together share a transaction

    def offered(self, region: str) -> tuple[str, ...]:
        return tuple(p for p in self.regions.get(region, ()) if p in self.providers)

    def provider(self, name: str) -> PaymentProvider:
        found = self.providers.get(name)
        if found is None:
            raise NotFound(f"no payment provider {name!r} is set up here", field="provider")
        return found


class CallbackRefused(SWSError):
    """A callback that credited nothing; kept as a dead letter with the reason."""

    status = 400


# --- Checkouts --------------------------------------------------------------------------------


def create_checkout(
    *, db: Database, clock: Clock, setup: PaymentSetup, spec: CheckoutSpec, return_url: str
) -> Checkout:
    """Open a checkout once per (tenant, idempotency key): a retry gets the same checkout, the
    key reused for a different amount or provider is a Conflict."""
    provider = _check_spec(db=db, clock=clock, setup=setup, spec=spec)
    now = clock.now()
    checkout = _new_checkout(spec, now)
    with db.begin() as conn:
        earlier = repo.by_key(conn, spec.tenant_id, spec.idempotency_key)
        if earlier is None:
            repo.insert_checkout(conn, checkout)
    if earlier is not None:
        checkout = _same_checkout(earlier, spec)
        if checkout.redirect_url is not None or checkout.state != PENDING:
            return checkout  # a retry after the provider failed to open it tries again
    return _start(db, provider, checkout, return_url, now)


def _start(db: Database, provider: PaymentProvider, checkout: Checkout, return_url: str,
           now: datetime) -> Checkout:
    """Open the provider's side (outside any transaction: it is a network call)."""
    started = provider.start(checkout, return_url=return_url)
    with db.begin() as conn:
        repo.set_started(conn, checkout.id, started.provider_ref, started.redirect_url, now)
        found = repo.get(conn, checkout.id)
    assert found is not None
    return found


def _new_checkout(spec: CheckoutSpec, now: datetime) -> Checkout:
    return Checkout(
        id=f"pay_{secrets.token_hex(12)}", tenant_id=spec.tenant_id, provider=spec.provider,
        region=spec.region, amount=spec.amount, state=PENDING,
        idempotency_key=spec.idempotency_key, provider_ref=None, redirect_url=None,
        created_at=now, updated_at=now,
    )


def _check_spec(
    *, db: Database, clock: Clock, setup: PaymentSetup, spec: CheckoutSpec
) -> PaymentProvider:
    if not spec.idempotency_key or len(spec.idempotency_key) > MAX_KEY:
        raise Invalid(f"a checkout needs an idempotency_key of 1 to {MAX_KEY} characters",
                      field="idempotency_key")
    check_currency(spec.amount.currency)
    if spec.amount.amount <= 0 or not has_whole_minor_units(spec.amount):
        raise Invalid("amount must be more than 0, in whole minor units (cents)", field="amount")
    if spec.provider not in setup.offered(spec.region):
        raise Invalid(f"provider {spec.provider!r} is not offered in region {spec.region}; "
                      f"offered: {', '.join(setup.offered(spec.region)) or 'none'}",
                      field="provider")
    allowed = setup.currencies.get(spec.region, ())
    if allowed and spec.amount.currency not in allowed:
        raise Invalid(f"region {spec.region} takes {', '.join(allowed)}", field="currency")
    account = billing.get_account(db=db, clock=clock, tenant_id=spec.tenant_id)
    if account.currency != spec.amount.currency:
        raise Invalid(f"this account is in {account.currency}, not {spec.amount.currency}",
                      field="currency")
    return setup.provider(spec.provider)


def _same_checkout(earlier: Checkout, spec: CheckoutSpec) -> Checkout:
    if earlier.amount != spec.amount or earlier.provider != spec.provider:
        raise Conflict(
            f"idempotency_key {spec.idempotency_key!r} was already used for a checkout of "
            f"{earlier.amount} with {earlier.provider}", field="idempotency_key")
    return earlier


def list_payments(
    *, db: Database, tenant_id: str | None, limit: int = 50, marker: str | None = None,
    state: str | None = None,
) -> list[Checkout]:
    """The tenant's checkouts (every tenant's when None: admins), newest first; `marker`
    (a payment id) starts after that one, `state` keeps one state."""
    with db.read() as conn:
        return repo.of_tenant(conn, tenant_id, PageRequest(limit, marker), state=state)


def get_payment(*, db: Database, tenant_id: str, payment_id: str) -> Checkout:
    """One of the tenant's checkouts; another tenant's is a 404, as a missing one is."""
    with db.read() as conn:
        found = repo.get(conn, payment_id)
    if found is None or found.tenant_id != tenant_id:
        raise NotFound(f"payment {payment_id} not found", field="payment_id")
    return found


# --- Callbacks --------------------------------------------------------------------------------


def handle_callback(
    *, db: Database, clock: Clock, setup: PaymentSetup, provider: str, body: bytes,
    headers: Mapping[str, str],
) -> Applied | None:
    """Verify a provider's callback and apply its event; None for an event SWS ignores.
    Anything refused is a dead letter with the reason, and a 4xx."""
    now = clock.now()
    adapter = setup.providers.get(provider)
    if adapter is None:
        _refuse(db, provider, f"unknown provider {provider!r}", body, None, now, NotFound)
    try:
        event = adapter.verify(body, headers, now=now)
        if event is None:
            return None
        if setup.group is not None:
            return setup.group.apply(db=db, clock=clock, event=event, issuing=setup.issuing)
        return apply_event(db=db, clock=clock, event=event, issuing=setup.issuing)
    except CallbackRejected as rejected:
        _refuse(db, provider, rejected.reason, body, rejected.payment_id, now, CallbackRefused)


def acknowledgement(setup: PaymentSetup, provider: str) -> str | None:
    """The plain-text answer a provider wants to stop retrying (Alipay: `success`), if any."""
    found = getattr(setup.providers.get(provider), "acknowledgement", None)
    return found if isinstance(found, str) else None


def _refuse(
    db: Database, provider: str, reason: str, body: bytes, payment_id: str | None,
    now: datetime, error: type[SWSError],
) -> NoReturn:
    with db.begin() as conn:
        repo.dead_letter(conn, provider, reason, body, payment_id, now)
    raise error(f"callback refused: {reason}")


def apply_event(
    *, db: Database, clock: Clock, event: PaymentEvent, issuing: Issuing | None = None
) -> Applied:
    """Apply a verified event once: record it, step the state, credit on reaching succeeded
    (and issue the receipt, in the same transaction). Raise CallbackRejected for an unknown
    payment or a wrong amount (nothing is written)."""
    result = apply_events(db=db, clock=clock, events=[event], issuing=issuing)[0]
    if isinstance(result, CallbackRejected):
        raise result
    return result


def apply_events(
    *, db: Database, clock: Clock, events: Sequence[PaymentEvent],
    issuing: Issuing | None = None,
) -> list[Applied | CallbackRejected]:
    """Apply verified events in one transaction (see `applying`); each one's result."""
    return applying.apply_events(db=db, clock=clock, events=events, issuing=issuing)


def _apply(
    conn: Connection, event: PaymentEvent, now: datetime, issuing: Issuing | None = None
) -> Applied:
    """One event in the caller's transaction."""
    result = applying.apply_batch(conn, [event], now, issuing)[0]
    if isinstance(result, CallbackRejected):
        raise result
    return result


def receive_callback(
    *, db: Database, clock: Clock, setup: PaymentSetup, drivers: Mapping[str, CloudDriver],
    provider: str, body: bytes, headers: Mapping[str, str],
) -> Applied | None:
    """A provider's callback as the API and the console take it: `handle_callback`, then after
    a credit the account is reviewed as after an admin top-up, so what billing stopped for lack
    of funds starts again (the farmer would on its next pass; the payer should not wait)."""
    applied = handle_callback(db=db, clock=clock, setup=setup, provider=provider, body=body,
                              headers=headers)
    if applied is not None and applied.credited:
        standing.review_account(db=db, clock=clock, drivers=drivers, account_id=applied.tenant_id)
    return applied


# --- Janitor ----------------------------------------------------------------------------------


def run_janitor(*, db: Database, clock: Clock, setup: PaymentSetup) -> int:
    """Re-check checkouts pending past the timeout with their provider; expire those it does
    not know to have ended. Returns how many changed state."""
    now = clock.now()
    with db.read() as conn:
        stale = repo.stale_pending(conn, now - setup.pending_timeout, JANITOR_BATCH)
    return sum(_settle(db=db, clock=clock, setup=setup, checkout=c) for c in stale)


def _settle(*, db: Database, clock: Clock, setup: PaymentSetup, checkout: Checkout) -> bool:
    adapter = setup.providers.get(checkout.provider)
    try:
        outcome = adapter.lookup(checkout) if adapter is not None else None
    except SWSError:
        return False  # the provider did not answer: ask again next round, expire nothing
    if outcome == PENDING:
        return False  # the provider still waits for the payer (it closes the trade itself)
    if outcome is None:
        outcome = "expired"
    event = PaymentEvent(checkout.provider, f"janitor:{checkout.id}:{outcome}", checkout.id,
                         outcome)
    try:
        applied = apply_event(db=db, clock=clock, event=event, issuing=setup.issuing)
    except CallbackRejected:
        return False
    return not applied.duplicate and applied.state != checkout.state
