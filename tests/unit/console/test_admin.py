"""The admin console: tenants and users, hypervisors, every instance, dead letters, the audit."""

from __future__ import annotations

import re

from sws.audit import service as audit
from sws.events import service as events
from tests.unit.console.conftest import Console


def test_create_a_tenant_and_a_user_and_both_are_audited(console: Console) -> None:
    admin = console.browser("root-admin")
    done = admin.post("/admin/tenants", {"name": "initech", "billing_timezone": "Asia/Shanghai",
                                         "currency": "CNY"}, page="/admin/tenants", follow=True)
    assert "Tenant initech created." in done.text
    tenant_id = re.search(r'href="/admin/users\?tenant_id=([0-9a-f]+)">initech', done.text)
    assert tenant_id
    done = admin.post("/admin/users", {"tenant_id": tenant_id.group(1), "name": "peter",
                                       "password": "long-enough-1", "role": "member"},
                      page="/admin/users", follow=True)
    assert "User peter created." in done.text
    assert console.browser().login("peter", "long-enough-1").status_code == 303
    entries = audit.list_entries(db=console.container.db)
    assert [e.action for e in entries] == ["user.create", "tenant.create"]
    assert entries[0].actor_name == "root-admin" and entries[0].outcome == "ok"
    assert "long-enough-1" not in str(entries)  # passwords never reach the audit


def test_refusals_are_shown_and_audited(console: Console) -> None:
    admin = console.browser("root-admin")
    done = admin.post("/admin/tenants", {"name": "acme", "billing_timezone": "UTC",
                                         "currency": "CNY"}, page="/admin/tenants", follow=True)
    assert "exists already" in done.text
    (entry,) = audit.list_entries(db=console.container.db)
    assert entry.outcome == "refused" and "exists already" in entry.detail
    assert "refused" in admin.get("/admin/audit").text


def test_disable_a_user_ends_their_session_and_reset_password(console: Console) -> None:
    alice = console.browser("alice")
    admin = console.browser("root-admin")
    users = admin.get("/admin/users").text
    alice_id = re.search(r'data-user="alice">.*?/admin/users/([0-9a-f]+)/enabled', users, re.S)
    assert alice_id
    admin.post(f"/admin/users/{alice_id.group(1)}/enabled", {"enabled": "false"},
               page="/admin/users")
    assert alice.get("/console/", follow_redirects=False).status_code == 303
    admin.post(f"/admin/users/{alice_id.group(1)}/enabled", {"enabled": "true"},
               page="/admin/users")
    short = admin.post(f"/admin/users/{alice_id.group(1)}/password", {"password": "short"},
                       page="/admin/users", follow=True)
    assert "at least 8 characters" in short.text
    admin.post(f"/admin/users/{alice_id.group(1)}/password", {"password": "a-new-passw0rd"},
               page="/admin/users")
    assert console.browser().login("alice", "a-new-passw0rd").status_code == 303
    actions = [e.action for e in audit.list_entries(db=console.container.db)]
    assert actions == ["user.reset_password", "user.reset_password", "user.enable",
                       "user.disable"]


def test_members_cannot_post_admin_forms(console: Console) -> None:
    alice = console.browser("alice")
    response = alice.post("/admin/tenants", {"name": "sneaky", "billing_timezone": "UTC",
                                             "currency": "CNY"})
    assert response.status_code == 403
    assert audit.count_entries(db=console.container.db) == 0


def test_hypervisors_show_use_and_the_instances_on_each(console: Console) -> None:
    alice = console.browser("alice")
    form = alice.get("/console/instances/launch").text
    flavor = re.search(r'value="([^"]+)" id="flavor-m1.small"', form)
    image = re.search(r'name="image_id" required>\s*<option value="([^"]+)"', form)
    assert flavor and image
    alice.post("/console/instances/launch", {"name": "db-7", "flavor_id": flavor.group(1),
               "image_id": image.group(1), "count": "1"}, page="/console/instances/launch")
    console.settle()
    admin = console.browser("root-admin")
    html = admin.get("/admin/hypervisors").text
    assert "compute-01" in html and "db-7" in html and html.count('class="bar-svg"') == 12
    everything = admin.get("/admin/instances").text
    assert "db-7" in everything and "acme" in everything
    assert "db-7" not in admin.get("/admin/instances?name=web").text


def test_dead_letters_are_listed(console: Console) -> None:
    events.import_jsonl(db=console.container.db, clock=console.container.clock,
                        region="RegionOne", lines=['{"not": "an oslo envelope"}'])
    html = console.browser("root-admin").get("/admin/dead-letters").text
    assert "an oslo envelope" in html
    assert "an oslo envelope" not in console.browser("root-admin").get(
        "/admin/dead-letters?source=nothing-like-this").text
