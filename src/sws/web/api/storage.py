"""Object storage routes (tenant): containers, small objects, and each container's firewall.

- `/v1/storage/containers[/{container}]`: list, create, show, delete (only when empty);
- `/v1/storage/containers/{container}/objects[/{object}]`: list, upload (raw body), download,
  delete;
- `/v1/storage/containers/{container}/firewall`: read and replace the storage-firewall rules.

Object requests pass the container's firewall with the caller's address: the peer, or behind
a proxy listed in `SWS_TRUSTED_PROXIES` the forwarded client (`web.guards.ClientAddress`). A
refusal is 403, a limit 429 with `Retry-After`. Downloads carry `nosniff`, and types a browser
would render are attachments (`storagefw.serving`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import unquote_to_bytes

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from sws.drivers.base import ContainerInfo, ObjectInfo, ObjectStore, RateLimited
from sws.errors import SWSError
from sws.storagefw import service as storage
from sws.storagefw import serving
from sws.storagefw.model import FirewallRules
from sws.web import deps, problems
from sws.web.deps import Caller, Page, Paged


def utf8_path(request: Request) -> None:
    """Refuse a path whose %-escapes are not UTF-8 (`a%FFb`) with 400: decoding would put
    U+FFFD in their place, and two different names would land on one object."""
    raw = request.scope.get("raw_path")
    if not isinstance(raw, bytes):
        return
    try:
        unquote_to_bytes(raw.partition(b"?")[0]).decode("utf-8")
    except UnicodeDecodeError:
        raise SWSError(
            "a container or object name must be UTF-8; this path has %-escapes that are not",
            field="path",
        ) from None


router = APIRouter(
    prefix="/v1/storage", tags=["object storage"], dependencies=[Depends(utf8_path)]
)
Name = Annotated[str, Path(max_length=256)]
ObjectName = Annotated[str, Path(max_length=1024)]


def object_store(
    request: Request, x_sws_region: Annotated[str | None, Header()] = None
) -> ObjectStore:
    return deps.container(request).object_store(x_sws_region)


Store = Annotated[ObjectStore, Depends(object_store)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContainerCreate(Body):
    name: str = Field(min_length=1, max_length=256)


class ContainerRead(BaseModel):
    name: str
    object_count: int
    bytes: int
    firewall: str = Field(description="link to this container's firewall")


class ObjectRead(BaseModel):
    name: str
    bytes: int
    content_type: str
    etag: str
    last_modified: datetime


class LimitBody(Body):
    kind: Literal["requests", "mb"] = Field(description="requests, or MB (10^6 bytes) of traffic")
    window: int = Field(description="300 (5 minutes) or 86400 (24 hours) seconds")
    amount: int = Field(description="a positive number of requests or MB per source IP")


class FirewallBody(Body):
    """A container's storage firewall; PUT replaces it whole (all empty: no firewall)."""

    allow: list[str] = Field(default_factory=list, max_length=1000, description="≤ 100 CIDRs")
    deny: list[str] = Field(default_factory=list, max_length=1000, description="≤ 100 CIDRs")
    exclusive: bool = Field(default=False, description="refuse every address not in `allow`")
    limits: list[LimitBody] = Field(default_factory=list, max_length=10)


def _container(info: ContainerInfo) -> ContainerRead:
    link = f"/v1/storage/containers/{info.name}/firewall"
    return ContainerRead(
        name=info.name, object_count=info.object_count, bytes=info.bytes_used, firewall=link
    )


def _object(info: ObjectInfo) -> ObjectRead:
    return ObjectRead(
        name=info.name, bytes=info.bytes, content_type=info.content_type, etag=info.etag,
        last_modified=info.last_modified,
    )


def _firewall(rules: FirewallRules) -> FirewallBody:
    return FirewallBody(
        allow=list(rules.allow), deny=list(rules.deny), exclusive=rules.exclusive,
        limits=[LimitBody(kind=x.kind, window=x.window, amount=x.amount) for x in rules.limits],
    )


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limited(exc: RateLimited) -> JSONResponse:
    response = problems.problem(exc.status, exc.title, exc.detail, field=exc.field)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


# Containers -----------------------------------------------------------------------------------

@router.get("/containers", response_model=Page[ContainerRead])
def list_containers(caller: Caller, store: Store, page: Paged) -> Page[ContainerRead]:
    found = storage.list_containers(store=store, project_id=caller.tenant_id)
    return page.window((_container(c) for c in found), key=lambda c: c.name)


@router.post("/containers", status_code=201, response_model=ContainerRead)
def create_container(body: ContainerCreate, caller: Caller, store: Store) -> ContainerRead:
    return _container(
        storage.create_container(store=store, project_id=caller.tenant_id, name=body.name)
    )


@router.get("/containers/{container}", response_model=ContainerRead)
def get_container(container: Name, caller: Caller, store: Store) -> ContainerRead:
    found = storage.get_container(store=store, project_id=caller.tenant_id, name=container)
    return _container(found)


@router.delete("/containers/{container}", status_code=204)
def delete_container(container: Name, caller: Caller, store: Store) -> Response:
    storage.delete_container(store=store, project_id=caller.tenant_id, name=container)
    return Response(status_code=204)


# Objects --------------------------------------------------------------------------------------

@router.get("/containers/{container}/objects", response_model=Page[ObjectRead])
def list_objects(
    container: Name, request: Request, caller: Caller, store: Store, page: Paged,
    prefix: Annotated[str, Query(max_length=1024)] = "",
) -> Page[ObjectRead] | JSONResponse:
    """Objects by name; `marker` is the name of the last object seen."""
    try:
        found = storage.list_objects(
            store=store, project_id=caller.tenant_id, container=container,
            client_ip=_client_ip(request), prefix=prefix, limit=page.limit, marker=page.marker,
        )
    except RateLimited as exc:
        return _limited(exc)
    return page.of([_object(o) for o in found], key=lambda o: o.name)


_RAW_BODY: dict[str, Any] = {
    "requestBody": {"content": {"application/octet-stream": {"schema": {}}}}
}


@router.put(
    "/containers/{container}/objects/{object_name:path}",
    status_code=201, response_model=ObjectRead, openapi_extra=_RAW_BODY,
)
async def put_object(
    container: Name, object_name: ObjectName, request: Request, caller: Caller, store: Store
) -> ObjectRead | JSONResponse:
    data = await request.body()
    content_type = request.headers.get("content-type", "application/octet-stream")[:255]
    try:
        info = await run_in_threadpool(
            lambda: storage.put_object(
                store=store, project_id=caller.tenant_id, container=container, name=object_name,
                data=data, content_type=content_type, client_ip=_client_ip(request),
            )
        )
    except RateLimited as exc:
        return _limited(exc)
    return _object(info)


@router.get(
    "/containers/{container}/objects/{object_name:path}",
    response_class=Response,
    responses={200: {"description": "the object's bytes, with the type it was stored with",
                     "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}},
)
def get_object(
    container: Name, object_name: ObjectName, request: Request, caller: Caller, store: Store
) -> Response:
    try:
        found = storage.get_object(
            store=store, project_id=caller.tenant_id, container=container, name=object_name,
            client_ip=_client_ip(request),
        )
    except RateLimited as exc:
        return _limited(exc)
    headers = {
        "ETag": f'"{found.info.etag}"',
        "Last-Modified": found.info.last_modified.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Content-Type": found.info.content_type,  # as stored, without an added charset
        **serving.download_headers(found.info.content_type, object_name),
    }
    return Response(found.data, headers=headers)


@router.delete("/containers/{container}/objects/{object_name:path}", status_code=204)
def delete_object(
    container: Name, object_name: ObjectName, request: Request, caller: Caller, store: Store
) -> Response:
    try:
        storage.delete_object(
            store=store, project_id=caller.tenant_id, container=container, name=object_name,
            client_ip=_client_ip(request),
        )
    except RateLimited as exc:
        return _limited(exc)
    return Response(status_code=204)


# Firewall -------------------------------------------------------------------------------------

@router.get("/containers/{container}/firewall", response_model=FirewallBody)
def get_firewall(container: Name, caller: Caller, store: Store) -> FirewallBody:
    rules = storage.get_firewall(store=store, project_id=caller.tenant_id, container=container)
    return _firewall(rules)


@router.put("/containers/{container}/firewall", response_model=FirewallBody)
def put_firewall(container: Name, body: FirewallBody, caller: Caller, store: Store) -> FirewallBody:
    rules = storage.firewall_rules(
        allow=body.allow, deny=body.deny, exclusive=body.exclusive,
        limits=[limit.model_dump() for limit in body.limits],
    )
    stored = storage.set_firewall(
        store=store, project_id=caller.tenant_id, container=container, rules=rules
    )
    return _firewall(stored)
