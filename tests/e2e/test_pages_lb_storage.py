"""Load balancers, storage firewall and the SWS filter pages in a real browser."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from sws.drivers.base import ServerCreate
from tests.e2e.conftest import PASSWORD, Site


def log_in(page: Any, name: str) -> None:
    page.goto("/console/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator("#logout")).to_be_visible()


def launch(site: Site, user: str, name: str) -> None:
    from sws.identity import service as identity

    found = next(u for u in identity.list_users(db=site.container.db, tenant_id=None,
                                                limit=100, marker=None) if u.name == user)
    driver = site.container.driver(None)
    flavor = next(f for f in driver.list_flavors() if f.name == "m1.small")
    image = next(i for i in driver.list_images(found.tenant_id) if i.status == "active")
    driver.create_servers(found.tenant_id, found.id, ServerCreate(
        name=name, flavor_id=flavor.id, image_id=image.id))
    site.settle()


def test_a_load_balancer_with_a_member_shows_its_endpoint(page: Any, site: Site) -> None:
    launch(site, "alice", "web-lb-1")
    log_in(page, "alice")
    page.goto("/console/loadbalancers")
    page.fill("#create-lb input[name=name]", "shop")
    page.select_option("#create-lb select[name=server_id]", index=1)
    page.fill("#create-lb input[name=port]", "8080")
    site.shot(page, "loadbalancers")
    page.click("#create-lb-submit")
    expect(page.locator(".flash.ok")).to_have_text("Load balancer shop created.")
    expect(page.locator("#endpoints")).to_contain_text("http://")
    expect(page.locator("#members tr[data-member=web-lb-1]")).to_contain_text(":8080")
    site.shot(page, "loadbalancer")
    page.goto("/console/instances")
    row = page.locator("#instances tbody tr", has_text="web-lb-1")
    row.locator("button", has_text="Public domain").click()
    # nothing billable with one click: a confirmation with the price comes first
    expect(page.locator("h1")).to_contain_text("Public domain for web-lb-1")
    expect(page.locator("#public-domain-price")).to_be_visible()
    page.click("#create-public-domain")
    expect(page.locator(".flash.ok")).to_contain_text("Public domain")
    expect(row.locator("[data-field=domain] code")).to_contain_text(":1")


def test_a_container_firewall_refuses_a_bad_cidr_then_saves(page: Any, site: Site) -> None:
    log_in(page, "alice")
    page.goto("/console/containers")
    page.fill("#create-container input[name=name]", "assets")
    page.click("#create-container button[type=submit]")
    expect(page.locator(".flash.ok")).to_have_text("Container assets created.")
    site.shot(page, "containers")
    page.click("#containers tr[data-container=assets] >> text=Edit firewall")
    page.fill("textarea[name=allow]", "203.0.113.0/24\n10.1.2.300/24")
    page.fill("input[name=requests_5m]", "5000")
    page.click("#firewall-submit")
    expect(page.locator("#form-error")).to_contain_text("Whitelist (entry 2)")
    expect(page.locator("#form-error")).to_contain_text("10.1.2.300/24")
    page.fill("textarea[name=allow]", "203.0.113.0/24\n10.1.2.0/24")
    page.check("input[name=exclusive]")
    page.click("#firewall-submit")
    expect(page.locator(".flash.ok")).to_have_text("Firewall of assets saved.")
    expect(page.locator("input[name=requests_5m]")).to_have_value("5000")
    site.shot(page, "storage-firewall")


def test_an_admin_adds_an_allow_rule_and_the_tenant_sees_it(page: Any, site: Site) -> None:
    log_in(page, "root-admin")
    page.goto("/admin/netfilter/networks")
    page.fill("#add-network input[name=cidr]", "10.8.0.0/16")
    page.click("#add-network button[type=submit]")
    expect(page.locator(".flash.ok")).to_have_text("Internal network 10.8.0.0/16 added.")
    page.goto("/admin/netfilter/rules")
    page.fill("#add-rule input[name=destination]", "10.8.1.0/24")
    page.fill("#add-rule input[name=port_min]", "5432")
    page.fill("#add-rule input[name=reason]", "shared database")
    page.click("#add-rule-submit")
    expect(page.locator(".flash.ok")).to_have_text("Allow rule to 10.8.1.0/24 added.")
    expect(page.locator("#rules tr[data-destination='10.8.1.0/24']")).to_contain_text("5432")
    site.shot(page, "admin-netfilter-rules")
    page.click("#logout")
    log_in(page, "bob")
    page.goto("/console/reachable")
    expect(page.locator("#reachable")).to_contain_text("10.8.1.0/24")
    site.shot(page, "reachable-networks")
