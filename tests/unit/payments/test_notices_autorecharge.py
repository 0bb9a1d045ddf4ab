"""Worked examples of the mail a tenant gets about money, and of auto-recharge: one charge per
crossing of the threshold, within the monthly cap."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert, select, update

from sws.billing import service as billing
from sws.billing import standing
from sws.billing.invoices import service as documents
from sws.billing.invoices.service import Issuing
from sws.billing.ledger import Books, Posting
from sws.billing.payments import autorecharge
from sws.billing.payments.model import AutoRecharge
from sws.billing.tables import billing_bills
from sws.errors import Invalid
from sws.identity import service as identity
from sws.identity.tables import users
from sws.mail.tables import mail_outbox
from sws.money import Money
from tests.unit.payments.conftest import REGION, Till


@pytest.fixture
def mailed(till: Till) -> Till:
    """The tenant has one user with an e-mail address."""
    user = identity.create_user(
        db=till.db,
        clock=till.clock,
        tenant_id=till.tenant,
        name="ann",
        password="a long enough password 1",
    )
    with till.db.begin() as conn:
        conn.execute(update(users).where(users.c.id == user.id).values(email="ann@acme.test"))
    return till


def _outbox(till: Till) -> list[dict[str, str]]:
    with till.db.read() as conn:
        rows = conn.execute(
            select(mail_outbox.c.key, mail_outbox.c.recipient, mail_outbox.c.payload).order_by(
                mail_outbox.c.id
            )
        )
        return [{"key": r.key, "to": r.recipient, **json.loads(r.payload)} for r in rows]


def _spend(till: Till, amount: str, key: str) -> None:
    """A charge of `amount` from cash, as the farmer books one."""
    books = Books((), now=till.clock.now())
    books.credit(till.tenant, -Money.of(amount, "CNY"), Posting(key, "charge", "usage"))
    with till.db.begin() as conn:
        billing.write_books(conn, books)


# --- Notices ----------------------------------------------------------------------------------


def test_a_payment_received_is_mailed_once_in_the_users_language(mailed: Till) -> None:
    checkout = mailed.checkout("100.00")
    mailed.press(checkout)
    mailed.press(checkout)  # the provider's retry

    mails = _outbox(mailed)

    assert [m["key"] for m in mails] == [f"payment_received:{checkout.id}:ann@acme.test"]
    assert mails[0]["to"] == "ann@acme.test"
    assert "payment of 100.00 CNY received for acme" in mails[0]["subject"]  # ann's: English
    assert "已收到" not in mails[0]["subject"]
    assert checkout.id in mails[0]["text"]


def test_a_failed_payment_is_mailed_and_a_tenant_without_address_gets_nothing(
    mailed: Till, till: Till
) -> None:
    checkout = mailed.checkout("20.00")
    mailed.press(checkout, "failed")

    assert [m["key"].split(":")[0] for m in _outbox(mailed)] == ["payment_failed"]


def test_low_balance_is_mailed_once_at_the_threshold(mailed: Till) -> None:
    billing.update_account(
        db=mailed.db,
        clock=mailed.clock,
        tenant_id=mailed.tenant,
        low_balance_threshold=Decimal(100),
    )
    standing.top_up(
        db=mailed.db,
        clock=mailed.clock,
        drivers={},
        tenant_id=mailed.tenant,
        amount=Money.of("60.00", "CNY"),
        idempotency_key="t1",
    )
    standing.review_account(db=mailed.db, clock=mailed.clock, drivers={}, account_id=mailed.tenant)

    mails = [m for m in _outbox(mailed) if m["key"].startswith("low_balance")]

    assert len(mails) == 1
    assert "60.00 CNY available" in mails[0]["text"] and "100.00 CNY" in mails[0]["text"]


def test_an_issued_invoice_is_mailed_with_its_pdf(mailed: Till) -> None:
    mailed.balance()
    with mailed.db.begin() as conn:
        conn.execute(
            insert(billing_bills),
            {
                "account_id": mailed.tenant,
                "month": "2025-12",
                "currency": "CNY",
                "total": Decimal("12.00"),
                "instance": Decimal("12.00"),
                "bandwidth": Decimal(0),
                "floating_ip": Decimal(0),
                "load_balancer": Decimal(0),
                "object_storage": Decimal(0),
                "cdn": Decimal(0),
                "volume": Decimal(0),
                "volume_snapshot": Decimal(0),
                "closed_at": datetime(2026, 1, 1, tzinfo=UTC),
            },
        )

    documents.issue_month_invoices(db=mailed.db, clock=mailed.clock, issuing=Issuing(home=REGION))

    (mail,) = _outbox(mailed)
    assert mail["key"].startswith("document:")
    assert "Invoice INV-RegionOne-000001 for acme (12.00 CNY)" in mail["subject"]
    assert mail["attachments"][0]["filename"] == "INV-RegionOne-000001.pdf"


# --- Auto-recharge ----------------------------------------------------------------------------


def _order(
    till: Till,
    *,
    threshold: str = "100",
    amount: str = "200",
    cap: str = "500",
    card: str = "test_card",
) -> AutoRecharge:
    setting = AutoRecharge(
        tenant_id=till.tenant,
        enabled=True,
        threshold=Money.of(threshold, "CNY"),
        amount=Money.of(amount, "CNY"),
        monthly_cap=Money.of(cap, "CNY"),
        provider="test",
        method_ref=card,
    )
    return autorecharge.save_setting(
        db=till.db, clock=till.clock, setup=till.setup, setting=setting
    )


def _sweep(till: Till) -> int:
    return autorecharge.sweep(db=till.db, clock=till.clock, setup=till.setup, drivers={})


def test_falling_to_the_threshold_charges_the_saved_card_once(till: Till) -> None:
    _order(till)
    _spend(till, "10.00", "c1")  # the balance is -10: at or below 100

    assert _sweep(till) == 1
    assert _sweep(till) == 0  # back above the threshold: armed again, nothing charged

    assert till.balance() == Decimal("190")


def test_a_declined_card_is_tried_once_per_crossing(till: Till) -> None:
    _order(till, card="test_card_declined")
    _spend(till, "10.00", "c1")

    assert _sweep(till) == 1
    assert _sweep(till) == 0 and _sweep(till) == 0  # still below: the same crossing

    assert till.balance() == Decimal("-10")


def test_the_monthly_cap_stops_the_second_crossing(till: Till) -> None:
    _order(till, amount="200", cap="300")
    _spend(till, "10.00", "c1")
    _sweep(till)  # 200 charged: 190
    _sweep(till)  # above the threshold again: armed
    _spend(till, "150.00", "c2")  # 40: a second crossing

    assert _sweep(till) == 0  # 200 more would pass the cap of 300

    assert till.balance() == Decimal("40")


def test_an_auto_recharge_needs_a_cap_of_at_least_one_amount(till: Till) -> None:
    with pytest.raises(Invalid, match="monthly cap"):
        _order(till, amount="200", cap="100")
    with pytest.raises(Invalid, match="cannot charge a saved"):
        autorecharge.save_setting(
            db=till.db,
            clock=till.clock,
            setup=till.setup,
            setting=AutoRecharge(
                tenant_id=till.tenant,
                enabled=True,
                threshold=Money.of(1, "CNY"),
                amount=Money.of(5, "CNY"),
                monthly_cap=Money.of(5, "CNY"),
                provider="nope",
                method_ref="x",
            ),
        )
