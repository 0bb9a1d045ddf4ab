"""Pure placement: filter hosts by free capacity, weigh by free RAM, break ties by name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sws.drivers.base import Flavor
from sws.errors import Conflict

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


@dataclass(frozen=True, slots=True)
class AllocationRatios:
    cpu: float = 4.0
    ram: float = 1.0
    disk: float = 1.0


@dataclass(frozen=True, slots=True)
class HostState:
    hostname: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    vcpus_used: int = 0
    ram_used_mb: int = 0
    disk_used_gb: int = 0
    enabled: bool = True

    def free_vcpus(self, ratios: AllocationRatios) -> float:
        return self.vcpus * ratios.cpu - self.vcpus_used

    def free_ram_mb(self, ratios: AllocationRatios) -> float:
        return self.ram_mb * ratios.ram - self.ram_used_mb

    def free_disk_gb(self, ratios: AllocationRatios) -> float:
        return self.disk_gb * ratios.disk - self.disk_used_gb

    def fits(self, flavor: Flavor, ratios: AllocationRatios) -> bool:
        return (
            self.enabled
            and self.free_vcpus(ratios) >= flavor.vcpus
            and self.free_ram_mb(ratios) >= flavor.ram_mb + flavor.swap_mb
            and self.free_disk_gb(ratios) >= flavor_disk_gb(flavor)
        )

    def consume(self, flavor: Flavor) -> HostState:
        return replace(
            self,
            vcpus_used=self.vcpus_used + flavor.vcpus,
            ram_used_mb=self.ram_used_mb + flavor.ram_mb + flavor.swap_mb,
            disk_used_gb=self.disk_used_gb + flavor_disk_gb(flavor),
        )


def flavor_disk_gb(flavor: Flavor) -> int:
    return flavor.disk_gb + flavor.ephemeral_gb


def select_host(hosts: Sequence[HostState], flavor: Flavor, ratios: AllocationRatios) -> str:
    """The host with the most free RAM that fits `flavor`; ties go to the first name."""
    candidates = [host for host in hosts if host.fits(flavor, ratios)]
    if not candidates:
        raise Conflict(NO_VALID_HOST)
    best = min(candidates, key=lambda host: (-host.free_ram_mb(ratios), host.hostname))
    return best.hostname


def place_many(
    hosts: Sequence[HostState], flavor: Flavor, count: int, ratios: AllocationRatios
) -> list[str]:
    """Place `count` instances one after another, each seeing the ones placed before it."""
    state = {host.hostname: host for host in hosts}
    chosen: list[str] = []
    for _ in range(count):
        hostname = select_host(list(state.values()), flavor, ratios)
        state[hostname] = state[hostname].consume(flavor)
        chosen.append(hostname)
    return chosen
