"""The documents API and the admin's money-back routes: receipts listed and downloaded as PDF
and HTML, refunds with credit notes, bank transfers matched once, auto-recharge settings and
the revenue report. Every list is one `{"items", "next_marker"}` page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.api.conftest import Cloud, Tenant
from tests.api.test_payments import _balance, _open, _pay


def _paid(cloud: Cloud, tenant: Tenant, amount: str, key: str) -> str:
    payment = _open(cloud, tenant, amount, idempotency_key=key).json()
    assert _pay(cloud, payment["id"]).status_code == 200
    return str(payment["id"])


def _invoices(cloud: Cloud, tenant: Tenant, query: str = "") -> Any:
    response = cloud.client.get(f"/v1/invoices{query}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_payment_gets_a_receipt_the_tenant_downloads_as_pdf_and_html(cloud: Cloud) -> None:
    payment = _paid(cloud, cloud.acme, "100.00", "a")

    page = _invoices(cloud, cloud.acme)
    (receipt,) = page["items"]
    assert page["next_marker"] is None
    assert receipt["kind"] == "receipt" and receipt["number"] == "RCT-RegionOne-000001"
    assert Decimal(receipt["total"]) == 100 and receipt["reference"] == f"payment {payment}"

    pdf = cloud.client.get(f"/v1/invoices/{receipt['id']}.pdf", headers=cloud.acme.headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    same = cloud.client.get(f"/v1/invoices/{receipt['id']}?format=pdf", headers=cloud.acme.headers)
    assert same.content.startswith(b"%PDF-")
    page_html = cloud.client.get(
        f"/v1/invoices/{receipt['id']}?format=html", headers=cloud.acme.headers
    )
    assert "RCT-RegionOne-000001" in page_html.text
    one = cloud.client.get(f"/v1/invoices/{receipt['id']}", headers=cloud.acme.headers)
    assert one.json()["id"] == receipt["id"]


def test_documents_page_by_limit_and_marker(cloud: Cloud) -> None:
    for key in ("a", "b", "c"):
        _paid(cloud, cloud.acme, "10.00", key)

    first = _invoices(cloud, cloud.acme, "?limit=2")
    rest = _invoices(cloud, cloud.acme, f"?limit=2&marker={first['next_marker']}")

    numbers = [d["sequence"] for d in first["items"] + rest["items"]]
    assert sorted(numbers) == [1, 2, 3] and rest["next_marker"] is None
    assert (
        cloud.client.get("/v1/invoices?kind=bogus", headers=cloud.acme.headers).status_code == 422
    )


def test_another_tenants_document_is_a_404(cloud: Cloud) -> None:
    _paid(cloud, cloud.acme, "10.00", "a")
    receipt = _invoices(cloud, cloud.acme)["items"][0]

    for suffix in ("", ".pdf", ".html"):
        response = cloud.client.get(
            f"/v1/invoices/{receipt['id']}{suffix}", headers=cloud.globex.headers
        )
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
    assert _invoices(cloud, cloud.globex)["items"] == []


def test_an_admin_refunds_part_of_a_payment_and_never_more_than_paid(cloud: Cloud) -> None:
    payment = _paid(cloud, cloud.acme, "100.00", "a")
    url = f"/v1/admin/payments/{payment}/refunds"
    body = {"amount": "40.00", "currency": "CNY", "reason": "unused", "idempotency_key": "r1"}

    refund = cloud.client.post(url, json=body, headers=cloud.admin)
    again = cloud.client.post(url, json=body, headers=cloud.admin)
    too_much = cloud.client.post(
        url, json={**body, "amount": "60.01", "idempotency_key": "r2"}, headers=cloud.admin
    )

    assert refund.status_code == 201, refund.text
    assert refund.json()["state"] == "succeeded" and again.json()["id"] == refund.json()["id"]
    assert too_much.status_code == 422 and "at most 60.00" in too_much.json()["detail"]
    assert _balance(cloud, cloud.acme) == Decimal("60.00")
    kinds = [d["kind"] for d in _invoices(cloud, cloud.acme)["items"]]
    assert sorted(kinds) == ["credit_note", "receipt"]
    assert cloud.client.post(url, json=body, headers=cloud.acme.headers).status_code == 403
    listed = cloud.client.get(url, headers=cloud.admin).json()
    assert [Decimal(r["amount"]) for r in listed] == [Decimal(40)]


def test_a_refund_of_an_unknown_payment_is_a_404(cloud: Cloud) -> None:
    body = {"amount": "1.00", "currency": "CNY", "reason": "x", "idempotency_key": "r1"}
    response = cloud.client.post(
        "/v1/admin/payments/pay_nope/refunds", json=body, headers=cloud.admin
    )
    assert response.status_code == 404


def test_a_bank_transfer_is_matched_by_reference_once(cloud: Cloud) -> None:
    reference = cloud.client.get("/v1/payments/bank-transfer", headers=cloud.acme.headers).json()[
        "reference"
    ]
    body = {
        "reference": reference,
        "amount": "300.00",
        "currency": "CNY",
        "bank_transaction_id": "BOC-1",
    }

    first = cloud.client.post("/v1/admin/bank-transfers", json=body, headers=cloud.admin)
    second = cloud.client.post("/v1/admin/bank-transfers", json=body, headers=cloud.admin)
    other = cloud.client.post(
        "/v1/admin/bank-transfers", json={**body, "amount": "3.00"}, headers=cloud.admin
    )

    assert first.status_code == 201, first.text
    assert not first.json()["duplicate"] and second.json()["duplicate"]
    assert first.json()["payment"]["provider"] == "bank"
    assert other.status_code == 409
    assert _balance(cloud, cloud.acme) == Decimal("300.00")
    unknown = cloud.client.post(
        "/v1/admin/bank-transfers", json={**body, "reference": "SWS-NONE-NONE"}, headers=cloud.admin
    )
    assert unknown.status_code == 404


def test_auto_recharge_is_set_read_and_checked(cloud: Cloud) -> None:
    url = "/v1/payments/auto-recharge"
    assert cloud.client.get(url, headers=cloud.acme.headers).status_code == 404
    body = {
        "enabled": True,
        "threshold": "50.00",
        "amount": "100.00",
        "monthly_cap": "300.00",
        "currency": "CNY",
        "provider": "test",
        "method_ref": "test_card",
    }

    saved = cloud.client.put(url, json=body, headers=cloud.acme.headers)

    assert saved.status_code == 200, saved.text
    assert cloud.client.get(url, headers=cloud.acme.headers).json()["armed"] is True
    low_cap = cloud.client.put(
        url, json={**body, "monthly_cap": "10.00"}, headers=cloud.acme.headers
    )
    assert low_cap.status_code == 422 and low_cap.json()["field"] == "monthly_cap"
    assert (
        cloud.client.put(url, json={**body, "amount": 5.5}, headers=cloud.acme.headers).status_code
        == 422
    )


def test_the_revenue_report_counts_cash_in_less_refunds(cloud: Cloud) -> None:
    payment = _paid(cloud, cloud.acme, "100.00", "a")
    _paid(cloud, cloud.globex, "50.00", "b")
    cloud.client.post(
        f"/v1/admin/payments/{payment}/refunds",
        headers=cloud.admin,
        json={"amount": "30.00", "currency": "CNY", "reason": "x", "idempotency_key": "r"},
    )
    month = cloud.clock.now().strftime("%Y-%m")

    report = cloud.client.get(f"/v1/admin/revenue?month={month}", headers=cloud.admin).json()

    (region,) = report["regions"]
    assert (Decimal(region["cash_in"]), Decimal(region["refunded"]), Decimal(region["net"])) == (
        Decimal(150),
        Decimal(30),
        Decimal(120),
    )
    assert [Decimal(m["amount"]) for m in report["outstanding_cash"]] == [Decimal(120)]
    assert cloud.client.get("/v1/admin/revenue?month=2026-13", headers=cloud.admin).status_code in (
        400,
        422,
    )


def test_an_admin_resends_a_document(cloud: Cloud) -> None:
    _paid(cloud, cloud.acme, "10.00", "a")
    receipt = _invoices(cloud, cloud.acme)["items"][0]

    sent = cloud.client.post(f"/v1/admin/invoices/{receipt['id']}/resend", headers=cloud.admin)

    assert sent.status_code == 202 and sent.json()["id"] == receipt["id"]
    assert (
        cloud.client.post("/v1/admin/invoices/doc_nope/resend", headers=cloud.admin).status_code
        == 404
    )
    listed = cloud.client.get(
        "/v1/admin/invoices?tenant_id=" + cloud.acme.id, headers=cloud.admin
    ).json()
    assert [d["id"] for d in listed["items"]] == [receipt["id"]]
