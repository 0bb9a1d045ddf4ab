"""SWS filter pages: the admin's networks, allow rules (confirm flag, fields named), Cloud
Bridge sources and agent reports; the tenant's read-only reachable list and grant toggles;
audited once; members refused with the 403 page; CSRF."""

from __future__ import annotations

from sws.audit import service as audit
from sws.netfilter import service as nf
from sws.netfilter.model import AgentReport
from tests.unit.console.conftest import Browser, Console
from tests.unit.console.test_loadbalancer_pages import launch

RULES = "/admin/netfilter/rules"


def add_network(admin: Browser, cidr: str = "10.8.0.0/16") -> None:
    done = admin.post("/admin/netfilter/networks", {"cidr": cidr, "description": "intranet"},
                      page="/admin/netfilter/networks", follow=True)
    assert f"Internal network {cidr} added." in done.text


def test_admin_adds_networks_and_rules_audited_once(console: Console) -> None:
    admin = console.browser("root-admin")
    add_network(admin)
    rule = {"scope": "tenant", "tenant_id": console.tenants["acme"],
            "destination": "10.8.1.0/24", "protocol": "tcp", "port_min": "5432",
            "port_max": "5433", "reason": "database", "expires_at": "2027-01-01T00:00"}
    done = admin.post(RULES, rule, page=RULES, follow=True)
    assert "Allow rule to 10.8.1.0/24 added." in done.text
    assert 'data-destination="10.8.1.0/24"' in done.text and "5432-5433" in done.text
    actions = [e.action for e in audit.list_entries(db=console.container.db)]
    assert actions == ["netfilter.rule_add", "netfilter.internal_network_add"]
    (view,) = nf.list_rules(db=console.container.db)
    assert view.rule.expires_at is not None and view.rule.expires_at.year == 2027
    rule_id = view.rule.id
    gone = admin.post(f"{RULES}/{rule_id}/delete", page=RULES, follow=True)
    assert "Allow rule deleted." in gone.text
    assert audit.list_entries(db=console.container.db)[0].action == "netfilter.rule_delete"


def test_bad_rules_name_the_field_and_are_audited_as_refused(console: Console) -> None:
    admin = console.browser("root-admin")
    add_network(admin)
    base = {"scope": "all", "destination": "10.8.1.0/24", "protocol": "tcp",
            "port_min": "80", "reason": "web"}
    cases = [
        ({"destination": "10.8.1.300/24"}, "destination"),
        ({"port_min": "90", "port_max": "80"}, "port_max"),
        ({"scope": "tenant", "tenant_id": ""}, "tenant_id"),
        ({"scope": "instance", "instance_id": "no-such-vm"}, "instance_id"),
        ({"expires_at": "2020-01-01T00:00"}, "expires_at"),
        ({"destination": "10.8.0.0/16"}, "confirm"),
        ({"reason": " "}, "reason"),
    ]
    for change, field in cases:
        response = admin.post(RULES, {**base, **change}, page=RULES)
        assert response.status_code in (409, 422), field
        assert f"({field}):" in response.text, field
        assert "invalid" in response.text, field  # the field is highlighted
    assert nf.list_rules(db=console.container.db) == []
    refused = [e for e in audit.list_entries(db=console.container.db) if e.outcome == "refused"]
    assert len(refused) == len(cases)
    confirmed = admin.post(RULES, {**base, "destination": "10.8.0.0/16", "confirm": "on"},
                           page=RULES, follow=True)
    assert "Allow rule to 10.8.0.0/16 added." in confirmed.text


def test_bridge_sources_and_agents_pages(console: Console) -> None:
    admin = console.browser("root-admin")
    added = admin.post("/admin/netfilter/bridge-sources", {"cidr": "10.251.1.48/29"},
                       page="/admin/netfilter/bridge", follow=True)
    assert "Cloud Bridge source 10.251.1.48/29 added." in added.text
    overlap = admin.post("/admin/netfilter/bridge-sources", {"cidr": "10.251.1.48/30"},
                         page="/admin/netfilter/bridge", follow=True)
    assert "cidr: " in overlap.text and "overlaps" in overlap.text
    host = console.container.driver("RegionOne").list_hypervisors()[0].hostname
    nf.record_report(
        db=console.container.db, clock=console.clock,
        directory=nf.CloudDirectory(db=console.container.db,
                                    driver=console.container.driver("RegionOne")),
        report=AgentReport(host=host, target="nft", digest="abc", in_sync=False,
                              elements=3, mode="delta", drift={"allow4": ["+1"]}))
    html = admin.get("/admin/netfilter/hosts").text
    assert f'data-host="{host}"' in html and "out of date" in html and "allow4" in html
    assert "No report yet from:" in html


def test_tenant_sees_reachable_networks_and_toggles_grants(console: Console) -> None:
    admin = console.browser("root-admin")
    add_network(admin)
    for scope, extra in (("all", {}), ("tenant", {"tenant_id": console.tenants["globex"]})):
        admin.post(RULES, {"scope": scope, "destination": "10.8.2.0/24", "protocol": "udp",
                           "port_min": "53", "reason": "secret reason", **extra}, page=RULES)
    server_id = launch(console, "acme", "app-1")
    alice = console.browser("alice")
    html = alice.get("/console/reachable").text
    assert html.count("<code>10.8.2.0/24</code>") == 1  # not globex's own rule
    assert "secret reason" not in html
    page = "/console/reachable"
    on = alice.post(f"{page}/bridge-grants", {"server_id": server_id, "port": "8443",
                                              "enabled": "true"}, page=page, follow=True)
    assert "Cloud Bridge may now reach port 8443." in on.text
    assert 'data-grant="app-1:8443"' in on.text
    bob = console.browser("bob")
    theirs = bob.post(f"{page}/bridge-grants", {"server_id": server_id, "port": "22",
                                                "enabled": "true"}, page=page, follow=True)
    assert 'class="flash error"' in theirs.text
    off = alice.post(f"{page}/bridge-grants", {"server_id": server_id, "port": "8443",
                                               "enabled": "false"}, page=page, follow=True)
    assert "Cloud Bridge access to port 8443 removed." in off.text
    actions = [e.action for e in audit.list_entries(db=console.container.db, limit=2)]
    assert actions == ["netfilter.bridge_grant_delete", "netfilter.bridge_grant_add"]


def test_members_get_the_403_page_and_cannot_post(console: Console) -> None:
    alice = console.browser("alice")
    for path in ("/admin/netfilter/networks", RULES, "/admin/netfilter/bridge",
                 "/admin/netfilter/hosts"):
        response = alice.get(path)
        assert response.status_code == 403 and "admin role" in response.text, path
    refused = alice.post("/admin/netfilter/networks", {"cidr": "10.0.0.0/8"})
    assert refused.status_code == 403
    assert nf.list_internal_networks(db=console.container.db) == []


def test_netfilter_forms_without_csrf_are_refused(console: Console) -> None:
    admin = console.browser("root-admin")
    for path in ("/admin/netfilter/networks", RULES, "/admin/netfilter/bridge-sources"):
        response = admin.post(path, {"cidr": "10.0.0.0/8"}, csrf="x")
        assert response.status_code == 403, path
    alice = console.browser("alice")
    assert alice.post("/console/reachable/bridge-grants", {"port": "22"},
                      csrf="").status_code == 403
    assert audit.count_entries(db=console.container.db) == 0
