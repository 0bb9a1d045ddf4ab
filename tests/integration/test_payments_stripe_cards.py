"""Saving a card with Stripe, through the official client against the local Stripe-shaped
server: a setup-mode Checkout Session for the tenant's customer, the signed
`checkout.session.completed` (mode `setup`) webhook, the SetupIntent asked of Stripe for the
card's brand, last 4 and expiry, auto-recharge charging that card, and removing it."""

# ruff: noqa: F811  (the Stripe double's fixtures are imported, then named as parameters)
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from sws.billing.payments import cards
from sws.billing.payments.autorecharge import _charge, save_setting
from sws.billing.payments.cards_model import CardSetup
from sws.billing.payments.model import AutoRecharge
from sws.billing.payments.service import CallbackRefused
from sws.billing.tables import billing_audit
from sws.money import Money
from tests.integration.test_payments_stripe_api import (  # noqa: F401
    StripeDouble,
    fake_stripe,
    stripe_till,
)
from tests.unit.payments.conftest import Till, signed, till  # noqa: F401

RETURN = "http://sws.test/console/payments/auto-recharge"


def _start(shop: Till) -> CardSetup:
    return cards.start_card_setup(db=shop.db, clock=shop.clock, setup=shop.setup,
                                  tenant_id=shop.tenant, return_url=RETURN)


def _entered(double: StripeDouble, intent: str, *, last4: str = "4242", brand: str = "visa",
             customer: str = "cus_1", method: str = "pm_1") -> None:
    """The payer typed its card on Stripe's page: Stripe now holds a succeeded SetupIntent."""
    double.setup_intents[intent] = {
        "status": "succeeded", "customer": customer, "usage": "off_session",
        "payment_method": {"id": method, "object": "payment_method", "type": "card",
                           "card": {"brand": brand, "last4": last4, "exp_month": 12,
                                    "exp_year": 2030}}}


def _completed(setup: CardSetup, intent: str, *, event_id: str = "evt_setup_1") -> bytes:
    """Stripe's `checkout.session.completed` for a setup-mode session."""
    return json.dumps({"id": event_id, "object": "event", "type": "checkout.session.completed",
                       "data": {"object": {
                           "id": setup.session_ref, "object": "checkout.session",
                           "mode": "setup", "status": "complete",
                           "payment_status": "no_payment_required",
                           "client_reference_id": setup.id, "customer": setup.customer_ref,
                           "setup_intent": intent, "amount_total": None, "currency": None,
                       }}}).encode()


def _deliver(shop: Till, body: bytes, headers: dict[str, str] | None = None) -> str:
    return cards.receive_callback(db=shop.db, clock=shop.clock, setup=shop.setup, drivers={},
                                  provider="stripe", body=body,
                                  headers=headers or signed(body, shop.clock.now()))


def _posted(double: StripeDouble, path: str) -> list[tuple[dict[str, list[str]], str | None]]:
    return [(form, key) for method, p, form, key in double.requests if p == path]


def _saved(shop: Till, double: StripeDouble, intent: str = "seti_1", **card: Any) -> CardSetup:
    setup = _start(shop)
    _entered(double, intent, **card)
    assert _deliver(shop, _completed(setup, intent, event_id=f"evt_{intent}")) == "applied"
    return setup


def test_saving_a_card_opens_a_setup_mode_session_for_the_tenants_new_customer(
    stripe_till: Till, fake_stripe: tuple[StripeDouble, str]
) -> None:
    double = fake_stripe[0]

    setup = _start(stripe_till)

    [(customer, key)] = _posted(double, "/v1/customers")
    assert key == f"sws-customer-{stripe_till.tenant}"
    assert customer["metadata[sws_tenant]"] == [stripe_till.tenant]
    [(session, session_key)] = _posted(double, "/v1/checkout/sessions")
    assert session["mode"] == ["setup"] and session["customer"] == ["cus_1"]
    assert session["client_reference_id"] == [setup.id] and session_key == f"sws-{setup.id}"
    assert session["currency"] == ["cny"] and session["payment_method_types[0]"] == ["card"]
    assert session["success_url"] == [RETURN]
    assert setup.redirect_url == "https://checkout.stripe.test/"
    assert cards.get_card(db=stripe_till.db, tenant_id=stripe_till.tenant) is None


def test_the_completed_setup_stores_the_card_stripe_reports(
    stripe_till: Till, fake_stripe: tuple[StripeDouble, str]
) -> None:
    _saved(stripe_till, fake_stripe[0])

    card = cards.get_card(db=stripe_till.db, tenant_id=stripe_till.tenant)
    assert card is not None and card.display == "Visa •••• 4242" and card.expiry == "12/2030"
    assert (card.details.customer_ref, card.details.method_ref) == ("cus_1", "pm_1")
    [asked] = [q for m, p, q, _ in fake_stripe[0].requests if p == "/v1/setup_intents/seti_1"]
    assert asked == {"expand[0]": ["payment_method"]}


def test_a_second_card_reuses_the_customer_and_replaces_the_first(
    stripe_till: Till, fake_stripe: tuple[StripeDouble, str]
) -> None:
    _saved(stripe_till, fake_stripe[0])
    _saved(stripe_till, fake_stripe[0], "seti_2", last4="0005", brand="mastercard",
           method="pm_2")

    assert len(_posted(fake_stripe[0], "/v1/customers")) == 1
    card = cards.get_card(db=stripe_till.db, tenant_id=stripe_till.tenant)
    assert card is not None and card.display == "Mastercard •••• 0005"


def test_a_replayed_setup_event_saves_nothing_twice(
    stripe_till: Till, fake_stripe: tuple[StripeDouble, str]
) -> None:
    setup = _saved(stripe_till, fake_stripe[0])

    again = _deliver(stripe_till, _completed(setup, "seti_1", event_id="evt_seti_1"))
    other_id = _deliver(stripe_till, _completed(setup, "seti_1", event_id="evt_retry"))

    assert (again, other_id) == ("duplicate", "duplicate")
    with stripe_till.db.read() as conn:
        saved = conn.execute(select(billing_audit.c.detail)
                             .where(billing_audit.c.action == "card_saved")).scalars().all()
    assert saved == ["Visa •••• 4242 (stripe)"]


def test_setups_completing_out_of_order_keep_the_later_card(
    stripe_till: Till, fake_stripe: tuple[StripeDouble, str]
) -> None:
    double = fake_stripe[0]
    first = _start(stripe_till)
    stripe_till.clock.advance(timedelta(minutes=2))  # the tenant tried again with another card
    second = _start(stripe_till)
    _entered(double, "seti_a", last4="1111", method="pm_a")
    _entered(double, "seti_b", last4="2222", method="pm_b")

    _deliver(stripe_till, _completed(second, "seti_b", event_id="evt_b"))
    _deliver(stripe_till, _completed(first, "seti_a", event_id="evt_a"))

    card = cards.get_card(db=stripe_till.db, tenant_id=stripe_till.tenant)
    assert card is not None and card.details.last4 == "2222"


@pytest.mark.parametrize(("forge", "reason"), [
    ("unknown_setup", "unknown card setup 'cset_nobody'"),
    ("bad_signature", "bad signature"),
    ("another_customer", "card setup"),
    ("setup_intent_not_succeeded", "SetupIntent seti_1 is 'requires_payment_method'"),
    ("setup_intent_stripe_never_made", "Stripe refused: No such setupintent"),
])
def test_a_setup_event_that_cannot_be_believed_saves_nothing(
    stripe_till: Till, fake_stripe: tuple[StripeDouble, str], forge: str, reason: str
) -> None:
    double = fake_stripe[0]
    setup = _start(stripe_till)
    _entered(double, "seti_1", customer="cus_999" if forge == "another_customer" else "cus_1")
    if forge == "setup_intent_not_succeeded":
        double.setup_intents["seti_1"]["status"] = "requires_payment_method"
    if forge == "setup_intent_stripe_never_made":
        del double.setup_intents["seti_1"]
    body = _completed(setup, "seti_1")
    headers = signed(body, stripe_till.clock.now())
    if forge == "unknown_setup":
        body = body.replace(setup.id.encode(), b"cset_nobody")
        headers = signed(body, stripe_till.clock.now())
    if forge == "bad_signature":
        headers = signed(body, stripe_till.clock.now(), secret="whsec_someone_else")

    with pytest.raises(CallbackRefused):
        _deliver(stripe_till, body, headers)

    assert cards.get_card(db=stripe_till.db, tenant_id=stripe_till.tenant) is None
    assert stripe_till.dead_letters()[0].startswith(reason)


def _auto(shop: Till, method_ref: str = "") -> AutoRecharge:
    return save_setting(db=shop.db, clock=shop.clock, setup=shop.setup, setting=AutoRecharge(
        tenant_id=shop.tenant, enabled=True, threshold=Money.of(10, "CNY"),
        amount=Money.of(100, "CNY"), monthly_cap=Money.of(300, "CNY"), provider="stripe",
        method_ref=method_ref))


def test_auto_recharge_charges_the_saved_card_off_session(
    stripe_till: Till, fake_stripe: tuple[StripeDouble, str]
) -> None:
    _saved(stripe_till, fake_stripe[0])
    setting = _auto(stripe_till)
    checkout = stripe_till.checkout("100.00", provider="stripe", key="auto:1")

    _charge(db=stripe_till.db, clock=stripe_till.clock, setup=stripe_till.setup, drivers={},
            checkout=checkout, setting=setting)

    [(intent, _)] = _posted(fake_stripe[0], "/v1/payment_intents")
    assert intent["customer"] == ["cus_1"] and intent["payment_method"] == ["pm_1"]
    assert intent["off_session"] == ["true"] and stripe_till.balance() == Decimal("100")


def test_a_card_saved_later_becomes_the_one_auto_recharge_charges(
    stripe_till: Till, fake_stripe: tuple[StripeDouble, str]
) -> None:
    _saved(stripe_till, fake_stripe[0])
    _auto(stripe_till)

    _saved(stripe_till, fake_stripe[0], "seti_2", last4="0005", method="pm_2")

    kept = cards_setting(stripe_till)
    assert (kept.method_ref, kept.customer_ref, kept.enabled) == ("pm_2", "cus_1", True)


def test_auto_recharge_on_stripe_without_a_card_is_refused(stripe_till: Till) -> None:
    from sws.errors import Invalid

    with pytest.raises(Invalid, match="save a card"):
        _auto(stripe_till)


def test_removing_the_card_detaches_it_and_turns_auto_recharge_off(
    stripe_till: Till, fake_stripe: tuple[StripeDouble, str]
) -> None:
    _saved(stripe_till, fake_stripe[0])
    _auto(stripe_till)

    cards.remove_card(db=stripe_till.db, clock=stripe_till.clock, setup=stripe_till.setup,
                      tenant_id=stripe_till.tenant)

    assert fake_stripe[0].detached == ["pm_1"]
    assert cards.get_card(db=stripe_till.db, tenant_id=stripe_till.tenant) is None
    assert cards_setting(stripe_till).enabled is False


def cards_setting(shop: Till) -> AutoRecharge:
    from sws.billing.payments.autorecharge import get_setting

    found = get_setting(db=shop.db, tenant_id=shop.tenant)
    assert found is not None
    return found
