"""Sponsor regions in a real browser: a visitor picks a sponsor's region on the login page
(as on StackLab), launches there, sees it under All regions; the admin closes the region and
the login page no longer offers it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sws.drivers.base import ServerFilter
from sws.identity import service as identity
from tests.e2e.conftest import PASSWORD, Site, build_container, serve_site

expect = pytest.importorskip("playwright.sync_api").expect
SPONSOR = {"name": "Open Source Lab", "logo_text": "OSL", "contact": "noc@osl.example"}


@pytest.fixture(scope="module")
def sponsor_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("sponsors")
    built = build_container(
        home, regions=["RegionOne", "SponsorLab"], region_sponsors={"SponsorLab": SPONSOR}
    )
    with serve_site(*built) as found:
        yield found


@pytest.fixture
def tab(browser: Any, sponsor_site: Site) -> Iterator[Any]:
    context = browser.new_context(base_url=sponsor_site.url, locale="en-US")
    context.set_default_timeout(20_000)  # the region probes and a launch, on a busy CI host
    yield context.new_page()
    context.close()


def _log_in(tab: Any, name: str, region: str | None = None) -> None:
    tab.goto("/console/login")
    if region:
        tab.check(f"#region-picker input[value={region}]")
    tab.fill("input[name=name]", name)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit].primary")


def _names(site: Site, region: str, tenant_name: str) -> list[str]:
    tenants = identity.list_tenants(db=site.container.db, limit=100, marker=None)
    tenant = next(t for t in tenants if t.name == tenant_name)
    servers = site.container.driver(region).list_servers(tenant.id, ServerFilter(), 50, None)
    return [s.name for s in servers]


def test_a_visitor_picks_a_sponsor_region_at_login_and_launches_there(
    tab: Any, sponsor_site: Site
) -> None:
    tab.goto("/console/login")
    card = tab.locator("#region-picker [data-region=SponsorLab]")
    expect(card).to_contain_text("sponsored by Open Source Lab")
    expect(card.locator(".sponsor-logo")).to_have_text("OSL")
    expect(card).to_contain_text("noc@osl.example")
    _log_in(tab, "alice", region="SponsorLab")
    expect(tab).to_have_url(f"{sponsor_site.url}/console/")
    switcher = tab.locator("select[name=region]")
    expect(switcher).to_have_value("SponsorLab")
    expect(switcher.locator("option[value=SponsorLab]")).to_have_text(
        "SponsorLab · Open Source Lab"
    )

    tab.goto("/console/instances/launch")
    tab.fill("input[name=name]", "lab-e2e")
    tab.check("#flavor-m1\\.small")
    tab.click("#launch-submit")
    expect(tab.locator(".flash.ok")).to_have_text("Launching 1 instance.")
    sponsor_site.settle()
    assert _names(sponsor_site, "SponsorLab", "acme") == ["lab-e2e"]
    assert _names(sponsor_site, "RegionOne", "acme") == []

    tab.goto("/console/regions/all")
    lab = tab.locator("section[data-region=SponsorLab]")
    expect(lab).to_have_attribute("data-state", "ok")
    expect(lab.locator("[data-server=lab-e2e]")).to_be_visible()
    expect(tab.locator("section[data-region=RegionOne] tbody")).not_to_contain_text("lab-e2e")
    expect(tab.locator("#region-totals [data-field=instances]")).to_have_text("1")


def test_the_admin_closes_a_region_and_the_login_page_stops_offering_it(
    tab: Any, sponsor_site: Site
) -> None:
    _log_in(tab, "root-admin")
    tab.goto("/admin/regions")
    row = tab.locator("#regions tr[data-region=SponsorLab]")
    expect(row.locator("[data-field=health]")).to_have_text("reachable")
    row.locator("button", has_text="Close").click()
    expect(tab.locator(".flash.ok")).to_contain_text("Region SponsorLab is closed")
    expect(row.locator("[data-field=state]")).to_have_text("closed")
    tab.click("#logout")
    tab.goto("/console/login")
    expect(tab.locator("#region-picker")).to_have_count(0)  # one region left: nothing to pick

    _log_in(tab, "root-admin")
    tab.goto("/admin/regions")
    tab.locator("#regions tr[data-region=SponsorLab] button", has_text="Reopen").click()
    expect(tab.locator("#regions tr[data-region=SponsorLab] [data-field=state]")).to_have_text(
        "open"
    )
