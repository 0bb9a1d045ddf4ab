"""Simulated per-instance meters that behave like libvirt's counters, for the metering collector.

Each instance gets a workload profile (idle, web, batch or bursty) from its id. Its CPU, disk
and network counters grow with that profile's load, minute by minute and deterministically.
Counters start from zero whenever the domain (re)starts (reboot, power on, resize, unshelve),
and stay frozen while the instance is stopped, exactly what a poller sees from libvirt.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sws.clock import Clock
from sws.drivers.base import (
    CloudDriver,
    CounterReading,
    Flavor,
    InstanceReading,
    Server,
    ServerFilter,
)
from sws.events.bus import Envelope

PROFILES = ("idle", "web", "batch", "bursty")
RESTARTS = frozenset({
    "instance.reboot.end", "instance.power_on.end", "instance.resize_finish.end",
    "instance.unshelve.end", "instance.rebuild.end",
})
# Bytes per second per unit of CPU load: disk read, disk write, network in, network out.
IO_PER_LOAD = {
    "idle": (2e4, 5e4, 1e4, 1e4),
    "web": (2e5, 1e5, 2e6, 8e6),
    "batch": (2e7, 1e7, 1e5, 5e4),
    "bursty": (1e6, 5e5, 1e6, 3e6),
}
CATCH_UP = timedelta(hours=1)  # a domain first seen is assumed to have started at most this ago


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from `parts`."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def profile_of(server_id: str) -> str:
    return PROFILES[int(_unit("profile", server_id) * len(PROFILES))]


def load(profile: str, server_id: str, minute: int) -> float:
    """CPU load (0..1 of the instance's vCPUs) in one clock minute."""
    noise = _unit(server_id, minute)
    if profile == "web":
        daily = 0.5 + 0.5 * math.sin(2 * math.pi * (minute % 1440) / 1440)
        return 0.1 + 0.4 * daily + 0.1 * noise
    if profile == "batch":
        return 0.92 if minute % 60 < 40 else 0.04
    if profile == "bursty":
        return 0.95 if noise < 0.15 else 0.05
    return 0.01 + 0.02 * noise


@dataclass
class Domain:
    """One libvirt domain's counters since it started."""

    server_id: str
    profile: str
    advanced_to: datetime
    counters: dict[tuple[str, str], float] = field(default_factory=dict)

    def restart(self, at: datetime) -> None:
        self.counters = {}
        self.advanced_to = at

    def advance(self, until: datetime, flavor: Flavor, running: bool) -> None:
        """Grow the counters up to `until` if the domain runs; a stopped one stays frozen."""
        if not self.counters:
            self._grow(flavor, 0.0, 0.0)  # a fresh domain reports every counter at zero
        while running and self.advanced_to < until:
            minute = int(self.advanced_to.timestamp() // 60)
            edge = datetime.fromtimestamp((minute + 1) * 60, UTC)
            step = min(until, edge)
            self._grow(flavor, load(self.profile, self.server_id, minute),
                       (step - self.advanced_to).total_seconds())
            self.advanced_to = step
        self.advanced_to = max(self.advanced_to, until)

    def _grow(self, flavor: Flavor, cpu: float, seconds: float) -> None:
        read, write, rx, tx = (rate * cpu * seconds for rate in IO_PER_LOAD[self.profile])
        nic = f"tap{self.server_id[:11]}"
        for key, amount in (
            (("cpu", ""), cpu * flavor.vcpus * 1e9 * seconds),
            (("disk.device.read.bytes", "vda"), read),
            (("disk.device.write.bytes", "vda"), write),
            (("disk.device.read.requests", "vda"), read / 65536),
            (("disk.device.write.requests", "vda"), write / 65536),
            (("network.incoming.bytes", nic), rx),
            (("network.outgoing.bytes", nic), tx),
            (("network.incoming.packets", nic), rx / 900),
            (("network.outgoing.packets", nic), tx / 1200),
        ):
            self.counters[key] = self.counters.get(key, 0.0) + math.floor(amount)

    def reading(self, server: Server, at: datetime, running: bool) -> InstanceReading:
        counters = tuple(CounterReading(m, v, d) for (m, d), v in sorted(self.counters.items()))
        minute = int(at.timestamp() // 60)
        memory = server.flavor.ram_mb * (0.25 + 0.6 * load(self.profile, self.server_id, minute))
        gauges = [CounterReading("vcpus", float(server.flavor.vcpus))]
        if running:
            gauges.append(CounterReading("memory.usage", float(round(memory))))
        return InstanceReading(server.id, server.project_id, server.flavor, at, running,
                               counters, tuple(gauges))


class SimulatedWorkload:
    """The simulated region's `MetricSource`; subscribe `on_notifications` to the region's bus."""

    def __init__(self, *, driver: CloudDriver, clock: Clock) -> None:
        self._driver = driver
        self._clock = clock
        self._domains: dict[str, Domain] = {}
        self._restarts: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def on_notifications(self, batch: Sequence[Envelope]) -> None:
        """Note domain restarts from Nova's notifications (reboot, power on, resize ...)."""
        for envelope in batch:
            restart = _restart_of(envelope)
            if restart is not None:
                with self._lock:
                    self._restarts[restart[0]] = restart[1]

    def read_instances(self) -> list[InstanceReading]:
        now = self._clock.now()
        servers = _all_servers(self._driver)
        with self._lock:
            self._domains = {s.id: self._domain(s, now) for s in servers}
            return [self._read(server, now) for server in servers]

    def _domain(self, server: Server, now: datetime) -> Domain:
        found = self._domains.get(server.id)
        if found is None:
            started = max(server.launched_at or now, now - CATCH_UP)
            found = Domain(server.id, profile_of(server.id), min(started, now))
        restart = self._restarts.pop(server.id, None)
        if restart is not None:
            found.advance(restart, server.flavor, _running(server))
            found.restart(min(restart, now))
        return found

    def _read(self, server: Server, now: datetime) -> InstanceReading:
        domain = self._domains[server.id]
        running = _running(server)
        domain.advance(now, server.flavor, running)
        return domain.reading(server, now, running)


def _running(server: Server) -> bool:
    return server.power_state == "running"


def _all_servers(driver: CloudDriver) -> list[Server]:
    found: list[Server] = []
    marker: str | None = None
    while True:
        page = driver.list_all_servers(ServerFilter(), 1000, marker)
        found.extend(s for s in page if s.host is not None)
        if len(page) < 1000:
            return found
        marker = page[-1].id


def _restart_of(envelope: Envelope) -> tuple[str, datetime] | None:
    try:
        message = json.loads(envelope["oslo.message"])
        if message.get("event_type") not in RESTARTS:
            return None
        server_id = message["payload"]["nova_object.data"]["uuid"]
        at = datetime.fromisoformat(message["timestamp"]).replace(tzinfo=UTC)
    except (KeyError, TypeError, ValueError):
        return None
    return str(server_id), at
