"""Load Balancers pages: create with a member, endpoints and health, members, host names,
tenant scoping, CSRF, and the instances' public-domain column and its confirmed action."""

from __future__ import annotations

import re

from sws.drivers.base import ServerCreate
from sws.loadbalancer import service as lb
from sws.loadbalancer.service import LBConfig
from tests.unit.console.conftest import Browser, Console


def launch(console: Console, tenant: str, name: str) -> str:
    driver = console.container.driver("RegionOne")
    tenant_id = console.tenants[tenant]
    flavor = next(f for f in driver.list_flavors() if f.name == "m1.small")
    image = next(i for i in driver.list_images(tenant_id) if i.status == "active")
    (server,) = driver.create_servers(tenant_id, "u", ServerCreate(
        name=name, flavor_id=flavor.id, image_id=image.id))
    console.settle()
    return server.id


def create(console: Console, browser: Browser | None = None, **fields: str) -> str:
    browser = browser or console.browser("alice")
    form = {"name": "web", "type": "http", "algorithm": "roundrobin", **fields}
    done = browser.post("/console/loadbalancers", form, page="/console/loadbalancers")
    assert done.status_code == 303, done.text
    return str(done.headers["location"]).rsplit("/", 1)[-1]


def test_create_an_http_lb_with_a_member_and_see_endpoint_and_health(console: Console) -> None:
    server_id = launch(console, "acme", "web-1")
    alice = console.browser("alice")
    console.txt.prove("www.acme.example", console.tenants["acme"])
    lb_id = create(console, alice, server_id=server_id, port="8080",
                   custom_hosts="www.acme.example")
    html = alice.get(f"/console/loadbalancers/{lb_id}").text
    assert "Load balancer web created." in html
    zone = LBConfig.from_settings(console.container.settings).zone
    assert re.search(rf"http://[a-z0-9]{{10}}\.{re.escape(zone)}/", html)
    assert "http://www.acme.example/" in html
    assert 'data-member="web-1"' in html and ":8080" in html and "not checked" in html
    listing = alice.get("/console/loadbalancers").text
    assert 'data-lb="web"' in listing and "Round robin" in listing


def test_tcp_lb_gets_a_port_and_members_come_and_go(console: Console) -> None:
    server_id = launch(console, "acme", "db-1")
    lb_id = create(console, name="db", type="tcp", algorithm="leastconn")
    alice = console.browser("alice")
    page = f"/console/loadbalancers/{lb_id}"
    added = alice.post(f"{page}/members", {"server_id": server_id, "port": "5432"}, page=page,
                       follow=True)
    assert "Member added." in added.text
    assert re.search(r"<code>[a-z0-9]{10}\.[^<]+:1\d{4}</code>", added.text)
    bad = alice.post(f"{page}/members", {"server_id": server_id, "port": "70000"}, page=page,
                     follow=True)
    assert "port must be a whole number from 1 to 65535" in bad.text
    member = re.search(rf"{page}/members/([0-9a-f]+)/delete", added.text)
    assert member
    gone = alice.post(f"{page}/members/{member.group(1)}/delete", page=page, follow=True)
    assert "Member removed." in gone.text and 'data-member="db-1"' not in gone.text


def test_members_must_be_the_tenants_own_instances(console: Console) -> None:
    theirs = launch(console, "globex", "bob-vm")
    lb_id = create(console)
    alice = console.browser("alice")
    page = f"/console/loadbalancers/{lb_id}"
    refused = alice.post(f"{page}/members", {"server_id": theirs, "port": "80"}, page=page,
                         follow=True)
    assert "could not be found" in refused.text
    assert 'data-member="bob-vm"' not in refused.text


def test_another_tenants_lb_is_a_404_page(console: Console) -> None:
    lb_id = create(console)
    bob = console.browser("bob")
    response = bob.get(f"/console/loadbalancers/{lb_id}")
    assert response.status_code == 404 and "<html" in response.text
    deleted = bob.post(f"/console/loadbalancers/{lb_id}/delete", page="/console/loadbalancers",
                       follow=True)
    assert "could not be found" in deleted.text
    assert console.browser("alice").get(f"/console/loadbalancers/{lb_id}").status_code == 200


def test_bad_input_comes_back_on_the_form(console: Console) -> None:
    alice = console.browser("alice")
    response = alice.post("/console/loadbalancers", {
        "name": "api", "type": "http", "algorithm": "roundrobin", "monitor_type": "http",
        "http_path": "health", "custom_hosts": "not a host"}, page="/console/loadbalancers")
    assert response.status_code == 422
    assert 'id="form-error"' in response.text and 'value="api"' in response.text
    path = alice.post("/console/loadbalancers", {
        "name": "api", "type": "http", "monitor_type": "http", "http_path": "health"},
        page="/console/loadbalancers")
    assert path.status_code == 422 and "monitor.http_path" in path.text
    assert lb.list_loadbalancers(
        db=console.container.db, clock=console.clock,
        config=LBConfig.from_settings(console.container.settings),
        project_id=console.tenants["acme"]) == []


def test_custom_host_names_are_added_and_removed(console: Console) -> None:
    console.txt.prove("shop.acme.example", console.tenants["acme"])
    lb_id = create(console)
    alice = console.browser("alice")
    page = f"/console/loadbalancers/{lb_id}"
    added = alice.post(f"{page}/hosts", {"host": "shop.acme.example"}, page=page, follow=True)
    assert "Host name shop.acme.example added." in added.text
    taken = create(console, name="other")
    again = alice.post(f"/console/loadbalancers/{taken}/hosts", {"host": "shop.acme.example"},
                       page=page, follow=True)
    assert 'class="flash error"' in again.text
    removed = alice.post(f"{page}/hosts/delete", {"host": "shop.acme.example"}, page=page,
                         follow=True)
    assert "Host name shop.acme.example removed." in removed.text


def test_forms_without_csrf_are_refused(console: Console) -> None:
    alice = console.browser("alice")
    refused = alice.post("/console/loadbalancers", {"name": "x", "type": "http"}, csrf="bad")
    assert refused.status_code == 403 and "form has expired" in refused.text
    assert alice.post("/console/instances/x/public-domain", csrf="").status_code == 403


def test_public_domain_column_and_one_click(console: Console) -> None:
    server_id = launch(console, "acme", "ssh-box")
    launch(console, "acme", "plain")
    alice = console.browser("alice")
    before = alice.get("/console/instances").text
    assert f'formaction="/console/instances/{server_id}/public-domain"' in before
    done = alice.post(f"/console/instances/{server_id}/public-domain", {"confirm": "yes"},
                      page="/console/instances", follow=True)
    zone = LBConfig.from_settings(console.container.settings).zone
    endpoint = re.search(rf"[a-z0-9]{{10}}\.{re.escape(zone)}:\d+", done.text)
    assert endpoint and f"Public domain {endpoint.group(0)} created." in done.text
    row = re.search(r'<tr data-id="' + server_id + r'".*?</tr>', done.text, re.S)
    assert row and f"<code>{endpoint.group(0)}</code>" in row.group(0)
    again = alice.post(f"/console/instances/{server_id}/public-domain", {"confirm": "yes"},
                       page="/console/instances", follow=True)
    assert "already has a public domain" in again.text
    bob = console.browser("bob")
    assert endpoint.group(0) not in bob.get("/console/instances").text


def test_public_domains_are_one_query_per_page(console: Console) -> None:
    from sqlalchemy import event

    ids = [launch(console, "acme", f"vm-{n}") for n in range(3)]
    alice = console.browser("alice")
    for server_id in ids:
        alice.post(f"/console/instances/{server_id}/public-domain", {"confirm": "yes"},
                   page="/console/instances")
    statements: list[str] = []
    engine = console.container.db.engine
    listener = lambda *args: statements.append(str(args[2]))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        html = alice.get("/console/instances").text
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert html.count('<td data-field="domain"><code>') == 3
    assert sum("lb_loadbalancers" in s for s in statements) == 1


def test_a_blank_name_is_refused_by_the_service_rule(console: Console) -> None:
    alice = console.browser("alice")
    response = alice.post("/console/loadbalancers", {"name": "   ", "type": "http"},
                          page="/console/loadbalancers")
    assert response.status_code == 422
    assert "name is required" in response.text
