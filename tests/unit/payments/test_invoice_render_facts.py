"""A month invoice as issue 15 §5 describes it, read back out of both renderings: the PDF's text
(poppler's `pdftotext`) and the HTML page carry the same number, the seller's and the buyer's
details, the bill's lines by category, and the tax lines at the region's rate; and a receipt of
the embedded test provider says that no real money moved."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path

from sqlalchemy import insert

from sws.billing.invoices import render
from sws.billing.invoices import service as documents
from sws.billing.invoices.model import Party
from sws.billing.invoices.service import Issuing
from sws.billing.payments.receipts import credit_line
from sws.billing.tables import billing_bills
from sws.paging import PageRequest
from tests.unit.payments.conftest import REGION, Till

SELLER = Party("Example Cloud Ltd", "1 Example Road, Shanghai", "91310000MA1FL0000X")
BILL = {
    "instance": Decimal("100.00"),
    "bandwidth": Decimal("12.00"),
    "cdn": Decimal("3.50"),
    "floating_ip": Decimal("8.00"),
    "load_balancer": Decimal("6.00"),
    "object_storage": Decimal("0.50"),
    "volume": Decimal(0),
    "volume_snapshot": Decimal(0),
}
# 130.00 with 6% included: tax 130 x 0.06 / 1.06 = 7.358... -> 7.36, net 122.64
EXPECTED = [
    "Invoice INV-RegionOne-000001", "month 2025-12",
    "Seller", SELLER.name, SELLER.address, f"Tax ID: {SELLER.tax_id}", "Buyer", "acme",
    "Instances", "100.00", "Bandwidth", "12.00", "CDN", "3.50", "Floating IPs", "8.00",
    "Load balancers", "6.00", "Storage", "0.50",
    "Net", "122.64", "Tax (6%)", "7.36", "130.00",
]


def _text_of_pdf(pdf: bytes, tmp_path: Path) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils is missing: run scripts/install-system-packages"
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    done = subprocess.run([pdftotext, "-enc", "UTF-8", "-layout", str(path), "-"],
                          capture_output=True, check=True, text=True)
    return done.stdout


def test_a_month_invoice_shows_the_same_facts_in_its_pdf_and_its_html(
    till: Till, tmp_path: Path
) -> None:
    till.balance()  # the account exists
    with till.db.begin() as conn:
        conn.execute(insert(billing_bills), {
            **BILL, "account_id": till.tenant, "month": "2025-12", "currency": "CNY",
            "total": Decimal("130.00"), "closed_at": datetime(2026, 1, 1, tzinfo=UTC),
        })
    issuing = Issuing(home=REGION, sellers={REGION: SELLER},
                      tax_rates={REGION: Decimal("0.06")})

    (invoice,) = documents.issue_month_invoices(db=till.db, clock=till.clock, issuing=issuing)
    pdf = _text_of_pdf(render.pdf(invoice), tmp_path)
    page = unescape(render.html(invoice))

    for fact in EXPECTED:
        assert fact in pdf, (fact, pdf)
        assert fact in page, (fact, page)
    assert "Volumes" not in pdf and "Volumes" not in page  # empty categories are left out
    assert [(line.description, line.amount.amount) for line in invoice.draft.lines] == [
        ("Instances", Decimal("100.00")), ("Bandwidth", Decimal("12.00")),
        ("CDN", Decimal("3.50")), ("Floating IPs", Decimal("8.00")),
        ("Load balancers", Decimal("6.00")), ("Storage", Decimal("0.50")),
    ]
    assert (invoice.draft.tax.amount, invoice.draft.net.amount) == (
        Decimal("7.36"), Decimal("122.64"))


def test_a_test_provider_receipt_says_no_real_money_moved(till: Till, tmp_path: Path) -> None:
    till.press(till.checkout("25.00"))
    (receipt,) = documents.list_documents(db=till.db, tenant_id=till.tenant,
                                          page=PageRequest(10))

    said = "Account credit (test provider, no real money)"
    assert [line.description for line in receipt.draft.lines] == [said]
    assert said in _text_of_pdf(render.pdf(receipt), tmp_path)
    assert said in unescape(render.html(receipt))
    assert credit_line("stripe") == "Account credit (stripe)"  # a real provider: its name
