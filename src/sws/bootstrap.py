"""The composition root: settings -> database -> buses -> drivers -> services -> app."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sws.clock import Clock, SystemClock
from sws.config import Settings
from sws.db.engine import Database, make_engine
from sws.drivers.base import CloudDriver
from sws.drivers.simulated.region import SimulatedRegion
from sws.errors import Invalid
from sws.events import service as events
from sws.events.bus import InProcessBus
from sws.identity.auth import AuthBackend, LocalAuth


@dataclass
class RegionRuntime:
    """One region: its driver and the bus its notifications travel on."""

    name: str
    driver: SimulatedRegion
    bus: InProcessBus


@dataclass
class Container:
    settings: Settings
    db: Database
    clock: Clock
    auth: AuthBackend
    regions: dict[str, RegionRuntime] = field(default_factory=dict)

    @property
    def default_region(self) -> str:
        return self.settings.regions[0]

    def driver(self, region: str | None = None) -> CloudDriver:
        name = region or self.default_region
        if name not in self.regions:
            raise Invalid(f"unknown region {name!r}", field="X-SWS-Region")
        return self.regions[name].driver

    def tick(self) -> int:
        """Complete due tasks in every simulated region and apply the notifications they sent."""
        done = 0
        for runtime in self.regions.values():
            done += runtime.driver.advance()
            runtime.bus.flush()
        return done


def build(settings: Settings, clock: Clock | None = None) -> Container:
    clock = clock or SystemClock()
    db = Database(make_engine(settings.db_url))
    auth = LocalAuth(db=db, clock=clock, ttl=timedelta(seconds=settings.token_ttl_seconds))
    container = Container(settings=settings, db=db, clock=clock, auth=auth)
    for name in settings.regions:
        container.regions[name] = _simulated_region(container, name)
    return container


def _simulated_region(container: Container, name: str) -> RegionRuntime:
    bus = InProcessBus()
    driver = SimulatedRegion(
        name=name,
        db=container.db,
        clock=container.clock,
        bus=bus,
        hypervisor_count=container.settings.sim_hypervisors,
        task_seconds=container.settings.sim_task_seconds,
    )
    bus.subscribe(events.bus_consumer(db=container.db, clock=container.clock, region=name))
    return RegionRuntime(name=name, driver=driver, bus=bus)
