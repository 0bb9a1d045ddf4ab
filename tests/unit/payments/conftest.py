"""Payment fixtures: a migrated database, a tenant in CNY, the test provider and a fake Stripe."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from sws.billing import service as billing
from sws.billing.payments import service as payments
from sws.billing.payments.model import Checkout, CheckoutSpec
from sws.billing.payments.service import PaymentSetup
from sws.billing.payments.stripe_checkout import StripeProvider
from sws.billing.payments.tables import billing_payment_dead_letters
from sws.billing.payments.testprovider import TestProvider
from sws.billing.tables import billing_ledger
from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import Unavailable
from sws.identity import service as identity
from sws.money import Money

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"
REGION = "RegionOne"


@dataclass
class FakeSessions:
    """Stripe's Checkout Sessions as a dictionary: what SWS created, what it would retrieve."""

    created: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: dict[str, dict[str, Any]] = field(default_factory=dict)
    down: bool = False  # Stripe does not answer (StripeApi raises Unavailable then)

    def create(self, params: dict[str, Any]) -> Mapping[str, Any]:
        self._answer()
        session_id = f"cs_test_{len(self.created) + 1}"
        self.created[session_id] = params
        self.status[session_id] = {"status": "open", "payment_status": "unpaid"}
        return {"id": session_id, "url": f"https://checkout.stripe.test/{session_id}"}

    def retrieve(self, session_id: str) -> Mapping[str, Any]:
        self._answer()
        return {"id": session_id, **self.status[session_id]}

    def _answer(self) -> None:
        if self.down:
            raise Unavailable("Stripe did not answer: connection refused", field="provider")


@dataclass
class Till:
    """A tenant with an account, the payment setup and helpers that read like the exercise."""

    db: Database
    clock: SimulatedClock
    tenant: str
    test: TestProvider
    sessions: FakeSessions
    setup: PaymentSetup

    def checkout(self, amount: str, *, provider: str = "test", key: str = "k1") -> Checkout:
        spec = CheckoutSpec(tenant_id=self.tenant, provider=provider,
                            amount=Money.of(amount, "CNY"), idempotency_key=key, region=REGION)
        return payments.create_checkout(db=self.db, clock=self.clock, setup=self.setup,
                                        spec=spec, return_url="http://sws.test/console/payments")

    def press(self, checkout: Checkout, outcome: str = "succeeded") -> payments.Applied | None:
        """The test provider's page: Pay (succeeded) or Fail (failed)."""
        body, headers = self.test.callback(checkout, outcome, at=self.clock.now())
        return self.deliver("test", body, headers)

    def deliver(self, provider: str, body: bytes, headers: Mapping[str, str]
                ) -> payments.Applied | None:
        return payments.handle_callback(db=self.db, clock=self.clock, setup=self.setup,
                                        provider=provider, body=body, headers=headers)

    def balance(self) -> Decimal:
        return billing.get_account(db=self.db, clock=self.clock, tenant_id=self.tenant
                                   ).balance.amount

    def credits(self) -> list[tuple[str, Decimal]]:
        with self.db.read() as conn:
            rows = conn.execute(select(billing_ledger.c.idempotency_key, billing_ledger.c.amount)
                                .where(billing_ledger.c.kind == "topup"))
            return sorted((r.idempotency_key, r.amount) for r in rows)

    def dead_letters(self) -> list[str]:
        with self.db.read() as conn:
            return list(conn.execute(select(billing_payment_dead_letters.c.reason)).scalars())

    def state(self, checkout: Checkout) -> str:
        return payments.get_payment(db=self.db, tenant_id=self.tenant,
                                    payment_id=checkout.id).state


def stripe_event(event_type: str, session: Mapping[str, Any], *, event_id: str = "evt_1"
                 ) -> bytes:
    """A Stripe event body in the shape Stripe sends."""
    return json.dumps({"id": event_id, "object": "event", "type": event_type,
                       "data": {"object": dict(session)}}).encode()


def stripe_session(checkout: Checkout, *, amount_total: int | None = None,
                   currency: str = "cny", payment_status: str = "paid") -> dict[str, Any]:
    return {"id": checkout.provider_ref, "object": "checkout.session",
            "client_reference_id": checkout.id, "currency": currency,
            "amount_total": amount_total if amount_total is not None
            else int(checkout.amount.amount * 100),
            "payment_status": payment_status, "status": "complete"}


def signed(body: bytes, at: datetime, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    """The Stripe-Signature header exactly as Stripe computes it: t=<unix>,v1=<hex HMAC-SHA256
    of "<unix>.<body>"> under the endpoint's secret (written out here, not via the SDK)."""
    import hashlib
    import hmac

    timestamp = int(at.timestamp())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {"Stripe-Signature": f"t={timestamp},v1={mac.hexdigest()}"}


@pytest.fixture
def till(database: Database, clock: SimulatedClock) -> Till:
    tenant = identity.create_tenant(db=database, clock=clock, name="acme",
                                    billing_timezone="UTC", currency="CNY")
    test = TestProvider()
    sessions = FakeSessions()
    stripe = StripeProvider(sessions=sessions, webhook_secret=WEBHOOK_SECRET)
    setup = PaymentSetup(providers={"test": test, "stripe": stripe},
                         regions={REGION: ("test", "stripe")},
                         pending_timeout=timedelta(hours=1))
    return Till(database, clock, tenant.id, test, sessions, setup)
