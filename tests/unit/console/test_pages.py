"""Every console page answers for the right people, in HTML, and never with a 500."""

from __future__ import annotations

import re

import pytest

from sws.drivers.base import ServerCreate, ServerFilter
from tests.unit.console.conftest import Console

TENANT_PAGES = (
    "/console/", "/console/instances", "/console/instances/launch", "/console/images",
    "/console/snapshots", "/console/security-groups", "/console/key-pairs",
    "/console/floating-ips",
)
ADMIN_PAGES = (
    "/admin/", "/admin/tenants", "/admin/users", "/admin/regions", "/admin/hypervisors",
    "/admin/instances", "/admin/dead-letters", "/admin/audit",
)


@pytest.mark.parametrize("path", TENANT_PAGES)
def test_tenant_pages_render_for_a_member(console: Console, path: str) -> None:
    response = console.browser("alice").get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "alice" in response.text and "acme" in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_render_for_an_admin(console: Console, path: str) -> None:
    response = console.browser("root-admin").get(path)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_are_a_403_page_for_members(console: Console, path: str) -> None:
    response = console.browser("alice").get(path)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "needs the admin role" in response.text


@pytest.mark.parametrize("path", TENANT_PAGES + ADMIN_PAGES)
def test_without_a_session_pages_send_to_the_login(console: Console, path: str) -> None:
    response = console.browser().get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login")


def test_the_root_and_unknown_pages(console: Console) -> None:
    browser = console.browser("alice")
    assert browser.get("/", follow_redirects=False).headers["location"] == "/console/"
    missing = browser.get("/console/no-such-page")
    assert missing.status_code == 404 and "There is no such page" in missing.text
    other = browser.get("/console/instances/not-an-instance")
    assert other.status_code == 404 and "<html" in other.text


def test_the_menu_says_which_pages_are_not_enabled_yet(console: Console) -> None:
    html = console.browser("alice").get("/console/").text
    for label in ("Load Balancers", "Instance Monitoring", "Storage Firewall", "Bills"):
        assert label in html
    for path in ("/console/monitoring", "/console/billing/account", "/console/billing/bills"):
        assert f'href="{path}"' in html  # enabled now that billing and metering landed
    assert "coming with billing" not in html and "coming with metering" not in html


def test_the_overview_draws_quota_bars(console: Console) -> None:
    html = console.browser("alice").get("/console/").text
    assert html.count('class="bar-svg"') == 6
    assert "0 / 10" in html  # instances against the quota of 10


def test_the_overview_counts_the_tenants_own_instances_by_status(console: Console) -> None:
    driver = console.container.driver()
    image = next(i.id for i in driver.list_images(console.tenants["acme"]) if i.status == "active")
    for tenant, count in (("acme", 3), ("globex", 4)):
        spec = ServerCreate(name=tenant, flavor_id="1", image_id=image, count=count)
        driver.create_servers(console.tenants[tenant], "someone", spec)
    console.settle()
    stopped = driver.list_servers(console.tenants["acme"], ServerFilter(), 1, None)[0]
    driver.server_action(console.tenants["acme"], stopped.id, "stop")
    console.settle()
    assert counts(console, "alice") == [("ACTIVE", "2"), ("SHUTOFF", "1")]  # not globex's 4
    assert counts(console, "bob") == [("ACTIVE", "4")]


def counts(console: Console, user: str) -> list[tuple[str, str]]:
    """(status, count) of the overview's "Instances by status", as shown."""
    html = console.browser(user).get("/console/").text
    return re.findall(r'status=(\w+)"><strong>(\d+)</strong>', html)


def test_static_files_are_served(console: Console) -> None:
    browser = console.browser()
    assert browser.get("/console/static/console.css").status_code == 200
    assert "poll" in browser.get("/console/static/console.js").text


def test_a_bad_query_is_a_page_not_a_problem_document(console: Console) -> None:
    response = console.browser("alice").get("/console/instances?name=" + "x" * 100)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
