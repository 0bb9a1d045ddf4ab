"""The issue's full walkthrough in Chromium, with billing and metering on a fresh site.

A tenant logs in, launches, sees the instance go active, opens its monitoring graph (after the
collector has polled on the simulated clock), creates an alarm, stops the instance, sees this
month's bill grow after `sws billing settle`, downloads the CSV and logs out. An operator then
tops up a tenant whose instances billing stopped at zero balance, and they start again.

`sws billing settle` runs as the real CLI in a subprocess against the server's SQLite file, with
`--until` set to the server's simulated now plus three hours: the farmer the CLI runs is the
one the server ticks, and the subprocess proves the console reads what another process wrote.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from sws.billing import service as billing
from sws.drivers.base import ServerCreate, ServerFilter
from sws.identity import service as identity
from sws.money import Money
from sws.seed import SAMPLE_CATALOG
from tests.e2e.conftest import Site
from tests.e2e.test_console import log_in

SWS = Path(sys.executable).with_name("sws")


def tenant_id(site: Site, name: str) -> str:
    tenants = identity.list_tenants(db=site.container.db, limit=100, marker=None)
    return next(t.id for t in tenants if t.name == name)


def run_for(site: Site, minutes: int) -> None:
    """The collector polls and seals on every tick: one every 10 simulated seconds."""
    for _ in range(minutes * 6):
        site.settle(10)


def money_of(text: str) -> float:
    return float(re.sub(r"[^0-9.]", "", text))


def settle_cli(site: Site, hours: int) -> str:
    until = (site.clock.now() + timedelta(hours=hours)).isoformat()
    home = site.container.settings.home
    env = {**os.environ, "SWS_HOME": str(home),
           "SWS_DATABASE_URL": str(site.container.settings.database_url),
           "SWS_DEMO_DATA": "false", "SWS_SIM_TASK_SECONDS": "3"}
    done = subprocess.run([str(SWS), "billing", "settle", "--until", until], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_new_tenant_walks_through_compute_monitoring_and_billing(
    page: Any, site: Site
) -> None:
    db, clock = site.container.db, site.clock
    billing.load_catalog_text(db=db, clock=clock, text=SAMPLE_CATALOG.read_text())
    billing.top_up(db=db, clock=clock, tenant_id=tenant_id(site, "acme"),
                   amount=Money.of("100", "CNY"), idempotency_key="e2e-start")

    # 1. log in
    log_in(page, "alice")
    expect(page.locator("#balance [data-field=cash]")).to_have_text("CN¥100.00")
    # 2. launch, with the price per hour on the form
    page.click("nav >> text=Instances")
    page.click("#launch")
    page.fill("input[name=name]", "web-walk")
    page.check("#flavor-m1\\.small")
    expect(page.locator(".flavor-card", has=page.locator("#flavor-m1\\.small")).locator(
        "[data-field=price]")).to_have_text("CN¥0.42 / hour")
    page.click("#launch-submit")
    expect(page.locator(".flash.ok")).to_have_text("Launching 1 instance.")
    # 3. see it go active
    row = page.locator("#instances tbody tr", has_text="web-walk")
    site.settle()
    expect(row.locator("[data-field=status]")).to_have_text("Active", timeout=15_000)

    # 4. its monitoring graph, once the collector has samples
    run_for(site, 15)
    page.click("nav >> text=Instance Monitoring")
    page.click("#monitored >> text=web-walk")
    cpu = page.locator("#graph-1 svg")
    expect(cpu).to_have_attribute("data-points", re.compile(r"^([5-9]|\d\d+)$"))
    assert cpu.locator("circle.point").count() >= 5
    expect(page.locator("#graph-1 figcaption")).to_contain_text("CPU utilisation")
    page.click("#range-picker >> text=6 hours")
    expect(page.locator("#range-picker [aria-current=true]")).to_have_text("6 hours")
    expect(page.locator("#graph-2 svg")).not_to_have_attribute("data-points", "0")
    site.shot(page, "monitoring")

    # 5. create an alarm
    form = page.locator("#create-alarm")
    form.locator("input[name=name]").fill("web-walk-hot")
    form.locator("select[name=meter]").select_option("cpu_util")
    form.locator("input[name=threshold]").fill("90")
    form.locator("select[name=action]").select_option("email")
    form.locator("input[name=email]").fill("ops@example.com")
    page.click("#create-alarm-submit")
    expect(page.locator(".flash.ok")).to_have_text("Alarm web-walk-hot created.")
    expect(page.locator("#alarm-summary")).to_have_text("0 of 1 in OK")
    run_for(site, 5)
    page.reload()
    expect(page.locator("#alarm-summary")).to_have_text("1 of 1 in OK")

    # 6. stop it
    page.click("nav >> text=Instances")
    row.locator("input[name=ids]").check()
    page.click("button[value=stop]")
    site.settle()
    expect(row.locator("[data-field=status]")).to_have_text("Shut off", timeout=15_000)

    # 7. this month's bill grows after `sws billing settle`
    page.click("nav >> text=Bills")
    before = money_of(page.locator("#bill-total").inner_text())
    output = settle_cli(site, hours=3)
    assert "charges" in output
    page.reload()
    after = money_of(page.locator("#bill-total").inner_text())
    assert after >= before + 3 * 0.42 - 0.001, (before, after)  # stopped is still charged
    expect(page.locator("#bill-lines")).to_contain_text("web-walk")
    expect(page.locator("#months tr[data-month='2026-03'] [data-field=instance]")).to_contain_text(
        "CN¥")
    site.shot(page, "bills")

    # 8. download the CSV: the same bytes the billing service (and the API) produce
    with page.expect_download() as download_info:
        page.click("#csv")
    download = download_info.value
    assert download.suggested_filename == "bill-2026-03.csv"
    content = Path(download.path()).read_text()
    bill = billing.get_bill(db=db, tenant_id=tenant_id(site, "acme"), month="2026-03")
    assert content == billing.bill_csv(bill)
    assert content.splitlines()[0].startswith("kind,type,resource_name")
    assert f"total,all,,,,,,,,,{bill.total}" in content

    page.click("nav >> text=Account")
    expect(page.locator("#ledger")).to_contain_text("Charge")
    site.shot(page, "account")

    # 9. log out
    page.click("#logout")
    expect(page.locator(".flash.ok")).to_have_text("You have logged out.")


def test_an_admin_top_up_resumes_a_suspended_tenant(page: Any, site: Site) -> None:
    db, clock = site.container.db, site.clock
    if not billing.list_prices(db=db):
        billing.load_catalog_text(db=db, clock=clock, text=SAMPLE_CATALOG.read_text())
    # docs/billing.md: at zero funds a grace period starts; after it, instances are stopped.
    billing.save_settings(db=db, values={"grace_hours": "2", "low_balance_threshold": "1"})
    globex = tenant_id(site, "globex")
    billing.top_up(db=db, clock=clock, tenant_id=globex, amount=Money.of("1", "CNY"),
                   idempotency_key="e2e-globex")
    driver = site.container.driver()
    flavor = next(f.id for f in driver.list_flavors() if f.name == "m1.small")
    image = next(i.id for i in driver.list_images(globex) if i.status == "active")
    user = identity.list_users(db=db, tenant_id=globex, limit=1, marker=None)[0]
    server = driver.create_servers(globex, user.id, ServerCreate(
        name="globex-app", flavor_id=flavor, image_id=image))[0]
    site.settle()
    for _ in range(12):  # 0.42/hour eats 1.00 in three hours, then two hours of grace
        site.settle(3600)
        if billing.get_account(db=db, clock=clock, tenant_id=globex).status == "suspended":
            break
    assert billing.get_account(db=db, clock=clock, tenant_id=globex).status == "suspended"
    site.settle()
    assert driver.get_server(globex, server.id).status == "SHUTOFF"

    log_in(page, "root-admin")
    page.click("nav >> text=Top-ups and Coupons")
    expect(page.locator("#accounts tr[data-tenant=globex] [data-field=status]")).to_have_text(
        "suspended")
    site.shot(page, "admin-billing")
    page.select_option("#top-up select[name=tenant_id]", label="globex (CNY)")
    page.fill("#top-up input[name=amount]", "50")
    page.fill("#top-up input[name=memo]", "wire 0042")
    page.click("#top-up button[type=submit]")
    expect(page.locator(".flash.ok")).to_have_text("Top-up of 50 added.")
    expect(page.locator("#accounts tr[data-tenant=globex] [data-field=status]")).not_to_have_text(
        "suspended")
    site.settle()
    page.click("nav >> text=All Instances")
    row = page.locator("#all-instances tr", has_text="globex-app")
    expect(row).to_contain_text("Active")
    assert [s.status for s in driver.list_servers(globex, ServerFilter(), 10, None)] == ["ACTIVE"]
    page.click("nav >> text=Audit Log")
    expect(page.locator("#audit")).to_contain_text("billing.topup")
    page.click("nav >> text=Price Catalog")
    expect(page.locator("#catalog")).to_contain_text("m1.small")
    site.shot(page, "admin-catalog")
