"""The block-storage port on real Cinder, through openstacksdk's block-storage proxy.

Every call runs with a token scoped to the caller's project (`Connections.project`), and a
volume, snapshot or server of another project is `NotFound`, as a missing one. Attach and
detach go through Nova's volume-attachment API, as a tenant's would. Calls that change a
volume wait (bounded by `wait` seconds) until Cinder leaves the transitional state, and answer
what Cinder then reports. Cinder's failures leave as SWS errors (`errors.translating`); the
port's rules (no delete while attached, extend only upwards) are checked first so that they
answer 409 and 422 as in the simulated region, not Cinder's 400.

Cinder's volumes live on its storage backend, not on a compute host: `Volume.host` is None
and the same-host rule of the simulated region's local volumes does not apply.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from sws.config import Settings
from sws.drivers.openstack.connections import Connections
from sws.drivers.openstack.driver import EPOCH, parse_time
from sws.drivers.openstack.errors import translating
from sws.drivers.volumes import Volume, VolumeCreate, VolumeSnapshot
from sws.errors import Conflict, Invalid, NotFound

#: Cinder's volume states that the port names otherwise; the others keep Cinder's word.
VOLUME_STATUS = {
    "reserved": "attaching",
    "downloading": "creating",
    "error_deleting": "error",
    "error_extending": "error",
    "error_restoring": "error",
    "error_managing": "error",
}
SNAPSHOT_STATUS = {"error_deleting": "error"}
SETTLING = frozenset({"creating", "attaching", "detaching", "extending", "deleting",
                      "reserved", "downloading"})
ATTACHED = frozenset({"in-use", "attaching", "reserved", "detaching"})


def build_block_storage(
    settings: Settings, region: str, *, cloud: str | None = None, catalog_region: str | None = None
) -> OpenStackBlockStorage:
    """`region`'s Cinder, reached as `build_driver` reaches its Nova (same account and region)."""
    connections = Connections(
        cloud=cloud or settings.openstack_cloud, clouds_yaml=settings.clouds_yaml,
        region=catalog_region or region, member_role=settings.openstack_member_role,
    )
    return OpenStackBlockStorage(connections=connections)


class OpenStackBlockStorage:
    """One real region's volumes and snapshots, behind the `BlockStorage` port."""

    def __init__(self, *, connections: Connections, wait: float = 30.0,
                 poll: float = 0.25) -> None:
        self.region = connections.region
        self._conns = connections
        self._wait = wait
        self._poll = poll

    def _p(self, project_id: str) -> Any:
        return self._conns.project(project_id)

    # ---- volumes ---------------------------------------------------------------------------

    def list_volumes(self, project_id: str) -> Sequence[Volume]:
        with translating("the project's volumes"):
            found = list(self._p(project_id).block_storage.volumes(details=True))
        return [_volume(v, project_id) for v in found if _owned(v, project_id)]

    def get_volume(self, project_id: str, volume_id: str) -> Volume:
        return _volume(self._own_volume(project_id, volume_id), project_id)

    def create_volume(self, project_id: str, spec: VolumeCreate, user_id: str = "") -> Volume:
        """`user_id` is the simulated region's; Cinder records the token's user (SWS's)."""
        if spec.snapshot_id is not None:
            snapshot = self.get_volume_snapshot(project_id, spec.snapshot_id)
            if spec.size_gb < snapshot.size_gb:
                raise Invalid(f"size_gb must be at least the snapshot's {snapshot.size_gb} GB",
                              field="size_gb")
        with translating(f"a {spec.size_gb} GB {spec.volume_type} volume"):
            made = self._p(project_id).block_storage.create_volume(
                name=spec.name, size=spec.size_gb, volume_type=spec.volume_type,
                snapshot_id=spec.snapshot_id,
            )
        return _volume(self._settled_volume(project_id, made.id), project_id)

    def delete_volume(self, project_id: str, volume_id: str) -> None:
        volume = self._own_volume(project_id, volume_id)
        if volume.status in ATTACHED or volume.attachments:
            raise Conflict(f"volume {volume_id} is attached to server {_server_id(volume)}: "
                           "detach it first")
        with translating(f"volume {volume_id}"):
            self._p(project_id).block_storage.delete_volume(volume_id, ignore_missing=False)

    def attach_volume(self, project_id: str, volume_id: str, server_id: str) -> Volume:
        volume = self._own_volume(project_id, volume_id)
        self._own_server(project_id, server_id)
        if volume.status != "available":
            raise Conflict(f"volume {volume_id} is {volume.status}: only an available volume "
                           "can be attached")
        with translating(f"attaching volume {volume_id} to server {server_id}"):
            self._p(project_id).compute.create_volume_attachment(server_id, volume=volume_id)
        return _volume(self._settled_volume(project_id, volume_id), project_id)

    def detach_volume(self, project_id: str, volume_id: str) -> Volume:
        volume = self._own_volume(project_id, volume_id)
        server_id = _server_id(volume)
        if volume.status != "in-use" or server_id is None:
            raise Conflict(f"volume {volume_id} is {volume.status}, not attached")
        with translating(f"detaching volume {volume_id} from server {server_id}"):
            self._p(project_id).compute.delete_volume_attachment(server_id, volume_id)
        return _volume(self._settled_volume(project_id, volume_id), project_id)

    def extend_volume(self, project_id: str, volume_id: str, size_gb: int) -> Volume:
        volume = self._own_volume(project_id, volume_id)
        if size_gb <= int(volume.size):
            raise Invalid(f"size_gb must be larger than the volume's {volume.size} GB",
                          field="size_gb")
        with translating(f"extending volume {volume_id} to {size_gb} GB"):
            self._p(project_id).block_storage.extend_volume(volume_id, size_gb)
        return _volume(self._settled_volume(project_id, volume_id), project_id)

    # ---- snapshots -------------------------------------------------------------------------

    def list_volume_snapshots(
        self, project_id: str, volume_id: str | None = None
    ) -> Sequence[VolumeSnapshot]:
        query = {"volume_id": volume_id} if volume_id else {}
        with translating("the project's volume snapshots"):
            found = list(self._p(project_id).block_storage.snapshots(details=True, **query))
        return [_snapshot(s, project_id) for s in found if _owned(s, project_id)]

    def get_volume_snapshot(self, project_id: str, snapshot_id: str) -> VolumeSnapshot:
        return _snapshot(self._own_snapshot(project_id, snapshot_id), project_id)

    def create_volume_snapshot(
        self, project_id: str, volume_id: str, name: str, user_id: str = ""
    ) -> VolumeSnapshot:
        self._own_volume(project_id, volume_id)
        with translating(f"a snapshot of volume {volume_id}"):
            # force: an attached volume is snapshotted as it is (crash-consistent), as in the
            # simulated region; without it Cinder refuses an in-use volume.
            made = self._p(project_id).block_storage.create_snapshot(
                volume_id=volume_id, name=name, is_forced=True
            )
        settled = self._settle(lambda: self._own_snapshot(project_id, made.id))
        return _snapshot(settled, project_id)

    def delete_volume_snapshot(self, project_id: str, snapshot_id: str) -> None:
        self._own_snapshot(project_id, snapshot_id)
        with translating(f"volume snapshot {snapshot_id}"):
            self._p(project_id).block_storage.delete_snapshot(snapshot_id, ignore_missing=False)

    # ---- helpers ---------------------------------------------------------------------------

    def _own_volume(self, project_id: str, volume_id: str) -> Any:
        with translating(f"volume {volume_id}"):
            volume = self._p(project_id).block_storage.get_volume(volume_id)
        if not _owned(volume, project_id):
            raise NotFound(f"volume {volume_id} not found")
        return volume

    def _own_snapshot(self, project_id: str, snapshot_id: str) -> Any:
        with translating(f"volume snapshot {snapshot_id}"):
            snapshot = self._p(project_id).block_storage.get_snapshot(snapshot_id)
        if not _owned(snapshot, project_id):
            raise NotFound(f"volume snapshot {snapshot_id} not found")
        return snapshot

    def _own_server(self, project_id: str, server_id: str) -> Any:
        with translating(f"server {server_id}"):
            server = self._p(project_id).compute.get_server(server_id)
        if server.project_id not in (None, project_id):
            raise NotFound(f"server {server_id} not found")
        return server

    def _settled_volume(self, project_id: str, volume_id: str) -> Any:
        return self._settle(lambda: self._own_volume(project_id, volume_id))

    def _settle(self, fetch: Callable[[], Any]) -> Any:
        """Fetch until the resource leaves a transitional state, or `wait` seconds pass."""
        deadline = time.monotonic() + self._wait
        found = fetch()
        while found.status in SETTLING and time.monotonic() < deadline:
            time.sleep(self._poll)
            found = fetch()
        return found


def _owned(resource: Any, project_id: str) -> bool:
    """Cinder shows the owner to admins only; a project-scoped answer without it is ours."""
    owner = getattr(resource, "project_id", None)
    return owner in (None, project_id)


def _server_id(volume: Any) -> str | None:
    for attachment in volume.attachments or ():
        if attachment.get("server_id"):
            return str(attachment["server_id"])
    return None


def _device(volume: Any) -> str | None:
    for attachment in volume.attachments or ():
        if attachment.get("device"):
            return str(attachment["device"])
    return None


def _volume(v: Any, project_id: str) -> Volume:
    created = parse_time(v.created_at) or EPOCH
    return Volume(
        id=str(v.id), name=str(v.name or ""), project_id=project_id, size_gb=int(v.size),
        volume_type=str(v.volume_type or ""), status=VOLUME_STATUS.get(v.status, v.status),
        host=None, server_id=_server_id(v), device=_device(v),
        snapshot_id=str(v.snapshot_id) if v.snapshot_id else None,
        created_at=created, updated_at=parse_time(v.updated_at) or created,
    )


def _snapshot(s: Any, project_id: str) -> VolumeSnapshot:
    return VolumeSnapshot(
        id=str(s.id), name=str(s.name or ""), project_id=project_id,
        volume_id=str(s.volume_id), size_gb=int(s.size),
        status=SNAPSHOT_STATUS.get(s.status, s.status),
        created_at=parse_time(s.created_at) or EPOCH,
    )
