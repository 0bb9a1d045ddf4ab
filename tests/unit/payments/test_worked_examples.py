"""Worked examples of money in: checkouts, callbacks, replays, refusals and the janitor."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from sws.billing.payments import service as payments
from sws.billing.payments.service import CallbackRefused
from sws.errors import Conflict, Invalid, NotFound, Unavailable
from tests.unit.payments.conftest import Till, signed, stripe_event, stripe_session


def test_paying_100_with_the_test_provider_credits_100_once(till: Till) -> None:
    checkout = till.checkout("100.00")
    assert checkout.state == "pending"
    assert checkout.redirect_url == f"/console/payments/test-provider/{checkout.id}"

    applied = till.press(checkout)

    assert applied is not None and applied.credited
    assert till.state(checkout) == "succeeded"
    assert till.balance() == Decimal("100")
    assert till.credits() == [(f"payment:test:{checkout.id}", Decimal("100"))]


def test_a_replayed_callback_answers_again_and_credits_nothing(till: Till) -> None:
    checkout = till.checkout("30.00")
    body, headers = till.test.callback(checkout, "succeeded", at=till.clock.now())
    till.deliver("test", body, headers)

    again = till.deliver("test", body, headers)

    assert again is not None and again.duplicate and not again.credited
    assert till.balance() == Decimal("30")


def test_a_failed_payment_credits_nothing_and_a_later_success_still_counts(till: Till) -> None:
    checkout = till.checkout("20.00")
    till.press(checkout, "failed")
    assert till.state(checkout) == "failed" and till.balance() == 0

    till.press(checkout, "succeeded")  # the provider took the money after all

    assert till.state(checkout) == "succeeded" and till.balance() == Decimal("20")


def test_the_same_idempotency_key_gives_the_same_checkout(till: Till) -> None:
    first = till.checkout("10.00", key="once")
    assert till.checkout("10.00", key="once").id == first.id
    with pytest.raises(Conflict):
        till.checkout("11.00", key="once")


@pytest.mark.parametrize("amount", ["0", "-5", "10.001"])
def test_a_checkout_needs_a_positive_amount_in_whole_cents(till: Till, amount: str) -> None:
    with pytest.raises(Invalid):
        till.checkout(amount)


def test_a_provider_the_region_does_not_offer_is_refused(till: Till) -> None:
    with pytest.raises(Invalid, match="not offered"):
        till.checkout("10.00", provider="alipay")


def test_a_forged_test_provider_callback_is_refused_and_kept(till: Till) -> None:
    checkout = till.checkout("50.00")
    body, headers = till.test.callback(checkout, "succeeded", at=till.clock.now())
    forged = body.replace(b"50.00", b"5000.00")

    with pytest.raises(CallbackRefused, match="bad signature"):
        till.deliver("test", forged, headers)

    assert till.balance() == 0 and till.state(checkout) == "pending"
    assert till.dead_letters()[0].startswith("bad signature")


def test_a_callback_for_an_unknown_provider_is_a_404_and_kept(till: Till) -> None:
    with pytest.raises(NotFound):
        till.deliver("paypal", b"{}", {})
    assert till.dead_letters() == ["unknown provider 'paypal'"]


# --- Stripe -----------------------------------------------------------------------------------


def test_a_stripe_checkout_opens_a_session_for_the_amount_in_fen(till: Till) -> None:
    checkout = till.checkout("12.34", provider="stripe")

    params = till.sessions.created[str(checkout.provider_ref)]
    assert params["mode"] == "payment" and params["client_reference_id"] == checkout.id
    assert params["line_items"][0]["price_data"]["unit_amount"] == 1234
    assert params["line_items"][0]["price_data"]["currency"] == "cny"
    assert checkout.redirect_url == f"https://checkout.stripe.test/{checkout.provider_ref}"


def test_a_signed_stripe_completion_credits_the_balance(till: Till) -> None:
    checkout = till.checkout("88.00", provider="stripe")
    body = stripe_event("checkout.session.completed", stripe_session(checkout))

    till.deliver("stripe", body, signed(body, till.clock.now()))

    assert till.balance() == Decimal("88") and till.state(checkout) == "succeeded"


def test_the_sdks_own_signature_is_accepted_too(till: Till) -> None:
    import stripe

    checkout = till.checkout("5.00", provider="stripe")
    body = stripe_event("checkout.session.completed", stripe_session(checkout))
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), "whsec_test_0123456789abcdef", timestamp=int(till.clock.now().timestamp()))

    till.deliver("stripe", body, {"stripe-signature": header})

    assert till.balance() == Decimal("5")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"secret": "whsec_someone_else_000000"}, "bad signature"),
        ({"late": timedelta(seconds=301)}, "stale timestamp"),
        ({"late": -timedelta(seconds=301)}, "stale timestamp"),
        ({"amount_total": 100}, "amount 1.00 CNY does not match"),
        ({"currency": "usd"}, "amount 88.00 USD does not match"),
        ({"payment": "pay_nobody"}, "unknown payment 'pay_nobody'"),
    ],
)
def test_a_stripe_callback_that_cannot_be_believed_credits_nothing(
    till: Till, change: dict[str, object], reason: str
) -> None:
    checkout = till.checkout("88.00", provider="stripe")
    session = stripe_session(checkout, amount_total=change.get("amount_total"),  # type: ignore[arg-type]
                             currency=str(change.get("currency", "cny")))
    if "payment" in change:
        session["client_reference_id"] = change["payment"]
    body = stripe_event("checkout.session.completed", session)
    signed_at = till.clock.now() - change.get("late", timedelta(0))  # type: ignore[operator]
    headers = signed(body, signed_at, str(change.get("secret", "whsec_test_0123456789abcdef")))

    with pytest.raises((CallbackRefused, NotFound)):
        till.deliver("stripe", body, headers)

    assert till.balance() == 0 and till.state(checkout) == "pending"
    assert till.dead_letters()[0].startswith(reason)


def test_a_stripe_event_replayed_with_a_fresh_signature_credits_once(till: Till) -> None:
    checkout = till.checkout("40.00", provider="stripe")
    body = stripe_event("checkout.session.completed", stripe_session(checkout))
    till.deliver("stripe", body, signed(body, till.clock.now()))
    till.clock.advance(timedelta(hours=3))  # Stripe retries for days, signing anew each time

    again = till.deliver("stripe", body, signed(body, till.clock.now()))

    assert again is not None and again.duplicate and till.balance() == Decimal("40")


def test_an_unpaid_async_completion_waits_for_its_outcome_event(till: Till) -> None:
    checkout = till.checkout("40.00", provider="stripe")
    completed = stripe_event("checkout.session.completed",
                             stripe_session(checkout, payment_status="unpaid"), event_id="evt_a")
    assert till.deliver("stripe", completed, signed(completed, till.clock.now())) is None
    assert till.balance() == 0

    succeeded = stripe_event("checkout.session.async_payment_succeeded",
                             stripe_session(checkout), event_id="evt_b")
    till.deliver("stripe", succeeded, signed(succeeded, till.clock.now()))

    assert till.balance() == Decimal("40")


def test_a_stripe_event_of_another_kind_is_ignored(till: Till) -> None:
    body = json.dumps({"id": "evt_x", "type": "customer.created",
                       "data": {"object": {"id": "cus_1"}}}).encode()
    assert till.deliver("stripe", body, signed(body, till.clock.now())) is None
    assert till.dead_letters() == []


# --- Janitor ----------------------------------------------------------------------------------


def test_the_janitor_expires_a_checkout_nobody_paid(till: Till) -> None:
    checkout = till.checkout("10.00")
    till.clock.advance(timedelta(minutes=59))
    assert payments.run_janitor(db=till.db, clock=till.clock, setup=till.setup) == 0

    till.clock.advance(timedelta(minutes=2))
    assert payments.run_janitor(db=till.db, clock=till.clock, setup=till.setup) == 1

    assert till.state(checkout) == "expired" and till.balance() == 0


def test_the_janitor_credits_a_stripe_session_paid_while_its_webhook_was_lost(till: Till) -> None:
    checkout = till.checkout("66.00", provider="stripe")
    till.sessions.status[str(checkout.provider_ref)] = {"status": "complete",
                                                        "payment_status": "paid"}
    till.clock.advance(timedelta(hours=2))

    payments.run_janitor(db=till.db, clock=till.clock, setup=till.setup)
    body = stripe_event("checkout.session.completed", stripe_session(checkout))
    till.deliver("stripe", body, signed(body, till.clock.now()))  # the webhook, late

    assert till.state(checkout) == "succeeded" and till.balance() == Decimal("66")


def test_a_payment_that_lands_after_the_janitor_expired_it_is_still_credited(till: Till) -> None:
    checkout = till.checkout("15.00")
    till.clock.advance(timedelta(hours=2))
    payments.run_janitor(db=till.db, clock=till.clock, setup=till.setup)

    till.press(checkout)

    assert till.state(checkout) == "succeeded" and till.balance() == Decimal("15")


def test_another_tenants_payment_is_not_found(till: Till) -> None:
    checkout = till.checkout("15.00")
    with pytest.raises(NotFound):
        payments.get_payment(db=till.db, tenant_id="someone-else", payment_id=checkout.id)


def test_a_checkout_stripe_could_not_open_is_opened_by_the_retry(till: Till) -> None:
    till.sessions.down = True
    with pytest.raises(Unavailable):
        till.checkout("20.00", provider="stripe", key="retry")
    till.sessions.down = False

    checkout = till.checkout("20.00", provider="stripe", key="retry")

    assert checkout.redirect_url is not None and len(till.sessions.created) == 1


def test_the_janitor_expires_nothing_while_stripe_does_not_answer(till: Till) -> None:
    checkout = till.checkout("20.00", provider="stripe")
    till.sessions.down = True
    till.clock.advance(timedelta(hours=2))

    assert payments.run_janitor(db=till.db, clock=till.clock, setup=till.setup) == 0

    assert till.state(checkout) == "pending"


def test_stripe_unreachable_is_a_503_not_a_500() -> None:
    import socket

    import stripe

    from sws.billing.payments.stripe_checkout import StripeApi

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = StripeApi("sk_test_unreachable")
    api.client = stripe.StripeClient("sk_test_unreachable", max_network_retries=0,
                                     base_addresses={"api": f"http://127.0.0.1:{port}"})

    with pytest.raises(Unavailable, match="Stripe did not answer") as raised:
        api.retrieve("cs_test_1")

    assert raised.value.status == 503


def test_an_event_id_longer_than_the_column_is_refused_not_a_500(till: Till) -> None:
    checkout = till.checkout("20.00", provider="stripe")
    body = stripe_event("checkout.session.completed", stripe_session(checkout),
                        event_id="evt_" + "x" * 300)

    with pytest.raises(CallbackRefused):
        till.deliver("stripe", body, signed(body, till.clock.now()))

    assert till.balance() == 0
