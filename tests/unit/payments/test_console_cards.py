"""The saved card on the console's auto-recharge page: "Save a card" sends the tenant to
Stripe's page, the signed webhook stores the card, the page shows "Visa •••• 4242" and
removes it; in English and Chinese."""

# ruff: noqa: F811  (fixtures are imported, then named as parameters)
from __future__ import annotations

import json

from sws.billing.payments.cards_tables import billing_card_setups
from tests.integration.test_payments_stripe_api import (  # noqa: F401
    StripeDouble,
    fake_stripe,
    use_stripe,
)
from tests.unit.console.conftest import Console, console, template  # noqa: F401
from tests.unit.payments.conftest import signed

AUTO = "/console/payments/auto-recharge"


def _stripe_completes(site: Console, double: StripeDouble) -> None:
    """The tenant typed 4242 on Stripe's page; Stripe posts the signed setup event."""
    with site.container.db.read() as conn:
        started = conn.execute(billing_card_setups.select()).first()
    assert started is not None
    double.setup_intents["seti_1"] = {
        "status": "succeeded", "customer": started.customer_ref,
        "payment_method": {"id": "pm_1", "card": {"brand": "visa", "last4": "4242",
                                                  "exp_month": 12, "exp_year": 2030}}}
    body = json.dumps({"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {
        "id": started.session_ref, "mode": "setup", "client_reference_id": started.id,
        "setup_intent": "seti_1"}}}).encode()
    answer = site.browser().client.post("/v1/payments/callbacks/stripe", content=body,
                                        headers=signed(body, site.clock.now()))
    assert answer.json() == {"result": "applied"}, answer.text


def test_alice_saves_a_card_sees_it_and_removes_it(
    console: Console, fake_stripe: tuple[StripeDouble, str]
) -> None:
    use_stripe(console.container, fake_stripe[1])
    browser = console.browser("alice")
    assert 'id="save-card"' in browser.get(AUTO).text

    sent = browser.post(f"{AUTO}/card", {}, page=AUTO)
    assert sent.status_code == 303 and sent.headers["location"] == "https://checkout.stripe.test/"
    _stripe_completes(console, fake_stripe[0])

    shown = browser.get(AUTO).text
    assert "Visa •••• 4242" in shown and "expires 12/2030" in shown
    removed = browser.post(f"{AUTO}/card/remove", {}, page=AUTO, follow=True)
    assert "The card was removed." in removed.text and "No card is saved." in removed.text
    assert fake_stripe[0].detached == ["pm_1"]


def test_the_saved_card_speaks_chinese(
    console: Console, fake_stripe: tuple[StripeDouble, str]
) -> None:
    use_stripe(console.container, fake_stripe[1])
    browser = console.browser("alice")
    browser.post("/console/language", {"locale": "zh_CN"})

    page = browser.get(AUTO).text

    assert "尚未保存银行卡。" in page and "保存银行卡" in page


def test_without_stripe_there_is_no_save_button(console: Console) -> None:
    page = console.browser("alice").get(AUTO).text
    assert 'id="save-card"' not in page and "No card is saved." in page
