"""Tenant pages for block storage: volumes, their snapshot chains and snapshot schedules.

The page calls the region's `BlockStorage` port and `VolumeSchedules`, as the API does; the
rules (same host, detach before delete, never shrink, quotas) live there. In a simulated
region a volume's section also offers "write test data": what an instance would write to the
attached disk, so a demo or a browser test can see snapshots add bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Response

from sws.billing import service as billing
from sws.drivers.base import Server
from sws.drivers.simulated.volumes import SimulatedBlockStorage
from sws.drivers.volumes import VOLUME_TYPES, BlockStorage, Volume, VolumeCreate, VolumeSnapshot
from sws.errors import Invalid, NotFound
from sws.volumes.model import MAX_DAILY_KEEP, MAX_WEEKLY_KEEP, Schedule
from sws.volumes.service import VolumeSchedules
from sws.web.console import pages
from sws.web.console.context import Session, Tenant, TenantPost
from sws.web.console.i18n import N_
from sws.web.console.render import attempt, page
from sws.web.console.routing import ConsoleRoute
from sws.web.console.views import tags as tag_views

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
PAGE = "/console/volumes"
HASH_SHOWN = 12  # hex digits of a content hash shown; the full one is in the title
MIB = 1024 * 1024
STATUS_LABELS = {
    "creating": N_("Creating"), "available": N_("Available"), "attaching": N_("Attaching"),
    "in-use": N_("In use"), "detaching": N_("Detaching"), "extending": N_("Extending"),
    "deleting": N_("Deleting"), "error": N_("Error"),
}
TYPE_LABELS = {"local-ssd": N_("Local SSD"), "local-hdd": N_("Local HDD")}


@dataclass(frozen=True, slots=True)
class VolumeView:
    """One volume as its section shows it: the chain, the schedule, where it may attach."""

    volume: Volume
    chain: Sequence[VolumeSnapshot]  # oldest first
    schedule: Schedule | None
    attachable: Sequence[Server]  # the tenant's instances on the volume's host
    content_sha256: str | None  # the bytes now (simulated region only)


def storage_of(s: Session) -> BlockStorage | None:
    """The region's block storage, or None where the region has none."""
    try:
        return s.container.block_storage(s.region)
    except NotFound:
        return None


def _storage(s: Session) -> BlockStorage:
    found = storage_of(s)
    if found is None:
        raise NotFound(s.gettext("This region has no block storage."))
    return found


def _schedules(s: Session) -> VolumeSchedules | None:
    return s.container.volume_schedules


def volume_snapshots(s: Session) -> list[VolumeSnapshot]:
    """The tenant's volume snapshots in this region, newest first (for the Snapshots page)."""
    storage = storage_of(s)
    if storage is None:
        return []
    found = storage.list_volume_snapshots(s.tenant_id)
    return sorted(found, key=lambda snap: (snap.created_at, snap.id), reverse=True)


def same_host(servers: Sequence[Server], host: str | None) -> list[Server]:
    """The instances a local volume on `host` may attach to: those running on that host."""
    return [server for server in servers if host is not None and server.host == host]


def chains(snapshots: Sequence[VolumeSnapshot]) -> dict[str, list[VolumeSnapshot]]:
    """Each volume's snapshots, oldest first."""
    found: dict[str, list[VolumeSnapshot]] = {}
    for snap in sorted(snapshots, key=lambda snap: snap.created_at):
        found.setdefault(snap.volume_id, []).append(snap)
    return found


def short_hash(value: str | None) -> str:
    return value[:HASH_SHOWN] if value else ""


def placement(choice: str, servers: Sequence[Server]) -> str | None:
    """The create form's "where": "" any host, "server:<id>" that instance's host."""
    if not choice:
        return None
    kind, _, value = choice.partition(":")
    if kind == "server":
        for server in servers:
            if server.id == value and server.host:
                return server.host
        raise Invalid("that instance is not running on a host", field="host")
    if kind == "host" and value:
        return value
    raise Invalid("choose a host or an instance", field="host")


def _view(s: Session, storage: BlockStorage, volume: Volume, chain: list[VolumeSnapshot],
          servers: Sequence[Server]) -> VolumeView:
    schedules = _schedules(s)
    schedule = None
    if schedules is not None:
        try:
            schedule = schedules.get(tenant_id=s.tenant_id, volume_id=volume.id)
        except NotFound:
            schedule = None
    sha = None
    if isinstance(storage, SimulatedBlockStorage):
        sha = storage.volume_sha256(s.tenant_id, volume.id)
    return VolumeView(volume=volume, chain=chain, schedule=schedule,
                      attachable=same_host(servers, volume.host), content_sha256=sha)


@router.get("/volumes")
def volumes(s: Tenant, tag: tag_views.TagFilter = "") -> Response:
    storage = storage_of(s)
    if storage is None:
        return page(s, "volumes/volumes.html", storage=False, views=[], servers=[], names={},
                    **_labels())
    servers = pages.live_servers(s)
    by_volume = chains(storage.list_volume_snapshots(s.tenant_id))
    found = sorted(storage.list_volumes(s.tenant_id), key=lambda v: (v.created_at, v.id))
    if tag:
        found = tag_views.tagged_volumes(s, found, tag)
    views = [_view(s, storage, v, by_volume.get(v.id, []), servers) for v in found]
    return page(s, "volumes/volumes.html", storage=True, views=views, servers=servers,
                tag=tag, tags=tag_views.chips(s, "volumes"),
                names=pages.names_by_id(servers),
                simulated=isinstance(storage, SimulatedBlockStorage), **_labels())


def _labels() -> dict[str, Any]:
    return {"statuses": STATUS_LABELS, "types": TYPE_LABELS, "volume_types": VOLUME_TYPES,
            "short": short_hash, "max_daily": MAX_DAILY_KEEP, "max_weekly": MAX_WEEKLY_KEEP}


def _back(volume_id: str) -> str:
    return f"{PAGE}#volume-{volume_id}"


def _size(value: str, field: str = "size_gb") -> int:
    return pages.whole_number(value, field=field, low=1, high=16384)


@router.post("/volumes")
def create_volume(s: TenantPost, name: Text = "", size_gb: Text = "1",
                  volume_type: Text = "local-ssd", where: Text = "") -> Response:
    def work() -> object:
        billing.ensure_can_create(db=s.container.db, tenant_id=s.tenant_id)
        spec = VolumeCreate(name=name.strip(), size_gb=_size(size_gb), volume_type=volume_type,
                            host=placement(where, pages.live_servers(s)))
        return _storage(s).create_volume(s.tenant_id, spec, user_id=s.principal.user_id)

    return attempt(s, PAGE, s.gettext("Volume %(name)s created.", name=name), work)


@router.post("/volumes/{volume_id}/attach")
def attach_volume(s: TenantPost, volume_id: str, server_id: Text = "") -> Response:
    return attempt(s, _back(volume_id), s.gettext("Volume attached."),
                   lambda: _storage(s).attach_volume(s.tenant_id, volume_id, server_id))


@router.post("/volumes/{volume_id}/detach")
def detach_volume(s: TenantPost, volume_id: str) -> Response:
    return attempt(s, _back(volume_id), s.gettext("Volume detached."),
                   lambda: _storage(s).detach_volume(s.tenant_id, volume_id))


@router.post("/volumes/{volume_id}/extend")
def extend_volume(s: TenantPost, volume_id: str, size_gb: Text = "") -> Response:
    return attempt(s, _back(volume_id), s.gettext("Volume extended."),
                   lambda: _storage(s).extend_volume(s.tenant_id, volume_id, _size(size_gb)))


@router.post("/volumes/{volume_id}/delete")
def delete_volume(s: TenantPost, volume_id: str) -> Response:
    return attempt(s, PAGE, s.gettext("Volume deleted."),
                   lambda: _storage(s).delete_volume(s.tenant_id, volume_id))


@router.post("/volumes/{volume_id}/snapshot")
def snapshot_volume(s: TenantPost, volume_id: str, name: Text = "") -> Response:
    def work() -> object:
        billing.ensure_can_create(db=s.container.db, tenant_id=s.tenant_id)
        chosen = name.strip() or f"snapshot-{volume_id[:8]}"
        return _storage(s).create_volume_snapshot(s.tenant_id, volume_id, chosen,
                                                  user_id=s.principal.user_id)

    return attempt(s, _back(volume_id), s.gettext("Snapshot taken."), work)


@router.post("/volumes/{volume_id}/write")
def write_test_data(s: TenantPost, volume_id: str, offset_mib: Text = "0",
                    length_mib: Text = "16") -> Response:
    """Simulated region only: random bytes, as if the attached instance wrote them."""
    def work() -> object:
        storage = _storage(s)
        if not isinstance(storage, SimulatedBlockStorage):
            raise Invalid("only a simulated region's volumes take test data", field="volume_id")
        offset = pages.whole_number(offset_mib, field="offset_mib", low=0, high=16384 * 1024)
        length = pages.whole_number(length_mib, field="length_mib", low=1, high=1024)
        return storage.write_volume(s.tenant_id, volume_id, offset, length)

    done = s.gettext("%(mib)s MiB of test data written.", mib=length_mib.strip())
    return attempt(s, _back(volume_id), done, work)


@router.post("/volumes/{volume_id}/schedule")
def set_schedule(s: TenantPost, volume_id: str, daily_keep: Text = "7",
                 weekly_keep: Text = "0") -> Response:
    def work() -> object:
        schedules = _schedules(s)
        if schedules is None:
            raise NotFound("snapshot schedules are not running here")
        return schedules.set(
            tenant_id=s.tenant_id, region=s.region, volume_id=volume_id,
            daily_keep=pages.whole_number(daily_keep, field="daily_keep", low=0,
                                          high=MAX_DAILY_KEEP),
            weekly_keep=pages.whole_number(weekly_keep, field="weekly_keep", low=0,
                                           high=MAX_WEEKLY_KEEP))

    return attempt(s, _back(volume_id), s.gettext("Snapshot schedule saved."), work)


@router.post("/volumes/{volume_id}/schedule/delete")
def delete_schedule(s: TenantPost, volume_id: str) -> Response:
    def work() -> None:
        schedules = _schedules(s)
        if schedules is None:
            raise NotFound("snapshot schedules are not running here")
        schedules.remove(tenant_id=s.tenant_id, volume_id=volume_id)

    return attempt(s, _back(volume_id), s.gettext("Snapshot schedule stopped."), work)


@router.post("/volume-snapshots/{snapshot_id}/restore")
def restore_snapshot(s: TenantPost, snapshot_id: str, name: Text = "") -> Response:
    """A new volume from the snapshot, of its size, verified against its content hash."""
    def work() -> object:
        billing.ensure_can_create(db=s.container.db, tenant_id=s.tenant_id)
        storage = _storage(s)
        snap = storage.get_volume_snapshot(s.tenant_id, snapshot_id)
        spec = VolumeCreate(name=name.strip() or f"restore-{snapshot_id[:8]}",
                            size_gb=snap.size_gb, snapshot_id=snapshot_id)
        return storage.create_volume(s.tenant_id, spec, user_id=s.principal.user_id)

    return attempt(s, PAGE, s.gettext("Snapshot restored to a new volume."), work)


@router.post("/volume-snapshots/{snapshot_id}/delete")
def delete_snapshot(s: TenantPost, snapshot_id: str, back: Text = PAGE) -> Response:
    target = back if back in (PAGE, "/console/snapshots") else PAGE
    return attempt(s, target, s.gettext("Snapshot deleted."),
                   lambda: _storage(s).delete_volume_snapshot(s.tenant_id, snapshot_id))
