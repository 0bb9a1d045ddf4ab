"""Walk the console in a real browser as a new tenant and an operator would."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, Site


def log_in(page: Any, name: str, *, already_there: bool = False) -> None:
    if not already_there:
        page.goto("/console/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")


def test_a_tenant_launches_watches_and_stops_an_instance(page: Any, site: Site) -> None:
    page.goto("/console/instances")
    expect(page).to_have_url(f"{site.url}/console/login?next=/console/instances")
    site.shot(page, "login")
    log_in(page, "alice", already_there=True)
    expect(page).to_have_url(f"{site.url}/console/instances")

    page.click("#launch")
    page.fill("input[name=name]", "web-e2e")
    page.check("#flavor-m1\\.small")
    site.shot(page, "launch")
    page.click("#launch-submit")
    expect(page.locator(".flash.ok")).to_have_text("Launching 1 instance.")
    row = page.locator("#instances tbody tr", has_text="web-e2e")
    expect(row.locator("[data-field=status]")).to_have_text("Building")

    site.settle()  # the page script polls and sees the build finish
    expect(row.locator("[data-field=status]")).to_have_text("Active", timeout=15_000)
    expect(row.locator("[data-field=power]")).to_have_text("Running")
    expect(row.locator(".status")).to_have_class("status s-active")
    site.shot(page, "instances")

    row.locator("input[name=ids]").check()
    page.click("button[value=stop]")
    expect(page.locator(".flash.ok")).to_have_text("Shutting off web-e2e.")
    site.settle()
    expect(row.locator("[data-field=status]")).to_have_text("Shut off", timeout=15_000)

    row.locator("a", has_text="web-e2e").click()
    expect(page.locator("#ssh-command")).to_contain_text("ssh ubuntu@10.")
    site.shot(page, "instance")

    page.goto("/console/")
    expect(page.locator("#quota-bars .bar")).to_have_count(6)
    site.shot(page, "overview")

    page.click("#logout")
    expect(page.locator(".flash.ok")).to_have_text("You have logged out.")
    page.goto("/console/instances")
    expect(page).to_have_url(f"{site.url}/console/login?next=/console/instances")


def test_an_admin_sees_hypervisors_and_every_instance(page: Any, site: Site) -> None:
    log_in(page, "root-admin")
    expect(page).to_have_url(f"{site.url}/admin/")
    site.shot(page, "admin-overview")
    page.click("nav >> text=Hypervisors")
    host = page.locator(".host", has_text="web-e2e")
    expect(host).to_have_count(1)
    expect(host.locator(".bar-svg")).to_have_count(3)
    site.shot(page, "admin-hypervisors")
    page.click("nav >> text=All Instances")
    expect(page.locator("#all-instances")).to_contain_text("acme")
    page.click("nav >> text=Tenants")
    page.fill("#create-tenant input[name=name]", "initech")
    page.click("#create-tenant button[type=submit]")
    expect(page.locator(".flash.ok")).to_have_text("Tenant initech created.")
    page.click("nav >> text=Audit Log")
    expect(page.locator("#audit")).to_contain_text("tenant.create")
    site.shot(page, "admin-audit")


def test_a_member_gets_a_403_page_on_admin(page: Any, site: Site) -> None:
    log_in(page, "bob")
    expect(page).to_have_url(f"{site.url}/console/")
    response = page.goto("/admin/")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_contain_text("Forbidden")


def test_the_language_switcher_turns_the_console_chinese(page: Any, site: Site) -> None:
    log_in(page, "bob")
    page.select_option("select[name=locale]", "zh_CN")
    expect(page.locator("nav")).to_contain_text("云主机")
    page.select_option("select[name=locale]", "en")
    expect(page.locator("nav")).to_contain_text("Instances")
