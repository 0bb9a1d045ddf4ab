"""Worked examples of three things issue 15 asks for by name: providers and currencies set per
region (from the settings down to a refused checkout), the revenue report's coupons and
outstanding credit, and the admin's re-send of a document (a mail with its PDF, audited)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from sws.billing import repository as billing_repo
from sws.billing import service as billing
from sws.billing.invoices import service as documents
from sws.billing.ledger import Books, Posting
from sws.billing.payments import revenue
from sws.billing.payments import service as payments
from sws.billing.payments.model import CheckoutSpec
from sws.billing.payments.resend import resend_document
from sws.billing.payments.runtime import build_setup, issuing
from sws.config import Settings
from sws.errors import Invalid, NotFound
from sws.identity import service as identity
from sws.identity.tables import users
from sws.mail.tables import mail_outbox
from sws.money import Money
from sws.paging import PageRequest
from tests.unit.payments.conftest import REGION, Till

# --- Providers and currencies per region ------------------------------------------------------


def test_each_region_offers_the_providers_and_currencies_its_settings_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "SWS_PAYMENTS",
        json.dumps(
            {
                "RegionOne": {"providers": ["test"], "currencies": ["CNY"], "tax_rate": "0.06"},
                "RegionThree": {"providers": [], "currencies": []},
            }
        ),
    )
    regions = ["RegionOne", "RegionTwo", "RegionThree"]

    simulated = build_setup(Settings(regions=regions, driver="simulated"))
    openstack = build_setup(Settings(regions=regions, driver="openstack"))

    assert simulated.offered("RegionOne") == ("test",)
    assert simulated.currencies == {"RegionOne": ("CNY",), "RegionThree": ()}
    assert simulated.offered("RegionTwo") == ("test",)  # not listed: the embedded default
    assert openstack.offered("RegionTwo") == ()  # ... which a real cloud does not get
    assert simulated.offered("RegionThree") == openstack.offered("RegionThree") == ()
    rates = issuing(Settings(regions=regions)).tax_rates
    assert rates["RegionOne"] == Decimal("0.06") and rates["RegionThree"] == 0


def test_a_region_refuses_a_currency_it_does_not_take(till: Till) -> None:
    till.setup = replace(till.setup, currencies={REGION: ("USD",)})

    with pytest.raises(Invalid, match="region RegionOne takes USD") as refused:
        till.checkout("10.00")

    assert refused.value.field == "currency"
    assert till.balance() == 0


def test_a_region_taking_several_currencies_still_takes_only_the_accounts(till: Till) -> None:
    till.setup = replace(till.setup, currencies={REGION: ("CNY", "USD")})
    spec = CheckoutSpec(tenant_id=till.tenant, provider="test", amount=Money.of(10, "USD"),
                        idempotency_key="usd", region=REGION)

    with pytest.raises(Invalid, match="this account is in CNY, not USD"):
        payments.create_checkout(db=till.db, clock=till.clock, setup=till.setup, spec=spec,
                                 return_url="http://sws.test/")

    assert till.checkout("10.00").state == "pending"  # its own currency is taken


def test_a_region_offering_no_provider_refuses_every_checkout(till: Till) -> None:
    till.setup = replace(till.setup, regions={REGION: ()})

    with pytest.raises(Invalid, match="not offered"):
        till.checkout("10.00")


# --- The revenue report's coupons and outstanding credit ------------------------------------


def _spend_from_coupons(till: Till, amount: str, key: str) -> None:
    """A charge for an instance as the farmer books it: coupons first, then cash."""
    with till.db.begin() as conn:
        books = Books(billing_repo.coupons_of(conn, [till.tenant]), now=till.clock.now())
        books.debit(till.tenant, Money.of(amount, "CNY"), "instance",
                    Posting(key, "charge", "usage"))
        billing.write_books(conn, books)


def test_the_revenue_report_counts_coupons_granted_spent_and_outstanding(till: Till) -> None:
    till.press(till.checkout("100.00"))  # 5 January 2026
    now = till.clock.now()
    billing.grant_coupon(db=till.db, clock=till.clock, tenant_id=till.tenant,
                         amount=Money.of(50, "CNY"), expires_at=now + timedelta(days=60),
                         idempotency_key="long")
    billing.grant_coupon(db=till.db, clock=till.clock, tenant_id=till.tenant,
                         amount=Money.of(20, "CNY"), expires_at=now + timedelta(days=10),
                         idempotency_key="short")
    _spend_from_coupons(till, "15.00", "u1")  # the short one first: 5 of it is left

    january = revenue.report(db=till.db, clock=till.clock, month="2026-01")

    assert january.coupons_granted == (Money.of(70, "CNY"),)
    assert january.coupons_spent == (Money.of(15, "CNY"),)
    assert january.outstanding_coupons == (Money.of(55, "CNY"),)
    assert january.outstanding_cash == (Money.of(100, "CNY"),)  # coupons went before cash
    assert [r.cash_in for r in january.regions] == [Money.of(100, "CNY")]

    till.clock.advance(timedelta(days=30))  # 4 February: the short coupon has expired
    february = revenue.report(db=till.db, clock=till.clock, month="2026-02")

    assert february.coupons_granted == february.coupons_spent == ()
    assert february.outstanding_coupons == (Money.of(50, "CNY"),)
    assert february.regions == ()  # no cash came in, none went back


# --- The admin's re-send ----------------------------------------------------------------------


def _mailbox(till: Till, *addresses: str) -> None:
    for number, address in enumerate(addresses):
        user = identity.create_user(db=till.db, clock=till.clock, tenant_id=till.tenant,
                                    name=f"user{number}", password="a long enough password 1")
        with till.db.begin() as conn:
            conn.execute(update(users).where(users.c.id == user.id).values(email=address))


def _mails(till: Till) -> list[dict[str, object]]:
    with till.db.read() as conn:
        rows = conn.execute(select(mail_outbox.c.key, mail_outbox.c.recipient,
                                   mail_outbox.c.payload).order_by(mail_outbox.c.id))
        return [{"key": r.key, "to": r.recipient, **json.loads(r.payload)} for r in rows]


def test_a_re_sent_receipt_is_mailed_with_its_pdf_to_every_address_each_time(
    till: Till,
) -> None:
    _mailbox(till, "ann@acme.test", "bob@acme.test")
    till.press(till.checkout("10.00"))
    (receipt,) = documents.list_documents(db=till.db, tenant_id=till.tenant,
                                          page=PageRequest(10))
    before = len(_mails(till))  # the "payment received" notices

    first = resend_document(db=till.db, clock=till.clock, document_id=receipt.id, actor="root")
    till.clock.advance(timedelta(minutes=5))
    second = resend_document(db=till.db, clock=till.clock, document_id=receipt.id, actor="root")

    sent = _mails(till)[before:]
    assert first == second == 2 and len(sent) == 4  # asked twice: sent twice, not deduplicated
    assert sorted(str(m["to"]) for m in sent) == ["ann@acme.test"] * 2 + ["bob@acme.test"] * 2
    attachments = [m["attachments"] for m in sent]
    assert all(a[0]["filename"] == "RCT-RegionOne-000001.pdf" for a in attachments)  # type: ignore[index]
    with till.db.read() as conn:
        audited = [r["detail"] for r in billing_repo.audit_of(conn, till.tenant)
                   if r["action"] == "document_resent"]
    assert audited == ["RCT-RegionOne-000001 by root to 2 address(es)"] * 2


def test_re_sending_a_document_that_does_not_exist_is_not_found(till: Till) -> None:
    with pytest.raises(NotFound):
        resend_document(db=till.db, clock=till.clock, document_id="doc_nope", actor="root")
    assert _mails(till) == []
