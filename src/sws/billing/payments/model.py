"""Payments as pure values: checkout states, verified provider events and the provider port.

A checkout moves `pending -> succeeded | failed | expired`, and `succeeded -> refunded`. The
states form a ladder and an event can only move a checkout up it, so callbacks applied in any
order, any number of times, end in the same state. `succeeded` outranks `failed` and `expired`
because a provider that says it took the money is believed even after the janitor gave up.
A checkout becomes `refunded` with its first refund (a partial one too); refunds never add up
to more than was paid (`refundable`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sws.money import MINOR_UNITS, Money

PENDING, EXPIRED, FAILED, SUCCEEDED, REFUNDED = (
    "pending", "expired", "failed", "succeeded", "refunded",
)
STATES = (PENDING, EXPIRED, FAILED, SUCCEEDED, REFUNDED)
_RANK = {state: rank for rank, state in enumerate(STATES)}
TEST_PROVIDER = "test"


@dataclass(frozen=True, slots=True)
class CheckoutSpec:
    """What a tenant asks for: this amount, through this provider, once per key."""

    tenant_id: str
    provider: str
    amount: Money
    idempotency_key: str
    region: str


@dataclass(frozen=True, slots=True)
class Checkout:
    id: str
    tenant_id: str
    provider: str
    region: str
    amount: Money
    state: str
    idempotency_key: str
    provider_ref: str | None
    redirect_url: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def credit_key(self) -> str:
        """The ledger's idempotency key for this payment's credit: one credit per payment."""
        return f"payment:{self.provider}:{self.id}"


@dataclass(frozen=True, slots=True)
class StartedCheckout:
    """What a provider answers a new checkout: its own id and where to send the payer."""

    provider_ref: str
    redirect_url: str


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A verified statement from a provider: payment `payment_id` reached `outcome`.

    `event_id` is the provider's id of this statement (its replays carry the same one);
    `amount` is what the provider says was paid, checked against the checkout's.
    """

    provider: str
    event_id: str
    payment_id: str
    outcome: str
    amount: Money | None = None
    provider_ref: str | None = None


class CallbackRejected(Exception):
    """A callback SWS will not believe: bad signature, stale, malformed. `reason` is kept."""

    def __init__(self, reason: str, *, payment_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.payment_id = payment_id


class PaymentProvider(Protocol):
    """The port every adapter (test provider, Stripe, ...) implements."""

    name: str
    label: str

    def start(self, checkout: Checkout, *, return_url: str) -> StartedCheckout:
        """Open a checkout at the provider; the payer is sent to `redirect_url`."""
        ...

    def verify(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> PaymentEvent | None:
        """The verified event in a callback, None for an event SWS does not act on;
        raise CallbackRejected for one it must not believe."""
        ...

    def lookup(self, checkout: Checkout) -> str | None:
        """Ask the provider where a pending checkout stands: an outcome, or None if unknown."""
        ...


def next_state(current: str, outcome: str) -> str:
    """The state after `outcome`: a step up the ladder, never down (order-independent)."""
    if outcome not in _RANK:
        raise ValueError(f"unknown payment outcome {outcome!r}")
    return outcome if _RANK[outcome] > _RANK[current] else current


def credits(current: str, after: str) -> bool:
    """True exactly when this step is the one that takes the money in."""
    return after == SUCCEEDED and current != SUCCEEDED


def to_minor(amount: Money) -> int:
    """The amount in the currency's minor unit (cents, fen), as providers count it."""
    return int(amount.amount.scaleb(MINOR_UNITS[amount.currency]).to_integral_value())


def from_minor(units: int, currency: str) -> Money:
    return Money(Decimal(units).scaleb(-MINOR_UNITS[currency]), currency)


def has_whole_minor_units(amount: Money) -> bool:
    return amount.rounded() == amount


REFUND_PENDING, REFUND_SUCCEEDED, REFUND_FAILED = "pending", "succeeded", "failed"


@dataclass(frozen=True, slots=True)
class RefundSpec:
    """An admin's refund: this much of this payment, once per key, for this reason."""

    payment_id: str
    amount: Money
    idempotency_key: str
    reason: str
    actor: str


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    payment_id: str
    tenant_id: str
    amount: Money
    state: str
    reason: str
    idempotency_key: str
    provider_ref: str | None
    error: str | None
    actor: str
    created_at: datetime

    @property
    def debit_key(self) -> str:
        """The ledger's key for this refund's debit: one debit per refund."""
        return f"refund:{self.id}"


class RefundingProvider(Protocol):
    """A provider that gives money back (the test provider, Stripe)."""

    def refund(self, checkout: Checkout, refund: Refund) -> str:
        """Refund `refund.amount` of the checkout at the provider, once per refund id; the
        provider's refund id. Raise SWSError (Unavailable) if it refused or did not answer."""
        ...


def refundable(checkout: Checkout, refunded: Money) -> Money:
    """What may still be refunded: paid less the refunds already made or under way."""
    if checkout.state not in (SUCCEEDED, REFUNDED):
        return Money(Decimal(0), checkout.amount.currency)
    return checkout.amount - refunded


# --- Auto-recharge ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AutoRecharge:
    """A tenant's standing order: when what it has available falls to `threshold`, charge
    `amount` on the saved payment method, within `monthly_cap` a calendar month."""

    tenant_id: str
    enabled: bool
    threshold: Money
    amount: Money
    monthly_cap: Money
    provider: str
    method_ref: str
    customer_ref: str | None = None
    armed: bool = True  # above the threshold since the last charge: the next crossing counts
    crossings: int = 0


@dataclass(frozen=True, slots=True)
class RechargeStep:
    """What one look at the balance decides: the arming after it, and whether to charge."""

    armed: bool
    crossings: int
    charge: bool
    skipped: str = ""  # why a crossing charged nothing (the monthly cap)


def recharge_step(setting: AutoRecharge, available: Money, spent: Money) -> RechargeStep:
    """Above the threshold the order is armed again; at or below it, an armed order charges
    once (this crossing) if the month's charges stay within the cap, and disarms either way."""
    if available.amount > setting.threshold.amount:
        return RechargeStep(True, setting.crossings, False)
    if not setting.armed or not setting.enabled:
        return RechargeStep(setting.armed, setting.crossings, False)
    within = (spent + setting.amount).amount <= setting.monthly_cap.amount
    return RechargeStep(False, setting.crossings + 1, within,
                        "" if within else f"monthly cap {setting.monthly_cap} reached")
