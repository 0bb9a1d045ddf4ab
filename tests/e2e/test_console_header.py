"""Issue 18's header in a browser: global search by IP opens the instance, and an alarm that
fires rings the bell and shows in the Activity feed; the new pages fit a phone in Chinese.

Alice has an instance, shop-db, with a floating IP, and an alarm that is always breached
(CPU utilisation at least 0 %). Bob, another tenant, finds none of it.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from sws.billing import service as billing
from sws.drivers.base import ServerFilter
from sws.money import Money
from tests.e2e.conftest import Site
from tests.e2e.console_pages import Page
from tests.e2e.test_console_layout import AXE, api, created, problems
from tests.e2e.test_volumes_flow import launch, log_in, user_named


def shop_db(site: Site) -> tuple[str, str]:
    """alice's shop-db with a floating IP, and an alarm on it that fires; (id, address).
    alice is funded first, so the alarm is her one notice (no grace period starts)."""
    tenant_id = user_named(site, "alice").tenant_id
    billing.top_up(db=site.container.db, clock=site.clock, tenant_id=tenant_id,
                   amount=Money.of("500", "CNY"), idempotency_key="header-test")
    launch(site, "alice", "shop-db")
    driver = site.container.driver(None)
    server = next(s for s in driver.list_servers(tenant_id, ServerFilter(), 100, None)
                  if s.name == "shop-db")
    ip = driver.allocate_floating_ip(tenant_id)
    driver.associate_floating_ip(tenant_id, ip.id, server.id)
    alice = api(site, "alice")
    try:
        created(alice.post("/v1/alarms", json={
            "name": "cpu-any", "rule": {"type": "threshold", "resource_id": server.id,
                                        "meter": "cpu_util", "comparison": "ge",
                                        "threshold": 0, "granularity": 60}}))
    finally:
        alice.close()
    for _ in range(18):  # three simulated minutes: the collector polls, the alarm evaluates
        site.settle(10)
    return server.id, ip.address


def test_search_by_ip_from_the_header_then_the_bell_shows_the_alarm(
    page: Any, site: Site
) -> None:
    server_id, address = shop_db(site)
    log_in(page, "alice")
    expect(page.locator("#bell-count")).to_have_text("1")
    page.fill("#header-q", address)
    page.press("#header-q", "Enter")
    results = page.locator("#search-results section[data-kind=instance]")
    results.get_by_role("link", name="shop-db").click()
    expect(page).to_have_url(f"{site.url}/console/instances/{server_id}")
    expect(page.locator("h1")).to_contain_text("shop-db")

    page.click("#bell")
    expect(page.locator("#activity")).to_contain_text("Alarm cpu-any fired.")
    expect(page.locator("#show-notices")).to_have_attribute("aria-current", "page")
    expect(page.locator("#bell-count")).to_have_count(0)  # seen: the bell is quiet
    page.click("#show-all")
    expect(page.locator("#activity")).to_contain_text("Instance shop-db was created.")


def test_another_tenant_finds_nothing_and_hears_no_bell(page: Any, site: Site) -> None:
    log_in(page, "bob")
    page.fill("#header-q", "shop-db")
    page.press("#header-q", "Enter")
    expect(page.locator("#search-none")).to_be_visible()
    expect(page.locator("#bell-count")).to_have_count(0)


def test_the_header_pages_fit_a_phone_in_chinese(browser: Any, site: Site) -> None:
    context = browser.new_context(base_url=site.url, viewport={"width": 390, "height": 844},
                                  locale="zh-CN")
    context.add_cookies([{"name": "sws_lang", "value": "zh_CN", "url": site.url}])
    context.add_init_script(path=str(AXE))
    tab = context.new_page()
    try:
        log_in(tab, "alice")
        shown = [Page(url, url) for url in ("/console/search?q=shop", "/console/activity",
                                            "/console/activity?show=notices", "/console/help")]
        assert problems(tab, shown) == []
    finally:
        context.close()
