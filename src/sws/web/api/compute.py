"""Compute and network routes: servers, flavors, images, key pairs, groups, floating IPs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from sws.billing import service as billing
from sws.compute import model as compute_rules
from sws.compute import service as compute
from sws.drivers import base
from sws.errors import NotFound
from sws.regions import service as regions
from sws.web.api import tags as tags_api
from sws.web.api import volumes as volumes_api
from sws.web.api.responses import problems
from sws.web.deps import Caller, Driver, Page, Paged, Paging, RegionName, Services

router = APIRouter(prefix="/v1", tags=["compute"])
Id = Annotated[str, Path(max_length=64)]
MAX_CONSOLE_LINES = 10_000
Name = Annotated[
    str,
    Field(min_length=1, max_length=compute_rules.NAME_MAX, pattern=compute_rules.NAME_PATTERN),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlavorRead(BaseModel):
    id: str
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    ephemeral_gb: int
    swap_mb: int
    is_public: bool


class ImageRead(BaseModel):
    id: str
    name: str
    status: str
    min_disk_gb: int
    min_ram_mb: int
    size_bytes: int
    visibility: str
    owner_project_id: str | None
    created_at: datetime
    image_type: str
    source_server_id: str | None


class KeyPairRead(BaseModel):
    name: str
    fingerprint: str
    public_key: str
    created_at: datetime
    key_type: str
    private_key: str | None = None


class KeyPairCreate(Body):
    name: Name
    public_key: str | None = Field(default=None, max_length=16384)


class RuleRead(BaseModel):
    id: str
    security_group_id: str
    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None


class SecurityGroupRead(BaseModel):
    id: str
    name: str
    description: str
    project_id: str
    rules: list[RuleRead]


class SecurityGroupCreate(Body):
    name: Name
    description: str = Field(default="", max_length=255)


class RuleCreate(Body):
    direction: Literal["ingress", "egress"] = "ingress"
    ethertype: Literal["IPv4", "IPv6"] = "IPv4"
    protocol: Literal["tcp", "udp", "icmp"] | None = None
    port_range_min: int | None = Field(default=None, ge=0, le=65535)
    port_range_max: int | None = Field(default=None, ge=0, le=65535)
    remote_ip_prefix: str | None = Field(default=None, max_length=64)


class ServerRead(BaseModel):
    id: str
    name: str
    project_id: str
    user_id: str
    flavor: FlavorRead
    image_id: str
    status: str
    vm_state: str
    task_state: str | None
    power_state: str
    host: str | None
    fixed_ips: list[str]
    floating_ips: list[str]
    key_name: str | None
    security_groups: list[str]
    created_at: datetime
    updated_at: datetime
    launched_at: datetime | None
    terminated_at: datetime | None
    fault: str | None
    old_flavor: FlavorRead | None


class ServerCreate(Body):
    name: Name
    flavor_id: str = Field(min_length=1, max_length=64)
    image_id: str = Field(min_length=1, max_length=64)
    key_name: str | None = Field(default=None, max_length=64)
    security_groups: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=lambda: ["default"], max_length=10
    )
    count: int = Field(default=1, ge=1, le=base.MAX_SERVERS_PER_LAUNCH)


class ServerAction(Body):
    action: Literal[
        "start", "stop", "reboot", "resize", "confirm_resize", "revert_resize",
        "shelve", "unshelve", "snapshot", "rebuild",
    ]
    flavor_id: str | None = Field(default=None, max_length=64, description="for resize")
    name: str | None = Field(default=None, max_length=64, description="for snapshot")
    image_id: str | None = Field(
        default=None, max_length=64, description="for rebuild: an OS image (not a snapshot)"
    )


class ServerUpdate(Body):
    name: Name


class FloatingIPRead(BaseModel):
    id: str
    address: str
    project_id: str
    status: str
    server_id: str | None
    fixed_ip: str | None
    created_at: datetime


class FloatingIPAssociate(Body):
    server_id: str = Field(min_length=1, max_length=64)


class QuotaRead(BaseModel):
    limits: dict[str, int]
    in_use: dict[str, int]


M = TypeVar("M", bound=BaseModel)


def _read(model: type[M], value: object) -> M:
    return model.model_validate(value, from_attributes=True)


@router.get("/flavors", response_model=Page[FlavorRead])
def list_flavors(_caller: Caller, cloud: Driver, page: Paged) -> Page[FlavorRead]:
    return page.window(_read(FlavorRead, f) for f in cloud.list_flavors())


@router.get("/flavors/{flavor_id}", response_model=FlavorRead)
def show_flavor(flavor_id: Id, _caller: Caller, cloud: Driver) -> FlavorRead:
    return _read(FlavorRead, cloud.get_flavor(flavor_id))


@router.get("/images", response_model=Page[ImageRead])
def list_images(caller: Caller, cloud: Driver, page: Paged) -> Page[ImageRead]:
    return page.window(_read(ImageRead, i) for i in cloud.list_images(caller.tenant_id))


@router.get("/images/{image_id}", response_model=ImageRead)
def show_image(image_id: Id, caller: Caller, cloud: Driver) -> ImageRead:
    return _read(ImageRead, cloud.get_image(caller.tenant_id, image_id))


@router.delete("/images/{image_id}", status_code=204)
def delete_image(image_id: Id, caller: Caller, cloud: Driver) -> Response:
    cloud.delete_image(caller.tenant_id, image_id)
    return Response(status_code=204)


@router.get("/keypairs", response_model=Page[KeyPairRead])
def list_keypairs(caller: Caller, cloud: Driver, page: Paged) -> Page[KeyPairRead]:
    pairs = (_read(KeyPairRead, k) for k in cloud.list_keypairs(caller.tenant_id))
    return page.window(pairs, key=lambda k: k.name)


@router.post("/keypairs", status_code=201, response_model=KeyPairRead)
def create_keypair(body: KeyPairCreate, caller: Caller, cloud: Driver) -> KeyPairRead:
    return _read(KeyPairRead, cloud.create_keypair(caller.tenant_id, body.name, body.public_key))


@router.get("/keypairs/{name}", response_model=KeyPairRead)
def show_keypair(name: Id, caller: Caller, cloud: Driver) -> KeyPairRead:
    for pair in cloud.list_keypairs(caller.tenant_id):
        if pair.name == name:
            return _read(KeyPairRead, pair)
    raise NotFound(f"key pair {name} not found")


@router.delete("/keypairs/{name}", status_code=204)
def delete_keypair(name: Id, caller: Caller, cloud: Driver) -> Response:
    cloud.delete_keypair(caller.tenant_id, name)
    return Response(status_code=204)


@router.get("/security-groups", response_model=Page[SecurityGroupRead])
def list_security_groups(caller: Caller, cloud: Driver, page: Paged) -> Page[SecurityGroupRead]:
    groups = cloud.list_security_groups(caller.tenant_id)
    return page.window(_read(SecurityGroupRead, g) for g in groups)


@router.post("/security-groups", status_code=201, response_model=SecurityGroupRead)
def create_security_group(
    body: SecurityGroupCreate, caller: Caller, cloud: Driver
) -> SecurityGroupRead:
    group = cloud.create_security_group(caller.tenant_id, body.name, body.description)
    return _read(SecurityGroupRead, group)


@router.get("/security-groups/{group_id}", response_model=SecurityGroupRead)
def show_security_group(group_id: Id, caller: Caller, cloud: Driver) -> SecurityGroupRead:
    return _read(SecurityGroupRead, cloud.get_security_group(caller.tenant_id, group_id))


@router.delete("/security-groups/{group_id}", status_code=204)
def delete_security_group(group_id: Id, caller: Caller, cloud: Driver) -> Response:
    cloud.delete_security_group(caller.tenant_id, group_id)
    return Response(status_code=204)


@router.post("/security-groups/{group_id}/rules", status_code=201, response_model=RuleRead)
def add_rule(group_id: Id, body: RuleCreate, caller: Caller, cloud: Driver) -> RuleRead:
    rule = base.SecurityGroupRuleCreate(**body.model_dump())
    return _read(RuleRead, cloud.add_security_group_rule(caller.tenant_id, group_id, rule))


@router.delete("/security-group-rules/{rule_id}", status_code=204)
def delete_rule(rule_id: Id, caller: Caller, cloud: Driver) -> Response:
    cloud.delete_security_group_rule(caller.tenant_id, rule_id)
    return Response(status_code=204)


@router.get("/servers", response_model=Page[ServerRead])
def list_servers(
    caller: Caller,
    cloud: Driver,
    page: Paged,
    services: Services,
    name: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    flavor_id: Annotated[str | None, Query(max_length=64)] = None,
    image_id: Annotated[str | None, Query(max_length=64)] = None,
    tag: tags_api.TagFilter = None,
) -> Page[ServerRead]:
    filters = base.ServerFilter(name=name, status=status, flavor_id=flavor_id, image_id=image_id)
    if tag is not None:  # tags live in SWS's database, not in the driver
        found = tags_api.tagged_servers(services, caller.tenant_id, cloud, filters, tag)
        return page.window(_read(ServerRead, s) for s in found)
    servers = cloud.list_servers(caller.tenant_id, filters, page.limit, page.marker)
    return server_page(servers, page)


def server_page(servers: Sequence[base.Server], page: Paging) -> Page[ServerRead]:
    """The driver pages servers itself (Nova's own marker); this only wraps them."""
    return page.of([_read(ServerRead, s) for s in servers])


@router.post("/servers", status_code=202, response_model=list[ServerRead])
def create_servers(
    body: ServerCreate, caller: Caller, cloud: Driver, services: Services, region: RegionName
) -> list[ServerRead]:
    billing.ensure_can_create(db=services.db, tenant_id=caller.tenant_id)  # 402 when suspended
    regions.ensure_open(db=services.db, settings=services.settings, name=region)  # 409: closed
    services.check_launch(caller.tenant_id, cloud.region)  # 429: a free region's launch rate
    spec = base.ServerCreate(
        name=body.name, flavor_id=body.flavor_id, image_id=body.image_id,
        key_name=body.key_name, security_groups=tuple(body.security_groups), count=body.count,
    )
    servers = cloud.create_servers(caller.tenant_id, caller.user_id, spec)
    return [_read(ServerRead, s) for s in servers]


@router.get("/servers/{server_id}", response_model=ServerRead)
def show_server(server_id: Id, caller: Caller, cloud: Driver) -> ServerRead:
    return _read(ServerRead, cloud.get_server(caller.tenant_id, server_id))


@router.patch("/servers/{server_id}", response_model=ServerRead,
              responses=problems(404, 409, 422))
def update_server(
    server_id: Id, body: ServerUpdate, caller: Caller, cloud: Driver, services: Services
) -> ServerRead:
    """Rename the server; its id, addresses and everything else stay."""
    return _read(ServerRead, compute.rename(cloud, caller.tenant_id, server_id, body.name,
                                            db=services.db, clock=services.clock))


@router.post("/servers/{server_id}/action", status_code=202,
             responses=problems(404, 409, 422))
def server_action(
    server_id: Id, body: ServerAction, caller: Caller, cloud: Driver
) -> ServerRead | ImageRead:
    """Start, stop, reboot, resize (then confirm or revert), rebuild from an OS image (the
    disk is wiped; id, addresses and flavor stay), shelve, unshelve, or snapshot."""
    project = caller.tenant_id
    if body.action == "snapshot":
        name = body.name or f"snapshot-{server_id[:8]}"
        return _read(ImageRead, cloud.create_snapshot(project, server_id, name))
    if body.action == "rebuild":
        server = compute.rebuild(cloud, project, server_id, body.image_id)
    elif body.action == "resize":
        server = compute.resize(cloud, project, server_id, body.flavor_id)
    elif body.action in ("confirm_resize", "revert_resize"):
        keep = body.action == "confirm_resize"
        server = compute.finish_resize(cloud, project, server_id, keep)
    else:
        server = cloud.server_action(project, server_id, body.action, body.flavor_id)
    return _read(ServerRead, server)


class ConsoleOutputRead(BaseModel):
    lines: list[str]
    truncated: bool = Field(description="true when the log has older lines than those shown")


@router.get("/servers/{server_id}/console-output", response_model=ConsoleOutputRead,
            responses=problems(404, 422))
def console_output(
    server_id: Id, caller: Caller, cloud: Driver,
    lines: Annotated[int, Query(ge=1, le=MAX_CONSOLE_LINES)] = 50,
) -> ConsoleOutputRead:
    """The last `lines` lines of the instance's serial console (Nova's os-getConsoleOutput)."""
    found = list(cloud.console_output(caller.tenant_id, server_id, lines + 1))
    return ConsoleOutputRead(lines=found[-lines:], truncated=len(found) > lines)


@router.delete("/servers/{server_id}", status_code=204)
def delete_server(server_id: Id, caller: Caller, cloud: Driver) -> Response:
    cloud.delete_server(caller.tenant_id, server_id)
    return Response(status_code=204)


@router.get("/floating-ips", response_model=Page[FloatingIPRead])
def list_floating_ips(caller: Caller, cloud: Driver, page: Paged) -> Page[FloatingIPRead]:
    return page.window(_read(FloatingIPRead, f) for f in cloud.list_floating_ips(caller.tenant_id))


@router.post("/floating-ips", status_code=201, response_model=FloatingIPRead)
def allocate_floating_ip(caller: Caller, cloud: Driver, services: Services) -> FloatingIPRead:
    billing.ensure_can_create(db=services.db, tenant_id=caller.tenant_id)  # 402 when suspended
    return _read(FloatingIPRead, cloud.allocate_floating_ip(caller.tenant_id))


@router.post("/floating-ips/{fip_id}/associate", response_model=FloatingIPRead)
def associate_floating_ip(
    fip_id: Id, body: FloatingIPAssociate, caller: Caller, cloud: Driver
) -> FloatingIPRead:
    fip = cloud.associate_floating_ip(caller.tenant_id, fip_id, body.server_id)
    return _read(FloatingIPRead, fip)


@router.post("/floating-ips/{fip_id}/disassociate", response_model=FloatingIPRead)
def disassociate_floating_ip(fip_id: Id, caller: Caller, cloud: Driver) -> FloatingIPRead:
    return _read(FloatingIPRead, cloud.disassociate_floating_ip(caller.tenant_id, fip_id))


@router.delete("/floating-ips/{fip_id}", status_code=204)
def release_floating_ip(fip_id: Id, caller: Caller, cloud: Driver) -> Response:
    cloud.release_floating_ip(caller.tenant_id, fip_id)
    return Response(status_code=204)


@router.get("/quotas", response_model=QuotaRead)
def show_quotas(
    caller: Caller, cloud: Driver, services: Services, region: RegionName
) -> QuotaRead:
    usage = cloud.quota_usage(caller.tenant_id)
    limits = usage.limits
    names = ("instances", "cores", "ram_mb", "floating_ips", "security_groups", "key_pairs")
    volume_limits, volume_use = volumes_api.volume_quota(services, region, caller.tenant_id)
    return QuotaRead(
        limits={n: getattr(limits, n) for n in names} | volume_limits,
        in_use={n: getattr(usage, n) for n in names} | volume_use,
    )
