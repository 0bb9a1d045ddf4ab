"""Volumes page: create on an instance's host, attach (only same-host instances offered),
snapshot chain with bytes added and content hashes, restore, schedule, the refusals shown as
flashes, volume snapshots on the Snapshots page, tenant scoping; and the view's helpers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sws.drivers.base import Flavor, Server, ServerCreate
from sws.drivers.volumes import VolumeSnapshot
from sws.errors import Invalid
from sws.web.console.views.volumes import chains, placement, same_host, short_hash
from tests.unit.console.conftest import Browser, Console

PAGE = "/console/volumes"
MIB = 1024 * 1024
WHEN = datetime(2026, 3, 2, 10, 27, tzinfo=UTC)


def launch(console: Console, name: str = "db-1") -> str:
    driver = console.container.driver("RegionOne")
    tenant_id = console.tenants["acme"]
    flavor = next(f for f in driver.list_flavors() if f.name == "m1.small")
    image = next(i for i in driver.list_images(tenant_id) if i.status == "active")
    (server,) = driver.create_servers(tenant_id, "u", ServerCreate(
        name=name, flavor_id=flavor.id, image_id=image.id))
    console.settle()
    return server.id


def post(alice: Browser, path: str, data: dict[str, str] | None = None) -> str:
    done = alice.post(path, data, page=PAGE, follow=True)
    assert done.status_code == 200, done.text[-2000:]
    return done.text


def volume_id(console: Console, name: str) -> str:
    storage = console.container.block_storage("RegionOne")
    return next(v.id for v in storage.list_volumes(console.tenants["acme"]) if v.name == name)


def stored_bytes(html: str) -> dict[str, int]:
    rows = re.findall(r'<tr data-snapshot="([^"]+)">.*?data-field="stored-bytes">([0-9,]+) bytes',
                      html, re.S)
    return {name: int(number.replace(",", "")) for name, number in rows}


def snapshot_hashes(html: str) -> dict[str, str]:
    rows = re.findall(r'<tr data-snapshot="([^"]+)">.*?data-hash="([0-9a-f]+)"', html, re.S)
    return dict(rows)


def test_a_tenant_snapshots_a_volume_and_restores_the_second_snapshot(console: Console) -> None:
    server_id = launch(console)
    alice = console.browser("alice")
    html = post(alice, PAGE, {"name": "data", "size_gb": "1", "volume_type": "local-ssd",
                              "where": f"server:{server_id}"})
    assert "Volume data created." in html and 'data-volume="data"' in html
    vid = volume_id(console, "data")
    html = post(alice, f"{PAGE}/{vid}/attach", {"server_id": server_id})
    assert "Volume attached." in html and "/dev/vdb" in html
    post(alice, f"{PAGE}/{vid}/write", {"offset_mib": "0", "length_mib": "8"})
    post(alice, f"{PAGE}/{vid}/snapshot", {"name": "first"})
    console.clock.advance(timedelta(minutes=1))
    html = post(alice, f"{PAGE}/{vid}/write", {"offset_mib": "8", "length_mib": "4"})
    assert "4 MiB of test data written." in html
    html = post(alice, f"{PAGE}/{vid}/snapshot", {"name": "second"})
    added = stored_bytes(html)  # random bytes: compressed, each a little over what was written
    assert list(added) == ["first", "second"]  # the chain, oldest first
    assert 8 * MIB <= added["first"] < 8.1 * MIB and 4 * MIB <= added["second"] < 4.1 * MIB
    second = snapshot_hashes(html)["second"]
    storage = console.container.block_storage("RegionOne")
    snaps = {s.name: s.id for s in storage.list_volume_snapshots(console.tenants["acme"])}
    html = post(alice, f"/console/volume-snapshots/{snaps['first']}/delete")
    assert 'data-snapshot="first"' not in html
    html = post(alice, f"/console/volume-snapshots/{snaps['second']}/restore",
                {"name": "copy"})
    assert "Snapshot restored to a new volume." in html
    section = html[html.index('<section class="card volume" id="volume-'
                              f'{volume_id(console, "copy")}"'):]
    assert f'data-hash="{second}"' in section.split("</dl>")[0]


def test_attach_offers_only_instances_on_the_volume_host(console: Console) -> None:
    here, there = launch(console, "here"), launch(console, "there")
    driver = console.container.driver("RegionOne")
    hosts = {s.id: s.host for s in (driver.get_server(console.tenants["acme"], i)
                                    for i in (here, there))}
    alice = console.browser("alice")
    post(alice, PAGE, {"name": "local", "size_gb": "1", "where": f"server:{here}"})
    html = alice.get(PAGE).text
    attach = html[html.index('class="inline-form attach"'):].split("</form>")[0]
    assert ">here<" in attach
    assert (">there<" in attach) == (hosts[here] == hosts[there])
    assert "a local volume attaches only to an instance on its own host" in html
    if hosts[here] != hosts[there]:
        html = post(alice, f"{PAGE}/{volume_id(console, 'local')}/attach", {"server_id": there})
        assert 'class="flash error"' in html and "only to an instance on its host" in html


def test_refusals_are_flashes_and_the_schedule_is_kept(console: Console) -> None:
    server_id = launch(console)
    alice = console.browser("alice")
    post(alice, PAGE, {"name": "logs", "size_gb": "2", "where": f"server:{server_id}"})
    vid = volume_id(console, "logs")
    html = post(alice, f"{PAGE}/{vid}/extend", {"size_gb": "1"})
    assert 'class="flash error"' in html and "larger than the volume" in html
    post(alice, f"{PAGE}/{vid}/attach", {"server_id": server_id})
    html = post(alice, f"{PAGE}/{vid}/delete")
    assert 'class="flash error"' in html and "detach it first" in html
    html = post(alice, f"{PAGE}/{vid}/schedule", {"daily_keep": "5", "weekly_keep": "2"})
    assert "Snapshot schedule saved." in html
    assert 'name="daily_keep" type="number" min="0" max="90" value="5"' in html
    html = post(alice, f"{PAGE}/{vid}/schedule", {"daily_keep": "0", "weekly_keep": "0"})
    assert 'class="flash error"' in html
    post(alice, f"{PAGE}/{vid}/detach")
    html = post(alice, f"{PAGE}/{vid}/extend", {"size_gb": "3"})
    assert "Volume extended." in html and "3 GB" in html
    html = post(alice, f"{PAGE}/{vid}/delete")
    assert "Volume deleted." in html and 'data-volume="logs"' not in html


def test_volume_snapshots_are_on_the_snapshots_page_and_scoped(console: Console) -> None:
    server_id = launch(console)
    alice = console.browser("alice")
    post(alice, PAGE, {"name": "mine", "size_gb": "1", "where": f"server:{server_id}"})
    vid = volume_id(console, "mine")
    post(alice, f"{PAGE}/{vid}/snapshot", {"name": "nightly"})
    assert 'data-volume-snapshot="nightly"' in alice.get("/console/snapshots").text
    bob = console.browser("bob")
    assert 'data-volume="mine"' not in bob.get(PAGE).text
    refused = bob.post(f"{PAGE}/{vid}/delete", page=PAGE, follow=True)
    assert 'class="flash error"' in refused.text
    assert volume_id(console, "mine") == vid


def test_a_form_without_its_csrf_token_changes_nothing(console: Console) -> None:
    alice = console.browser("alice")
    refused = alice.post(PAGE, {"name": "sneaky", "size_gb": "1"}, csrf="0" * 64)
    assert refused.status_code == 403
    assert 'data-volume="sneaky"' not in alice.get(PAGE).text


# ---- helpers ----------------------------------------------------------------------------------

def server(host: str | None, name: str = "vm") -> Server:
    flavor = Flavor(id="f", name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20)
    return Server(id=f"id-{name}", name=name, project_id="p", user_id="u", flavor=flavor,
                  image_id="i", status="ACTIVE", vm_state="active", task_state=None,
                  power_state="running", host=host, fixed_ips=(), floating_ips=(),
                  key_name=None, security_groups=(), created_at=WHEN, updated_at=WHEN)


def test_placement_reads_the_host_of_the_chosen_instance() -> None:
    servers = [server("compute-02", "db"), server(None, "building")]
    assert placement("", servers) is None
    assert placement("server:id-db", servers) == "compute-02"
    for bad in ("server:id-building", "server:nope", "disk:x"):
        try:
            placement(bad, servers)
        except Invalid as error:
            assert error.field == "host"
        else:
            raise AssertionError(f"{bad} was accepted")


@given(st.lists(st.sampled_from(["compute-01", "compute-02", None]), max_size=8),
       st.sampled_from(["compute-01", "compute-02", None]))
def test_only_instances_on_the_volume_host_are_attachable(hosts: list[str | None],
                                                         host: str | None) -> None:
    servers = [server(h, str(i)) for i, h in enumerate(hosts)]
    offered = same_host(servers, host)
    assert all(s.host == host and host is not None for s in offered)
    assert len(offered) == (sum(1 for h in hosts if h == host) if host else 0)


def test_chains_are_per_volume_and_oldest_first() -> None:
    def snap(name: str, volume: str, minute: int) -> VolumeSnapshot:
        return VolumeSnapshot(id=name, name=name, project_id="p", volume_id=volume, size_gb=1,
                              status="available", created_at=WHEN.replace(minute=minute))

    found = chains([snap("b", "v1", 30), snap("a", "v1", 10), snap("c", "v2", 5)])
    assert [s.name for s in found["v1"]] == ["a", "b"] and [s.name for s in found["v2"]] == ["c"]
    assert short_hash("ab" * 32) == "ab" * 6 and short_hash(None) == ""
