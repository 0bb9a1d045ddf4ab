"""A hypervisor's capacity as openstacksdk hands Nova's record over: in the record before
microversion 2.88, from Placement since (Zed answers 2.93 and reports no vcpus at all)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openstack.compute.v2.hypervisor import Hypervisor as SdkHypervisor

from sws.drivers.openstack.capacity import Capacity, capacity, server_ids

NODE = "8a927f65-b516-4b85-929f-3d28ac6f2150"
SERVER = {"uuid": "b7c1d2e3-0000-4000-8000-0000000000aa", "name": "web-1"}

#: `GET /os-hypervisors/detail?with_servers=true` at 2.93 (Zed): no capacity in the record.
AT_2_93 = {
    "id": NODE,
    "hypervisor_hostname": "compute-1",
    "state": "up",
    "status": "enabled",
    "hypervisor_type": "fake",
    "servers": [SERVER],
}
#: The same host at 2.53: the record still carries the numbers.
AT_2_53 = {
    **AT_2_93,
    "vcpus": 32,
    "vcpus_used": 2,
    "memory_mb": 65536,
    "memory_mb_used": 4608,
    "local_gb": 900,
    "local_gb_used": 40,
    "running_vms": 1,
}


@dataclass
class Inventory:
    resource_class: str
    total: int


@dataclass
class FakePlacement:
    """Placement's answers for one resource provider, as openstacksdk's proxy returns them."""

    inventories: list[Inventory]
    usages: dict[str, int]
    asked: list[str] = field(default_factory=list)

    def resource_provider_inventories(self, provider: str) -> list[Inventory]:
        self.asked.append(provider)
        return self.inventories

    def fetch_resource_provider_usages(self, provider: str) -> Any:
        self.asked.append(provider)
        return type("Provider", (), {"usages": self.usages})()


@dataclass
class FakeAdmin:
    placement: FakePlacement


def _placement() -> FakePlacement:
    return FakePlacement(
        inventories=[
            Inventory("VCPU", 1000),
            Inventory("MEMORY_MB", 800000),
            Inventory("DISK_GB", 600000),
        ],
        usages={"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 40},
    )


def test_since_2_88_the_capacity_is_placements_for_the_compute_nodes_provider() -> None:
    admin = FakeAdmin(_placement())
    record = SdkHypervisor(**AT_2_93)
    assert record.vcpus is None  # what broke the admin view: zeros everywhere
    assert capacity(admin, record) == Capacity(
        vcpus=1000,
        vcpus_used=2,
        ram_mb=800000,
        ram_used_mb=4096,
        disk_gb=600000,
        disk_used_gb=40,
    )
    assert admin.placement.asked == [NODE, NODE]
    assert server_ids(record) == (SERVER["uuid"],)


def test_before_2_88_the_record_answers_and_placement_is_not_asked() -> None:
    admin = FakeAdmin(_placement())
    found = capacity(admin, SdkHypervisor(**AT_2_53))
    assert found == Capacity(
        vcpus=32, vcpus_used=2, ram_mb=65536, ram_used_mb=4608, disk_gb=900, disk_used_gb=40
    )
    assert admin.placement.asked == []


def test_a_provider_without_some_resource_reads_zero_for_it() -> None:
    placement = FakePlacement(inventories=[Inventory("VCPU", 8)], usages={})
    assert capacity(FakeAdmin(placement), SdkHypervisor(**AT_2_93)) == Capacity(vcpus=8)
    assert server_ids(SdkHypervisor(**{**AT_2_93, "servers": None})) == ()
