"""The simulated region's fixed catalog: flavors, the images seeded on first use, host shapes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sws.drivers.base import Flavor

FLAVORS: tuple[Flavor, ...] = (
    Flavor(id="1", name="m1.tiny", vcpus=1, ram_mb=512, disk_gb=1),
    Flavor(id="2", name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20),
    Flavor(id="3", name="m1.medium", vcpus=2, ram_mb=4096, disk_gb=40),
    Flavor(id="4", name="m1.large", vcpus=4, ram_mb=8192, disk_gb=80),
    Flavor(id="5", name="m1.xlarge", vcpus=8, ram_mb=16384, disk_gb=160),
    Flavor(id="6", name="ssd.tiny", vcpus=1, ram_mb=1024, disk_gb=10),
    Flavor(id="7", name="ssd.small", vcpus=2, ram_mb=4096, disk_gb=25),
)
FLAVORS_BY_ID: dict[str, Flavor] = {flavor.id: flavor for flavor in FLAVORS}


@dataclass(frozen=True, slots=True)
class ImageSeed:
    name: str
    min_disk_gb: int
    min_ram_mb: int
    size_bytes: int


IMAGE_SEEDS: tuple[ImageSeed, ...] = (
    ImageSeed("cirros-0.6.2", min_disk_gb=1, min_ram_mb=0, size_bytes=21_430_272),
    ImageSeed("ubuntu-24.04", min_disk_gb=10, min_ram_mb=512, size_bytes=598_016_000),
    ImageSeed("debian-12", min_disk_gb=4, min_ram_mb=256, size_bytes=356_515_840),
)


@dataclass(frozen=True, slots=True)
class HostShape:
    vcpus: int = 32
    ram_mb: int = 128 * 1024
    disk_gb: int = 2048


def seeded_id(region: str, kind: str, name: str) -> str:
    """A stable id for seeded objects, so every restart and every test sees the same ones."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sws-simulated:{region}:{kind}:{name}"))


def hypervisor_names(count: int) -> tuple[str, ...]:
    return tuple(f"compute-{index:02d}" for index in range(1, count + 1))
