"""Admin routes across tenants: hypervisors, every server, dead letters and tracked resources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from sws.drivers import base
from sws.errors import SWSError
from sws.events import service as events
from sws.paging import int_marker
from sws.web.api.compute import ServerRead, server_page
from sws.web.deps import Admin, Driver, Page, Paged, Services

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class HypervisorRead(BaseModel):
    id: str
    hostname: str
    state: str
    status: str
    vcpus: int
    vcpus_used: int
    ram_mb: int
    ram_used_mb: int
    disk_gb: int
    disk_used_gb: int
    running_vms: int
    server_ids: list[str]


@router.get("/hypervisors", response_model=Page[HypervisorRead])
def list_hypervisors(_admin: Admin, cloud: Driver, page: Paged) -> Page[HypervisorRead]:
    return page.window(
        HypervisorRead.model_validate(h, from_attributes=True) for h in cloud.list_hypervisors()
    )


@router.get("/servers", response_model=Page[ServerRead])
def list_all_servers(
    _admin: Admin,
    cloud: Driver,
    page: Paged,
    host: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    tenant_id: Annotated[str | None, Query(max_length=64, description="one tenant's")] = None,
) -> Page[ServerRead]:
    filters = base.ServerFilter(host=host, status=status, project_id=tenant_id)
    return server_page(cloud.list_all_servers(filters, page.limit, page.marker), page)


class DeadLetterRead(BaseModel):
    id: int
    received_at: datetime
    source: str
    reason: str
    raw: str


class ResourceRead(BaseModel):
    resource_type: str
    resource_id: str
    project_id: str | None
    region: str | None
    name: str | None
    state: str | None
    flavor_name: str | None
    address: str | None
    created_at: datetime | None
    deleted_at: datetime | None
    end_action: str | None
    last_action: str
    last_occurred_at: datetime


@router.get("/dead-letters", response_model=Page[DeadLetterRead])
def list_dead_letters(
    _admin: Admin,
    services: Services,
    page: Paged,
    source: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[DeadLetterRead]:
    """Newest first; `marker` is the id of the last letter seen."""
    letters = events.list_dead_letters(
        db=services.db, limit=page.limit, before=int_marker(page.request), source=source
    )
    return page.of([DeadLetterRead.model_validate(d, from_attributes=True) for d in letters])


@router.get("/resources", response_model=Page[ResourceRead])
def list_resources(
    _admin: Admin,
    services: Services,
    page: Paged,
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
    resource_type: Annotated[str | None, Query(max_length=32)] = None,
) -> Page[ResourceRead]:
    """What SWS knows from events: every tracked resource, deleted ones included, in
    (type, id) order; `marker` is `<resource_type>/<resource_id>` of the last one seen."""
    states = events.list_resources(
        db=services.db, project_id=tenant_id, resource_type=resource_type,
        limit=page.limit, after=_resource_key(page.marker),
    )
    items = [ResourceRead.model_validate(s, from_attributes=True) for s in states]
    return page.of(items, key=lambda r: f"{r.resource_type}/{r.resource_id}")


def _resource_key(marker: str | None) -> tuple[str, str] | None:
    if marker is None:
        return None
    kind, slash, resource_id = marker.partition("/")
    if not slash:
        raise SWSError("marker must be <resource_type>/<resource_id>", field="marker")
    return kind, resource_id
