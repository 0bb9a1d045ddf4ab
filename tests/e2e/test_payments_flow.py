"""Money in, in a real browser: a tenant whose balance is low gets the mail, recharges with the
embedded test provider, sees the balance and downloads the receipt as a PDF; a tenant whose
instance billing stopped for lack of money pays, and the instance runs again."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select, update

from sws.billing import service as billing
from sws.billing import standing
from sws.billing.model import GRACE, SUSPENDED
from sws.identity.tables import tenants, users
from sws.mail.tables import mail_outbox
from sws.money import Money
from tests.e2e.conftest import Site
from tests.e2e.test_console import log_in


def _tenant(site: Site, name: str, user: str) -> str:
    with site.container.db.begin() as conn:
        tenant = conn.execute(select(tenants.c.id).where(tenants.c.name == name)).scalar_one()
        conn.execute(update(users).where(users.c.name == user).values(email=f"{user}@{name}.test"))
    return str(tenant)


def _acme(site: Site) -> str:
    return _tenant(site, "acme", "alice")


def _mails(site: Site, prefix: str) -> list[dict[str, Any]]:
    with site.container.db.read() as conn:
        rows = conn.execute(
            select(mail_outbox.c.key, mail_outbox.c.payload).where(
                mail_outbox.c.key.startswith(prefix)
            )
        )
        return [json.loads(r.payload) for r in rows]


def _status(site: Site, tenant: str) -> str:
    """The account's standing once billing has reviewed it (as the farmer does each pass)."""
    db, clock = site.container.db, site.container.clock
    standing.review_account(db=db, clock=clock, drivers=site.container.drivers(),
                            account_id=tenant)
    return billing.get_account(db=db, clock=clock, tenant_id=tenant).status


def _recharge(page: Any, amount: str) -> None:
    page.click("#recharge")
    page.check(f"#presets input[value='{amount}']")
    page.check("#providers input[value='test']")
    page.click("#recharge button[type=submit]")
    expect(page.locator("#test-provider-notice")).to_be_visible()
    page.click("#pay")
    expect(page.locator(".flash.ok")).to_contain_text("Payment received")


def test_a_tenant_with_a_low_balance_is_mailed_recharges_and_downloads_the_receipt(
    page: Any, site: Site
) -> None:
    db, clock = site.container.db, site.container.clock
    tenant = _acme(site)
    billing.update_account(db=db, clock=clock, tenant_id=tenant, low_balance_threshold=Decimal(100))
    standing.top_up(
        db=db,
        clock=clock,
        drivers={},
        tenant_id=tenant,
        amount=Money.of("20.00", "CNY"),
        idempotency_key="e2e-seed",
    )
    standing.review_account(db=db, clock=clock, drivers={}, account_id=tenant)
    (low,) = _mails(site, "low_balance:")
    assert low["to"] == "alice@acme.test" and "20.00" in low["text"]

    log_in(page, "alice")
    _recharge(page, "200")
    expect(page.locator("#payments tbody tr[data-state=succeeded]")).to_have_count(1)
    assert billing.get_account(db=db, clock=clock, tenant_id=tenant).balance.amount == 220
    assert len(_mails(site, "payment_received:")) == 1

    page.goto("/console/payments/invoices")
    row = page.locator("#documents tbody tr[data-kind=receipt]")
    expect(row).to_have_count(1)
    with page.expect_download() as download:
        row.locator("a.pdf").click()
    path = download.value.path()
    assert path is not None and Path(path).read_bytes().startswith(b"%PDF-")
    site.shot(page, "invoices")


def test_an_instance_stopped_for_lack_of_money_runs_again_once_the_tenant_pays(
    page: Any, site: Site
) -> None:
    db, clock = site.container.db, site.container.clock
    tenant = _tenant(site, "globex", "bob")
    log_in(page, "bob")
    page.goto("/console/instances")
    page.click("#launch")
    page.fill("input[name=name]", "shop-db")
    page.check("#flavor-m1\\.small")
    page.click("#launch-submit")
    row = page.locator("#instances tbody tr", has_text="shop-db")
    site.settle()
    expect(row.locator("[data-field=status]")).to_have_text("Active", timeout=15_000)

    # No money: grace starts, and when it is over billing stops the instance.
    assert _status(site, tenant) == GRACE
    clock.advance(timedelta(hours=73))
    assert _status(site, tenant) == SUSPENDED
    site.settle()
    log_in(page, "bob")  # three days later: the console session has expired
    page.goto("/console/instances")
    expect(row.locator("[data-field=status]")).to_have_text("Shut off", timeout=15_000)
    assert len(_mails(site, "suspended:")) == 1

    _recharge(page, "200")
    assert billing.get_account(db=db, clock=clock, tenant_id=tenant).balance.amount == 200

    site.settle()  # the start billing asked for completes
    page.goto("/console/instances")
    expect(row.locator("[data-field=status]")).to_have_text("Active", timeout=15_000)
    expect(row.locator(".status")).to_have_class("status s-active")
    assert len(_mails(site, "resumed:")) == 1
    site.shot(page, "resumed")
