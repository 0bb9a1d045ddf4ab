"""Admin routes across tenants: hypervisors, every server, dead letters and tracked resources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from sws.drivers import base
from sws.events import service as events
from sws.web.api.compute import ServerPage, server_page
from sws.web.api.params import Offset
from sws.web.deps import Admin, Driver, Page, Services

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


@router.get("/hypervisors", response_model=list[HypervisorRead])
def list_hypervisors(_admin: Admin, cloud: Driver) -> list[HypervisorRead]:
    return [
        HypervisorRead.model_validate(h, from_attributes=True) for h in cloud.list_hypervisors()
    ]


@router.get("/servers", response_model=ServerPage)
def list_all_servers(
    _admin: Admin,
    cloud: Driver,
    page: Page,
    host: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> ServerPage:
    filters = base.ServerFilter(host=host, status=status)
    return server_page(cloud.list_all_servers(filters, page.limit, page.marker), page.limit)


class DeadLetterRead(BaseModel):
    id: int
    received_at: datetime
    source: str
    reason: str
    raw: str


class DeadLetterPage(BaseModel):
    total: int
    items: list[DeadLetterRead]


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


@router.get("/dead-letters", response_model=DeadLetterPage)
def list_dead_letters(
    _admin: Admin,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> DeadLetterPage:
    letters = events.list_dead_letters(db=services.db, limit=limit, offset=offset)
    return DeadLetterPage(
        total=events.count_dead_letters(db=services.db),
        items=[DeadLetterRead.model_validate(d, from_attributes=True) for d in letters],
    )


@router.get("/resources", response_model=list[ResourceRead])
def list_resources(
    _admin: Admin,
    services: Services,
    project_id: Annotated[str | None, Query(max_length=64)] = None,
    resource_type: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[ResourceRead]:
    """What SWS knows from events: every tracked resource, deleted ones included."""
    states = events.list_resources(
        db=services.db, project_id=project_id, resource_type=resource_type,
        limit=limit, offset=offset,
    )
    return [ResourceRead.model_validate(s, from_attributes=True) for s in states]
