"""Stripe: Checkout Sessions for the payer, webhooks for the outcome.

A checkout opens a Checkout Session (mode `payment`, one line of the amount in minor units,
`client_reference_id` = SWS's payment id). Stripe's webhooks are verified with the official
`stripe` package against the endpoint's signing secret (`Stripe-Signature`: HMAC-SHA256 over
`timestamp.body`), the timestamp within a tolerance of SWS's clock. Events acted on:
`checkout.session.completed` (when paid), `checkout.session.async_payment_succeeded`,
`checkout.session.async_payment_failed` and `checkout.session.expired`; others are ignored.
The janitor asks Stripe for a stale session's status.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

import stripe

from sws.billing.payments import signing
from sws.billing.payments.model import (
    EXPIRED,
    FAILED,
    SUCCEEDED,
    CallbackRejected,
    Checkout,
    PaymentEvent,
    StartedCheckout,
    from_minor,
    to_minor,
)
from sws.billing.payments.testprovider import _header
from sws.errors import SWSError, Unavailable

HEADER = "Stripe-Signature"
NAME = "stripe"


class StripeSessions(Protocol):
    """The two Checkout Session calls SWS makes (the real client, or a fake in tests)."""

    def create(self, params: dict[str, Any]) -> Mapping[str, Any]: ...

    def retrieve(self, session_id: str) -> Mapping[str, Any]: ...


class StripeApi:
    """Checkout Sessions through the official client."""

    def __init__(self, secret_key: str) -> None:
        self.client = stripe.StripeClient(secret_key)

    def create(self, params: dict[str, Any]) -> Mapping[str, Any]:
        # Stripe's own idempotency: a retried start gets the same session, not a second one.
        options: Any = {"idempotency_key": f"sws-{params['client_reference_id']}"}
        with _unavailable():
            return _fields(self.client.v1.checkout.sessions.create(
                params=params, options=options))  # type: ignore[arg-type]

    def retrieve(self, session_id: str) -> Mapping[str, Any]:
        with _unavailable():
            return _fields(self.client.v1.checkout.sessions.retrieve(session_id))


@contextmanager
def _unavailable() -> Iterator[None]:
    """Stripe down or refusing: a 503 naming it, never a 500; the checkout stays pending."""
    try:
        yield
    except stripe.StripeError as error:
        said = (error.user_message or type(error).__name__).strip().splitlines()[0]
        raise Unavailable(f"Stripe did not answer: {said}", field="provider") from None


def _fields(session: stripe.checkout.Session) -> dict[str, Any]:
    return {"id": session.id, "url": session.url, "status": session.status,
            "payment_status": session.payment_status}


class StripeProvider:
    name = NAME
    label = "Stripe"

    def __init__(self, *, sessions: StripeSessions, webhook_secret: str,
                 tolerance: int = 300) -> None:
        self.sessions, self.webhook_secret, self.tolerance = sessions, webhook_secret, tolerance

    def start(self, checkout: Checkout, *, return_url: str) -> StartedCheckout:
        session = self.sessions.create(session_params(checkout, return_url))
        return StartedCheckout(provider_ref=str(session["id"]), redirect_url=str(session["url"]))

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: datetime
               ) -> PaymentEvent | None:
        header = _header(headers, HEADER)
        try:  # the official SDK's check; the time is judged by SWS's clock below
            stripe.WebhookSignature.verify_header(body, header, self.webhook_secret)
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
            raise CallbackRejected(f"bad signature: {error}"[:200]) from None
        signing.check_timestamp(header, now=now, tolerance=self.tolerance)
        try:
            return event_from(json.loads(body))
        except (ValueError, KeyError, TypeError, SWSError) as error:
            raise CallbackRejected(f"malformed Stripe event: {error!r}"[:200]) from None

    def lookup(self, checkout: Checkout) -> str | None:
        if checkout.provider_ref is None:
            return None
        return session_outcome(self.sessions.retrieve(checkout.provider_ref))


def session_params(checkout: Checkout, return_url: str) -> dict[str, Any]:
    """A one-line Checkout Session for the checkout's amount."""
    return {
        "mode": "payment",
        "client_reference_id": checkout.id,
        "metadata": {"sws_payment": checkout.id, "sws_tenant": checkout.tenant_id},
        "line_items": [{"quantity": 1, "price_data": {
            "currency": checkout.amount.currency.lower(),
            "unit_amount": to_minor(checkout.amount),
            "product_data": {"name": "Cloud account credit"},
        }}],
        "success_url": return_url,
        "cancel_url": return_url,
    }


_OUTCOMES = {
    "checkout.session.async_payment_succeeded": SUCCEEDED,
    "checkout.session.async_payment_failed": FAILED,
    "checkout.session.expired": EXPIRED,
}


def event_from(data: Mapping[str, Any]) -> PaymentEvent | None:
    """The payment event in a Stripe event, None for one SWS does not act on."""
    session = data["data"]["object"]
    outcome = _OUTCOMES.get(data["type"])
    if data["type"] == "checkout.session.completed":
        outcome = SUCCEEDED if session["payment_status"] in ("paid", "no_payment_required") \
            else None  # an async method: its own event follows
    if outcome is None:
        return None
    amount = from_minor(int(session["amount_total"]), str(session["currency"]).upper())
    return PaymentEvent(NAME, str(data["id"]), str(session["client_reference_id"]), outcome,
                        amount, str(session["id"]))


def session_outcome(session: Mapping[str, Any]) -> str | None:
    """Where a retrieved session stands: paid, expired, or None (still open)."""
    if session.get("payment_status") in ("paid", "no_payment_required"):
        return SUCCEEDED
    return EXPIRED if session.get("status") == "expired" else None
