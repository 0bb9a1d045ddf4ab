"""Stripe refunds and off-session charges through the official `stripe` client, against a local
HTTP server that answers in Stripe's documented shapes (`POST /v1/refunds`, `POST
/v1/payment_intents`, `POST /v1/checkout/sessions` and `GET` one; for saved cards `POST
/v1/customers`, `GET /v1/setup_intents/{id}` and `POST /v1/payment_methods/{id}/detach`): the
requests SWS sends are read back as Stripe would receive them, form-encoded, with their
Idempotency-Key."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from sws.billing.payments import refunds
from sws.billing.payments import service as payments
from sws.billing.payments.autorecharge import _charge
from sws.billing.payments.model import AutoRecharge, Checkout, RefundSpec
from sws.billing.payments.service import PaymentSetup
from sws.billing.payments.stripe_checkout import StripeApi, StripeProvider
from sws.bootstrap import Container
from sws.errors import Invalid
from sws.money import Money
from tests.unit.payments.conftest import (
    REGION,
    WEBHOOK_SECRET,
    Till,
    signed,
    stripe_event,
    stripe_session,
    till,  # noqa: F401
)


@dataclass
class StripeDouble:
    """What the fake Stripe received, and how it answers."""

    requests: list[tuple[str, str, dict[str, list[str]], str | None]] = field(default_factory=list)
    decline: bool = False
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)  # by idempotency key
    customers: dict[str, str] = field(default_factory=dict)  # customer id by idempotency key
    setup_intents: dict[str, dict[str, Any]] = field(default_factory=dict)  # what payers saved
    detached: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    double: StripeDouble

    def log_message(self, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        self.double.requests.append(("GET", path, parse_qs(query), None))
        if path.startswith("/v1/setup_intents/"):
            self._setup_intent(path.rsplit("/", 1)[1])
            return
        session_id = path.rsplit("/", 1)[1]
        self._answer(
            200,
            {
                "id": session_id,
                "object": "checkout.session",
                "status": "complete",
                "payment_status": "paid",
                "payment_intent": "pi_from_session",
                "url": None,
            },
        )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = parse_qs(self.rfile.read(length).decode())
        key = self.headers.get("Idempotency-Key")
        self.double.requests.append(("POST", self.path, form, key))
        if self.path == "/v1/customers":
            customer = self.double.customers.setdefault(
                str(key), f"cus_{len(self.double.customers) + 1}")
            self._answer(200, {"id": customer, "object": "customer"})
        elif self.path.startswith("/v1/payment_methods/"):
            method = self.path.split("/")[3]
            self.double.detached.append(method)
            self._answer(200, {"id": method, "object": "payment_method", "customer": None})
        elif self.path == "/v1/checkout/sessions":
            self._answer(
                200,
                {
                    "id": f"cs_test_{len(self.double.requests)}",
                    "object": "checkout.session",
                    "status": "open",
                    "payment_status": "unpaid",
                    "url": "https://checkout.stripe.test/",
                },
            )
        elif self.path == "/v1/refunds":
            refund = self.double.refunds.setdefault(
                str(key),
                {
                    "id": f"re_{len(self.double.refunds) + 1}",
                    "object": "refund",
                    "status": "succeeded",
                    "amount": int(form["amount"][0]),
                    "payment_intent": form["payment_intent"][0],
                },
            )
            self._answer(200, refund)
        elif self.double.decline:
            self._answer(
                402,
                {
                    "error": {
                        "type": "card_error",
                        "code": "card_declined",
                        "message": "Your card was declined.",
                        "payment_intent": {
                            "id": "pi_declined",
                            "object": "payment_intent",
                            "status": "requires_payment_method",
                        },
                    }
                },
            )
        else:
            self._answer(
                200,
                {
                    "id": "pi_charged",
                    "object": "payment_intent",
                    "status": "succeeded",
                    "amount": int(form["amount"][0]),
                },
            )

    def _setup_intent(self, intent_id: str) -> None:
        found = self.double.setup_intents.get(intent_id)
        if found is None:
            self._answer(404, {"error": {"type": "invalid_request_error",
                                         "code": "resource_missing",
                                         "message": f"No such setupintent: '{intent_id}'"}})
            return
        self._answer(200, {"id": intent_id, "object": "setup_intent", **found})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_test")
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_stripe() -> Iterator[tuple[StripeDouble, str]]:
    double = StripeDouble()
    handler = type("Handler", (_Handler,), {"double": double})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield double, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def use_stripe(container: Container, url: str) -> None:
    """A running SWS's payments with Stripe (payments, refunds, charges, saved cards) at the
    double at `url`, offered in RegionOne beside the test provider."""
    assert container.payments is not None
    api = StripeApi("sk_test_0123456789", api_base=url)
    stripe = StripeProvider(sessions=api, webhook_secret=WEBHOOK_SECRET, money=api, cards=api)
    container.payments.setup = PaymentSetup(
        providers={**container.payments.setup.providers, "stripe": stripe},
        regions={REGION: ("test", "stripe")})


@pytest.fixture
def stripe_till(till: Till, fake_stripe: tuple[StripeDouble, str]) -> Till:  # noqa: F811
    api = StripeApi("sk_test_0123456789", api_base=fake_stripe[1])
    provider = StripeProvider(sessions=api, webhook_secret=WEBHOOK_SECRET, money=api, cards=api)
    till.setup = PaymentSetup(
        providers={**till.setup.providers, "stripe": provider}, regions={REGION: ("test", "stripe")}
    )
    return till


def _paid_with_stripe(till: Till, amount: str) -> str:  # noqa: F811
    checkout = till.checkout(amount, provider="stripe")
    body = stripe_event("checkout.session.completed", stripe_session(checkout))
    till.deliver("stripe", body, signed(body, till.clock.now()))
    return checkout.id


def test_a_stripe_refund_posts_to_the_refunds_api_once_with_its_key(
    stripe_till: Till, fake_stripe: tuple[StripeDouble, str]
) -> None:
    double = fake_stripe[0]
    payment = _paid_with_stripe(stripe_till, "80.00")
    spec = RefundSpec(
        payment_id=payment,
        amount=Money.of("30.00", "CNY"),
        idempotency_key="r1",
        reason="duplicate order",
        actor="admin",
    )

    refund = refunds.refund_payment(
        db=stripe_till.db, clock=stripe_till.clock, setup=stripe_till.setup, spec=spec
    )

    posted = [r for r in double.requests if r[1] == "/v1/refunds"]
    assert len(posted) == 1
    _, path, form, key = posted[0]
    assert path == "/v1/refunds" and key == f"sws-{refund.id}"
    assert form["payment_intent"] == ["pi_from_session"] and form["amount"] == ["3000"]
    assert form["metadata[sws_payment]"] == [payment]
    assert refund.state == "succeeded" and refund.provider_ref == "re_1"
    assert stripe_till.balance() == Decimal("50")


def test_a_stripe_refund_retried_after_a_crash_is_the_same_refund(
    stripe_till: Till, fake_stripe: tuple[StripeDouble, str]
) -> None:
    payment = _paid_with_stripe(stripe_till, "80.00")
    spec = RefundSpec(
        payment_id=payment,
        amount=Money.of("80.00", "CNY"),
        idempotency_key="r1",
        reason="x",
        actor="admin",
    )
    pending = refunds._reserve(stripe_till.db, stripe_till.clock, spec)
    checkout = payments.get_payment(
        db=stripe_till.db, tenant_id=stripe_till.tenant, payment_id=payment
    )
    provider = stripe_till.setup.providers["stripe"]
    assert isinstance(provider, StripeProvider)
    provider.refund(checkout, pending)  # Stripe refunded; the process died before recording it

    stripe_till.clock.advance(timedelta(minutes=10))
    assert (
        refunds.retry_pending(db=stripe_till.db, clock=stripe_till.clock, setup=stripe_till.setup)
        == 1
    )

    assert len(fake_stripe[0].refunds) == 1  # Stripe saw one refund under the one key
    assert stripe_till.balance() == Decimal("0")


def _charge_saved_card(till: Till, card: str) -> Checkout:  # noqa: F811
    """Auto-recharge's charge of 100.00 on the tenant's saved Stripe card `card`."""
    setting = AutoRecharge(
        tenant_id=till.tenant,
        enabled=True,
        threshold=Money.of(10, "CNY"),
        amount=Money.of(100, "CNY"),
        monthly_cap=Money.of(100, "CNY"),
        provider="stripe",
        method_ref=card,
        customer_ref="cus_123",
    )
    checkout = till.checkout("100.00", provider="stripe", key="auto:1")
    _charge(
        db=till.db,
        clock=till.clock,
        setup=till.setup,
        drivers={},
        checkout=checkout,
        setting=setting,
    )
    return checkout


def test_an_off_session_charge_confirms_a_payment_intent(
    stripe_till: Till, fake_stripe: tuple[StripeDouble, str]
) -> None:
    checkout = _charge_saved_card(stripe_till, "pm_card_visa")

    _, path, form, key = next(r for r in fake_stripe[0].requests if r[1] == "/v1/payment_intents")
    assert path == "/v1/payment_intents" and key == f"sws-{checkout.id}"
    assert form["off_session"] == ["true"] and form["confirm"] == ["true"]
    assert form["customer"] == ["cus_123"] and form["payment_method"] == ["pm_card_visa"]
    assert stripe_till.balance() == Decimal("100")


def test_a_declined_off_session_card_fails_the_payment(
    stripe_till: Till, fake_stripe: tuple[StripeDouble, str]
) -> None:
    fake_stripe[0].decline = True

    checkout = _charge_saved_card(stripe_till, "pm_card_chargeDeclined")

    assert stripe_till.state(checkout) == "failed" and stripe_till.balance() == 0


def test_refunds_without_stripe_money_set_up_are_refused(stripe_till: Till) -> None:
    provider = StripeProvider(sessions=stripe_till.sessions, webhook_secret=WEBHOOK_SECRET)
    stripe_till.setup = PaymentSetup(providers={"stripe": provider}, regions={REGION: ("stripe",)})
    payment = _paid_with_stripe(stripe_till, "10.00")
    spec = RefundSpec(
        payment_id=payment,
        amount=Money.of("10.00", "CNY"),
        idempotency_key="r1",
        reason="x",
        actor="admin",
    )

    with pytest.raises(Invalid, match="not set up"):
        refunds.refund_payment(
            db=stripe_till.db, clock=stripe_till.clock, setup=stripe_till.setup, spec=spec
        )
    assert stripe_till.balance() == Decimal("10")
