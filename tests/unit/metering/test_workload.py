"""The simulated workload behaves like libvirt: counters reset on restart, freeze when stopped."""

from __future__ import annotations

from datetime import timedelta

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.drivers.base import ServerCreate
from sws.drivers.simulated.region import SimulatedRegion
from sws.drivers.simulated.workload import PROFILES, SimulatedWorkload, load, profile_of
from sws.events.bus import InProcessBus


def _cloud(database: Database, clock: SimulatedClock) -> tuple[SimulatedRegion, InProcessBus,
                                                                  SimulatedWorkload]:
    bus = InProcessBus()
    region = SimulatedRegion(name="RegionOne", db=database, clock=clock, bus=bus, task_seconds=3)
    workload = SimulatedWorkload(driver=region, clock=clock)
    bus.subscribe(workload.on_notifications)
    return region, bus, workload


def _settle(region: SimulatedRegion, bus: InProcessBus, clock: SimulatedClock) -> None:
    clock.advance(timedelta(seconds=3))
    region.advance()
    bus.flush()


def _cpu(workload: SimulatedWorkload) -> float:
    (reading,) = workload.read_instances()
    return next(c.value for c in reading.counters if c.meter == "cpu")


def test_counters_grow_reset_on_reboot_and_freeze_while_stopped(
    database: Database, clock: SimulatedClock
) -> None:
    region, bus, workload = _cloud(database, clock)
    flavor = next(f for f in region.list_flavors() if f.name == "m1.small")
    image = region.list_images("p")[0]
    (server,) = region.create_servers("p", "u", ServerCreate("vm", flavor.id, image.id))
    _settle(region, bus, clock)
    first = _cpu(workload)
    clock.advance(timedelta(minutes=10))
    grown = _cpu(workload)
    assert grown > first
    region.server_action("p", server.id, "reboot")
    _settle(region, bus, clock)
    assert _cpu(workload) < grown  # a new domain: counters restarted from zero
    region.server_action("p", server.id, "stop")
    _settle(region, bus, clock)
    frozen = _cpu(workload)
    clock.advance(timedelta(minutes=30))
    assert _cpu(workload) == frozen
    (reading,) = workload.read_instances()
    assert not reading.running
    assert "memory.usage" not in {g.meter for g in reading.gauges}


def test_profiles_are_stable_and_loads_stay_within_one() -> None:
    assert profile_of("abc") == profile_of("abc")
    for profile in PROFILES:
        assert all(0 <= load(profile, "abc", minute) <= 1 for minute in range(0, 3000, 7))
