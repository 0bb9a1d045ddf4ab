"""The block-storage port: volumes and their snapshots, in a simulated region or on Cinder.

Like the cloud port, every call takes the caller's `project_id` and treats another project's
volume as missing (`NotFound`). States follow Cinder's: a volume is `creating`, `available`,
`attaching`, `in-use`, `detaching`, `extending`, `deleting` or `error`; a snapshot is
`creating`, `available`, `deleting` or `error`.

Island's trade-off: a `local-*` volume lives on one compute host and attaches only to an
instance on that host (`Conflict` naming both hosts otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sws.errors import Invalid

VOLUME_TYPES = ("local-ssd", "local-hdd")
MAX_VOLUME_GB = 16384
VOLUME_STATES = (
    "creating", "available", "attaching", "in-use", "detaching", "extending", "deleting", "error",
)
SNAPSHOT_STATES = ("creating", "available", "deleting", "error")


@dataclass(frozen=True, slots=True)
class Volume:
    id: str
    name: str
    project_id: str
    size_gb: int
    volume_type: str
    status: str  # one of VOLUME_STATES
    host: str | None  # the compute host a local volume lives on
    server_id: str | None  # the instance it is attached to
    device: str | None  # e.g. /dev/vdb while attached
    snapshot_id: str | None  # the snapshot it was created from
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class VolumeSnapshot:
    id: str
    name: str
    project_id: str
    volume_id: str
    size_gb: int  # the volume's size when taken
    status: str  # one of SNAPSHOT_STATES
    created_at: datetime
    stored_bytes: int | None = None  # bytes this snapshot added to object storage (Island)
    content_sha256: str | None = None  # the volume hash when taken (Island), for verification


@dataclass(frozen=True, slots=True)
class VolumeCreate:
    """A new volume: empty of `size_gb`, or from `snapshot_id` (size at least the snapshot's).
    `host` asks for a compute host (a local volume meant for an instance there)."""

    name: str
    size_gb: int
    volume_type: str = "local-ssd"
    snapshot_id: str | None = None
    host: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.size_gb <= MAX_VOLUME_GB:
            raise Invalid(f"size_gb must be between 1 and {MAX_VOLUME_GB}", field="size_gb")
        if self.volume_type not in VOLUME_TYPES:
            raise Invalid(f"volume_type must be one of {', '.join(VOLUME_TYPES)}",
                          field="volume_type")


class BlockStorage(Protocol):
    """A region's volumes: the simulated hypervisors' local disks, or Cinder."""

    def list_volumes(self, project_id: str) -> Sequence[Volume]: ...
    def get_volume(self, project_id: str, volume_id: str) -> Volume: ...
    def create_volume(self, project_id: str, spec: VolumeCreate, user_id: str = "") -> Volume: ...
    def delete_volume(self, project_id: str, volume_id: str) -> None: ...  # Conflict if in-use
    def attach_volume(self, project_id: str, volume_id: str, server_id: str) -> Volume: ...
    def detach_volume(self, project_id: str, volume_id: str) -> Volume: ...
    def extend_volume(self, project_id: str, volume_id: str, size_gb: int) -> Volume: ...

    def list_volume_snapshots(
        self, project_id: str, volume_id: str | None = None
    ) -> Sequence[VolumeSnapshot]: ...
    def get_volume_snapshot(self, project_id: str, snapshot_id: str) -> VolumeSnapshot: ...
    def create_volume_snapshot(
        self, project_id: str, volume_id: str, name: str, user_id: str = ""
    ) -> VolumeSnapshot: ...
    def delete_volume_snapshot(self, project_id: str, snapshot_id: str) -> None: ...
