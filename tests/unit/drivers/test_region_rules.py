"""The region refuses what Nova and Neutron refuse: full hosts, quotas, bad bodies, strangers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.drivers.base import (
    Quota,
    SecurityGroupRuleCreate,
    ServerCreate,
    ServerFilter,
)
from sws.drivers.simulated import SimulatedRegion
from sws.drivers.simulated.catalog import HostShape
from sws.errors import Conflict, Invalid, NotFound, QuotaExceeded

from .conftest import OTHER, PROJECT, USER, ListBus, boot, cirros, make_region, settle, ubuntu

ED25519 = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2NCIn8hM1CytHHAxR9guF90ZljAAAwp3gDucAiAsnj alice@laptop"
)


def spec(flavor_id: str = "2", **fields: Any) -> ServerCreate:
    fields.setdefault("image_id", cirros())
    return ServerCreate(name=fields.pop("name", "web"), flavor_id=flavor_id, **fields)


def test_no_valid_host_when_full_and_nothing_is_written(
    database: Database, clock: SimulatedClock, bus: ListBus
) -> None:
    small = HostShape(vcpus=4, ram_mb=8192, disk_gb=200)
    region = make_region(database, clock, bus, hypervisor_count=1, host_shape=small)
    region.create_servers(PROJECT, USER, spec("4"))  # 8 GiB: the host is now full of RAM
    bus.clear()

    with pytest.raises(Conflict, match="No valid host was found"):
        region.create_servers(PROJECT, USER, spec("1"))
    with pytest.raises(Conflict):
        region.create_servers(OTHER, USER, spec("1", count=2))
    assert len(region.list_servers(PROJECT, ServerFilter(), 10, None)) == 1
    assert region.list_all_servers(ServerFilter(), 10, None)[0].flavor.name == "m1.large"
    assert bus.envelopes == []


def test_quota_exceeded_names_the_resource(
    database: Database, clock: SimulatedClock, bus: ListBus
) -> None:
    region = make_region(database, clock, bus, quota=Quota(instances=2, cores=3))
    region.create_servers(PROJECT, USER, spec("2", count=2))
    with pytest.raises(QuotaExceeded, match="Quota exceeded for instances"):
        region.create_servers(PROJECT, USER, spec("1"))
    region.create_servers(OTHER, USER, spec("1"))  # quotas are per project
    with pytest.raises(QuotaExceeded, match="Quota exceeded for cores"):
        region.create_servers(OTHER, USER, spec("4"))
    usage = region.quota_usage(PROJECT)
    assert (usage.instances, usage.cores, usage.ram_mb) == (2, 2, 4096)


def test_floating_ip_quota(database: Database, clock: SimulatedClock, bus: ListBus) -> None:
    region = make_region(database, clock, bus, quota=Quota(floating_ips=1))
    region.allocate_floating_ip(PROJECT)
    with pytest.raises(QuotaExceeded, match="floatingip"):
        region.allocate_floating_ip(PROJECT)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (spec("nope"), "flavor_id"),
        (spec("1", image_id="missing"), "image_id"),
        (spec("1", image_id=ubuntu()), "flavor_id"),  # 1 GB disk < ubuntu's min_disk 10 GB
        (spec(key_name="nokey"), "key_name"),
        (spec(security_groups=("nogroup",)), "security_groups"),
        (spec(name=" "), "name"),
    ],
)
def test_bad_create_bodies_name_the_field(
    region: SimulatedRegion, body: ServerCreate, field: str
) -> None:
    with pytest.raises(Invalid) as error:
        region.create_servers(PROJECT, USER, body)
    assert error.value.field == field
    assert region.list_servers(PROJECT, ServerFilter(), 10, None) == []


def test_illegal_transitions_are_conflicts(region: SimulatedRegion, clock: SimulatedClock) -> None:
    server = boot(region, clock)
    with pytest.raises(Conflict, match=r"Cannot 'start' instance .* vm_state active"):
        region.server_action(PROJECT, server.id, "start")
    with pytest.raises(Conflict, match="vm_state active"):
        region.server_action(PROJECT, server.id, "confirm_resize")
    with pytest.raises(Conflict, match="vm_state active"):
        region.server_action(PROJECT, server.id, "unshelve")
    region.server_action(PROJECT, server.id, "stop")
    with pytest.raises(Conflict, match="task_state powering-off"):
        region.server_action(PROJECT, server.id, "reboot")
    settle(region, clock)
    with pytest.raises(Conflict, match="vm_state stopped"):
        region.server_action(PROJECT, server.id, "stop")
    with pytest.raises(Invalid, match="must change flavor"):
        region.server_action(PROJECT, server.id, "resize", flavor_id="2")
    with pytest.raises(Invalid) as error:
        region.server_action(PROJECT, server.id, "resize", flavor_id="1")  # smaller disk
    assert error.value.field == "flavor_id"


def test_another_projects_server_is_exactly_as_missing_as_a_missing_one(
    region: SimulatedRegion, clock: SimulatedClock
) -> None:
    server = boot(region, clock)
    address = region.allocate_floating_ip(OTHER)
    calls: list[Callable[[str], object]] = [
        lambda sid: region.get_server(OTHER, sid),
        lambda sid: region.server_action(OTHER, sid, "stop"),
        lambda sid: region.create_snapshot(OTHER, sid, "x"),
        lambda sid: region.delete_server(OTHER, sid),
        lambda sid: region.associate_floating_ip(OTHER, address.id, sid),
    ]
    for call in calls:
        with pytest.raises(NotFound) as theirs:
            call(server.id)
        with pytest.raises(NotFound) as missing:
            call("00000000-0000-0000-0000-000000000000")
        assert type(theirs.value) is type(missing.value)
        assert theirs.value.detail.replace(server.id, "X") == missing.value.detail.replace(
            "00000000-0000-0000-0000-000000000000", "X"
        )
    assert region.list_servers(OTHER, ServerFilter(), 10, None) == []
    assert region.get_server(PROJECT, server.id).status == "ACTIVE"


def test_other_projects_network_objects_are_not_found(region: SimulatedRegion) -> None:
    address = region.allocate_floating_ip(PROJECT)
    group = region.create_security_group(PROJECT, "web", "")
    rule = region.add_security_group_rule(
        PROJECT,
        group.id,
        SecurityGroupRuleCreate(protocol="tcp", port_range_min=22, port_range_max=22),
    )
    region.create_keypair(PROJECT, "mine", ED25519)
    for call in (
        lambda: region.release_floating_ip(OTHER, address.id),
        lambda: region.disassociate_floating_ip(OTHER, address.id),
        lambda: region.get_security_group(OTHER, group.id),
        lambda: region.delete_security_group(OTHER, group.id),
        lambda: region.delete_security_group_rule(OTHER, rule.id),
        lambda: region.add_security_group_rule(OTHER, group.id, SecurityGroupRuleCreate()),
        lambda: region.delete_keypair(OTHER, "mine"),
    ):
        with pytest.raises(NotFound):
            call()
    assert region.list_floating_ips(OTHER) == []
    assert region.list_keypairs(OTHER) == []


def test_keypairs_import_generate_and_conflict(region: SimulatedRegion) -> None:
    imported = region.create_keypair(PROJECT, "laptop", ED25519)
    assert imported.fingerprint == "f2:be:0a:bc:c8:e9:f2:79:2f:80:b4:0f:46:48:a5:63"
    assert imported.private_key is None
    generated = region.create_keypair(PROJECT, "fresh", None)
    assert generated.private_key and generated.public_key.startswith("ssh-ed25519 ")
    assert region.list_keypairs(PROJECT)[0].private_key is None  # returned once, never stored
    with pytest.raises(Conflict):
        region.create_keypair(PROJECT, "laptop", ED25519)
    with pytest.raises(Invalid) as error:
        region.create_keypair(PROJECT, "bad", "ssh-rsa AAAA")
    assert error.value.field == "public_key"
    region.delete_keypair(PROJECT, "laptop")
    assert [k.name for k in region.list_keypairs(PROJECT)] == ["fresh"]


def test_security_groups_default_rules_and_in_use(
    region: SimulatedRegion, clock: SimulatedClock
) -> None:
    (default,) = region.list_security_groups(PROJECT)
    assert default.name == "default" and len(default.rules) == 2
    web = region.create_security_group(PROJECT, "web", "http in")
    ssh = SecurityGroupRuleCreate(protocol="tcp", port_range_min=22, port_range_max=22)
    rule = region.add_security_group_rule(PROJECT, web.id, ssh)
    with pytest.raises(Conflict):
        region.add_security_group_rule(PROJECT, web.id, ssh)
    with pytest.raises(Invalid) as error:
        region.add_security_group_rule(
            PROJECT,
            web.id,
            SecurityGroupRuleCreate(protocol="udp", port_range_min=0, port_range_max=5),
        )
    assert error.value.field == "port_range_min"
    boot(region, clock, security_groups=("web",))
    with pytest.raises(Conflict, match="in use"):
        region.delete_security_group(PROJECT, web.id)
    with pytest.raises(Conflict):
        region.delete_security_group(PROJECT, default.id)
    region.delete_security_group_rule(PROJECT, rule.id)
    assert len(region.get_security_group(PROJECT, web.id).rules) == 2


def test_floating_ip_lifecycle_and_neutron_events(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus
) -> None:
    server = boot(region, clock)
    bus.clear()
    address = region.allocate_floating_ip(PROJECT)
    assert (address.address, address.status) == ("203.0.113.2", "DOWN")
    bound = region.associate_floating_ip(PROJECT, address.id, server.id)
    assert (bound.status, bound.fixed_ip) == ("ACTIVE", server.fixed_ips[0])
    assert region.get_server(PROJECT, server.id).floating_ips == ("203.0.113.2",)
    region.disassociate_floating_ip(PROJECT, address.id)
    with pytest.raises(Conflict):
        region.disassociate_floating_ip(PROJECT, address.id)
    region.release_floating_ip(PROJECT, address.id)
    assert region.list_floating_ips(PROJECT) == []
    assert bus.event_types() == [
        "floatingip.create.end",
        "floatingip.update.end",
        "floatingip.update.end",
        "floatingip.delete.end",
    ]
    assert {m["publisher_id"] for m in bus.messages()} == {"network.controller"}
    assert region.allocate_floating_ip(PROJECT).address == "203.0.113.2"  # reused


def test_deleting_a_server_unbinds_its_floating_ip(
    region: SimulatedRegion, clock: SimulatedClock
) -> None:
    server = boot(region, clock)
    address = region.allocate_floating_ip(PROJECT)
    region.associate_floating_ip(PROJECT, address.id, server.id)
    region.delete_server(PROJECT, server.id)
    settle(region, clock)
    (left,) = region.list_floating_ips(PROJECT)
    assert (left.server_id, left.status) == (None, "DOWN")


def test_build_failure_goes_to_error_with_a_fault(
    database: Database, clock: SimulatedClock, bus: ListBus
) -> None:
    region = make_region(database, clock, bus, build_failure_rate=1.0)
    (server,) = region.create_servers(PROJECT, USER, spec())
    settle(region, clock)
    failed = region.get_server(PROJECT, server.id)
    assert (failed.status, failed.host) == ("ERROR", None)
    assert failed.fault and "aborted" in failed.fault
    error = bus.messages()[-1]
    assert (error["event_type"], error["priority"]) == ("instance.create.error", "ERROR")
    fault = error["payload"]["nova_object.data"]["fault"]["nova_object.data"]
    assert fault["exception"] == "BuildAbortException"
    assert sum(h.vcpus_used for h in region.list_hypervisors()) == 0
    region.delete_server(PROJECT, server.id)  # no host: deleted at once
    with pytest.raises(NotFound):
        region.get_server(PROJECT, server.id)


def test_list_filters_and_pages(region: SimulatedRegion, clock: SimulatedClock) -> None:
    region.create_servers(PROJECT, USER, spec(name="app", count=3))
    settle(region, clock)
    names = [s.name for s in region.list_servers(PROJECT, ServerFilter(), 10, None)]
    assert names == ["app-3", "app-2", "app-1"]  # newest first, like Nova
    page = region.list_servers(PROJECT, ServerFilter(), 2, None)
    rest = region.list_servers(PROJECT, ServerFilter(), 2, page[-1].id)
    assert [s.name for s in rest] == ["app-1"]
    stopped_id = page[0].id
    region.server_action(PROJECT, stopped_id, "stop")
    settle(region, clock)
    only = region.list_servers(PROJECT, ServerFilter(status="SHUTOFF"), 10, None)
    assert [s.id for s in only] == [stopped_id]
    assert region.list_servers(PROJECT, ServerFilter(name="P-2"), 10, None)[0].name == "app-2"
    with pytest.raises(Invalid) as error:
        region.list_servers(PROJECT, ServerFilter(), 10, "nope")
    assert error.value.field == "marker"


def test_state_survives_a_restart(database: Database, clock: SimulatedClock, bus: ListBus) -> None:
    first = make_region(database, clock, bus)
    server = boot(first, clock)
    first.server_action(PROJECT, server.id, "stop")
    again = make_region(database, clock, bus)
    assert len(again.list_hypervisors()) == 2
    assert len(again.list_images(PROJECT)) == 3
    settle(again, clock)
    assert again.get_server(PROJECT, server.id).status == "SHUTOFF"
