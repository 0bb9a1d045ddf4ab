"""Worked examples of the papers and the money going back: receipts, month invoices, tax,
refunds with their credit notes, and bank transfers matched by reference."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from sws.billing.invoices import render
from sws.billing.invoices import service as documents
from sws.billing.invoices.model import Party
from sws.billing.invoices.service import Issuing
from sws.billing.payments import bank, refunds
from sws.billing.payments.bank import TransferMatch
from sws.billing.payments.model import RefundSpec
from sws.billing.tables import billing_bills, billing_ledger
from sws.errors import Conflict, Invalid, NotFound
from sws.money import Money
from sws.paging import PageRequest
from tests.unit.payments.conftest import REGION, Till


def _docs(till: Till, kind: str | None = None) -> list[documents.Document]:
    return documents.list_documents(
        db=till.db, tenant_id=till.tenant, page=PageRequest(100), kind=kind
    )


def _refund(till: Till, payment_id: str, amount: str, key: str = "r1") -> refunds.Refund:
    spec = RefundSpec(
        payment_id=payment_id,
        amount=Money.of(amount, "CNY"),
        idempotency_key=key,
        reason="customer asked",
        actor="admin",
    )
    return refunds.refund_payment(db=till.db, clock=till.clock, setup=till.setup, spec=spec)


def _paid(till: Till, amount: str, key: str = "k1") -> str:
    checkout = till.checkout(amount, key=key)
    till.press(checkout)
    return checkout.id


def _ledger(till: Till, kind: str) -> list[Decimal]:
    with till.db.read() as conn:
        rows = conn.execute(
            select(billing_ledger.c.amount).where(
                billing_ledger.c.kind == kind, billing_ledger.c.account_id == till.tenant
            )
        )
        return [r.amount for r in rows]


# --- Receipts and invoices --------------------------------------------------------------------


def test_each_payment_gets_one_receipt_numbered_one_two_three(till: Till) -> None:
    first = _paid(till, "100.00", "a")
    _paid(till, "50.00", "b")
    _paid(till, "20.00", "c")

    receipts = sorted(_docs(till, "receipt"), key=lambda d: d.number)

    assert [d.number for d in receipts] == [1, 2, 3]
    assert receipts[0].display_number == f"RCT-{REGION}-000001"
    assert receipts[0].draft.total == Money.of("100.00", "CNY")
    assert receipts[0].draft.reference == f"payment {first}"
    assert receipts[0].draft.buyer.name == "acme"


def test_a_replayed_callback_issues_no_second_receipt(till: Till) -> None:
    checkout = till.checkout("30.00")
    till.press(checkout)
    till.press(checkout)

    assert len(_docs(till, "receipt")) == 1


def test_a_failed_render_gives_its_number_back(till: Till, monkeypatch: pytest.MonkeyPatch) -> None:
    _paid(till, "10.00", "a")

    def broken(document: object) -> str:
        raise RuntimeError("template broke")

    monkeypatch.setattr(render, "html", broken)
    with pytest.raises(RuntimeError):
        _paid(till, "20.00", "b")
    monkeypatch.undo()
    assert till.balance() == Decimal("10")  # the credit rolled back with the number

    _paid(till, "20.00", "b")  # the same checkout's callback again, now rendered

    assert sorted(d.number for d in _docs(till, "receipt")) == [1, 2]
    assert till.balance() == Decimal("30")


def test_a_closed_month_gets_an_invoice_by_category_with_its_tax(till: Till) -> None:
    till.balance()  # the account exists
    with till.db.begin() as conn:
        conn.execute(
            insert(billing_bills),
            {
                "account_id": till.tenant,
                "month": "2025-12",
                "currency": "CNY",
                "total": Decimal("130.00"),
                "instance": Decimal("100.00"),
                "bandwidth": Decimal("12.00"),
                "floating_ip": Decimal("8.00"),
                "load_balancer": Decimal("0"),
                "object_storage": Decimal("10.00"),
                "cdn": Decimal(0),
                "volume": Decimal(0),
                "volume_snapshot": Decimal(0),
                "closed_at": datetime(2026, 1, 1, 1, tzinfo=UTC),
            },
        )
    issuing = Issuing(
        home=REGION,
        sellers={REGION: Party("Cloud Co", "1 Main St", "TX-1")},
        tax_rates={REGION: Decimal("0.06")},
    )

    issued = documents.issue_month_invoices(db=till.db, clock=till.clock, issuing=issuing)
    again = documents.issue_month_invoices(db=till.db, clock=till.clock, issuing=issuing)

    assert len(issued) == 1 and again == []
    invoice = issued[0].draft
    assert [(line.description, line.amount.amount) for line in invoice.lines] == [
        ("Instances", Decimal("100.00")),
        ("Bandwidth", Decimal("12.00")),
        ("Floating IPs", Decimal("8.00")),
        ("Storage", Decimal("10.00")),
    ]
    # 130 includes 6% tax: 130 * 0.06 / 1.06 = 7.358... -> 7.36; net 122.64
    assert invoice.tax == Money.of("7.36", "CNY") and invoice.net == Money.of("122.64", "CNY")
    assert invoice.seller == Party("Cloud Co", "1 Main St", "TX-1")
    page = render.html(issued[0])
    assert "INV-RegionOne-000001" in page and "7.36" in page and "Cloud Co" in page
    assert render.pdf(issued[0]).startswith(b"%PDF-")


def test_another_tenants_document_is_not_found(till: Till) -> None:
    _paid(till, "10.00")
    receipt = _docs(till)[0]

    with pytest.raises(NotFound):
        documents.get_document(db=till.db, tenant_id="someone-else", document_id=receipt.id)


# --- Refunds ----------------------------------------------------------------------------------


def test_a_partial_then_the_rest_refunded_debits_each_once_with_credit_notes(till: Till) -> None:
    payment = _paid(till, "100.00")

    first = _refund(till, payment, "30.00", "r1")
    again = _refund(till, payment, "30.00", "r1")  # the admin pressed twice
    _refund(till, payment, "70.00", "r2")

    assert first.state == "succeeded" and again.id == first.id
    assert first.provider_ref == f"re_test_{first.id}"
    assert till.balance() == Decimal("0")
    assert sorted(_ledger(till, "payment_refund")) == [Decimal("-70"), Decimal("-30")]
    assert till.state(till_checkout(till, payment)) == "refunded"
    notes = sorted(_docs(till, "credit_note"), key=lambda d: d.number)
    assert [d.number for d in notes] == [1, 2]
    assert notes[0].draft.total == Money.of("-30.00", "CNY")


def till_checkout(till: Till, payment_id: str) -> refunds.Checkout:
    from sws.billing.payments import service as payments

    return payments.get_payment(db=till.db, tenant_id=till.tenant, payment_id=payment_id)


def test_a_refund_larger_than_what_is_left_is_refused(till: Till) -> None:
    payment = _paid(till, "50.00")
    _refund(till, payment, "40.00", "r1")

    with pytest.raises(Invalid, match=r"at most 10\.00"):
        _refund(till, payment, "10.01", "r2")
    assert till.balance() == Decimal("10")


def test_an_unpaid_checkout_cannot_be_refunded(till: Till) -> None:
    checkout = till.checkout("20.00")

    with pytest.raises(Invalid, match="at most 0"):
        _refund(till, checkout.id, "1.00")


def test_the_same_refund_key_for_another_amount_is_a_conflict(till: Till) -> None:
    payment = _paid(till, "50.00")
    _refund(till, payment, "5.00", "r1")

    with pytest.raises(Conflict):
        _refund(till, payment, "6.00", "r1")


# --- Bank transfer ----------------------------------------------------------------------------


def test_a_matched_transfer_credits_once_per_bank_transaction(till: Till) -> None:
    code = bank.reference_code(db=till.db, clock=till.clock, tenant_id=till.tenant)
    assert code == bank.reference_code(db=till.db, clock=till.clock, tenant_id=till.tenant)
    match = TransferMatch(
        reference=code.lower(),
        amount=Money.of("500.00", "CNY"),
        bank_transaction_id="BOC-2026-0001",
        actor="admin",
    )

    first = bank.match_transfer(db=till.db, clock=till.clock, setup=till.setup, match=match)
    second = bank.match_transfer(db=till.db, clock=till.clock, setup=till.setup, match=match)

    assert first.credited and second.duplicate and not second.credited
    assert till.balance() == Decimal("500")
    assert len(_docs(till, "receipt")) == 1


def test_a_transfer_id_matched_again_with_another_amount_is_a_conflict(till: Till) -> None:
    code = bank.reference_code(db=till.db, clock=till.clock, tenant_id=till.tenant)
    match = TransferMatch(code, Money.of("500.00", "CNY"), "TX-9", "admin")
    bank.match_transfer(db=till.db, clock=till.clock, setup=till.setup, match=match)

    with pytest.raises(Conflict):
        bank.match_transfer(
            db=till.db,
            clock=till.clock,
            setup=till.setup,
            match=TransferMatch(code, Money.of("5.00", "CNY"), "TX-9", "admin"),
        )
    with pytest.raises(NotFound):
        bank.match_transfer(
            db=till.db,
            clock=till.clock,
            setup=till.setup,
            match=TransferMatch("SWS-NOPE-NOPE", Money.of("5.00", "CNY"), "TX-10", "admin"),
        )
    assert till.balance() == Decimal("500")


def test_a_bank_payment_refund_is_recorded_without_a_provider(till: Till) -> None:
    code = bank.reference_code(db=till.db, clock=till.clock, tenant_id=till.tenant)
    applied = bank.match_transfer(
        db=till.db,
        clock=till.clock,
        setup=till.setup,
        match=TransferMatch(code, Money.of("80.00", "CNY"), "TX-1", "admin"),
    )

    refund = _refund(till, applied.payment_id, "80.00")

    assert refund.state == "succeeded" and till.balance() == Decimal("0")


def test_revenue_counts_a_payment_in_its_month_and_its_refund_in_the_refunds(
    till: Till,
) -> None:
    from datetime import timedelta

    from sws.billing.payments import revenue

    payment = _paid(till, "100.00")  # January 2026
    till.clock.advance(timedelta(days=31))
    _refund(till, payment, "40.00")  # February

    january = revenue.report(db=till.db, clock=till.clock, month="2026-01")
    february = revenue.report(db=till.db, clock=till.clock, month="2026-02")

    assert [(r.cash_in.amount, r.refunded.amount) for r in january.regions] == [
        (Decimal(100), Decimal(0))
    ]
    assert [(r.cash_in.amount, r.refunded.amount) for r in february.regions] == [
        (Decimal(0), Decimal(40))
    ]
    assert february.outstanding_cash == (Money.of(60, "CNY"),)
