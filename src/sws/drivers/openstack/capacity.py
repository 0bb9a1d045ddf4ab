"""A hypervisor's capacity and use: from Nova's hypervisor record, else from Placement.

Nova's API microversion 2.88 dropped `vcpus`, `memory_mb`, `local_gb`, their `*_used` and
`running_vms` from the hypervisor record: Placement holds them, in the compute node's resource
provider (whose UUID is the hypervisor's id since 2.53). openstacksdk asks for the newest
microversion both sides know, so on Zed and later SWS reads the inventory's `total` (VCPU,
MEMORY_MB, DISK_GB) and the provider's usages, which are the resources allocated to servers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Capacity:
    vcpus: int = 0
    vcpus_used: int = 0
    ram_mb: int = 0
    ram_used_mb: int = 0
    disk_gb: int = 0
    disk_used_gb: int = 0


def capacity(admin: Any, hypervisor: Any) -> Capacity:
    """`hypervisor`'s capacity: its own fields where Nova still reports them, else Placement's."""
    if hypervisor.vcpus is not None:
        return Capacity(
            vcpus=_count(hypervisor.vcpus),
            vcpus_used=_count(hypervisor.vcpus_used),
            ram_mb=_count(hypervisor.memory_size),
            ram_used_mb=_count(hypervisor.memory_used),
            disk_gb=_count(hypervisor.local_disk_size),
            disk_used_gb=_count(hypervisor.local_disk_used),
        )
    return from_placement(admin.placement, str(hypervisor.id))


def from_placement(placement: Any, provider_id: str) -> Capacity:
    totals = {
        i.resource_class: _count(i.total)
        for i in placement.resource_provider_inventories(provider_id)
    }
    used = placement.fetch_resource_provider_usages(provider_id).usages or {}
    return Capacity(
        vcpus=totals.get("VCPU", 0),
        vcpus_used=_count(used.get("VCPU")),
        ram_mb=totals.get("MEMORY_MB", 0),
        ram_used_mb=_count(used.get("MEMORY_MB")),
        disk_gb=totals.get("DISK_GB", 0),
        disk_used_gb=_count(used.get("DISK_GB")),
    )


def server_ids(hypervisor: Any) -> tuple[str, ...]:
    """The servers Nova lists on the hypervisor (`with_servers`, microversion 2.53+)."""
    return tuple(str(s.get("uuid") or s.get("id")) for s in hypervisor.servers or ())


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
