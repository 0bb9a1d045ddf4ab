"""Rename and rebuild in the simulated region: what changes, what stays, and the events sent."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from sws.clock import SimulatedClock
from sws.drivers.simulated import SimulatedRegion
from sws.errors import Conflict, Invalid, NotFound
from sws.events.translate import translate
from tests.unit.events.samples import SAMPLES, require_samples

from .conftest import OTHER, PROJECT, ListBus, boot, settle, ubuntu

TASK = timedelta(seconds=3)  # the region's task_seconds


def test_rename_changes_only_the_name(region: SimulatedRegion, clock: SimulatedClock) -> None:
    server = boot(region, clock)
    renamed = region.rename_server(PROJECT, server.id, "web-renamed")
    assert renamed.name == "web-renamed"
    assert (renamed.id, renamed.fixed_ips, renamed.flavor, renamed.status) == (
        server.id, server.fixed_ips, server.flavor, "ACTIVE"
    )
    assert region.get_server(PROJECT, server.id).name == "web-renamed"


def test_rename_refuses_a_blank_name_and_another_projects_server(
    region: SimulatedRegion, clock: SimulatedClock
) -> None:
    server = boot(region, clock)
    with pytest.raises(Invalid):
        region.rename_server(PROJECT, server.id, "   ")
    with pytest.raises(NotFound):
        region.rename_server(OTHER, server.id, "mine-now")
    assert region.get_server(PROJECT, server.id).name == "web"


def test_rebuild_goes_through_rebuild_and_back_with_the_same_id_ip_and_flavor(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus
) -> None:
    server = boot(region, clock)  # cirros on m1.small
    bus.clear()
    started = clock.now()
    rebuilding = region.rebuild_server(PROJECT, server.id, ubuntu())
    assert (rebuilding.status, rebuilding.task_state) == ("REBUILD", "rebuilding")
    assert rebuilding.image_id == ubuntu()
    with pytest.raises(Conflict):  # one task at a time
        region.server_action(PROJECT, server.id, "reboot")
    settle(region, clock)
    rebuilt = region.get_server(PROJECT, server.id)
    assert (rebuilt.status, rebuilt.power_state, rebuilt.task_state) == ("ACTIVE", "running", None)
    assert (rebuilt.id, rebuilt.fixed_ips, rebuilt.flavor, rebuilt.host) == (
        server.id, server.fixed_ips, server.flavor, server.host
    )
    assert rebuilt.image_id == ubuntu()
    assert rebuilt.launched_at == started + TASK  # when the reinstall finished
    assert bus.event_types() == ["instance.rebuild.start", "instance.rebuild.end"]
    end = bus.messages()[-1]
    assert end["payload"]["nova_object.name"] == "InstanceActionRebuildPayload"
    assert end["payload"]["nova_object.data"]["image_uuid"] == ubuntu()


def test_a_stopped_instance_is_stopped_again_after_its_rebuild(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus
) -> None:
    server = boot(region, clock)
    region.server_action(PROJECT, server.id, "stop")
    settle(region, clock)
    bus.clear()
    assert region.rebuild_server(PROJECT, server.id, ubuntu()).status == "REBUILD"
    settle(region, clock)
    rebuilt = region.get_server(PROJECT, server.id)
    assert (rebuilt.status, rebuilt.power_state) == ("SHUTOFF", "shutdown")
    assert bus.event_types() == [
        "instance.rebuild.start", "instance.power_off.start", "instance.power_off.end",
        "instance.rebuild.end",
    ]


def test_the_events_worker_reads_the_rebuild_as_a_rebuild_at_its_time(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus
) -> None:
    server = boot(region, clock)
    bus.clear()
    started = clock.now()
    region.rebuild_server(PROJECT, server.id, ubuntu())
    settle(region, clock)
    event = translate(bus.envelopes[-1])
    assert (event.action, event.resource_id, event.flavor_name) == (  # type: ignore[union-attr]
        "rebuild", server.id, "m1.small"
    )
    assert event.occurred_at.replace(microsecond=0) == (  # type: ignore[union-attr]
        started + TASK
    )


def test_rebuild_refuses_an_image_too_big_a_missing_one_and_a_shelved_instance(
    region: SimulatedRegion, clock: SimulatedClock
) -> None:
    tiny = boot(region, clock, flavor_id="1")  # 1 GB of disk: ubuntu needs 10
    with pytest.raises(Invalid) as too_big:
        region.rebuild_server(PROJECT, tiny.id, ubuntu())
    assert too_big.value.field == "image_id"
    with pytest.raises(Invalid) as missing:
        region.rebuild_server(PROJECT, tiny.id, "no-such-image")
    assert missing.value.field == "image_id"
    region.server_action(PROJECT, tiny.id, "shelve")
    settle(region, clock)
    with pytest.raises(Conflict):
        region.rebuild_server(PROJECT, tiny.id, ubuntu())
    with pytest.raises(NotFound):
        region.rebuild_server(OTHER, tiny.id, ubuntu())


def test_the_rebuild_payload_has_the_keys_of_novas_own(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus
) -> None:
    require_samples()
    real = json.loads((SAMPLES / "nova" / "resolved" / "instance-rebuild-end.json").read_text())
    server = boot(region, clock)
    region.rebuild_server(PROJECT, server.id, ubuntu())
    settle(region, clock)
    ours = bus.messages()[-1]
    assert ours["event_type"] == real["event_type"] == "instance.rebuild.end"
    assert ours["payload"]["nova_object.name"] == real["payload"]["nova_object.name"]
    assert ours["payload"]["nova_object.version"] == real["payload"]["nova_object.version"]
    assert set(ours["payload"]["nova_object.data"]) == set(real["payload"]["nova_object.data"])
