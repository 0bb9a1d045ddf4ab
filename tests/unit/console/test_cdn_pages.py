"""CDN pages: the menu entry, creating a distribution from a load balancer, its domains with the
TXT record, settings, purges with each edge's state, traffic graphs, and tenant scoping."""

from __future__ import annotations

from sws.cdn import service as cdn
from sws.cdn import traffic
from sws.cdn.traffic_model import ClientTraffic, Counts, TrafficReport
from tests.unit.console.conftest import Browser, Console
from tests.unit.console.test_loadbalancer_pages import create as create_lb

CDN = "/console/cdn"


def create(console: Console, browser: Browser, **fields: str) -> str:
    lb_id = create_lb(console, browser)
    form = {"name": "site", "origin": f"loadbalancer:{lb_id}", "default_ttl": "600", **fields}
    done = browser.post(CDN, form, page=CDN)
    assert done.status_code == 303, done.text
    return str(done.headers["location"]).rsplit("/", 1)[-1]


def test_the_menu_has_cdn_between_monitoring_and_billing(console: Console) -> None:
    html = console.browser("alice").get("/console/").text
    menu = [html.index('href="/console/monitoring"'), html.index('href="/console/cdn"'),
            html.rindex('href="/console/billing/account"')]
    assert menu == sorted(menu)


def test_create_from_a_load_balancer_and_see_it_listed(console: Console) -> None:
    alice = console.browser("alice")
    dist = create(console, alice)
    html = alice.get(f"{CDN}/{dist}").text
    assert "Distribution site created." in html
    assert f"{dist}.cdn.example.com" in html and "HTTP load balancer" in html
    listing = alice.get(CDN).text
    assert 'data-distribution="site"' in listing and "600" in listing


def test_a_bad_ttl_is_shown_on_the_form(console: Console) -> None:
    alice = console.browser("alice")
    lb_id = create_lb(console, alice)
    refused = alice.post(CDN, {"name": "x", "origin": f"loadbalancer:{lb_id}",
                               "default_ttl": "99999999"}, page=CDN)
    assert refused.status_code == 422 and 'id="form-error"' in refused.text


def test_a_domain_needs_its_txt_record_which_the_page_names(console: Console) -> None:
    alice = console.browser("alice")
    dist = create(console, alice)
    page = f"{CDN}/{dist}"
    refused = alice.post(f"{page}/domains", {"domain": "static.acme.example"}, page=page,
                         follow=True)
    assert "_sws-challenge.static.acme.example" in refused.text
    console.txt.prove("static.acme.example", console.tenants["acme"])
    added = alice.post(f"{page}/domains", {"domain": "static.acme.example"}, page=page,
                       follow=True)
    assert 'data-domain="static.acme.example"' in added.text
    assert f'sws-project={console.tenants["acme"]}' in added.text
    assert f"static.acme.example. CNAME {dist}.cdn.example.com." in added.text


def test_settings_and_a_purge_with_each_edges_state(console: Console) -> None:
    alice = console.browser("alice")
    dist = create(console, alice)
    page = f"{CDN}/{dist}"
    saved = alice.post(f"{page}/settings", {"name": "site", "default_ttl": "60",
                                            "enabled": "1"}, page=page, follow=True)
    assert "Settings saved." in saved.text
    row = cdn.get_distribution(db=console.container.db, project_id=console.tenants["acme"],
                               distribution_id=dist)
    assert (row.settings.default_ttl, row.settings.honour_origin) == (60, False)
    bad = alice.post(f"{page}/purges", {"kind": "url", "value": "no-slash"}, page=page,
                     follow=True)
    assert 'data-purge="' not in bad.text
    purged = alice.post(f"{page}/purges", {"kind": "url", "value": "/a.png", "mode": "soft"},
                        page=page, follow=True)
    assert 'data-state="accepted"' in purged.text and 'data-edge="edge-1"' in purged.text


def test_the_graphs_show_the_hours_traffic_and_hit_ratio(console: Console) -> None:
    alice = console.browser("alice")
    dist = create(console, alice)
    report = TrafficReport("edge-1", "log", 0, 100, (
        ClientTraffic(dist, "192.0.2.1", Counts(hit_requests=3, miss_requests=1,
                                                hit_bytes=3000, miss_bytes=1000)),))
    traffic.record(db=console.container.db, clock=console.container.clock,
                   config=console.container.cdn_config, report=report)
    html = alice.get(f"{CDN}/{dist}").text
    assert 'id="graph-1"' in html and 'id="graph-2"' in html and 'id="graph-3"' in html
    assert "latest 4 " in html and "latest 75 %" in html


def test_another_tenants_distribution_is_not_found(console: Console) -> None:
    dist = create(console, console.browser("alice"))
    bob = console.browser("bob")
    assert bob.get(f"{CDN}/{dist}").status_code == 404
    assert 'data-distribution="site"' not in bob.get(CDN).text
    page = f"{CDN}/{dist}"
    refused = bob.post(f"{page}/purges", {"kind": "all"}, page=CDN, follow=True)
    assert "could not be found" in refused.text
