"""Saved cards as pure values: a card setup the tenant started, the provider's word that it
completed, the card it saved (what the tenant sees: "Visa •••• 4242"), and the port a
provider that saves cards implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sws.billing.payments.model import StartedCheckout

SETUP_PENDING, SETUP_SAVED = "pending", "saved"
BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express",
          "unionpay": "UnionPay", "jcb": "JCB", "discover": "Discover", "diners": "Diners Club"}


@dataclass(frozen=True, slots=True)
class CardSetup:
    """A "save a card" the tenant started at `provider`, for its customer there."""

    id: str
    tenant_id: str
    provider: str
    customer_ref: str
    session_ref: str | None
    redirect_url: str | None
    state: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SetupCompleted:
    """A verified provider event: card setup `setup_id` (its session `session_ref`) completed
    with `setup_intent_ref`."""

    provider: str
    event_id: str
    setup_id: str
    session_ref: str
    setup_intent_ref: str


@dataclass(frozen=True, slots=True)
class CardDetails:
    """What the provider says of the method a setup saved: ids and display details only."""

    method_ref: str
    customer_ref: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True, slots=True)
class SavedCard:
    tenant_id: str
    provider: str
    setup_id: str
    details: CardDetails
    saved_at: datetime

    @property
    def display(self) -> str:
        """How the tenant sees it: brand and the last four digits."""
        brand = BRANDS.get(self.details.brand, self.details.brand.title())
        return f"{brand} •••• {self.details.last4}"

    @property
    def expiry(self) -> str:
        return f"{self.details.exp_month:02d}/{self.details.exp_year}"


class CardSaving(Protocol):
    """A provider that saves cards for off-session charges (Stripe)."""

    name: str

    def create_customer(self, tenant_id: str) -> str:
        """The tenant's new customer at the provider (once per tenant: idempotent)."""
        ...

    def start_card_setup(self, setup: CardSetup, *, currency: str, return_url: str
                         ) -> StartedCheckout:
        """Open the provider's card-saving page for the setup's customer."""
        ...

    def verify_setup(self, body: bytes, headers: Mapping[str, str], *, now: datetime
                     ) -> SetupCompleted | None:
        """The completed setup in a signed callback, None for any other event; raise
        CallbackRejected for a callback that must not be believed."""
        ...

    def card_of(self, setup_intent_ref: str) -> CardDetails:
        """The card a completed setup saved (asked of the provider, not taken from the event)."""
        ...

    def forget_card(self, card: SavedCard) -> None:
        """Detach the card from the customer at the provider."""
        ...
