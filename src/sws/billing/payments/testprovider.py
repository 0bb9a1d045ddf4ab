"""The embedded test provider: a local checkout page with Pay and Fail buttons, so the whole
flow runs on a laptop. It moves no real money and is labelled "test provider" wherever it
appears. Its callbacks are signed like Stripe's, with a secret only this SWS knows, and go
through the same verification and exactly-once path as a real provider's."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime

from sws.billing.payments import signing
from sws.billing.payments.model import (
    FAILED,
    SUCCEEDED,
    TEST_PROVIDER,
    CallbackRejected,
    Checkout,
    PaymentEvent,
    Refund,
    StartedCheckout,
)
from sws.errors import SWSError
from sws.money import Money, parse_amount

HEADER = "X-SWS-Test-Signature"
PAGE = "/console/payments/test-provider/{id}"
SAVED_CARD, DECLINED_CARD = "test_card", "test_card_declined"


class TestProvider:
    """No money moves: the page's buttons post callbacks signed with `secret`."""

    __test__ = False  # not a pytest class
    name = TEST_PROVIDER
    label = "Test provider (no real money)"

    def __init__(self, *, secret: str | None = None, tolerance: int = 300) -> None:
        self.secret = secret or secrets.token_hex(32)
        self.tolerance = tolerance

    def start(self, checkout: Checkout, *, return_url: str) -> StartedCheckout:
        return StartedCheckout(provider_ref=checkout.id, redirect_url=PAGE.format(id=checkout.id))

    def callback(self, checkout: Checkout, outcome: str, *, at: datetime
                 ) -> tuple[bytes, dict[str, str]]:
        """The signed callback the page's Pay (succeeded) or Fail (failed) button sends."""
        if outcome not in (SUCCEEDED, FAILED):
            raise ValueError(f"the test provider only pays or fails, not {outcome!r}")
        body = json.dumps({
            "id": f"evt_test_{checkout.id}_{outcome}", "payment": checkout.id,
            "outcome": outcome, "amount": str(checkout.amount.amount),
            "currency": checkout.amount.currency,
        }).encode()
        return body, {HEADER: signing.sign(body, self.secret, at=at)}

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: datetime
               ) -> PaymentEvent | None:
        signing.verify(body, _header(headers, HEADER), self.secret, now=now,
                       tolerance=self.tolerance)
        try:
            data = json.loads(body)
            amount = Money(parse_amount(data["amount"]), data["currency"])
            return PaymentEvent(TEST_PROVIDER, str(data["id"]), str(data["payment"]),
                                _outcome(data["outcome"]), amount, str(data["payment"]))
        except (ValueError, KeyError, TypeError, SWSError) as error:
            raise CallbackRejected(f"malformed test-provider callback: {error}") from None

    def lookup(self, checkout: Checkout) -> str | None:
        return None  # nobody pressed a button: the janitor expires it

    def refund(self, checkout: Checkout, refund: Refund) -> str:
        """Always gives the money back; the same refund id twice is the same refund."""
        return f"re_test_{refund.id}"

    def charge_saved(self, checkout: Checkout, *, method_ref: str, customer_ref: str | None
                     ) -> str | None:
        """An off-session charge on the saved test card: `succeeded`, or `failed` for the card
        `test_card_declined`. The outcome comes back at once (no callback needed)."""
        return FAILED if method_ref == DECLINED_CARD else SUCCEEDED


def _outcome(value: object) -> str:
    if value not in (SUCCEEDED, FAILED):
        raise ValueError(f"outcome {value!r}")
    return str(value)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)
