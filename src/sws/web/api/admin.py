"""Admin routes across tenants: hypervisors, every server, dead letters and tracked resources."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from sws.drivers import base
from sws.web.api.compute import ServerPage, server_page
from sws.web.deps import Admin, Driver, Page

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
