"""Sponsor region routes: the tenant's instances across every region, and the admin's Regions
(add a sponsor region, close or reopen one, edit its sponsor, see its health)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from sws.regions import model
from sws.regions import service as regions
from sws.web.api.audit import record
from sws.web.api.responses import problems
from sws.web.deps import Admin, Caller, Page, Paged, Services

router = APIRouter(prefix="/v1/regions", tags=["regions"])
admin_router = APIRouter(prefix="/v1/admin/regions", tags=["admin"])
Name = Annotated[str, Path(max_length=64)]


class SponsorRead(BaseModel):
    name: str
    logo_text: str
    contact: str


class SponsorWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    logo_text: str = Field(default="", max_length=32)  # empty: the name's initials
    contact: str = Field(default="", max_length=255)


class RegionServerRead(BaseModel):
    id: str
    name: str
    status: str
    flavor_name: str
    created_at: datetime


class RegionUsageRead(BaseModel):
    instances: int
    cores: int
    ram_mb: int
    floating_ips: int
    instances_limit: int
    cores_limit: int
    ram_mb_limit: int


class RegionFootprintRead(BaseModel):
    """The caller's instances and usage in one region; `state` unreachable says `problem`."""

    region: str
    sponsor: SponsorRead | None
    enabled: bool  # false: closed to new instances, what runs there stays the tenant's
    state: Literal["ok", "unreachable"]
    problem: str
    servers: list[RegionServerRead]
    usage: RegionUsageRead | None


class RegionAdminRead(BaseModel):
    name: str
    sponsor: SponsorRead | None
    driver: Literal["simulated", "openstack"]
    cloud: str | None
    catalog_region: str | None
    enabled: bool
    stored: bool  # a database row (added here, or edited): it wins over the settings
    reachable: bool
    problem: str
    last_event_at: datetime | None


class RegionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64)
    driver: Literal["simulated", "openstack"] = "simulated"
    cloud: str | None = Field(default=None, min_length=1, max_length=64)
    catalog_region: str | None = Field(default=None, min_length=1, max_length=64)
    sponsor: SponsorWrite | None = None


class RegionUpdate(BaseModel):
    """Either or both: `enabled`, and `sponsor` (null removes the sponsor)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    sponsor: SponsorWrite | None = None


def _sponsor(sponsor: model.Sponsor | None) -> SponsorRead | None:
    if sponsor is None:
        return None
    return SponsorRead(name=sponsor.name, logo_text=sponsor.logo_text, contact=sponsor.contact)


def _written(body: SponsorWrite | None) -> model.Sponsor | None:
    if body is None:
        return None
    return model.check_sponsor(name=body.name, logo_text=body.logo_text, contact=body.contact)


def _footprint(view: model.RegionServers) -> RegionFootprintRead:
    usage = view.usage
    return RegionFootprintRead(
        region=view.region.name,
        sponsor=_sponsor(view.region.sponsor),
        enabled=view.region.enabled,
        state=view.state,
        problem=view.problem,
        servers=[
            RegionServerRead(
                id=s.id,
                name=s.name,
                status=s.status,
                flavor_name=s.flavor.name,
                created_at=s.created_at,
            )
            for s in view.servers
        ],
        usage=None
        if usage is None
        else RegionUsageRead(
            instances=usage.instances,
            cores=usage.cores,
            ram_mb=usage.ram_mb,
            floating_ips=usage.floating_ips,
            instances_limit=usage.limits.instances,
            cores_limit=usage.limits.cores,
            ram_mb_limit=usage.limits.ram_mb,
        ),
    )


def _admin_read(region: model.SponsorRegion, health: model.RegionHealth) -> RegionAdminRead:
    return RegionAdminRead(
        name=region.name,
        sponsor=_sponsor(region.sponsor),
        driver=region.driver,
        cloud=region.cloud,
        catalog_region=region.catalog_region,
        enabled=region.enabled,
        stored=region.stored,
        reachable=health.reachable,
        problem=health.problem,
        last_event_at=health.last_event_at,
    )


def _with_health(services: Services, found: list[model.SponsorRegion]) -> list[RegionAdminRead]:
    checked = regions.health(
        db=services.db,
        regions=found,
        driver=services.driver,
        timeout=services.settings.region_probe_seconds,
    )
    return [_admin_read(region, health) for region, health in zip(found, checked, strict=True)]


@router.get("/all", response_model=Page[RegionFootprintRead])
def all_regions(caller: Caller, services: Services, page: Paged) -> Page[RegionFootprintRead]:
    """Your instances and usage in every region; a region that does not answer is listed as
    unreachable, with why. A closed region is listed only while you have instances there."""
    found = regions.list_regions(db=services.db, settings=services.settings)
    views = regions.all_regions(
        regions=found,
        driver=services.driver,
        project_id=caller.tenant_id,
        timeout=services.settings.region_probe_seconds,
    )
    shown = model.shown_to_tenant(views)
    return page.window((_footprint(v) for v in shown), key=lambda v: v.region)


@admin_router.get("", response_model=Page[RegionAdminRead])
def list_regions(_admin: Admin, services: Services, page: Paged) -> Page[RegionAdminRead]:
    found = regions.list_regions(db=services.db, settings=services.settings)
    return page.window(_with_health(services, found), key=lambda r: r.name)


@admin_router.post(
    "", status_code=201, response_model=RegionAdminRead, responses=problems(401, 403, 409, 422)
)
def add_region(body: RegionCreate, admin: Admin, services: Services) -> RegionAdminRead:
    region = regions.add_region(
        db=services.db,
        clock=services.clock,
        settings=services.settings,
        name=body.name,
        driver=body.driver,
        sponsor=_written(body.sponsor),
        cloud=body.cloud,
        catalog_region=body.catalog_region,
    )
    record(services, admin, "region.create", region.name, f"driver={region.driver}")
    return _with_health(services, [region])[0]


@admin_router.patch(
    "/{name}", response_model=RegionAdminRead, responses=problems(401, 403, 404, 422)
)
def update_region(
    name: Name, body: RegionUpdate, admin: Admin, services: Services
) -> RegionAdminRead:
    db, clock, settings = services.db, services.clock, services.settings
    region = regions.get_region(db=db, settings=settings, name=name)
    if body.enabled is not None:
        region = regions.set_enabled(
            db=db, clock=clock, settings=settings, name=name, enabled=body.enabled
        )
    if "sponsor" in body.model_fields_set:
        region = regions.set_sponsor(
            db=db, clock=clock, settings=settings, name=name, sponsor=_written(body.sponsor)
        )
    record(services, admin, "region.update", name, body.model_dump_json(exclude_unset=True))
    return _with_health(services, [region])[0]
