"""Billing in the console: header balance, flavor prices, account, bills with CSV, admin."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sws.audit import service as audit
from sws.billing import repository as billing_repo
from sws.billing import service as billing
from sws.billing.model import SUSPENDED
from sws.money import Money
from sws.seed import SAMPLE_CATALOG
from sws.web.console import charts
from tests.unit.console.conftest import Console
from tests.unit.console.test_monitoring import launch


def with_catalog(console: Console) -> None:
    billing.load_catalog_text(db=console.container.db, clock=console.clock,
                              text=SAMPLE_CATALOG.read_text())


def fund(console: Console, tenant: str = "acme", cash: str = "100", coupon: str = "") -> None:
    db, clock, tenant_id = console.container.db, console.clock, console.tenants[tenant]
    billing.top_up(db=db, clock=clock, tenant_id=tenant_id, amount=Money.of(cash, "CNY"),
                   idempotency_key=f"fund:{tenant}:{cash}")
    if coupon:
        billing.grant_coupon(db=db, clock=clock, tenant_id=tenant_id,
                             amount=Money.of(coupon, "CNY"),
                             expires_at=clock.now() + timedelta(days=90))


def test_the_header_shows_cash_and_coupons(console: Console) -> None:
    browser = console.browser("alice")
    header = browser.get("/console/").text
    assert 'id="balance"' in header
    assert 'Cash balance</span> <span data-field="cash">CN¥0.00<' in header
    assert 'Coupon balance</span> <span data-field="coupons">CN¥0.00<' in header
    fund(console, cash="0.01", coupon="9389.93")
    header = browser.get("/console/instances").text
    assert 'Cash balance</span> <span data-field="cash">CN¥0.01<' in header
    assert 'Coupon balance</span> <span data-field="coupons">CN¥9,389.93<' in header
    zh = console.browser("alice", **{"accept-language": "zh-CN"}).get("/console/").text
    assert "¥9,389.93" in zh
    assert 'id="balance"' not in console.browser("root-admin").get("/admin/").text


def test_the_launch_form_shows_each_flavors_price(console: Console) -> None:
    browser = console.browser("alice")
    assert "CN¥0.42" not in browser.get("/console/instances/launch").text  # no catalog yet
    with_catalog(console)
    html = browser.get("/console/instances/launch").text
    assert "CN¥0.42 / hour" in html and "CN¥3.33 / hour" in html
    assert "CN¥400.00 / month" in html  # m1.xlarge is prepaid monthly, shown as such


def test_a_suspended_tenant_gets_402_on_the_launch_form(console: Console) -> None:
    billing.get_account(db=console.container.db, clock=console.clock,
                        tenant_id=console.tenants["acme"])
    with console.container.db.begin() as conn:
        billing_repo.update_account(conn, console.tenants["acme"], status=SUSPENDED)
    browser = console.browser("alice")
    form = browser.get("/console/instances/launch").text
    flavor = form.split('name="flavor_id" value="')[1].split('"')[0]
    image = form.split('name="image_id"')[1].split('value="')[1].split('"')[0]
    answer = browser.post("/console/instances/launch", {
        "name": "broke", "flavor_id": flavor, "image_id": image, "count": "1",
        "security_groups": "default"}, page="/console/instances/launch")
    assert answer.status_code == 402
    assert "Insufficient funds" in answer.text and 'id="form-error"' in answer.text
    assert 'value="broke"' in answer.text


def test_the_account_page(console: Console) -> None:
    fund(console, cash="250", coupon="50")
    html = console.browser("alice").get("/console/billing/account").text
    for expected in ("CN¥250.00", "CN¥50.00", "CN¥300.00", "Prepaid", "In good standing",
                     "Top-up", "Coupon granted", 'id="ledger"'):
        assert expected in html, expected


def test_this_months_bill_grows_and_the_csv_is_the_apis(console: Console) -> None:
    with_catalog(console)
    fund(console)
    launch(console)
    browser = console.browser("alice")
    before = browser.get("/console/billing/bills").text
    assert "Bill for 2026-03" in before and "Nothing to show." in before
    console.clock.advance(timedelta(hours=2))
    console.container.tick()  # the farmer charges the started hours
    html = browser.get("/console/billing/bills").text
    assert 'data-month="2026-03"' in html and "CN¥0.42 / hour" in html
    bill = billing.get_bill(db=console.container.db, tenant_id=console.tenants["acme"],
                            month="2026-03")
    assert bill.total >= Decimal("0.84")
    assert f'id="bill-total">CN¥{bill.total:.2f}' in html
    assert html.count('class="month') == 12 and 'class="month selected"' in html
    only_ips = browser.get("/console/billing/bills?month=2026-03&category=floating_ip").text
    assert "web-1" not in only_ips.split('id="bill-lines"')[1]
    assert "web-1" in browser.get("/console/billing/bills?category=instance").text
    csv = browser.get("/console/billing/bills/2026-03.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert 'filename="bill-2026-03.csv"' in csv.headers["content-disposition"]
    assert csv.text == billing.bill_csv(bill)
    assert browser.get("/console/billing/bills?month=2026-13").status_code == 422
    assert browser.get("/console/billing/bills/2026-13.csv").status_code == 422


def test_admin_tops_up_grants_coupons_and_adds_prices_audited(console: Console) -> None:
    with_catalog(console)
    admin = console.browser("root-admin")
    page = "/admin/billing/accounts"
    acme = console.tenants["acme"]
    done = admin.post("/admin/billing/topups", {"tenant_id": acme, "amount": "120.50",
                                                "idempotency_key": "wire-1"}, page=page,
                      follow=True)
    assert "Top-up of 120.50 added." in done.text and "CN¥120.50" in done.text
    again = admin.post("/admin/billing/topups", {"tenant_id": acme, "amount": "120.50",
                                                 "idempotency_key": "wire-1"}, page=page)
    assert again.status_code == 303  # the same key twice adds it once
    account = billing.get_account(db=console.container.db, clock=console.clock, tenant_id=acme)
    assert account.balance == Money.of("120.50", "CNY")
    coupon = admin.post("/admin/billing/coupons", {"tenant_id": acme, "amount": "30",
                                                   "expires_at": "2026-12-31",
                                                   "items": "instance"}, page=page, follow=True)
    assert "Coupon of 30 granted." in coupon.text
    bad = admin.post("/admin/billing/topups", {"tenant_id": acme, "amount": "-5"}, page=page,
                     follow=True)
    assert "amount must be more than 0" in bad.text
    catalog = "/admin/billing/catalog"
    added = admin.post(catalog, {"item": "instance", "item_type": "m1.small",
                                 "payment_type": "per_started_hour", "price": "0.45",
                                 "currency": "CNY", "valid_from": "2026-05-01T00:00:00Z"},
                       page=catalog, follow=True)
    assert "Price added to the catalog." in added.text and "CN¥0.45 / hour" in added.text
    hundreds = admin.post(catalog, {"item": "instance", "item_type": "m1.large",
                                    "payment_type": "monthly", "price": "400",
                                    "currency": "CNY", "valid_from": "2026-05-01T00:00:00Z"},
                          page=catalog, follow=True).text
    assert "CN¥400.00 / month" in hundreds and "E+" not in hundreds  # never "4E+2 CNY"
    past = admin.post(catalog, {"item": "instance", "item_type": "m1.small",
                                "payment_type": "per_started_hour", "price": "0.40",
                                "currency": "CNY", "valid_from": "2026-01-01"},
                      page=catalog, follow=True)
    assert "closed periods never change" in past.text
    actions = [(e.action, e.outcome) for e in audit.list_entries(
        db=console.container.db, limit=20, offset=0, action=None, actor=None)]
    for expected in (("billing.topup", "ok"), ("billing.topup", "refused"),
                     ("billing.coupon", "ok"), ("billing.price_add", "ok"),
                     ("billing.price_add", "refused")):
        assert expected in actions, expected


def test_members_cannot_use_admin_billing(console: Console) -> None:
    member = console.browser("alice")
    assert member.get("/admin/billing/accounts").status_code == 403
    refused = member.post("/admin/billing/topups", {"tenant_id": console.tenants["acme"],
                                                    "amount": "1000"})
    assert refused.status_code == 403
    assert billing.peek_account(db=console.container.db, clock=console.clock,
                                tenant_id=console.tenants["acme"]) is None


def test_month_bars_geometry() -> None:
    months = charts.last_months("2026-03")
    assert months[0] == "2025-04" and months[-1] == "2026-03" and len(months) == 12
    chart = charts.month_bars({"2026-02": Decimal("40"), "2026-03": Decimal("10")}, months,
                              "2026-03", lambda v: f"{v:.0f}")
    feb, mar = chart.bars[-2], chart.bars[-1]
    assert feb.height == charts.CHART_H * 0.8 and mar.height == charts.CHART_H * 0.2  # top 50
    assert mar.selected and not feb.selected and chart.bars[0].height == 0
    assert [t.label for t in chart.y_ticks] == ["0", "12", "25", "38", "50"]
