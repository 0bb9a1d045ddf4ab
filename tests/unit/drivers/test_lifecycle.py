"""Worked examples of one server's life in the simulated region, with capacity and events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.drivers.base import Hypervisor, ServerCreate, ServerFilter
from sws.drivers.simulated import SimulatedRegion
from sws.errors import Conflict, NotFound

from .conftest import PROJECT, USER, ListBus, boot, cirros, make_region, settle


def host_of(region: SimulatedRegion, hostname: str) -> Hypervisor:
    return next(h for h in region.list_hypervisors() if h.hostname == hostname)


def used(region: SimulatedRegion) -> tuple[int, int, int]:
    hosts = region.list_hypervisors()
    return (
        sum(h.vcpus_used for h in hosts),
        sum(h.ram_used_mb for h in hosts),
        sum(h.disk_used_gb for h in hosts),
    )


def test_create_builds_then_becomes_active_on_a_host(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus
) -> None:
    (server,) = region.create_servers(
        PROJECT, USER, ServerCreate(name="web", flavor_id="2", image_id=cirros())
    )
    assert (server.status, server.vm_state, server.task_state) == ("BUILD", "building", "spawning")
    assert server.host == "compute-01"
    assert used(region) == (1, 2048, 20)  # claimed at once, while building

    clock.advance(timedelta(seconds=2))
    assert region.advance() == 0
    clock.advance(timedelta(seconds=1))
    assert region.advance() == 1

    active = region.get_server(PROJECT, server.id)
    assert (active.status, active.power_state, active.task_state) == ("ACTIVE", "running", None)
    assert active.launched_at == clock.now()
    assert active.fixed_ips and active.fixed_ips[0].startswith("10.")
    assert bus.event_types() == ["instance.create.start", "instance.create.end"]
    assert host_of(region, "compute-01").server_ids == (server.id,)


def test_stop_then_start(region: SimulatedRegion, clock: SimulatedClock, bus: ListBus) -> None:
    server = boot(region, clock)
    bus.clear()

    stopping = region.server_action(PROJECT, server.id, "stop")
    assert (stopping.status, stopping.task_state) == ("ACTIVE", "powering-off")
    settle(region, clock)
    stopped = region.get_server(PROJECT, server.id)
    assert (stopped.status, stopped.power_state) == ("SHUTOFF", "shutdown")

    region.server_action(PROJECT, server.id, "start")
    settle(region, clock)
    assert region.get_server(PROJECT, server.id).status == "ACTIVE"
    assert used(region) == (1, 2048, 20)  # a stopped server keeps its host
    assert bus.event_types() == [
        "instance.power_off.start",
        "instance.power_off.end",
        "instance.power_on.start",
        "instance.power_on.end",
    ]


def test_reboot(region: SimulatedRegion, clock: SimulatedClock, bus: ListBus) -> None:
    server = boot(region, clock)
    assert region.server_action(PROJECT, server.id, "reboot").status == "REBOOT"
    settle(region, clock)
    assert region.get_server(PROJECT, server.id).status == "ACTIVE"
    assert bus.event_types()[-2:] == ["instance.reboot.start", "instance.reboot.end"]


def test_resize_and_confirm_switches_flavor_and_capacity(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus
) -> None:
    server = boot(region, clock, flavor_id="2")
    first_launch = server.launched_at
    bus.clear()

    resizing = region.server_action(PROJECT, server.id, "resize", flavor_id="3")
    assert (resizing.status, resizing.flavor.name) == ("RESIZE", "m1.small")
    assert used(region) == (1 + 2, 2048 + 4096, 20 + 40)  # both held until confirmed

    settle(region, clock)
    resized = region.get_server(PROJECT, server.id)
    assert resized.status == "VERIFY_RESIZE"
    assert resized.flavor.name == "m1.medium"
    assert resized.old_flavor is not None and resized.old_flavor.name == "m1.small"
    assert resized.launched_at is not None and first_launch is not None
    assert resized.launched_at > first_launch  # Nova resets launched_at on resize

    confirmed = region.server_action(PROJECT, server.id, "confirm_resize")
    assert (confirmed.status, confirmed.flavor.name, confirmed.old_flavor) == (
        "ACTIVE",
        "m1.medium",
        None,
    )
    assert used(region) == (2, 4096, 40)
    assert bus.event_types() == [
        "instance.resize_prep.start",
        "instance.resize_prep.end",
        "instance.resize.start",
        "instance.resize.end",
        "instance.resize_finish.start",
        "instance.resize_finish.end",
        "instance.resize_confirm.start",
        "instance.resize_confirm.end",
    ]
    finish_end = bus.messages()[5]["payload"]["nova_object.data"]
    assert finish_end["flavor"]["nova_object.data"]["name"] == "m1.medium"


def test_resize_revert_goes_back_to_the_old_flavor_and_host(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus
) -> None:
    server = boot(region, clock, flavor_id="2")
    region.server_action(PROJECT, server.id, "resize", flavor_id="4")
    settle(region, clock)

    reverting = region.server_action(PROJECT, server.id, "revert_resize")
    assert reverting.status == "REVERT_RESIZE"
    settle(region, clock)

    reverted = region.get_server(PROJECT, server.id)
    assert (reverted.status, reverted.flavor.name, reverted.host) == (
        "ACTIVE",
        "m1.small",
        server.host,
    )
    assert used(region) == (1, 2048, 20)
    assert bus.event_types()[-2:] == ["instance.resize_revert.start", "instance.resize_revert.end"]


def test_resize_of_a_stopped_server_stays_stopped_after_confirm(
    region: SimulatedRegion, clock: SimulatedClock
) -> None:
    server = boot(region, clock)
    region.server_action(PROJECT, server.id, "stop")
    settle(region, clock)
    region.server_action(PROJECT, server.id, "resize", flavor_id="3")
    settle(region, clock)
    assert region.server_action(PROJECT, server.id, "confirm_resize").status == "SHUTOFF"


def test_shelve_offloads_and_frees_the_host_then_unshelve_places_again(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus
) -> None:
    server = boot(region, clock)
    bus.clear()

    region.server_action(PROJECT, server.id, "shelve")
    settle(region, clock, seconds=3)  # shelve done, offload under way
    assert region.get_server(PROJECT, server.id).vm_state == "shelved"
    settle(region, clock, seconds=3)
    offloaded = region.get_server(PROJECT, server.id)
    assert (offloaded.status, offloaded.host) == ("SHELVED_OFFLOADED", None)
    assert used(region) == (0, 0, 0)
    assert region.quota_usage(PROJECT).instances == 1  # still counts against quota

    region.server_action(PROJECT, server.id, "unshelve")
    assert used(region) == (1, 2048, 20)
    settle(region, clock)
    back = region.get_server(PROJECT, server.id)
    assert (back.status, back.host) == ("ACTIVE", "compute-01")
    assert back.launched_at == clock.now() - timedelta(seconds=7)
    assert bus.event_types() == [
        "instance.shelve.start",
        "instance.shelve.end",
        "instance.shelve_offload.start",
        "instance.shelve_offload.end",
        "instance.unshelve.start",
        "instance.unshelve.end",
    ]


def test_task_seconds_zero_completes_chained_tasks_on_the_next_advance(
    database: Database, clock: SimulatedClock, bus: ListBus
) -> None:
    region = make_region(database, clock, bus, task_seconds=0)
    (server,) = region.create_servers(
        PROJECT, USER, ServerCreate(name="a", flavor_id="1", image_id=cirros())
    )
    assert region.advance() == 1
    region.server_action(PROJECT, server.id, "shelve")
    assert region.advance() == 2
    assert region.get_server(PROJECT, server.id).status == "SHELVED_OFFLOADED"


def test_delete_frees_capacity_and_the_server_is_gone(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus
) -> None:
    server = boot(region, clock)
    region.delete_server(PROJECT, server.id)
    assert region.get_server(PROJECT, server.id).task_state == "deleting"
    settle(region, clock)

    with pytest.raises(NotFound):
        region.get_server(PROJECT, server.id)
    assert region.list_servers(PROJECT, ServerFilter(), 100, None) == []
    assert used(region) == (0, 0, 0)
    end = bus.messages()[-1]
    assert end["event_type"] == "instance.delete.end"
    data = end["payload"]["nova_object.data"]
    assert (data["state"], data["deleted_at"]) == ("deleted", data["terminated_at"])
    with pytest.raises(NotFound):
        region.delete_server(PROJECT, server.id)


def test_delete_of_an_offloaded_server_is_immediate(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus
) -> None:
    server = boot(region, clock)
    region.server_action(PROJECT, server.id, "shelve")
    settle(region, clock)
    region.delete_server(PROJECT, server.id)
    with pytest.raises(NotFound):
        region.get_server(PROJECT, server.id)
    assert bus.event_types()[-2:] == ["instance.delete.start", "instance.delete.end"]


def test_snapshot_saves_then_becomes_an_active_private_image(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus
) -> None:
    server = boot(region, clock)
    image = region.create_snapshot(PROJECT, server.id, "web-backup")
    assert (image.status, image.image_type, image.visibility) == ("saving", "snapshot", "private")
    assert image.owner_project_id == PROJECT and image.source_server_id == server.id
    with pytest.raises(Conflict):
        region.server_action(PROJECT, server.id, "stop")  # a task is in progress
    settle(region, clock)
    assert region.get_image(PROJECT, image.id).status == "active"
    end = bus.messages()[-1]
    assert end["event_type"] == "instance.snapshot.end"
    assert end["payload"]["nova_object.data"]["snapshot_image_id"] == image.id

    region.delete_image(PROJECT, image.id)
    with pytest.raises(NotFound):
        region.get_image(PROJECT, image.id)


def test_advance_is_a_no_op_when_nothing_is_due(
    region: SimulatedRegion, clock: SimulatedClock
) -> None:
    boot(region, clock)
    assert region.advance() == 0
