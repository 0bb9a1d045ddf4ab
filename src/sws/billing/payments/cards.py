"""Saved cards: the tenant saves a card at a provider (Stripe's Checkout in setup mode), the
provider's signed event stores it, auto-recharge charges it, the tenant removes it.

1. `start_card_setup`: the tenant's customer at the provider is created once and reused; a
   card setup is recorded `pending`, and the provider's page opened for it.
2. `receive_callback` (every provider callback comes through here): a verified "setup
   completed" event is applied by `save_card`, any other goes down the payments path. The
   card's details come from the provider (its SetupIntent), never from the event's body; the
   setup becomes `saved` in the transaction that stores the card, so a replay changes nothing.
   A setup SWS did not start, or one whose customer is not the tenant's, is refused (4xx and a
   dead letter). A later setup's card replaces an earlier one, whatever order events come in.
   The tenant's auto-recharge on that provider is pointed at the new card.
3. `remove_card`: detached at the provider, deleted here; an auto-recharge that charged it is
   turned off (there is nothing left to charge).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import NoReturn

from sqlalchemy import Connection

from sws.billing import repository as billing_repo
from sws.billing import service as billing
from sws.billing.payments import cards_repository as cards_repo
from sws.billing.payments import repository as repo
from sws.billing.payments import service as payments
from sws.billing.payments.cards_model import (
    SETUP_PENDING,
    SETUP_SAVED,
    CardDetails,
    CardSaving,
    CardSetup,
    SavedCard,
    SetupCompleted,
)
from sws.billing.payments.model import AutoRecharge, CallbackRejected
from sws.billing.payments.service import CallbackRefused, PaymentSetup
from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import CloudDriver
from sws.errors import Invalid, NotFound

APPLIED, DUPLICATE, IGNORED = "applied", "duplicate", "ignored"


def saver(setup: PaymentSetup) -> CardSaving:
    """The provider that saves cards here (Stripe), or Invalid naming the reason."""
    for provider in setup.providers.values():
        if hasattr(provider, "verify_setup") and getattr(provider, "cards", None) is not None:
            return provider  # type: ignore[return-value]
    raise Invalid("no payment provider here saves cards (Stripe with its API key is needed)",
                  field="provider")


def start_card_setup(*, db: Database, clock: Clock, setup: PaymentSetup, tenant_id: str,
                     return_url: str) -> CardSetup:
    """Open the provider's card-saving page for the tenant; send it to `redirect_url`."""
    provider = saver(setup)
    currency = billing.account_currency(db=db, tenant_id=tenant_id)
    now = clock.now()
    card_setup = CardSetup(
        id=f"cset_{secrets.token_hex(12)}", tenant_id=tenant_id, provider=provider.name,
        customer_ref=_customer(db, clock, provider, tenant_id), session_ref=None,
        redirect_url=None, state=SETUP_PENDING, created_at=now)
    with db.begin() as conn:
        cards_repo.insert_setup(conn, card_setup)
    started = provider.start_card_setup(card_setup, currency=currency, return_url=return_url)
    with db.begin() as conn:
        cards_repo.set_setup(conn, card_setup.id, clock.now(), session_ref=started.provider_ref,
                             redirect_url=started.redirect_url)
    return replace(card_setup, session_ref=started.provider_ref,
                   redirect_url=started.redirect_url)


def _customer(db: Database, clock: Clock, provider: CardSaving, tenant_id: str) -> str:
    """The tenant's customer at the provider: the stored one, else a new one stored once."""
    with db.read() as conn:
        found = cards_repo.customer(conn, tenant_id, provider.name)
    if found is not None:
        return found
    created = provider.create_customer(tenant_id)
    with db.begin() as conn:
        cards_repo.insert_customer(conn, tenant_id, provider.name, created, clock.now())
        kept = cards_repo.customer(conn, tenant_id, provider.name)
    return kept or created


def receive_callback(
    *, db: Database, clock: Clock, setup: PaymentSetup, drivers: Mapping[str, CloudDriver],
    provider: str, body: bytes, headers: Mapping[str, str],
) -> str:
    """A provider's callback: a completed card setup is saved, anything else is a payment's
    (`payments.receive_callback`). `applied`, `duplicate` or `ignored`."""
    adapter = setup.providers.get(provider)
    completed = None
    if adapter is not None and hasattr(adapter, "verify_setup"):
        try:
            completed = adapter.verify_setup(body, headers, now=clock.now())
        except CallbackRejected as rejected:
            _refuse(db, clock, provider, rejected.reason, body)
    if completed is not None:
        return _save_or_refuse(db, clock, adapter, completed, body)  # type: ignore[arg-type]
    applied = payments.receive_callback(db=db, clock=clock, setup=setup, drivers=drivers,
                                        provider=provider, body=body, headers=headers)
    return IGNORED if applied is None else (DUPLICATE if applied.duplicate else APPLIED)


def _save_or_refuse(db: Database, clock: Clock, provider: CardSaving,
                    completed: SetupCompleted, body: bytes) -> str:
    try:
        return save_card(db=db, clock=clock, provider=provider, completed=completed)
    except CallbackRejected as rejected:
        _refuse(db, clock, provider.name, rejected.reason, body)


def _refuse(db: Database, clock: Clock, provider: str, reason: str, body: bytes) -> NoReturn:
    with db.begin() as conn:
        repo.dead_letter(conn, provider, reason, body, None, clock.now())
    raise CallbackRefused(f"callback refused: {reason}")


def save_card(*, db: Database, clock: Clock, provider: CardSaving,
              completed: SetupCompleted) -> str:
    """Store the card a completed setup saved, once; `applied` or `duplicate`."""
    with db.read() as conn:
        started = _known_setup(conn, completed)
    if started.state == SETUP_SAVED:
        return DUPLICATE
    details = provider.card_of(completed.setup_intent_ref)  # asked outside any transaction
    if details.customer_ref != started.customer_ref:
        raise CallbackRejected(f"card setup {started.id} saved a card for customer "
                               f"{details.customer_ref}, not the tenant's")
    with db.begin() as conn:
        locked = _known_setup(conn, completed, lock=True)
        if locked.state == SETUP_SAVED:
            return DUPLICATE
        _keep(conn, locked, details, clock.now())
    return APPLIED


def _known_setup(conn: Connection, completed: SetupCompleted, *, lock: bool = False
                 ) -> CardSetup:
    found = cards_repo.get_setup(conn, completed.setup_id, lock=lock)
    # a session not yet recorded (SWS stopped right after Stripe opened it) is still this one
    if found is None or found.provider != completed.provider \
            or found.session_ref not in (None, completed.session_ref):
        raise CallbackRejected(f"unknown card setup {completed.setup_id!r} "
                               f"(session {completed.session_ref})"[:200])
    return found


def _keep(conn: Connection, setup: CardSetup, details: CardDetails, now: datetime) -> None:
    """Mark the setup saved; keep its card unless a later setup's card is already kept."""
    cards_repo.set_setup(conn, setup.id, now, state=SETUP_SAVED)
    current = cards_repo.card(conn, setup.tenant_id)
    if current is not None and _started_after(conn, current, setup):
        return
    card = SavedCard(setup.tenant_id, setup.provider, setup.id, details, now)
    cards_repo.save_card(conn, card)
    _point_auto_recharge(conn, card, now)
    billing_repo.audit(conn, [billing.audit_row(
        setup.tenant_id, now, "card_saved", f"{card.display} ({card.provider})")])


def _started_after(conn: Connection, current: SavedCard, setup: CardSetup) -> bool:
    kept = cards_repo.get_setup(conn, current.setup_id)
    return kept is not None and kept.created_at > setup.created_at


def _point_auto_recharge(conn: Connection, card: SavedCard, now: datetime) -> None:
    setting = repo.auto_recharge(conn, card.tenant_id, lock=True)
    if setting is not None and setting.provider == card.provider:
        repo.save_auto_recharge(conn, replace(setting, method_ref=card.details.method_ref,
                                              customer_ref=card.details.customer_ref), now)


def get_card(*, db: Database, tenant_id: str) -> SavedCard | None:
    with db.read() as conn:
        return cards_repo.card(conn, tenant_id)


def remove_card(*, db: Database, clock: Clock, setup: PaymentSetup, tenant_id: str) -> None:
    """Detach the tenant's card at the provider and forget it; auto-recharge on it stops."""
    card = get_card(db=db, tenant_id=tenant_id)
    if card is None:
        raise NotFound("no card is saved for this account", field="card")
    forget = getattr(setup.providers.get(card.provider), "forget_card", None)
    if forget is not None:  # a provider no longer set up: the card is forgotten here only
        forget(card)
    now = clock.now()
    with db.begin() as conn:
        cards_repo.delete_card(conn, tenant_id)
        setting = repo.auto_recharge(conn, tenant_id, lock=True)
        stopped = setting is not None and setting.method_ref == card.details.method_ref
        if setting is not None and stopped:
            repo.save_auto_recharge(conn, replace(setting, enabled=False), now)
        billing_repo.audit(conn, [billing.audit_row(
            tenant_id, now, "card_removed",
            card.display + ("; auto-recharge on it turned off" if stopped else ""))])


def with_saved_card(*, db: Database, setting: AutoRecharge) -> AutoRecharge:
    """The setting charging the tenant's saved card (with the card's customer), when it names
    no other method and the card is at its provider."""
    card = get_card(db=db, tenant_id=setting.tenant_id)
    if card is None or card.provider != setting.provider \
            or setting.method_ref not in ("", card.details.method_ref):
        return setting
    return replace(setting, method_ref=card.details.method_ref,
                   customer_ref=card.details.customer_ref)
