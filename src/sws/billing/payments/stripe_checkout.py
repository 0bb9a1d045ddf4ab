"""Stripe: Checkout Sessions for the payer, webhooks for the outcome.

A checkout opens a Checkout Session (mode `payment`, one line of the amount in minor units,
`client_reference_id` = SWS's payment id). Stripe's webhooks are verified with the official
`stripe` package against the endpoint's signing secret (`Stripe-Signature`: HMAC-SHA256 over
`timestamp.body`), the timestamp within a tolerance of SWS's clock. Events acted on:
`checkout.session.completed` (when paid), `checkout.session.async_payment_succeeded`,
`checkout.session.async_payment_failed` and `checkout.session.expired`; others are ignored.
The janitor asks Stripe for a stale session's status.

Refunds go through Stripe's Refunds API (`POST /v1/refunds` with the session's PaymentIntent
and the amount in minor units, SWS's refund id as the Idempotency-Key). Auto-recharge charges
a saved card off-session: a PaymentIntent with `off_session=true, confirm=true` for the
tenant's customer and payment method (`payment_intent.succeeded` and
`payment_intent.payment_failed` webhooks carry `metadata.sws_payment`).

Saving a card: a Checkout Session in `setup` mode for the tenant's Stripe customer (created
once, keyed by the tenant), `client_reference_id` = SWS's card-setup id. Its
`checkout.session.completed` webhook (mode `setup`) names the SetupIntent; SWS retrieves it
(with its PaymentMethod expanded) to learn the card's brand, last 4 digits and expiry, never
trusting the event's body for them. Removing the card detaches the PaymentMethod.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol, TypeVar

import stripe

from sws.billing.payments import signing
from sws.billing.payments.cards_model import CardDetails, CardSetup, SavedCard, SetupCompleted
from sws.billing.payments.model import (
    EXPIRED,
    FAILED,
    SUCCEEDED,
    CallbackRejected,
    Checkout,
    PaymentEvent,
    Refund,
    StartedCheckout,
    from_minor,
    to_minor,
)
from sws.billing.payments.testprovider import _header
from sws.errors import Invalid, SWSError, Unavailable

HEADER = "Stripe-Signature"
_T = TypeVar("_T")
NAME = "stripe"


class StripeSessions(Protocol):
    """The two Checkout Session calls SWS makes (the real client, or a fake in tests)."""

    def create(self, params: dict[str, Any]) -> Mapping[str, Any]: ...

    def retrieve(self, session_id: str) -> Mapping[str, Any]: ...


class StripeMoney(Protocol):
    """Refunds and off-session PaymentIntents (the real client, or a local fake in tests)."""

    def refund(self, params: dict[str, Any], idempotency_key: str) -> Mapping[str, Any]: ...

    def charge(self, params: dict[str, Any], idempotency_key: str) -> Mapping[str, Any]: ...


class StripeCards(Protocol):
    """Customers, SetupIntents and PaymentMethods, for saved cards."""

    def create_customer(self, params: dict[str, Any], idempotency_key: str
                        ) -> Mapping[str, Any]: ...

    def setup_intent(self, intent_id: str) -> Mapping[str, Any]: ...

    def detach(self, method_id: str) -> None: ...


class StripeApi:
    """Checkout Sessions, Refunds and PaymentIntents through the official client; `api_base`
    points it at a test double."""

    def __init__(self, secret_key: str, api_base: str | None = None) -> None:
        base: Any = {"api": api_base} if api_base else None
        self.client = stripe.StripeClient(secret_key, base_addresses=base)

    def refund(self, params: dict[str, Any], idempotency_key: str) -> Mapping[str, Any]:
        options: Any = {"idempotency_key": idempotency_key}
        with _unavailable():
            found = self.client.v1.refunds.create(params=params,  # type: ignore[arg-type]
                                                  options=options)
        return {"id": found.id, "status": found.status}

    def charge(self, params: dict[str, Any], idempotency_key: str) -> Mapping[str, Any]:
        """A declined card is an answer (`status: failed`), not an outage."""
        options: Any = {"idempotency_key": idempotency_key}
        try:
            with _unavailable(declines=False):
                found = self.client.v1.payment_intents.create(
                    params=params, options=options)  # type: ignore[arg-type]
        except stripe.CardError as declined:
            return {"id": _declined_intent(declined), "status": "failed"}
        return {"id": found.id, "status": found.status}

    def create(self, params: dict[str, Any]) -> Mapping[str, Any]:
        # Stripe's own idempotency: a retried start gets the same session, not a second one.
        options: Any = {"idempotency_key": f"sws-{params['client_reference_id']}"}
        with _unavailable():
            return _fields(self.client.v1.checkout.sessions.create(
                params=params, options=options))  # type: ignore[arg-type]

    def retrieve(self, session_id: str) -> Mapping[str, Any]:
        with _unavailable():
            return _fields(self.client.v1.checkout.sessions.retrieve(session_id))


    def create_customer(self, params: dict[str, Any], idempotency_key: str
                        ) -> Mapping[str, Any]:
        options: Any = {"idempotency_key": idempotency_key}
        with _unavailable():
            found = self.client.v1.customers.create(params=params,  # type: ignore[arg-type]
                                                    options=options)
        return {"id": found.id}

    def setup_intent(self, intent_id: str) -> Mapping[str, Any]:
        """The SetupIntent with its PaymentMethod expanded (brand, last 4, expiry)."""
        with _unavailable():
            found = self.client.v1.setup_intents.retrieve(
                intent_id, params={"expand": ["payment_method"]})
        return found.to_dict()

    def detach(self, method_id: str) -> None:
        """Detach the PaymentMethod; one Stripe no longer knows is as good as detached."""
        try:
            with _unavailable():
                self.client.v1.payment_methods.detach(method_id)
        except Invalid:
            return


def _declined_intent(declined: stripe.CardError) -> str:
    intent = getattr(declined.error, "payment_intent", None) if declined.error else None
    return str(getattr(intent, "id", None) or declined.request_id or "declined")


@contextmanager
def _unavailable(declines: bool = True) -> Iterator[None]:
    """Stripe down or refusing: a 503 naming it, never a 500; the checkout stays pending."""
    try:
        yield
    except stripe.CardError:
        if not declines:
            raise
        raise Unavailable("Stripe declined the card", field="provider") from None
    except stripe.InvalidRequestError as error:
        said = (error.user_message or str(error)).strip().splitlines()[0]
        raise Invalid(f"Stripe refused: {said}"[:200], field="provider") from None
    except stripe.StripeError as error:
        said = (error.user_message or type(error).__name__).strip().splitlines()[0]
        raise Unavailable(f"Stripe did not answer: {said}", field="provider") from None


def _fields(session: stripe.checkout.Session) -> dict[str, Any]:
    return {"id": session.id, "url": session.url, "status": session.status,
            "payment_status": session.payment_status,
            "payment_intent": getattr(session, "payment_intent", None)}


class StripeProvider:
    name = NAME
    label = "Stripe"

    def __init__(self, *, sessions: StripeSessions, webhook_secret: str,
                 tolerance: int = 300, money: StripeMoney | None = None,
                 cards: StripeCards | None = None) -> None:
        self.sessions, self.webhook_secret, self.tolerance = sessions, webhook_secret, tolerance
        self.money, self.cards = money, cards

    def refund(self, checkout: Checkout, refund: Refund) -> str:
        """A refund of the checkout's PaymentIntent, once per SWS refund id."""
        money = self._money()
        params = {"payment_intent": self._intent(checkout), "amount": to_minor(refund.amount),
                  "metadata": {"sws_refund": refund.id, "sws_payment": checkout.id}}
        answer = money.refund(params, f"sws-{refund.id}")
        if answer.get("status") in ("failed", "canceled"):
            raise Invalid(f"Stripe refused refund {answer.get('id')}", field="amount")
        return str(answer["id"])

    def charge_saved(self, checkout: Checkout, *, method_ref: str, customer_ref: str | None
                     ) -> str | None:
        """An off-session PaymentIntent on the saved card; the outcome if Stripe gave it."""
        params = {
            "amount": to_minor(checkout.amount), "currency": checkout.amount.currency.lower(),
            "customer": customer_ref, "payment_method": method_ref, "off_session": True,
            "confirm": True, "metadata": {"sws_payment": checkout.id,
                                          "sws_tenant": checkout.tenant_id},
        }
        answer = self._money().charge(params, f"sws-{checkout.id}")
        return {"succeeded": SUCCEEDED, "failed": FAILED, "requires_payment_method": FAILED,
                "requires_action": FAILED, "canceled": FAILED}.get(str(answer["status"]))

    def _intent(self, checkout: Checkout) -> str:
        ref = checkout.provider_ref or ""
        if ref.startswith("pi_"):
            return ref
        intent = self.sessions.retrieve(ref).get("payment_intent")
        if not intent:
            raise Invalid(f"Stripe has no payment for checkout {checkout.id}", field="payment_id")
        return str(intent)

    def _money(self) -> StripeMoney:
        if self.money is None:
            raise Invalid("Stripe refunds and saved cards are not set up", field="provider")
        return self.money

    def start(self, checkout: Checkout, *, return_url: str) -> StartedCheckout:
        session = self.sessions.create(session_params(checkout, return_url))
        return StartedCheckout(provider_ref=str(session["id"]), redirect_url=str(session["url"]))

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: datetime
               ) -> PaymentEvent | None:
        return self._read(body, headers, now, event_from)

    def verify_setup(self, body: bytes, headers: Mapping[str, str], *, now: datetime
                     ) -> SetupCompleted | None:
        """A completed card setup (setup-mode `checkout.session.completed`), else None."""
        return self._read(body, headers, now, setup_from)

    def _read(self, body: bytes, headers: Mapping[str, str], now: datetime,
                 parse: Callable[[Mapping[str, Any]], _T]) -> _T:
        """`parse` of a webhook whose signature and timestamp hold."""
        header = _header(headers, HEADER)
        try:  # the official SDK's check; the time is judged by SWS's clock below
            stripe.WebhookSignature.verify_header(body, header, self.webhook_secret)
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
            raise CallbackRejected(f"bad signature: {error}"[:200]) from None
        signing.check_timestamp(header, now=now, tolerance=self.tolerance)
        try:
            return parse(json.loads(body))
        except (ValueError, KeyError, TypeError, AttributeError, SWSError) as error:
            raise CallbackRejected(f"malformed Stripe event: {error!r}"[:200]) from None

    def create_customer(self, tenant_id: str) -> str:
        """The tenant's Stripe customer; Stripe's idempotency makes a retried create the same."""
        found = self._cards().create_customer({"metadata": {"sws_tenant": tenant_id}},
                                              f"sws-customer-{tenant_id}")
        return str(found["id"])

    def start_card_setup(self, setup: CardSetup, *, currency: str, return_url: str
                         ) -> StartedCheckout:
        self._cards()
        session = self.sessions.create(setup_params(setup, currency, return_url))
        return StartedCheckout(provider_ref=str(session["id"]), redirect_url=str(session["url"]))

    def card_of(self, setup_intent_ref: str) -> CardDetails:
        """The card a succeeded SetupIntent saved, as Stripe reports it."""
        cards = self._cards()
        try:
            intent = cards.setup_intent(setup_intent_ref)
        except Invalid as refused:  # Stripe knows no such SetupIntent
            raise CallbackRejected(refused.detail) from None
        if intent.get("status") != "succeeded":
            raise CallbackRejected(f"SetupIntent {setup_intent_ref} is "
                                   f"{intent.get('status')!r}, not succeeded")
        try:
            return card_details(intent)
        except (KeyError, TypeError, ValueError) as error:
            raise CallbackRejected(f"SetupIntent {setup_intent_ref} saved no card: "
                                   f"{error!r}"[:200]) from None

    def forget_card(self, card: SavedCard) -> None:
        self._cards().detach(card.details.method_ref)

    def _cards(self) -> StripeCards:
        if self.cards is None:
            raise Invalid("saving cards with Stripe is not set up", field="provider")
        return self.cards

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


_INTENT_OUTCOMES = {"payment_intent.succeeded": SUCCEEDED,
                    "payment_intent.payment_failed": FAILED}


def setup_params(setup: CardSetup, currency: str, return_url: str) -> dict[str, Any]:
    """A setup-mode Checkout Session: the tenant saves a card for its customer, pays nothing."""
    metadata = {"sws_card_setup": setup.id, "sws_tenant": setup.tenant_id}
    return {
        "mode": "setup", "customer": setup.customer_ref, "currency": currency.lower(),
        "payment_method_types": ["card"], "client_reference_id": setup.id,
        "metadata": metadata, "setup_intent_data": {"metadata": metadata},
        "success_url": return_url, "cancel_url": return_url,
    }


def setup_from(data: Mapping[str, Any]) -> SetupCompleted | None:
    """The completed card setup in a Stripe event, None for any other event."""
    session = data["data"]["object"]
    if data["type"] != "checkout.session.completed" or session.get("mode") != "setup":
        return None
    return SetupCompleted(NAME, str(data["id"]), str(session["client_reference_id"]),
                          str(session["id"]), _ref(session["setup_intent"]))


def _ref(value: object) -> str:
    """An id, whether Stripe sent it bare or as an expanded object."""
    found = value.get("id") if isinstance(value, Mapping) else value
    if not isinstance(found, str) or not found:
        raise ValueError(f"no id in {value!r}")
    return found


def card_details(intent: Mapping[str, Any]) -> CardDetails:
    """Brand, last 4 and expiry of a SetupIntent's expanded card PaymentMethod."""
    method = intent["payment_method"]
    card = method["card"]
    last4 = str(card["last4"])
    if len(last4) != 4 or not last4.isdigit():
        raise ValueError(f"last4 {last4!r}")
    return CardDetails(method_ref=_ref(method), customer_ref=_ref(intent["customer"]),
                       brand=str(card["brand"])[:32], last4=last4,
                       exp_month=int(card["exp_month"]), exp_year=int(card["exp_year"]))


def event_from(data: Mapping[str, Any]) -> PaymentEvent | None:
    """The payment event in a Stripe event, None for one SWS does not act on (card setups
    among them: `setup_from` reads those)."""
    if data["type"] in _INTENT_OUTCOMES:
        return _intent_event(data)
    session = data["data"]["object"]
    if session.get("mode") == "setup":
        return None
    outcome = _OUTCOMES.get(data["type"])
    if data["type"] == "checkout.session.completed":
        outcome = SUCCEEDED if session["payment_status"] in ("paid", "no_payment_required") \
            else None  # an async method: its own event follows
    if outcome is None:
        return None
    amount = from_minor(int(session["amount_total"]), str(session["currency"]).upper())
    return PaymentEvent(NAME, str(data["id"]), str(session["client_reference_id"]), outcome,
                        amount, str(session["id"]))


def _intent_event(data: Mapping[str, Any]) -> PaymentEvent | None:
    """An off-session charge's outcome; PaymentIntents SWS did not start are ignored."""
    intent = data["data"]["object"]
    payment = (intent.get("metadata") or {}).get("sws_payment")
    if not payment:
        return None
    amount = from_minor(int(intent["amount"]), str(intent["currency"]).upper())
    return PaymentEvent(NAME, str(data["id"]), str(payment), _INTENT_OUTCOMES[data["type"]],
                        amount, str(intent["id"]))


def session_outcome(session: Mapping[str, Any]) -> str | None:
    """Where a retrieved session stands: paid, expired, or None (still open)."""
    if session.get("payment_status") in ("paid", "no_payment_required"):
        return SUCCEEDED
    return EXPIRED if session.get("status") == "expired" else None
