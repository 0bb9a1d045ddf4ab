"""The admin console shows agents that are stale, behind or report for an unknown host (a red
count on the overview), and refuses to delete an internal network that rules use unless the
box is ticked."""

from __future__ import annotations

import re
from datetime import timedelta

from sws.cdn import service as cdn
from sws.loadbalancer import service as lb
from sws.netfilter import service as nf
from sws.netfilter.model import AgentReport
from tests.unit.console.conftest import Browser, Console

HOSTS = "/admin/netfilter/hosts"
NETWORKS = "/admin/netfilter/networks"


def report(console: Console, host: str, digest: str) -> None:
    driver = console.container.driver("RegionOne")
    nf.record_report(
        db=console.container.db, clock=console.clock,
        directory=nf.CloudDirectory(db=console.container.db, driver=driver),
        report=AgentReport(host=host, target="nft", digest=digest, in_sync=True,
                              elements=2, mode="full", drift={}))


def attention(admin: Browser) -> tuple[int, bool]:
    html = admin.get("/admin/").text
    found = re.search(r'<a href="/admin/netfilter/hosts" id="agents-attention"( class="bad")?>'
                      r"<strong>(\d+)</strong>", html)
    assert found, html
    return int(found.group(2)), bool(found.group(1))


def test_stale_and_unknown_agents_are_counted_in_red_and_badged(console: Console) -> None:
    admin = console.browser("root-admin")
    # lb-1 and edge-1 are configured (the defaults) and never reported
    assert attention(admin) == (2, True)
    host = console.container.driver("RegionOne").list_hypervisors()[0].hostname
    directory = nf.CloudDirectory(db=console.container.db,
                                  driver=console.container.driver("RegionOne"))
    digest = nf.host_ruleset(db=console.container.db, clock=console.clock,
                             directory=directory, host=host).digest()
    report(console, host, digest)
    assert attention(admin) == (2, True)
    report(console, "compute-O1", "")
    assert attention(admin) == (3, True)
    html = admin.get(HOSTS).text
    assert f'data-host="{host}" data-state="current"' in html
    assert 'data-host="compute-O1" data-state="unknown_host"' in html
    assert 'id="unknown-hosts"' in html and "compute-O1" in html
    assert 'data-node="lb-1" data-state="stale"' in html
    assert 'data-edge="edge-1" data-state="stale"' in html
    console.clock.advance(timedelta(seconds=91))
    assert f'data-host="{host}" data-state="stale"' in admin.get(HOSTS).text
    assert attention(admin) == (4, True)


def test_a_network_that_rules_use_is_kept_unless_the_box_is_ticked(console: Console) -> None:
    admin = console.browser("root-admin")
    admin.post(NETWORKS, {"cidr": "10.8.0.0/16"}, page=NETWORKS)
    admin.post("/admin/netfilter/rules", {"scope": "all", "destination": "10.8.1.0/24",
                                          "protocol": "tcp", "port_min": "5432",
                                          "reason": "database"}, page="/admin/netfilter/rules")
    (network,) = nf.list_internal_networks(db=console.container.db)
    (rule,) = nf.list_rules(db=console.container.db)
    url = f"{NETWORKS}/{network.id}/delete"
    kept = admin.post(url, page=NETWORKS, follow=True)
    assert "delete_rules: " in kept.text and rule.rule.id in kept.text
    assert len(nf.list_internal_networks(db=console.container.db)) == 1
    gone = admin.post(url, {"delete_rules": "on"}, page=NETWORKS, follow=True)
    assert "Internal network deleted." in gone.text
    assert nf.list_rules(db=console.container.db) == []


def test_the_added_network_is_shown_as_stored(console: Console) -> None:
    admin = console.browser("root-admin")
    done = admin.post(NETWORKS, {"cidr": "FD00:5A5::/64"}, page=NETWORKS, follow=True)
    assert "Internal network fd00:5a5::/64 added." in done.text
    refused = admin.post(NETWORKS, {"cidr": "10.252.2.0"}, page=NETWORKS, follow=True)
    assert "cidr: 10.252.2.0 has no prefix length" in refused.text


def test_an_agent_that_missed_a_change_is_behind_until_it_reports_the_new_one(
    console: Console,
) -> None:
    admin = console.browser("root-admin")
    host = console.container.driver("RegionOne").list_hypervisors()[0].hostname
    directory = nf.CloudDirectory(db=console.container.db,
                                  driver=console.container.driver("RegionOne"))

    def expected() -> str:
        return nf.host_ruleset(db=console.container.db, clock=console.clock,
                               directory=directory, host=host).digest()

    report(console, host, expected())
    assert f'data-host="{host}" data-state="current"' in admin.get(HOSTS).text
    admin.post(NETWORKS, {"cidr": "10.9.0.0/16"}, page=NETWORKS)
    admin.post("/admin/netfilter/rules", {"scope": "all", "destination": "10.9.1.0/24",
                                          "protocol": "tcp", "port_min": "443",
                                          "reason": "intranet web"}, page="/admin/netfilter/rules")
    assert f'data-host="{host}" data-state="behind"' in admin.get(HOSTS).text
    report(console, host, expected())
    assert f'data-host="{host}" data-state="current"' in admin.get(HOSTS).text


def test_a_load_balancer_node_that_missed_a_new_lb_is_behind(console: Console) -> None:
    admin = console.browser("root-admin")
    config = console.container.lb_config
    version = lb.current_version(db=console.container.db)
    lb.report(db=console.container.db, clock=console.clock, config=config, node="lb-1",
              version=version, members={})
    assert 'data-node="lb-1" data-state="current"' in admin.get(HOSTS).text
    alice = console.browser("alice")
    created = alice.post("/console/loadbalancers",
                         {"name": "web", "type": "http", "algorithm": "roundrobin"},
                         page="/console/loadbalancers")
    assert created.status_code == 303, created.text
    assert 'data-node="lb-1" data-state="behind"' in admin.get(HOSTS).text
    assert attention(admin) == (2, True)  # lb-1 behind, edge-1 never reported


def test_a_cdn_edge_is_current_once_it_reports_the_expected_configuration(
    console: Console,
) -> None:
    admin = console.browser("root-admin")
    config = console.container.cdn_config
    state = cdn.edge_state(db=console.container.db, config=config, edge="edge-1")
    cdn.report(db=console.container.db, clock=console.clock, config=config, edge="edge-1",
               digest="an older configuration", purges={})
    assert 'data-edge="edge-1" data-state="behind"' in admin.get(HOSTS).text
    cdn.report(db=console.container.db, clock=console.clock, config=config, edge="edge-1",
               digest=state.digest, purges={})
    assert 'data-edge="edge-1" data-state="current"' in admin.get(HOSTS).text
    console.clock.advance(timedelta(seconds=config.edge_timeout_seconds + 1))
    assert 'data-edge="edge-1" data-state="stale"' in admin.get(HOSTS).text
