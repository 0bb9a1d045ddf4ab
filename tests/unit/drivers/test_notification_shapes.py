"""Our notifications have the keys real Nova and Neutron put in theirs (captured in samples/)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sws.clock import SimulatedClock
from sws.drivers.simulated import SimulatedRegion
from tests.unit.events.samples import LIFECYCLE as CAPTURED
from tests.unit.events.samples import SAMPLES, require_samples

from .conftest import PROJECT, ListBus, boot, settle


def sample(path: Path) -> dict[str, Any]:
    require_samples()
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def data(message: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = message["payload"]["nova_object.data"]
    return found


def _emitted_by_us(name: str) -> bool:
    """instance.update, instance.exists (audit) and shutdown.* are not simulated."""
    return not any(word in name for word in ("update", "exists", "shutdown"))


def whole_life(region: SimulatedRegion, clock: SimulatedClock, bus: ListBus) -> dict[str, Any]:
    """Run one server through the captured lifecycle; return our messages by event type."""
    server = boot(region, clock, flavor_id="1")
    for action, flavor in (("stop", None), ("start", None), ("resize", "2")):
        region.server_action(PROJECT, server.id, action, flavor_id=flavor)  # type: ignore[arg-type]
        settle(region, clock)
    region.server_action(PROJECT, server.id, "confirm_resize")
    region.server_action(PROJECT, server.id, "shelve")
    settle(region, clock)
    region.server_action(PROJECT, server.id, "unshelve")
    settle(region, clock)
    region.delete_server(PROJECT, server.id)
    settle(region, clock)
    return {message["event_type"]: message for message in bus.messages()}


@pytest.mark.parametrize(
    "captured",
    sorted(p.name for p in CAPTURED.glob("*-instance.*.json") if _emitted_by_us(p.name))
    if CAPTURED.exists()
    else ["26-instance.create.end.json"],
)
def test_nova_payload_keys_match_the_captured_ones(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus, captured: str
) -> None:
    real = sample(CAPTURED / captured)
    ours = whole_life(region, clock, bus)[real["event_type"]]
    assert set(data(ours)) == set(data(real))
    assert set(data(ours)["flavor"]["nova_object.data"]) == set(
        data(real)["flavor"]["nova_object.data"]
    )
    assert ours["payload"]["nova_object.name"] == real["payload"]["nova_object.name"]
    assert ours["payload"]["nova_object.version"] == real["payload"]["nova_object.version"]
    assert set(ours) - {"_context_tenant_id"} >= set(real) - {"_context_tenant_id"}


def test_message_formats(region: SimulatedRegion, clock: SimulatedClock, bus: ListBus) -> None:
    messages = whole_life(region, clock, bus)
    end = messages["instance.create.end"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", end["timestamp"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data(end)["launched_at"])
    assert end["publisher_id"] == "nova-compute:compute-01"
    assert end["priority"] == "INFO"
    assert (
        messages["instance.resize_finish.end"]["payload"]["nova_object.data"]["flavor"][
            "nova_object.data"
        ]["name"]
        == "m1.small"
    )
    for envelope in bus.envelopes:
        assert envelope["oslo.version"] == "2.0"
        assert isinstance(envelope["oslo.message"], str)


def test_resize_prep_and_snapshot_payload_names(
    region: SimulatedRegion, clock: SimulatedClock, bus: ListBus
) -> None:
    server = boot(region, clock)
    region.server_action(PROJECT, server.id, "resize", flavor_id="3")
    region_prep = bus.messages()[-3]
    assert region_prep["payload"]["nova_object.name"] == "InstanceActionResizePrepPayload"
    real = sample(CAPTURED / "39-instance.resize_prep.start.json")
    assert set(data(region_prep)) == set(data(real))
    settle(region, clock)
    region.server_action(PROJECT, server.id, "confirm_resize")
    region.create_snapshot(PROJECT, server.id, "snap")
    settle(region, clock)
    snap = bus.messages()[-1]
    assert snap["payload"]["nova_object.name"] == "InstanceActionSnapshotPayload"
    assert "snapshot_image_id" in data(snap)


@pytest.mark.parametrize("name", ["floatingip.create.end", "floatingip.delete.end"])
def test_neutron_floatingip_keys_match(region: SimulatedRegion, bus: ListBus, name: str) -> None:
    real = sample(SAMPLES / "neutron" / f"{name}.captured.json")
    address = region.allocate_floating_ip(PROJECT)
    region.release_floating_ip(PROJECT, address.id)
    ours = next(m for m in bus.messages() if m["event_type"] == name)
    assert set(ours["payload"]) == set(real["payload"])
    assert set(ours["payload"]["floatingip"]) == set(real["payload"]["floatingip"])
    assert set(ours) >= set(real) - {"_context_tenant_name"}
