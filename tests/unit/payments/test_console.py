"""Recharge in the console: the header link, the recharge form, the test provider's page and
its Pay and Fail buttons, in English and Chinese."""

from __future__ import annotations

import re
from decimal import Decimal

from sws.billing import service as billing
from tests.unit.console.conftest import Console, console, template  # noqa: F401

PAGE = re.compile(r"/console/payments/test-provider/(pay_[0-9a-f]+)")


def _balance(site: Console) -> Decimal:
    account = billing.get_account(db=site.container.db, clock=site.clock,
                                  tenant_id=site.tenants["acme"])
    return account.balance.amount


def test_alice_recharges_100_with_the_test_provider(console: Console) -> None:  # noqa: F811
    browser = console.browser("alice")
    header = browser.get("/console/").text
    assert 'id="recharge" href="/console/payments/recharge"' in header
    form = browser.get("/console/payments/recharge").text
    assert "Test provider (no real money)" in form and 'value="100"' in form

    sent = browser.post("/console/payments/recharge", {
        "amount": "100", "provider": "test", "idempotency_key": "form-1"},
        page="/console/payments/recharge")
    assert sent.status_code == 303, sent.text
    found = PAGE.fullmatch(sent.headers["location"])
    assert found is not None
    checkout = browser.get(sent.headers["location"]).text
    assert "no money moves" in checkout and 'id="pay"' in checkout

    paid = browser.post(sent.headers["location"], {"outcome": "succeeded"},
                        page=sent.headers["location"], follow=True)

    assert paid.status_code == 200 and "Payment received: CN¥100.00." in paid.text
    assert _balance(console) == Decimal("100")
    assert 'data-state="succeeded"' in paid.text


def test_a_double_submitted_form_opens_one_checkout(console: Console) -> None:  # noqa: F811
    browser = console.browser("alice")
    form = {"amount": "50", "provider": "test", "idempotency_key": "form-2"}
    first = browser.post("/console/payments/recharge", form, page="/console/payments/recharge")
    second = browser.post("/console/payments/recharge", form, page="/console/payments/recharge")
    assert first.headers["location"] == second.headers["location"]


def test_fail_credits_nothing_and_says_so(console: Console) -> None:  # noqa: F811
    browser = console.browser("alice")
    sent = browser.post("/console/payments/recharge", {
        "amount": "", "custom": "12.50", "provider": "test", "idempotency_key": "form-3"},
        page="/console/payments/recharge")
    failed = browser.post(sent.headers["location"], {"outcome": "failed"},
                          page=sent.headers["location"], follow=True)
    assert "The payment failed" in failed.text and _balance(console) == 0


def test_another_tenant_cannot_open_alices_checkout(console: Console) -> None:  # noqa: F811
    alice = console.browser("alice")
    sent = alice.post("/console/payments/recharge", {
        "amount": "100", "provider": "test", "idempotency_key": "form-4"},
        page="/console/payments/recharge")
    bob = console.browser("bob")
    assert bob.get(sent.headers["location"]).status_code == 404


def test_the_recharge_pages_speak_chinese(console: Console) -> None:  # noqa: F811
    browser = console.browser("alice", **{"Accept-Language": "zh-CN"})
    page = browser.get("/console/payments/recharge").text
    assert "充值" in page and "测试支付渠道" in page
