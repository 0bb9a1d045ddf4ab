"""The admin's Regions page adds a sponsor region through its form: it is listed with its
sponsor and health at once, audited, offered on the login page and in the region switcher;
a bad name is refused with the reason and nothing is stored; a tenant's user gets 403."""

from __future__ import annotations

from sqlalchemy import select

from sws.audit.tables import audit_log
from sws.regions.tables import sponsor_regions
from tests.unit.console.conftest import Console

FORM = {
    "name": "Campus",
    "driver": "simulated",
    "sponsor_name": "Campus Cloud",
    "logo_text": "CC",
    "contact": "ops@campus.example",
}


def _stored(console: Console) -> list[str]:
    with console.container.db.read() as conn:
        return list(conn.execute(select(sponsor_regions.c.name)).scalars())


def test_the_admin_adds_a_sponsor_region_that_serves_at_once(console: Console) -> None:
    root = console.browser("root-admin")
    done = root.post("/admin/regions", FORM, page="/admin/regions", follow=True)
    assert "Region Campus added." in done.text, done.text
    row = done.text.split('data-region="Campus"', 1)[1].split("</tr>", 1)[0]
    assert "Campus Cloud" in row and "ops@campus.example" in row and "reachable" in row
    assert _stored(console) == ["Campus"]
    with console.container.db.read() as conn:
        actions = list(
            conn.execute(select(audit_log.c.action).where(audit_log.c.target_id == "Campus"))
            .scalars()
        )
    assert actions == ["region.create"]

    login = console.browser().get("/console/login").text
    assert 'data-region="Campus"' in login and "Campus Cloud" in login
    alice = console.browser("alice")
    assert "Campus · Campus Cloud" in alice.get("/console/").text


def test_a_bad_region_name_is_refused_with_the_reason_and_a_tenant_gets_403(
    console: Console,
) -> None:
    root = console.browser("root-admin")
    refused = root.post(
        "/admin/regions", {**FORM, "name": "no spaces"}, page="/admin/regions", follow=True
    )
    assert "Region no spaces added." not in refused.text
    assert 'class="flash error"' in refused.text, refused.text
    assert _stored(console) == []
    alice = console.browser("alice")
    assert alice.post("/admin/regions", FORM, page="/console/").status_code == 403
    assert _stored(console) == []
