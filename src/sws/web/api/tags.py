"""Tag routes: a resource's tags (`/v1/tags/{kind}/{resource_id}`) shown, replaced, added to
and removed from; the lists of servers and volumes filter by them with `?tag=`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sws.bootstrap import Container
from sws.drivers.base import CloudDriver, Server, ServerFilter
from sws.drivers.volumes import Volume
from sws.loadbalancer import service as loadbalancers
from sws.tags.model import KINDS, MAX_TAGS, MAX_TEXT, Tag, check_kind
from sws.tags.service import PAGE, RegionOwners, TagService, Target, all_pages
from sws.web.api.responses import problems
from sws.web.deps import Caller, RegionName, Services

router = APIRouter(prefix="/v1", tags=["tags"])
Id = Annotated[str, Path(min_length=1, max_length=64)]
KindName = Annotated[str, Path(max_length=64, description=f"one of {', '.join(KINDS)}")]
TagText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT,
                               description="`key` or `key=value`, e.g. `web` or `env=prod`")]


def tag_service(container: Container) -> TagService:
    """Tags over the container's regions: ownership through each region's driver."""
    def lb_region(tenant_id: str, lb_id: str) -> str:
        view = loadbalancers.get_loadbalancer(
            db=container.db, clock=container.clock, config=container.lb_config,
            project_id=tenant_id, lb_id=lb_id)
        return view.row.region

    owners = RegionOwners(driver=container.driver, block_storage=container.block_storage,
                          loadbalancer_region=lb_region)
    return TagService(db=container.db, clock=container.clock, owners=owners)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TagsBody(Body):
    tags: list[TagText] = Field(max_length=MAX_TAGS * 2,
                                description=f"the whole set, at most {MAX_TAGS} tags")


class TagBody(Body):
    tag: TagText


class TagsRead(BaseModel):
    kind: str = Field(description=f"one of {', '.join(KINDS)}")
    resource_id: str
    tags: list[str] = Field(description="sorted by key; `key` or `key=value`")


def _target(request: Request, caller: Caller, region: str, kind: str, resource_id: str) -> Target:
    return Target(caller=caller, region=region, kind=check_kind(kind), resource_id=resource_id,
                  source="api", remote_addr=request.client.host if request.client else None)


def _read(kind: str, resource_id: str, tags: tuple[Tag, ...]) -> TagsRead:
    return TagsRead(kind=kind, resource_id=resource_id, tags=[str(tag) for tag in tags])


@router.get("/tags/{kind}/{resource_id}", response_model=TagsRead, responses=problems(404, 422))
def get_tags(kind: KindName, resource_id: Id, request: Request, caller: Caller, region: RegionName,
             services: Services) -> TagsRead:
    """The resource's tags; 404 for a resource that is not the caller's."""
    target = _target(request, caller, region, kind, resource_id)
    return _read(kind, resource_id, tag_service(services).get(target))


@router.put("/tags/{kind}/{resource_id}", response_model=TagsRead, responses=problems(404, 422))
def replace_tags(kind: KindName, resource_id: Id, body: TagsBody, request: Request, caller: Caller,
                 region: RegionName, services: Services) -> TagsRead:
    """Replace the whole set (`[]` removes every tag); a key is lower-cased, a repeated tag
    counts once, two values of one key are a 422."""
    target = _target(request, caller, region, kind, resource_id)
    return _read(kind, resource_id, tag_service(services).replace(target, body.tags))


@router.post("/tags/{kind}/{resource_id}", response_model=TagsRead, responses=problems(404, 422))
def add_tag(kind: KindName, resource_id: Id, body: TagBody, request: Request, caller: Caller,
            region: RegionName, services: Services) -> TagsRead:
    """Add one tag; a key already there takes the new value."""
    target = _target(request, caller, region, kind, resource_id)
    return _read(kind, resource_id, tag_service(services).add(target, body.tag))


@router.delete("/tags/{kind}/{resource_id}/{tag}", status_code=204,
               responses=problems(404, 422))
def remove_tag(kind: KindName, resource_id: Id, tag: Annotated[str, Path(max_length=MAX_TEXT)],
               request: Request, caller: Caller, region: RegionName,
               services: Services) -> Response:
    """`env` removes the key whatever its value; `env=prod` only that value (else 404)."""
    target = _target(request, caller, region, kind, resource_id)
    tag_service(services).remove(target, tag)
    return Response(status_code=204)


TagFilter = Annotated[str | None, Query(
    min_length=1, max_length=MAX_TEXT,
    description="only resources tagged so: `env` (any value) or `env=prod`")]


def tagged_servers(services: Container, tenant_id: str, cloud: CloudDriver,
                   filters: ServerFilter, tag: str) -> list[Server]:
    """The tenant's servers tagged `tag` (and matching `filters`), walking the driver's pages."""
    wanted = tag_service(services).ids_with(tenant_id, cloud.region, "servers", tag)
    if not wanted:
        return []
    return all_pages(lambda marker: cloud.list_servers(tenant_id, filters, PAGE, marker),
                     lambda server: server.id, wanted)


def tagged_volumes(services: Container, tenant_id: str, region: str,
                   volumes: Iterable[Volume], tag: str) -> list[Volume]:
    return tag_service(services).filter(tenant_id, region, "volumes", tag, volumes,
                                        lambda volume: volume.id)
