"""The console's invoices, auto-recharge and bank-transfer pages for the tenant, and the admin's
Payments page (search, refund, match transfer), documents and revenue report."""

from __future__ import annotations

import re
from decimal import Decimal

from sws.billing import service as billing
from tests.unit.console.conftest import Console, console, template  # noqa: F401

REFERENCE = re.compile(r'id="bank-reference">(SWS-[A-Z0-9]{4}-[A-Z0-9]{4})<')


def _balance(site: Console) -> Decimal:
    account = billing.get_account(
        db=site.container.db, clock=site.clock, tenant_id=site.tenants["acme"]
    )
    return account.balance.amount


def _pay(site: Console, amount: str, key: str) -> str:
    browser = site.browser("alice")
    sent = browser.post(
        "/console/payments/recharge",
        {"amount": amount, "provider": "test", "idempotency_key": key},
        page="/console/payments/recharge",
    )
    browser.post(sent.headers["location"], {"outcome": "succeeded"}, page=sent.headers["location"])
    return str(sent.headers["location"]).rsplit("/", 1)[1]


def test_alice_downloads_her_receipt_as_pdf(console: Console) -> None:  # noqa: F811
    _pay(console, "100", "k1")
    browser = console.browser("alice")

    listed = browser.get("/console/payments/invoices").text

    assert 'data-number="RCT-RegionOne-000001"' in listed
    link = re.search(r'href="(/console/payments/invoices/doc_[0-9a-f]+\.pdf)"', listed)
    assert link is not None
    pdf = browser.get(link.group(1))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert "RCT-RegionOne-000001" in browser.get(link.group(1).removesuffix(".pdf")).text
    assert console.browser("bob").get(link.group(1)).status_code == 404


def test_alice_sets_up_auto_recharge_and_a_bad_cap_is_refused(console: Console) -> None:  # noqa: F811
    browser = console.browser("alice")
    form = {
        "enabled": "on",
        "threshold": "50",
        "amount": "100",
        "monthly_cap": "300",
        "provider": "test",
        "method_ref": "test_card",
    }

    saved = browser.post(
        "/console/payments/auto-recharge", form, page="/console/payments/auto-recharge", follow=True
    )
    refused = browser.post(
        "/console/payments/auto-recharge",
        {**form, "monthly_cap": "10"},
        page="/console/payments/auto-recharge",
        follow=True,
    )

    assert "Auto-recharge saved." in saved.text and 'id="armed"' in saved.text
    assert "monthly cap must be at least" in refused.text


def test_the_admin_matches_alices_transfer_and_refunds_part_of_it(console: Console) -> None:  # noqa: F811
    found = REFERENCE.search(console.browser("alice").get("/console/payments/recharge").text)
    assert found is not None
    admin = console.browser("root-admin")
    transfer = {"reference": found.group(1), "amount": "200", "bank_transaction_id": "BOC-7"}

    matched = admin.post(
        "/admin/billing/transfers", transfer, page="/admin/billing/payments", follow=True
    )
    again = admin.post(
        "/admin/billing/transfers", transfer, page="/admin/billing/payments", follow=True
    )

    assert "Transfer of 200 credited." in matched.text
    assert "matched before" in again.text and _balance(console) == Decimal("200")
    listed = admin.get("/admin/billing/payments?q=acme").text
    payment = re.search(r'data-payment="(pay_[0-9a-f]+)"', listed)
    assert payment is not None
    refunded = admin.post(
        f"/admin/billing/payments/{payment.group(1)}/refund",
        {"amount": "50", "reason": "overpaid", "idempotency_key": "c-1"},
        page="/admin/billing/payments",
        follow=True,
    )
    assert "Refund of 50 made." in refunded.text and _balance(console) == Decimal("150")
    report = admin.get("/admin/billing/revenue").text
    assert 'data-field="net">CN¥150.00<' in report
    docs = admin.get("/admin/billing/documents").text
    assert "RCT-RegionOne-000001" in docs and "CRN-RegionOne-000001" in docs
