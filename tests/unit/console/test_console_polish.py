"""Issue 18's rough edges on the tenant pages: the private key's download, snapshots named by
their instance, collapsed security groups, the launch form's images and flavor cards, a public
domain confirmed with its price, and load-balancer members whose health the region knows."""

from __future__ import annotations

import base64
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sws.drivers.base import ServerCreate
from sws.loadbalancer import service as lb
from tests.unit.console.conftest import Console
from tests.unit.console.test_billing import with_catalog


def launch(console: Console, name: str, tenant: str = "acme") -> str:
    driver = console.container.driver()
    tenant_id = console.tenants[tenant]
    flavor = next(f.id for f in driver.list_flavors() if f.name == "m1.small")
    image = next(i.id for i in driver.list_images(tenant_id)
                 if i.status == "active" and i.image_type != "snapshot")
    server = driver.create_servers(tenant_id, "someone", ServerCreate(
        name=name, flavor_id=flavor, image_id=image))[0]
    console.settle()
    return server.id


# ---- key pairs --------------------------------------------------------------------------------

def test_a_generated_key_downloads_as_a_pem_file_from_the_page_itself(console: Console) -> None:
    alice = console.browser("alice")
    made = alice.post("/console/key-pairs", {"name": "laptop key"}, page="/console/key-pairs")
    assert made.status_code == 200
    link = re.search(r'<a class="button primary" id="download-key" href="data:application/'
                     r'x-pem-file;base64,([A-Za-z0-9+/=]+)" download="([^"]+)"', made.text)
    assert link, made.text
    key = base64.b64decode(link.group(1)).decode()
    assert key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert link.group(2) == "laptop_key.pem"  # named after the key, safe as a file name
    shown = re.search(r'<pre class="command" id="private-key-text">([^<]+)</pre>', made.text)
    assert shown and shown.group(1).strip() == key.strip()  # the same key, shown once too
    # SWS keeps nothing: the list and the region know only the public half
    again = alice.get("/console/key-pairs").text
    assert "BEGIN OPENSSH PRIVATE KEY" not in again and "download-key" not in again
    stored = console.container.driver().list_keypairs(console.tenants["acme"])
    assert [k.private_key for k in stored] == [None]


def test_an_imported_key_has_nothing_to_download(console: Console) -> None:
    alice = console.browser("alice")
    public = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    made = alice.post("/console/key-pairs", {"name": "mine", "public_key": public},
                      page="/console/key-pairs")
    assert "Key pair mine imported." in made.text and "download-key" not in made.text


# ---- snapshots ---------------------------------------------------------------------------------

def test_snapshots_name_their_instance_not_an_8_character_id(console: Console) -> None:
    server_id = launch(console, "web-1")
    driver = console.container.driver()
    driver.create_snapshot(console.tenants["acme"], server_id, "web-1-before-upgrade")
    console.settle()
    html = console.browser("alice").get("/console/snapshots").text
    cell = re.search(r'<td data-field="instance">(.*?)</td>', html, re.S)
    assert cell and cell.group(1) == f'<a href="/console/instances/{server_id}">web-1</a>'
    driver.delete_server(console.tenants["acme"], server_id)
    console.settle()
    gone = console.browser("alice").get("/console/snapshots").text
    assert "deleted instance" in gone and f">{server_id[:8]}<" not in gone


# ---- security groups ---------------------------------------------------------------------------

def test_security_groups_are_collapsed_and_the_changed_one_opens(console: Console) -> None:
    alice = console.browser("alice")
    page = "/console/security-groups"
    for name in ("web", "db"):
        alice.post(page, {"name": name, "description": f"{name} tier"}, page=page)
    html = alice.get(page).text
    groups = re.findall(r'<details class="card group" id="group-([^"]+)" data-group="([^"]+)"'
                        r'( open)?>', html)
    assert sorted(name for _, name, _ in groups) == ["db", "default", "web"]
    assert all(not opened for _, _, opened in groups)  # three groups: all collapsed
    web = next(gid for gid, name, _ in groups if name == "web")
    added = alice.post(f"{page}/{web}/rules", {"direction": "ingress", "protocol": "tcp",
                                               "port_min": "443", "cidr": "0.0.0.0/0"}, page=page)
    assert added.headers["location"] == f"{page}?group={web}#group-{web}"
    shown = alice.get(added.headers["location"]).text
    assert f'id="group-{web}" data-group="web" open>' in shown
    assert "Rule added." in shown
    # every rule input has a label, and the directions are words
    assert re.search(r"<label>From port <input name=\"port_min\"", shown)
    assert "<label>Remote CIDR <input" in shown and "ingress (in)" in shown
    filtered = alice.get(f"{page}?name=db").text
    assert 'data-group="db" open>' in filtered  # a filter down to a few groups opens them


def test_security_groups_in_chinese(console: Console) -> None:
    alice = console.browser("alice", **{"Accept-Language": "zh-CN"})
    html = alice.get("/console/security-groups").text
    assert "入方向" in html and "起始端口" in html and "条规则" in html and "默认安全组" in html


# ---- launch form -------------------------------------------------------------------------------

def test_launch_offers_os_images_first_and_snapshots_apart(console: Console) -> None:
    server_id = launch(console, "web-1")
    console.container.driver().create_snapshot(console.tenants["acme"], server_id, "golden")
    console.settle(10)  # saving, then active: only active images are offered
    html = console.browser("alice").get("/console/instances/launch").text
    select = re.search(r'<select name="image_id" required>(.*?)</select>', html, re.S)
    assert select
    first = re.search(r"\s*<option[^>]*>([^<]+)</option>", select.group(1))
    assert first and first.group(1) != "golden"  # the default is an OS image
    group = re.search(r'<optgroup label="Your snapshots">(.*?)</optgroup>', select.group(1))
    assert group and ">golden</option>" in group.group(1)
    assert ">golden</option>" not in select.group(1).split("<optgroup")[0]


def test_flavor_cards_are_labels_grouped_by_the_unit_of_their_price(console: Console) -> None:
    alice = console.browser("alice")
    plain = alice.get("/console/instances/launch").text
    assert 'class="flavor-unit"' not in plain  # no catalog: no price, no unit heading
    with_catalog(console)
    html = alice.get("/console/instances/launch").text
    card = re.search(r'<label class="flavor-card" data-flavor="m1.small">(.*?)</label>', html,
                     re.S)
    assert card and 'id="flavor-m1.small"' in card.group(1)  # the whole card is the label
    assert "CN¥0.42 / hour" in card.group(1)
    hourly = html.split('id="flavor-unit-hour"')[1].split('class="flavor-unit"')[0]
    monthly = html.split('id="flavor-unit-month"')[1]
    assert "Charged by the hour" in html and "Prepaid by the month" in html
    assert "/ month" not in hourly and "CN¥400.00 / month" in monthly
    assert html.count(' checked>') + html.count(' checked ') >= 1


# ---- public domains and load balancers --------------------------------------------------------

def test_a_public_domain_is_confirmed_with_its_price_first(console: Console) -> None:
    with_catalog(console)
    server_id = launch(console, "ssh-box")
    alice = console.browser("alice")
    path = f"/console/instances/{server_id}/public-domain"
    one_click = alice.post(path, page="/console/instances")
    assert one_click.status_code == 303 and one_click.headers["location"] == path
    assert lb.public_domains(db=console.container.db, project_id=console.tenants["acme"],
                             server_ids=[server_id]) == {}  # nothing billable yet
    confirm = alice.get(path).text
    assert 'id="public-domain-price" data-field="price">CN¥1.00 / day<' in confirm
    assert "Create public domain for CN¥1.00 / day" in confirm
    done = alice.post(path, {"confirm": "yes"}, page=path, follow=True)
    assert "Public domain" in done.text and "created." in done.text
    shown = alice.get(path).text
    assert 'id="existing-domain"' in shown and "Remove public domain" in shown
    assert console.browser("bob").get(path).status_code == 404


def test_a_public_domain_goes_with_its_instance(console: Console) -> None:
    server_id = launch(console, "short-lived")
    alice = console.browser("alice")
    alice.post(f"/console/instances/{server_id}/public-domain", {"confirm": "yes"},
               page="/console/instances")
    views = lb.list_loadbalancers(db=console.container.db, clock=console.clock,
                                  config=console.container.lb_config,
                                  project_id=console.tenants["acme"])
    (domain,) = views
    console.container.driver().delete_server(console.tenants["acme"], server_id)
    console.settle(30)
    assert lb.list_loadbalancers(db=console.container.db, clock=console.clock,
                                 config=console.container.lb_config,
                                 project_id=console.tenants["acme"]) == []
    assert alice.get(f"/console/loadbalancers/{domain.row.id}").status_code == 404


def test_a_running_member_nobody_checked_says_so(console: Console) -> None:
    server_id = launch(console, "web-1")
    alice = console.browser("alice")
    made = alice.post("/console/loadbalancers", {"name": "web", "type": "tcp",
                                                 "server_id": server_id, "port": "80"},
                      page="/console/loadbalancers")
    page = made.headers["location"]
    html = alice.get(page).text
    assert re.search(r'data-field="health">not checked<', html)
    assert "no load-balancer node has reported yet" in html
    listing = alice.get("/console/loadbalancers").text
    assert 'id="jump-create-lb"' in listing and 'id="create-lb-card"' in listing
    assert "The price catalog has no price for load balancers." in listing
    with_catalog(console)
    assert "Each load balancer costs CN¥1.00 / day." in alice.get("/console/loadbalancers").text
