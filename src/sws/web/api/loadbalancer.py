"""Load-balancer routes: tenants' LBs, members, host names and instance public domains; and
the LB nodes' side (desired state by long poll, health reports) under /v1/admin/lb-nodes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from sws.loadbalancer import agents as lb_agents
from sws.loadbalancer import service
from sws.loadbalancer.model import LoadBalancerSpec, MemberSpec, Monitor
from sws.loadbalancer.service import LBView, MemberView
from sws.web.deps import Admin, Caller, Driver, Page, Paged, Services

router = APIRouter(prefix="/v1", tags=["loadbalancers"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])
Id = Annotated[str, Path(max_length=64)]
MAX_WAIT = 30.0


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MonitorBody(Body):
    type: Literal["http", "tcp"] = "tcp"
    interval_ms: int = Field(default=500, ge=100, le=3_600_000)
    timeout_ms: int = Field(default=400, ge=50, le=3_600_000)
    rise: int = Field(default=2, ge=1, le=10)
    fall: int = Field(default=2, ge=1, le=10)
    http_path: str = Field(default="/", max_length=255)
    expected_codes: str = Field(default="200-399", max_length=7)

    def value(self) -> Monitor:
        return Monitor(**self.model_dump())


class MemberCreate(Body):
    server_id: str = Field(min_length=1, max_length=64)
    port: int = Field(ge=1, le=65535)
    weight: int = Field(default=1, ge=0, le=256)
    backup: bool = False

    def spec(self) -> MemberSpec:
        return MemberSpec(self.server_id, self.port, self.weight, self.backup)


class MemberUpdate(Body):
    weight: int | None = Field(default=None, ge=0, le=256)
    admin_state: Literal["enabled", "maint"] | None = None


class LoadBalancerCreate(Body):
    name: str = Field(min_length=1, max_length=255)
    type: Literal["http", "tcp"]
    algorithm: Literal["roundrobin", "leastconn", "source"] = "roundrobin"
    monitor: MonitorBody | None = None
    custom_hosts: list[Annotated[str, Field(max_length=253)]] = Field(
        default_factory=list, max_length=20
    )
    members: list[MemberCreate] = Field(default_factory=list, max_length=100)

    def spec(self) -> LoadBalancerSpec:
        return LoadBalancerSpec(
            name=self.name, type=self.type, algorithm=self.algorithm,
            monitor=self.monitor.value() if self.monitor else Monitor(),
            custom_hosts=tuple(self.custom_hosts), members=tuple(m.spec() for m in self.members),
        )


class LoadBalancerUpdate(Body):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    algorithm: Literal["roundrobin", "leastconn", "source"] | None = None
    monitor: MonitorBody | None = None


class HostCreate(Body):
    host: str = Field(min_length=1, max_length=253)


class PublicDomainCreate(Body):
    port: int = Field(default=22, ge=1, le=65535, description="the instance port to reach")


class MemberRead(BaseModel):
    id: str
    server_id: str
    address: str
    port: int
    weight: int
    backup: bool
    admin_state: str
    health: str
    nodes: dict[str, str]


class MonitorRead(BaseModel):
    type: str
    interval_ms: int
    timeout_ms: int
    rise: int
    fall: int
    http_path: str
    expected_codes: str


class LoadBalancerRead(BaseModel):
    id: str
    project_id: str
    region: str
    name: str
    type: str
    algorithm: str
    port: int | None
    hosts: list[str]
    endpoints: list[str]
    addresses: list[str]
    monitor: MonitorRead
    members: list[MemberRead]
    public_domain_server_id: str | None
    created_at: datetime
    updated_at: datetime


class NodeRead(BaseModel):
    """A node and its agent: `alive` is `not stale` (DNS answers with alive nodes only);
    `behind` when the version it applied is not `expected_version`."""

    name: str
    address: str
    isp: str
    admin_state: str
    alive: bool
    stale: bool
    behind: bool
    state: Literal["current", "behind", "stale"]
    applied_version: int | None
    expected_version: int
    last_seen_at: datetime | None


class NodeStateUpdate(Body):
    state: Literal["up", "down", "maint"]


class HealthReport(Body):
    version: int | None = Field(default=None, ge=0)
    members: dict[Annotated[str, Field(max_length=64)], Literal["up", "down", "maint"]] = Field(
        default_factory=dict
    )
    #: LB id -> bytes sent to clients (HAProxy `bout`) since this node's previous report.
    traffic: dict[Annotated[str, Field(max_length=64)], Annotated[int, Field(ge=0, le=2**62)]] = (
        Field(default_factory=dict)
    )


def _member(view: MemberView) -> MemberRead:
    m = view.member
    return MemberRead(
        id=m.id, server_id=m.server_id, address=m.address, port=m.port, weight=m.weight,
        backup=m.backup, admin_state=m.admin_state, health=view.health, nodes=view.nodes,
    )


def _read(view: LBView) -> LoadBalancerRead:
    row = view.row
    return LoadBalancerRead(
        id=row.id, project_id=row.project_id, region=row.region, name=row.name, type=row.type,
        algorithm=row.algorithm, port=row.port, hosts=[h for h, _ in row.hosts],
        endpoints=view.endpoints, addresses=view.addresses,
        monitor=MonitorRead(**{k: getattr(row.monitor, k) for k in MonitorRead.model_fields}),
        members=[_member(m) for m in view.members],
        public_domain_server_id=row.public_domain_server_id,
        created_at=row.created_at, updated_at=row.updated_at,
    )


@router.get("/loadbalancers", response_model=Page[LoadBalancerRead])
def list_loadbalancers(
    caller: Caller, container: Services, page: Paged
) -> Page[LoadBalancerRead]:
    """The caller's LBs, oldest first."""
    views = service.list_loadbalancers(
        db=container.db, clock=container.clock, config=container.lb_config,
        project_id=caller.tenant_id, page=page.request,
    )
    return page.of([_read(v) for v in views])


@admin_router.get("/loadbalancers", response_model=Page[LoadBalancerRead])
def admin_list_loadbalancers(
    _: Admin, container: Services, page: Paged,
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
    region: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[LoadBalancerRead]:
    """Every tenant's LBs (or one tenant's, one region's), oldest first."""
    views = service.list_loadbalancers(
        db=container.db, clock=container.clock, config=container.lb_config,
        project_id=tenant_id, region=region, page=page.request,
    )
    return page.of([_read(v) for v in views])


@router.post("/loadbalancers", status_code=201, response_model=LoadBalancerRead)
def create_loadbalancer(
    body: LoadBalancerCreate, caller: Caller, container: Services, driver: Driver,
    x_sws_region: Annotated[str | None, Header()] = None,
) -> LoadBalancerRead:
    view = service.create_loadbalancer(
        db=container.db, clock=container.clock, driver=driver, config=container.lb_config,
        project_id=caller.tenant_id, region=x_sws_region or container.default_region,
        spec=body.spec(),
    )
    return _read(view)


@router.get("/loadbalancers/{lb_id}", response_model=LoadBalancerRead)
def get_loadbalancer(lb_id: Id, caller: Caller, container: Services) -> LoadBalancerRead:
    return _read(service.get_loadbalancer(
        db=container.db, clock=container.clock, config=container.lb_config,
        project_id=caller.tenant_id, lb_id=lb_id,
    ))


@router.patch("/loadbalancers/{lb_id}", response_model=LoadBalancerRead)
def update_loadbalancer(
    lb_id: Id, body: LoadBalancerUpdate, caller: Caller, container: Services
) -> LoadBalancerRead:
    return _read(service.update_loadbalancer(
        db=container.db, clock=container.clock, config=container.lb_config,
        project_id=caller.tenant_id, lb_id=lb_id, name=body.name, algorithm=body.algorithm,
        monitor=body.monitor.value() if body.monitor else None,
    ))


@router.delete("/loadbalancers/{lb_id}", status_code=204)
def delete_loadbalancer(lb_id: Id, caller: Caller, container: Services) -> Response:
    service.delete_loadbalancer(
        db=container.db, clock=container.clock, project_id=caller.tenant_id, lb_id=lb_id
    )
    return Response(status_code=204)


@router.get("/loadbalancers/{lb_id}/health", response_model=Page[MemberRead])
def loadbalancer_health(
    lb_id: Id, caller: Caller, container: Services, page: Paged
) -> Page[MemberRead]:
    view = service.get_loadbalancer(
        db=container.db, clock=container.clock, config=container.lb_config,
        project_id=caller.tenant_id, lb_id=lb_id,
    )
    return page.window(_member(m) for m in view.members)


@router.post("/loadbalancers/{lb_id}/members", status_code=201, response_model=MemberRead)
def add_member(
    lb_id: Id, body: MemberCreate, caller: Caller, container: Services, driver: Driver
) -> MemberRead:
    return _member(service.add_member(
        db=container.db, clock=container.clock, driver=driver, config=container.lb_config,
        project_id=caller.tenant_id, lb_id=lb_id, spec=body.spec(),
    ))


@router.patch("/loadbalancers/{lb_id}/members/{member_id}", response_model=MemberRead)
def update_member(
    lb_id: Id, member_id: Id, body: MemberUpdate, caller: Caller, container: Services
) -> MemberRead:
    return _member(service.update_member(
        db=container.db, clock=container.clock, config=container.lb_config,
        project_id=caller.tenant_id, lb_id=lb_id, member_id=member_id, weight=body.weight,
        admin_state=body.admin_state,
    ))


@router.delete("/loadbalancers/{lb_id}/members/{member_id}", status_code=204)
def remove_member(lb_id: Id, member_id: Id, caller: Caller, container: Services) -> Response:
    service.remove_member(
        db=container.db, project_id=caller.tenant_id, lb_id=lb_id, member_id=member_id
    )
    return Response(status_code=204)


@router.post("/loadbalancers/{lb_id}/hosts", status_code=201, response_model=LoadBalancerRead)
def add_host(lb_id: Id, body: HostCreate, caller: Caller, container: Services) -> Any:
    return _read(service.add_host(
        db=container.db, clock=container.clock, config=container.lb_config,
        project_id=caller.tenant_id, lb_id=lb_id, host=body.host,
    ))


@router.delete("/loadbalancers/{lb_id}/hosts/{host}", status_code=204)
def remove_host(
    lb_id: Id, host: Annotated[str, Path(max_length=253)], caller: Caller, container: Services
) -> Response:
    service.remove_host(db=container.db, project_id=caller.tenant_id, lb_id=lb_id, host=host)
    return Response(status_code=204)


@router.get("/servers/{server_id}/public-domain", response_model=LoadBalancerRead)
def get_public_domain(server_id: Id, caller: Caller, container: Services) -> LoadBalancerRead:
    return _read(service.get_public_domain(
        db=container.db, clock=container.clock, config=container.lb_config,
        project_id=caller.tenant_id, server_id=server_id,
    ))


@router.post("/servers/{server_id}/public-domain", status_code=201,
             response_model=LoadBalancerRead)
def create_public_domain(
    server_id: Id, caller: Caller, container: Services, driver: Driver,
    body: PublicDomainCreate | None = None,
    x_sws_region: Annotated[str | None, Header()] = None,
) -> LoadBalancerRead:
    return _read(service.create_public_domain(
        db=container.db, clock=container.clock, driver=driver, config=container.lb_config,
        project_id=caller.tenant_id, region=x_sws_region or container.default_region,
        server_id=server_id, port=(body or PublicDomainCreate()).port,
    ))


@router.delete("/servers/{server_id}/public-domain", status_code=204)
def delete_public_domain(server_id: Id, caller: Caller, container: Services) -> Response:
    service.delete_public_domain(
        db=container.db, clock=container.clock, project_id=caller.tenant_id, server_id=server_id
    )
    return Response(status_code=204)


# ---- LB nodes (the agents), operator only ---------------------------------------------------


@admin_router.get("/lb-nodes", response_model=Page[NodeRead])
def list_nodes(_: Admin, container: Services, page: Paged) -> Page[NodeRead]:
    found = lb_agents.node_agents(db=container.db, clock=container.clock,
                                  config=container.lb_config)
    return page.window((_node(n) for n in found), key=lambda n: n.name)


def _node(n: lb_agents.NodeAgent) -> NodeRead:
    return NodeRead(
        name=n.name, address=n.address, isp=n.isp, admin_state=n.admin_state,
        alive=not n.status.stale, stale=n.status.stale, behind=n.status.behind,
        state=n.status.state, applied_version=n.applied_version,
        expected_version=n.expected_version, last_seen_at=n.last_seen_at,
    )


@admin_router.put("/lb-nodes/{node}/state", status_code=204)
def set_node_state(node: Id, body: NodeStateUpdate, _: Admin, container: Services) -> Response:
    service.set_node_state(db=container.db, config=container.lb_config, node=node,
                           state=body.state)
    return Response(status_code=204)


@admin_router.get("/lb-nodes/{node}/desired-state")
def desired_state(
    node: Id, _: Admin, container: Services,
    after: Annotated[int, Query(ge=-1)] = -1,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT)] = 0,
) -> dict[str, Any]:
    """The whole desired state; with `after` and `wait`, returns once the version passes
    `after` (a long poll), or after `wait` seconds with the current state."""
    config = container.lb_config
    service.known_node(config, node)
    if wait > 0:
        service.wait_for_version(db=container.db, after=after, timeout=wait)
    return service.desired_state(db=container.db, config=config).to_json()


@admin_router.post("/lb-nodes/{node}/report", status_code=204)
def report_health(node: Id, body: HealthReport, _: Admin, container: Services) -> Response:
    service.report(db=container.db, clock=container.clock, config=container.lb_config,
                   node=node, version=body.version, members=dict(body.members),
                   traffic=dict(body.traffic))
    return Response(status_code=204)
