"""Block storage routes: volumes (create, attach, detach, extend, delete) and volume snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sws.billing import service as billing
from sws.bootstrap import Container
from sws.drivers.simulated.volumes import SimulatedBlockStorage
from sws.drivers.volumes import MAX_VOLUME_GB, BlockStorage, Volume, VolumeCreate, VolumeSnapshot
from sws.errors import NotFound
from sws.volumes.model import MAX_DAILY_KEEP, MAX_WEEKLY_KEEP, Schedule
from sws.volumes.service import VolumeSchedules
from sws.web import deps
from sws.web.api import tags as tags_api
from sws.web.api.responses import problems
from sws.web.deps import Caller, Page, Paged, RegionName, Services

router = APIRouter(prefix="/v1", tags=["volumes"])
Id = Annotated[str, Path(max_length=64)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][\w. -]*$")]
Size = Annotated[int, Field(ge=1, le=MAX_VOLUME_GB)]


def block_storage(
    request: Request, x_sws_region: Annotated[str | None, Header()] = None
) -> BlockStorage:
    return deps.container(request).block_storage(x_sws_region)


Storage = Annotated[BlockStorage, Depends(block_storage)]


def volume_quota(
    services: Container, region: str, tenant_id: str
) -> tuple[dict[str, int], dict[str, int]]:
    """`volumes` and `volume_gb`: the limits and what is in use, for /v1/quotas (none where
    SWS keeps no volume quota: a region without block storage, or Cinder's own)."""
    try:
        storage = services.block_storage(region)
    except NotFound:
        return {}, {}
    if not isinstance(storage, SimulatedBlockStorage):
        return {}, {}
    limit, usage = storage.quota(tenant_id), storage.usage(tenant_id)
    return ({"volumes": limit.volumes, "volume_gb": limit.volume_gb},
            {"volumes": usage.volumes, "volume_gb": usage.volume_gb})


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VolumeRead(BaseModel):
    id: str
    name: str
    size_gb: int
    volume_type: str
    status: str
    host: str | None
    server_id: str | None
    device: str | None
    snapshot_id: str | None
    created_at: datetime
    updated_at: datetime


class VolumeCreateBody(Body):
    name: Name
    size_gb: Size
    volume_type: Literal["local-ssd", "local-hdd"] = "local-ssd"
    snapshot_id: str | None = Field(default=None, max_length=64)
    host: str | None = Field(default=None, min_length=1, max_length=255,
                             description="the compute host; an instance's host to attach there")


class AttachBody(Body):
    server_id: str = Field(min_length=1, max_length=64)


class ExtendBody(Body):
    size_gb: Size


class SnapshotRead(BaseModel):
    id: str
    name: str
    volume_id: str
    size_gb: int
    status: str
    created_at: datetime
    stored_bytes: int | None = Field(description="bytes this snapshot added to the chunk store")
    content_sha256: str | None = Field(description="the volume hash when taken (Island)")


class SnapshotCreateBody(Body):
    volume_id: str = Field(min_length=1, max_length=64)
    name: Name | None = None


def _volume(volume: Volume) -> VolumeRead:
    return VolumeRead(
        id=volume.id, name=volume.name, size_gb=volume.size_gb, volume_type=volume.volume_type,
        status=volume.status, host=volume.host, server_id=volume.server_id, device=volume.device,
        snapshot_id=volume.snapshot_id, created_at=volume.created_at,
        updated_at=volume.updated_at)


def _snapshot(snap: VolumeSnapshot) -> SnapshotRead:
    return SnapshotRead(
        id=snap.id, name=snap.name, volume_id=snap.volume_id, size_gb=snap.size_gb,
        status=snap.status, created_at=snap.created_at, stored_bytes=snap.stored_bytes,
        content_sha256=snap.content_sha256)


@router.get("/volumes", response_model=Page[VolumeRead], responses=problems(404, 422))
def list_volumes(caller: Caller, storage: Storage, page: Paged, services: Services,
                 region: RegionName, tag: tags_api.TagFilter = None) -> Page[VolumeRead]:
    volumes = storage.list_volumes(caller.tenant_id)
    if tag is not None:
        volumes = tags_api.tagged_volumes(services, caller.tenant_id, region, volumes, tag)
    return page.window(_volume(v) for v in volumes)


@router.post("/volumes", status_code=201, response_model=VolumeRead,
             responses=problems(403, 404, 409, 422))
def create_volume(body: VolumeCreateBody, caller: Caller, storage: Storage,
                  services: Services) -> VolumeRead:
    """An empty local volume, or one restored (and verified) from `snapshot_id`."""
    billing.ensure_can_create(db=services.db, tenant_id=caller.tenant_id)  # 402 when suspended
    spec = VolumeCreate(name=body.name, size_gb=body.size_gb, volume_type=body.volume_type,
                        snapshot_id=body.snapshot_id, host=body.host)
    return _volume(storage.create_volume(caller.tenant_id, spec, user_id=caller.user_id))


@router.get("/volumes/{volume_id}", response_model=VolumeRead, responses=problems(404))
def get_volume(volume_id: Id, caller: Caller, storage: Storage) -> VolumeRead:
    return _volume(storage.get_volume(caller.tenant_id, volume_id))


@router.delete("/volumes/{volume_id}", status_code=204, responses=problems(404, 409))
def delete_volume(volume_id: Id, caller: Caller, storage: Storage) -> Response:
    """409 while attached; the volume's snapshots stay."""
    storage.delete_volume(caller.tenant_id, volume_id)
    return Response(status_code=204)


@router.post("/volumes/{volume_id}/attach", response_model=VolumeRead,
             responses=problems(404, 409, 422))
def attach_volume(volume_id: Id, body: AttachBody, caller: Caller,
                  storage: Storage) -> VolumeRead:
    """409 when the instance runs on another host than the volume (a local volume)."""
    return _volume(storage.attach_volume(caller.tenant_id, volume_id, body.server_id))


@router.post("/volumes/{volume_id}/detach", response_model=VolumeRead,
             responses=problems(404, 409))
def detach_volume(volume_id: Id, caller: Caller, storage: Storage) -> VolumeRead:
    return _volume(storage.detach_volume(caller.tenant_id, volume_id))


@router.post("/volumes/{volume_id}/extend", response_model=VolumeRead,
             responses=problems(403, 404, 409, 422))
def extend_volume(volume_id: Id, body: ExtendBody, caller: Caller,
                  storage: Storage) -> VolumeRead:
    """422 for a size not larger than the volume's."""
    return _volume(storage.extend_volume(caller.tenant_id, volume_id, body.size_gb))


@router.get("/volume-snapshots", response_model=Page[SnapshotRead], responses=problems(404, 422))
def list_snapshots(
    caller: Caller, storage: Storage, page: Paged,
    volume_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[SnapshotRead]:
    snaps = storage.list_volume_snapshots(caller.tenant_id, volume_id)
    return page.window(_snapshot(s) for s in snaps)


@router.post("/volume-snapshots", status_code=201, response_model=SnapshotRead,
             responses=problems(404, 409, 422))
def create_snapshot(body: SnapshotCreateBody, caller: Caller, storage: Storage,
                    services: Services) -> SnapshotRead:
    billing.ensure_can_create(db=services.db, tenant_id=caller.tenant_id)
    name = body.name or f"snapshot-{body.volume_id[:8]}"
    snap = storage.create_volume_snapshot(caller.tenant_id, body.volume_id, name,
                                          user_id=caller.user_id)
    return _snapshot(snap)


@router.get("/volume-snapshots/{snapshot_id}", response_model=SnapshotRead,
            responses=problems(404))
def get_snapshot(snapshot_id: Id, caller: Caller, storage: Storage) -> SnapshotRead:
    return _snapshot(storage.get_volume_snapshot(caller.tenant_id, snapshot_id))


@router.delete("/volume-snapshots/{snapshot_id}", status_code=204, responses=problems(404))
def delete_snapshot(snapshot_id: Id, caller: Caller, storage: Storage) -> Response:
    """Deletes this snapshot only: no other snapshot depends on it."""
    storage.delete_volume_snapshot(caller.tenant_id, snapshot_id)
    return Response(status_code=204)


class ScheduleBody(Body):
    daily_keep: int = Field(ge=0, le=MAX_DAILY_KEEP, description="daily snapshots kept")
    weekly_keep: int = Field(default=0, ge=0, le=MAX_WEEKLY_KEEP,
                             description="weekly snapshots kept (the newest of each ISO week)")


class ScheduleRead(BaseModel):
    volume_id: str
    daily_keep: int
    weekly_keep: int
    created_at: datetime
    last_run_at: datetime | None


def _schedule(schedule: Schedule) -> ScheduleRead:
    return ScheduleRead(volume_id=schedule.volume_id, daily_keep=schedule.daily_keep,
                        weekly_keep=schedule.weekly_keep, created_at=schedule.created_at,
                        last_run_at=schedule.last_run_at)


def _schedules(services: Container) -> VolumeSchedules:
    assert services.volume_schedules is not None
    return services.volume_schedules


@router.put("/volumes/{volume_id}/snapshot-schedule", response_model=ScheduleRead,
            responses=problems(404, 422))
def set_schedule(volume_id: Id, body: ScheduleBody, caller: Caller, region: RegionName,
                 services: Services) -> ScheduleRead:
    """A snapshot every UTC day, keeping the newest `daily_keep` days and `weekly_keep` weeks;
    retention deletes only the snapshots the schedule took."""
    schedule = _schedules(services).set(
        tenant_id=caller.tenant_id, region=region, volume_id=volume_id,
        daily_keep=body.daily_keep, weekly_keep=body.weekly_keep)
    return _schedule(schedule)


@router.get("/volumes/{volume_id}/snapshot-schedule", response_model=ScheduleRead,
            responses=problems(404))
def get_schedule(volume_id: Id, caller: Caller, services: Services) -> ScheduleRead:
    return _schedule(_schedules(services).get(tenant_id=caller.tenant_id, volume_id=volume_id))


@router.delete("/volumes/{volume_id}/snapshot-schedule", status_code=204,
               responses=problems(404))
def delete_schedule(volume_id: Id, caller: Caller, services: Services) -> Response:
    _schedules(services).remove(tenant_id=caller.tenant_id, volume_id=volume_id)
    return Response(status_code=204)
