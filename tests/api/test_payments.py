"""The payments API: a tenant opens a checkout, pays it, sees the balance; callbacks are
believed only when signed, and a replay credits nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from sws.billing import service as billing
from sws.billing.payments.model import Checkout
from sws.billing.payments.service import PaymentSetup
from sws.billing.payments.stripe_checkout import StripeProvider
from sws.billing.payments.tables import billing_payment_dead_letters
from sws.billing.payments.testprovider import TestProvider
from tests.api.conftest import Cloud, Tenant
from tests.unit.payments.conftest import (
    WEBHOOK_SECRET,
    FakeSessions,
    signed,
    stripe_event,
    stripe_session,
)


def _open(cloud: Cloud, tenant: Tenant, amount: str = "100.00", **extra: Any) -> Any:
    body = {"amount": amount, "currency": "CNY", "provider": "test", "idempotency_key": "r1",
            **extra}
    return cloud.client.post("/v1/payments/checkouts", json=body, headers=tenant.headers)


def _test_provider(cloud: Cloud) -> TestProvider:
    assert cloud.container.payments is not None
    provider = cloud.container.payments.setup.providers["test"]
    assert isinstance(provider, TestProvider)
    return provider


def _checkout(cloud: Cloud, payment_id: str) -> Checkout:
    from sws.billing.payments import service

    with cloud.container.db.read() as conn:
        found = service.repo.get(conn, payment_id)
    assert found is not None
    return found


def _pay(cloud: Cloud, payment_id: str, outcome: str = "succeeded") -> Any:
    body, headers = _test_provider(cloud).callback(_checkout(cloud, payment_id), outcome,
                                                   at=cloud.clock.now())
    return cloud.client.post("/v1/payments/callbacks/test", content=body, headers=headers)


def _balance(cloud: Cloud, tenant: Tenant) -> Decimal:
    return Decimal(cloud.client.get("/v1/billing/account", headers=tenant.headers
                                    ).json()["balance"])


def _dead_letters(cloud: Cloud) -> list[str]:
    with cloud.container.db.read() as conn:
        return list(conn.execute(select(billing_payment_dead_letters.c.reason)).scalars())


def test_a_tenant_pays_100_with_the_test_provider_and_sees_it(cloud: Cloud) -> None:
    opened = _open(cloud, cloud.acme)
    assert opened.status_code == 201, opened.text
    payment = opened.json()
    assert payment["state"] == "pending" and Decimal(payment["amount"]) == 100
    assert payment["redirect_url"] == f"/console/payments/test-provider/{payment['id']}"

    paid = _pay(cloud, payment["id"])

    assert paid.status_code == 200 and paid.json() == {"result": "applied"}
    assert _balance(cloud, cloud.acme) == Decimal("100.00")
    listed = cloud.client.get("/v1/payments", headers=cloud.acme.headers).json()["items"]
    assert [(p["id"], p["state"]) for p in listed] == [(payment["id"], "succeeded")]


def test_a_replayed_callback_is_200_and_credits_nothing(cloud: Cloud) -> None:
    payment = _open(cloud, cloud.acme, "30.00").json()
    _pay(cloud, payment["id"])

    again = _pay(cloud, payment["id"])

    assert again.status_code == 200 and again.json() == {"result": "duplicate"}
    assert _balance(cloud, cloud.acme) == Decimal("30.00")


def test_the_same_idempotency_key_answers_the_same_checkout(cloud: Cloud) -> None:
    first = _open(cloud, cloud.acme).json()
    assert _open(cloud, cloud.acme).json()["id"] == first["id"]
    assert _open(cloud, cloud.acme, "5.00").status_code == 409


def test_a_checkout_needs_an_idempotency_key_and_an_exact_amount(cloud: Cloud) -> None:
    client, headers = cloud.client, cloud.acme.headers
    keyless = {"amount": "10.00", "currency": "CNY", "provider": "test"}
    assert client.post("/v1/payments/checkouts", json=keyless, headers=headers
                       ).status_code == 422
    floating = {**keyless, "amount": 10.5, "idempotency_key": "f"}
    response = client.post("/v1/payments/checkouts", json=floating, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.post("/v1/payments/checkouts", json={**keyless, "idempotency_key": "x"}
                       ).status_code == 401


def test_another_tenant_sees_none_of_acmes_payments(cloud: Cloud) -> None:
    _open(cloud, cloud.acme)
    assert cloud.client.get("/v1/payments", headers=cloud.globex.headers).json()["items"] == []


def test_a_badly_signed_callback_is_a_400_problem_and_a_dead_letter(cloud: Cloud) -> None:
    payment = _open(cloud, cloud.acme).json()
    body, headers = _test_provider(cloud).callback(_checkout(cloud, payment["id"]), "succeeded",
                                                   at=cloud.clock.now())
    forged = {"X-SWS-Test-Signature": headers["X-SWS-Test-Signature"][:-4] + "0000"}

    response = cloud.client.post("/v1/payments/callbacks/test", content=body, headers=forged)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert _balance(cloud, cloud.acme) == Decimal("0.00")
    assert _dead_letters(cloud)[0].startswith("bad signature")


def test_a_callback_for_an_unknown_provider_is_a_404(cloud: Cloud) -> None:
    response = cloud.client.post("/v1/payments/callbacks/paypal", content=b"{}")
    assert response.status_code == 404
    assert _dead_letters(cloud) == ["unknown provider 'paypal'"]


def test_a_stripe_webhook_credits_the_tenant_once(cloud: Cloud) -> None:
    assert cloud.container.payments is not None
    sessions = FakeSessions()
    old = cloud.container.payments.setup
    cloud.container.payments.setup = PaymentSetup(
        providers={**old.providers,
                   "stripe": StripeProvider(sessions=sessions, webhook_secret=WEBHOOK_SECRET)},
        regions={"RegionOne": ("test", "stripe")})
    payment = _open(cloud, cloud.acme, "12.34", provider="stripe").json()
    assert payment["redirect_url"].startswith("https://checkout.stripe.test/")
    success_url = next(iter(sessions.created.values()))["success_url"]
    assert success_url.startswith("http") and success_url.endswith("/console/payments")
    body = stripe_event("checkout.session.completed",
                        stripe_session(_checkout(cloud, payment["id"])))

    for _ in range(2):
        response = cloud.client.post("/v1/payments/callbacks/stripe", content=body,
                                     headers=signed(body, cloud.clock.now()))
        assert response.status_code == 200

    assert _balance(cloud, cloud.acme) == Decimal("12.34")
    stale = signed(body, cloud.clock.now().replace(year=2025))
    assert cloud.client.post("/v1/payments/callbacks/stripe", content=body, headers=stale
                             ).status_code == 400


def test_an_alipay_notify_is_answered_with_plain_success(cloud: Cloud) -> None:
    from sws.billing.payments.alipay import AlipayProvider
    from tests.unit.payments.test_alipay import (
        ALIPAY,
        APP_ID,
        MERCHANT,
        _pem_private,
        _pem_public,
        notify,
    )

    assert cloud.container.payments is not None
    old = cloud.container.payments.setup
    alipay = AlipayProvider(app_id=APP_ID, private_key_pem=_pem_private(MERCHANT),
                            alipay_public_key_pem=_pem_public(ALIPAY),
                            notify_url="https://cloud.example/v1/payments/callbacks/alipay")
    cloud.container.payments.setup = PaymentSetup(
        providers={**old.providers, "alipay": alipay}, regions={"RegionOne": ("alipay",)})
    payment = _open(cloud, cloud.acme, "128.00", provider="alipay").json()

    response = cloud.client.post(
        "/v1/payments/callbacks/alipay", content=notify(_checkout(cloud, payment["id"])),
        headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert response.status_code == 200 and response.text == "success"
    assert _balance(cloud, cloud.acme) == Decimal("128")


def test_a_suspended_tenant_that_pays_gets_its_instance_started_again(cloud: Cloud) -> None:
    from tests.api.test_billing import _account, _catalog, _hours, _top_up

    _catalog(cloud)
    billing.save_settings(db=cloud.container.db, values={"grace_hours": "2"})
    _top_up(cloud, "11")
    server = cloud.boot(cloud.acme, name="web-1", flavor="m1.large")
    _hours(cloud, 6)
    assert _account(cloud)["status"] == "suspended"
    cloud.settle()  # the stop completes (a start while powering off is refused by Nova)

    payment = _open(cloud, cloud.acme, "100.00", idempotency_key="rescue").json()
    assert _pay(cloud, payment["id"]).status_code == 200
    assert _account(cloud)["status"] == "ok"  # reviewed by the callback, not the next tick
    cloud.settle()

    shown = cloud.client.get(f"/v1/servers/{server['id']}", headers=cloud.acme.headers).json()
    with cloud.container.db.read() as conn:
        from sws.billing import repository

        steps = [(r["action"], r["detail"]) for r in repository.audit_of(conn, cloud.acme.id)]
    assert shown["status"] == "ACTIVE", steps


def test_the_ticker_expires_a_checkout_nobody_paid(cloud: Cloud) -> None:
    payment = _open(cloud, cloud.acme).json()
    cloud.settle(1800)
    listed = cloud.client.get("/v1/payments", headers=cloud.acme.headers).json()["items"]
    assert listed[0]["state"] == "pending"

    cloud.settle(1900)

    listed = cloud.client.get("/v1/payments", headers=cloud.acme.headers).json()["items"]
    assert [(p["id"], p["state"]) for p in listed] == [(payment["id"], "expired")]
