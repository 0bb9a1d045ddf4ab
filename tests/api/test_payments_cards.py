"""The saved card of auto-recharge through the API: start a card setup, Stripe's signed webhook
saves the card, the tenant sees "Visa •••• 4242" and removes it; another tenant sees none of it."""

# ruff: noqa: F811  (the Stripe double's fixture is imported, then named as a parameter)
from __future__ import annotations

import json
from typing import Any

from sws.billing.payments import cards_repository, repository
from tests.api.conftest import Cloud, Tenant
from tests.integration.test_payments_stripe_api import (  # noqa: F401
    StripeDouble,
    fake_stripe,
    use_stripe,
)
from tests.unit.payments.conftest import signed

CARD = "/v1/payments/auto-recharge/card"


def _completed(setup: dict[str, Any], session: str, *, event_id: str = "evt_1") -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": "checkout.session.completed",
                       "data": {"object": {"id": session, "object": "checkout.session",
                                           "mode": "setup", "status": "complete",
                                           "client_reference_id": setup["id"],
                                           "setup_intent": "seti_1"}}}).encode()


def _session_of(cloud: Cloud, setup: dict[str, Any]) -> str:
    """The Checkout Session Stripe opened for the setup (as SWS recorded it)."""
    with cloud.container.db.read() as conn:
        found = cards_repository.get_setup(conn, setup["id"])
    assert found is not None and found.session_ref is not None
    return found.session_ref


def _webhook(cloud: Cloud, body: bytes) -> Any:
    return cloud.client.post("/v1/payments/callbacks/stripe", content=body,
                             headers=signed(body, cloud.clock.now()))


def _save_card(cloud: Cloud, double: StripeDouble, tenant: Tenant) -> Any:
    started = cloud.client.post(CARD, headers=tenant.headers)
    assert started.status_code == 201, started.text
    session = next(p for m, p, *_ in reversed(double.requests) if m == "POST")
    assert session == "/v1/checkout/sessions"
    double.setup_intents["seti_1"] = {
        "status": "succeeded", "customer": "cus_1",
        "payment_method": {"id": "pm_1", "card": {"brand": "visa", "last4": "4242",
                                                  "exp_month": 4, "exp_year": 2031}}}
    return started.json()


def test_a_tenant_saves_a_card_sees_it_and_removes_it(
    cloud: Cloud, fake_stripe: tuple[StripeDouble, str]
) -> None:
    use_stripe(cloud.container, fake_stripe[1])
    setup = _save_card(cloud, fake_stripe[0], cloud.acme)
    assert setup["state"] == "pending" and setup["redirect_url"].startswith("https://")
    session = _session_of(cloud, setup)

    saved = _webhook(cloud, _completed(setup, session))
    replay = _webhook(cloud, _completed(setup, session))

    assert (saved.status_code, saved.json()) == (200, {"result": "applied"})
    assert replay.json() == {"result": "duplicate"}
    card = cloud.client.get(CARD, headers=cloud.acme.headers).json()
    assert (card["display"], card["exp_month"], card["exp_year"]) == ("Visa •••• 4242", 4, 2031)
    assert cloud.client.delete(CARD, headers=cloud.acme.headers).status_code == 204
    assert cloud.client.get(CARD, headers=cloud.acme.headers).status_code == 404
    assert fake_stripe[0].detached == ["pm_1"]


def test_another_tenant_neither_sees_nor_removes_the_card(
    cloud: Cloud, fake_stripe: tuple[StripeDouble, str]
) -> None:
    use_stripe(cloud.container, fake_stripe[1])
    setup = _save_card(cloud, fake_stripe[0], cloud.acme)
    _webhook(cloud, _completed(setup, _session_of(cloud, setup)))

    assert cloud.client.get(CARD, headers=cloud.globex.headers).status_code == 404
    assert cloud.client.delete(CARD, headers=cloud.globex.headers).status_code == 404
    assert cloud.client.get(CARD, headers=cloud.acme.headers).json()["last4"] == "4242"


def test_a_setup_event_for_a_setup_sws_never_started_is_a_400(
    cloud: Cloud, fake_stripe: tuple[StripeDouble, str]
) -> None:
    use_stripe(cloud.container, fake_stripe[1])

    refused = _webhook(cloud, _completed({"id": "cset_forged"}, "cs_test_9"))

    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("callback refused: unknown card setup")
    assert cloud.client.get(CARD, headers=cloud.acme.headers).status_code == 404


def test_without_stripe_saving_a_card_is_refused_with_the_reason(cloud: Cloud) -> None:
    refused = cloud.client.post(CARD, headers=cloud.acme.headers)

    assert refused.status_code == 422
    assert "no payment provider here saves cards" in refused.json()["detail"]
    assert cloud.client.delete(CARD, headers=cloud.acme.headers).status_code == 404


def test_auto_recharge_set_through_the_api_charges_the_saved_card(
    cloud: Cloud, fake_stripe: tuple[StripeDouble, str]
) -> None:
    use_stripe(cloud.container, fake_stripe[1])
    setup = _save_card(cloud, fake_stripe[0], cloud.acme)
    _webhook(cloud, _completed(setup, _session_of(cloud, setup)))
    card = cloud.client.get(CARD, headers=cloud.acme.headers).json()

    written = cloud.client.put("/v1/payments/auto-recharge", headers=cloud.acme.headers, json={
        "enabled": True, "threshold": "10", "amount": "50", "monthly_cap": "100",
        "currency": "CNY", "provider": "stripe", "method_ref": card["method_ref"]})

    assert written.status_code == 200, written.text
    with cloud.container.db.read() as conn:
        kept = repository.auto_recharge(conn, cloud.acme.id)
    assert kept is not None and (kept.method_ref, kept.customer_ref) == ("pm_1", "cus_1")
