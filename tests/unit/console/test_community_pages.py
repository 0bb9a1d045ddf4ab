"""StackLab's console pages: the tenant's Free tier page (the month's GB-hours from billing's
zero-priced charges, each lease with Renew) and the admin's Community page (a possible miner
flagged, and the kill switch that suspends its tenant)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sws.billing import service as billing
from sws.community import repository as community_repo
from sws.community.runtime import CommunityRuntime
from sws.drivers.base import ServerCreate
from tests.unit.console.conftest import Console

CATALOG = Path(billing.__file__).with_name("prices.yaml")


def _free(console: Console) -> CommunityRuntime:
    """RegionOne made free, as SWS_MODE=community makes it."""
    settings = console.container.settings.model_copy(update={"mode": "community"})
    runtime = CommunityRuntime.from_settings(
        settings, db=console.container.db, clock=console.clock, drivers=console.container.drivers
    )
    console.container.community = runtime
    return runtime


def _launch(console: Console, tenant: str, name: str) -> str:
    driver = console.container.driver()
    tenant_id = console.tenants[tenant]
    flavor = next(f for f in driver.list_flavors() if f.name == "m1.small")
    image = min(driver.list_images(tenant_id), key=lambda i: i.min_disk_gb)
    (server,) = driver.create_servers(tenant_id, "u", ServerCreate(name, flavor.id, image.id))
    return server.id


def test_the_free_tier_page_shows_gb_hours_and_renews_a_lease(console: Console) -> None:
    billing.load_catalog_text(
        db=console.container.db, clock=console.clock, text=CATALOG.read_text()
    )
    runtime = _free(console)
    _launch(console, "acme", "lab")
    console.settle()
    runtime.tick()  # zero prices for RegionOne, and the lease
    console.clock.advance(timedelta(hours=3))
    console.container.tick()
    alice = console.browser("alice")
    page = alice.get("/console/community")
    assert page.status_code == 200
    assert 'data-lease="lab"' in page.text and 'id="gb-hours"' in page.text
    shown = re.search(r"<strong>([0-9.]+)</strong> GB", page.text)
    assert shown and float(shown.group(1)) >= 2.0  # m1.small: 2 GB for 1 hour or more
    overview = alice.get("/console/")
    assert 'id="month-gb-hours"' in overview.text and f"<strong>{shown.group(1)}</strong>" in (
        overview.text
    )
    account = billing.get_account(
        db=console.container.db, clock=console.clock, tenant_id=console.tenants["acme"]
    )
    assert account.available.amount == 0  # nothing was charged
    server_id = re.search(r"/console/community/leases/([0-9a-f-]+)/renew", page.text)
    assert server_id
    done = alice.post(
        f"/console/community/leases/{server_id.group(1)}/renew",
        page="/console/community",
        follow=True,
    )
    assert "Lease renewed." in done.text
    bob = console.browser("bob")
    other = bob.post(
        f"/console/community/leases/{server_id.group(1)}/renew",
        page="/console/community",
        follow=True,
    )
    assert "no community lease" in other.text


def test_the_admin_sees_a_possible_miner_and_suspends_its_tenant(console: Console) -> None:
    runtime = _free(console)
    server_id = _launch(console, "globex", "miner")
    console.settle()
    runtime.tick()
    with console.container.db.begin() as conn:
        community_repo.set_flags(
            conn, server_id, {"mining_since": console.clock.now(), "mining_cpu": 98.0}
        )
    root = console.browser("root-admin")
    flags = root.get("/admin/community")
    assert 'data-flag="miner"' in flags.text and "(98%)" in flags.text
    done = root.post(
        f"/admin/community/tenants/{console.tenants['globex']}/suspend",
        {"reason": "mining"},
        page="/admin/community",
        follow=True,
    )
    assert "Tenant suspended" in done.text
    assert console.browser().login("bob").status_code != 303  # the kill switch holds
    back = root.post(
        f"/admin/community/tenants/{console.tenants['globex']}/resume",
        page="/admin/community",
        follow=True,
    )
    assert "Tenant resumed" in back.text
    assert console.browser().login("bob").status_code == 303
    assert console.browser("alice").get("/admin/community").status_code == 403
    console.container.community = None  # a paying cloud: no GB-hours card
    assert 'id="month-gb-hours"' not in console.browser("alice").get("/console/").text


def test_a_paying_region_made_free_is_free_from_then_on(console: Console) -> None:
    """Its past charges stand (billing refuses to re-price them); later hours cost nothing."""
    billing.load_catalog_text(
        db=console.container.db, clock=console.clock, text=CATALOG.read_text()
    )
    _launch(console, "acme", "paid")
    console.settle()
    console.clock.advance(timedelta(hours=2))
    console.container.tick()
    before = billing.get_account(
        db=console.container.db, clock=console.clock, tenant_id=console.tenants["acme"]
    ).available.amount
    assert before < 0
    runtime = _free(console)
    runtime.tick()
    console.clock.advance(timedelta(hours=5))
    console.container.tick()
    after = billing.get_account(
        db=console.container.db, clock=console.clock, tenant_id=console.tenants["acme"]
    ).available.amount
    assert after >= before - Decimal("0.42")  # at most the hour the switch fell in
    free = [
        p
        for p in billing.load_catalog(db=console.container.db).products
        if p.region == "RegionOne" and p.item_type == "m1.small"
    ]
    assert free and all(p.price.amount == 0 for p in free)
