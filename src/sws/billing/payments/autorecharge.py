"""Auto-recharge: the tenant's threshold, amount and monthly cap, and the sweep that charges
the saved payment method when what the account has available falls to the threshold.

The sweep runs on the ticker with the payments janitor (and after each review the API asks
for). Per account, in one transaction with the setting's row locked, it decides the step
(`recharge_step`): at most one charge per crossing, because the charge disarms the order and
only a balance back above the threshold arms it again; and within the monthly cap (the
account's calendar month, in its billing time zone). The charge is a checkout keyed
`auto:<crossing>` (so a retried sweep reuses it), opened in that transaction; the provider is
asked outside it, and its answer goes down the same exactly-once path as a callback.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sws.billing import repository as billing_repo
from sws.billing import service as billing
from sws.billing import standing
from sws.billing.payments import cards
from sws.billing.payments import repository as repo
from sws.billing.payments import service as payments
from sws.billing.payments.model import (
    PENDING,
    AutoRecharge,
    Checkout,
    PaymentEvent,
    has_whole_minor_units,
    recharge_step,
)
from sws.billing.payments.service import PaymentSetup
from sws.billing.periods import month_bounds, month_key
from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import CloudDriver
from sws.errors import Invalid, NotFound, SWSError


def get_setting(*, db: Database, tenant_id: str) -> AutoRecharge | None:
    with db.read() as conn:
        return repo.auto_recharge(conn, tenant_id)


def save_setting(
    *, db: Database, clock: Clock, setup: PaymentSetup, setting: AutoRecharge
) -> AutoRecharge:
    """Validate and keep the tenant's auto-recharge (armed again: the next crossing counts).
    With no payment method named, the tenant's saved card at that provider is charged."""
    setting = cards.with_saved_card(db=db, setting=setting)
    account = billing.get_account(db=db, clock=clock, tenant_id=setting.tenant_id)
    _check(setting, account.currency, setup)
    with db.begin() as conn:
        earlier = repo.auto_recharge(conn, setting.tenant_id, lock=True)
        crossings = earlier.crossings if earlier is not None else 0
        kept = replace(setting, armed=True, crossings=crossings)
        repo.save_auto_recharge(conn, kept, clock.now())
        billing_repo.audit(
            conn,
            [
                billing.audit_row(
                    setting.tenant_id,
                    clock.now(),
                    "auto_recharge",
                    f"{'on' if setting.enabled else 'off'}: {setting.amount} below "
                    f"{setting.threshold}, cap {setting.monthly_cap}",
                )
            ],
        )
    return kept


def _check(setting: AutoRecharge, currency: str, setup: PaymentSetup) -> None:
    for name in ("threshold", "amount", "monthly_cap"):
        money = getattr(setting, name)
        if money.currency != currency:
            raise Invalid(f"this account is in {currency}", field="currency")
        if money.amount < 0 or not has_whole_minor_units(money):
            raise Invalid(f"{name} must be 0 or more, in whole minor units", field=name)
    if setting.amount.amount <= 0:
        raise Invalid("amount must be more than 0", field="amount")
    if setting.monthly_cap.amount < setting.amount.amount:
        raise Invalid("the monthly cap must be at least one recharge's amount", field="monthly_cap")
    provider = setup.providers.get(setting.provider)
    if provider is None or not hasattr(provider, "charge_saved"):
        raise Invalid(
            f"{setting.provider!r} cannot charge a saved payment method here", field="provider"
        )
    if not 0 < len(setting.method_ref) <= 255:
        raise Invalid("a saved payment method is needed: save a card, or name a method",
                      field="method_ref")


def sweep(
    *, db: Database, clock: Clock, setup: PaymentSetup, drivers: Mapping[str, CloudDriver]
) -> int:
    """Look at every account with auto-recharge on; returns how many charges it started."""
    with db.read() as conn:
        accounts = repo.enabled_auto_recharges(conn)
    return sum(
        check_account(db=db, clock=clock, setup=setup, drivers=drivers, tenant_id=a)
        for a in accounts
    )


def check_account(
    *,
    db: Database,
    clock: Clock,
    setup: PaymentSetup,
    drivers: Mapping[str, CloudDriver],
    tenant_id: str,
) -> bool:
    """One account: decide, open the charge if due, then ask the provider."""
    checkout, setting = _decide(db, clock, tenant_id, setup)
    if checkout is None or setting is None:
        return False
    _charge(db=db, clock=clock, setup=setup, drivers=drivers, checkout=checkout, setting=setting)
    return True


def _decide(
    db: Database, clock: Clock, tenant_id: str, setup: PaymentSetup
) -> tuple[Checkout | None, AutoRecharge | None]:
    now = clock.now()
    with db.begin() as conn:
        setting = repo.auto_recharge(conn, tenant_id, lock=True)
        row = billing_repo.accounts(conn, [tenant_id]).get(tenant_id)
        if setting is None or row is None:
            return None, None
        account = billing.view(conn, row, now=now)
        tz = ZoneInfo(account.timezone)
        since, _ = month_bounds(month_key(now, tz), tz)
        spent = repo.auto_spent(conn, tenant_id, since, account.currency)
        step = recharge_step(setting, account.available, spent)
        if (step.armed, step.crossings) == (setting.armed, setting.crossings):
            return None, None
        repo.save_auto_recharge(
            conn, replace(setting, armed=step.armed, crossings=step.crossings), now
        )
        billing_repo.audit(
            conn,
            [
                billing.audit_row(
                    tenant_id,
                    now,
                    "auto_recharge",
                    step.skipped or ("charging " + str(setting.amount) if step.charge else "armed"),
                )
            ],
        )
        if not step.charge:
            return None, None
        checkout = _new_checkout(setting, step.crossings, setup, now)
        repo.insert_checkout(conn, checkout)
    return checkout, setting


def _new_checkout(
    setting: AutoRecharge, crossing: int, setup: PaymentSetup, now: datetime
) -> Checkout:
    region = setup.issuing.home if setup.issuing else next(iter(setup.regions), "")
    return Checkout(
        id=f"pay_{secrets.token_hex(12)}",
        tenant_id=setting.tenant_id,
        provider=setting.provider,
        region=region,
        amount=setting.amount,
        state=PENDING,
        idempotency_key=f"auto:{crossing}",
        provider_ref=None,
        redirect_url=None,
        created_at=now,
        updated_at=now,
    )


def _charge(
    *,
    db: Database,
    clock: Clock,
    setup: PaymentSetup,
    drivers: Mapping[str, CloudDriver],
    checkout: Checkout,
    setting: AutoRecharge,
) -> None:
    provider = setup.providers.get(checkout.provider)
    charge = getattr(provider, "charge_saved", None)
    if charge is None:
        raise NotFound(f"no provider {checkout.provider!r}", field="provider")
    try:
        outcome = charge(checkout, method_ref=setting.method_ref, customer_ref=setting.customer_ref)
    except SWSError:
        return  # no answer: the checkout stays pending; its webhook or the janitor settles it
    if outcome is None:
        return
    event = PaymentEvent(
        checkout.provider, f"auto:{checkout.id}:{outcome}", checkout.id, outcome, checkout.amount
    )
    applied = payments.apply_event(db=db, clock=clock, event=event, issuing=setup.issuing)
    if applied.credited:
        standing.review_account(db=db, clock=clock, drivers=drivers, account_id=applied.tenant_id)
