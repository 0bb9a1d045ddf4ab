"""Issue 18's month-to-date cost: launched 20 minutes ago, the overview is no longer CN¥0.00.

Alice launches an m1.small (0.42 per started hour) through the console; before the farmer has
charged anything, the overview shows the started hour as the month to date, a projection to
the month's end, and the instance's bar in the stacked chart; the instance page shows its own
month to date. Then both pages at 390 px in Chinese pass the layout checks and axe-core.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from sws.billing import service as billing
from tests.e2e.conftest import PASSWORD, Site
from tests.e2e.console_pages import Page
from tests.e2e.test_console_layout import AXE, problems

CATALOG = Path(billing.__file__).with_name("prices.yaml")


def log_in(page: Any, name: str) -> None:
    page.goto("/console/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator("#logout")).to_be_visible()


def test_the_overview_shows_a_month_to_date_after_launching(page: Any, site: Site) -> None:
    billing.load_catalog_text(db=site.container.db, clock=site.clock, text=CATALOG.read_text())
    log_in(page, "alice")
    page.goto("/console/")
    expect(page.locator("#month-to-date")).to_have_text("CN¥0.00")
    page.goto("/console/instances/launch")
    page.fill("input[name=name]", "cost-e2e")
    page.check("#flavor-m1\\.small")
    page.click("#launch-submit")
    expect(page.locator(".flash.ok")).to_have_text("Launching 1 instance.")
    site.settle()
    site.clock.advance(timedelta(minutes=20))
    site.container.tick()  # the farmer has seen the instance; its hour is not due yet
    page.goto("/console/billing/bills")
    expect(page.locator("#bill-total")).to_have_text("CN¥0.00")  # nothing charged yet
    page.goto("/console/")
    expect(page.locator("#month-to-date")).to_have_text("CN¥0.42")
    expect(page.locator("#month-to-date-split")).to_contain_text("CN¥0.42")
    projected = page.locator("#projected").inner_text()
    assert projected.startswith("CN¥") and projected != "CN¥0.42", projected
    expect(page.locator("#cost-chart rect[data-item=instance]")).to_have_count(1)
    expect(page.locator("#cost-legend li[data-item=instance]")).to_contain_text("CN¥0.42")
    expect(page.locator("#cost-note")).to_contain_text("not a charge")
    site.shot(page, "overview-cost")
    page.goto("/console/instances")
    page.locator("#instances a", has_text="cost-e2e").click()
    expect(page.locator("#instance-month-to-date")).to_have_text("CN¥0.42")


def test_the_cost_pages_fit_a_phone_in_chinese(browser: Any, site: Site) -> None:
    context = browser.new_context(base_url=site.url, viewport={"width": 390, "height": 844},
                                  locale="zh-CN")
    context.add_cookies([{"name": "sws_lang", "value": "zh_CN", "url": site.url}])
    context.add_init_script(path=str(AXE))
    tab = context.new_page()
    try:
        log_in(tab, "alice")
        tab.goto("/console/instances")
        link = tab.locator("#instances a", has_text="cost-e2e").get_attribute("href")
        assert link
        assert problems(tab, [Page("/console/", "/console/"), Page(link, link)]) == []
    finally:
        context.close()
