"""SWS filter routes: the operator's policy, the tenants' view and grants, the agents' feed.

- `/v1/admin/netfilter/...` (admin role): internal networks, allow rules, bridge sources,
  every bridge grant, agent reports, and each host's compiled ruleset (the agents use an
  admin-role token to fetch it and to report back).
- `/v1/netfilter/reachable` (tenant, read-only): what the caller's VMs may reach inside.
- `/v1/netfilter/bridge-grants[/{server_id}]` (tenant): Cloud Bridge toggles for own VMs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from sws.identity.model import Principal
from sws.netfilter import iptables, nftables
from sws.netfilter import service as nf
from sws.netfilter.model import AgentReport, BridgeGrant, BridgeSource, InternalNetwork
from sws.web.deps import Admin, Caller, Driver, Page, Paged, Services

admin_router = APIRouter(prefix="/v1/admin/netfilter", tags=["netfilter (admin)"])
router = APIRouter(prefix="/v1/netfilter", tags=["netfilter"])
Id = Annotated[str, Path(max_length=64)]
Host = Annotated[str, Path(max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
TenantFilter = Annotated[str | None, Query(max_length=64, description="one tenant's")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NetworkCreate(Body):
    cidr: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=255)


class NetworkRead(BaseModel):
    id: str
    cidr: str
    description: str


class RuleCreate(Body):
    scope: Literal["all", "tenant", "instance"]
    destination: str = Field(min_length=1, max_length=64, description="a CIDR inside the intranet")
    protocol: Literal["tcp", "udp", "icmp", "any"]
    port_min: int | None = Field(default=None, description="tcp/udp only")
    port_max: int | None = Field(default=None, description="defaults to port_min")
    tenant_id: str | None = Field(default=None, max_length=64)
    instance_id: str | None = Field(default=None, max_length=64)
    expires_at: datetime | None = None
    reason: str = Field(min_length=1, max_length=255)
    confirm: bool = Field(default=False, description="needed to open all internal space")


class RuleRead(BaseModel):
    id: str
    scope: str
    tenant_id: str | None
    instance_id: str | None
    instance_tenant_id: str | None
    destination: str
    protocol: str
    port_min: int | None
    port_max: int | None
    expires_at: datetime | None
    reason: str
    created_at: datetime


class ReachableRead(BaseModel):
    """What the caller's VMs may open inside the operator's network, and until when."""

    id: str
    destination: str
    protocol: str
    port_min: int | None
    port_max: int | None
    scope: str
    instance_id: str | None
    expires_at: datetime | None


class GrantRead(BaseModel):
    id: str
    tenant_id: str
    instance_id: str
    port: int


class GrantToggle(Body):
    port: int = Field(description="the TCP port the bridge sources may reach")
    enabled: bool = True


class ReportCreate(Body):
    target: Literal["nft", "iptables"]
    digest: str = Field(max_length=64)
    in_sync: bool
    elements: int = Field(ge=0)
    mode: Literal["full", "delta", "unchanged", "failed", "refused"]
    drift: dict[str, Any] = Field(default_factory=dict)
    error: str | None = Field(default=None, max_length=4000)
    apply_seconds: float | None = Field(default=None, ge=0)


class ReportRead(BaseModel):
    """An agent's last report, judged now: `expected_digest` is what its host should run now."""

    host: str
    target: str
    digest: str
    expected_digest: str | None
    in_sync: bool
    elements: int
    mode: str
    drift: dict[str, Any]
    error: str | None
    apply_seconds: str | None
    reported_at: datetime
    known_host: bool
    stale: bool
    behind: bool
    state: Literal["current", "behind", "stale", "unknown_host"]


def _actor(caller: Principal) -> nf.Actor:
    return nf.Actor(user_id=caller.user_id, name=caller.user_name, source="api")


def _network(item: InternalNetwork | BridgeSource) -> NetworkRead:
    return NetworkRead(id=item.id, cidr=item.cidr, description=item.description)


def _rule(view: nf.RuleView) -> RuleRead:
    r = view.rule
    return RuleRead(
        id=r.id, scope=r.scope, tenant_id=r.tenant_id, instance_id=r.instance_id,
        instance_tenant_id=view.instance_tenant_id, destination=r.destination,
        protocol=r.protocol, port_min=r.port_min, port_max=r.port_max,
        expires_at=r.expires_at, reason=r.reason, created_at=view.created_at,
    )


def _status(found: nf.HostStatus) -> ReportRead:
    return ReportRead.model_validate({
        **found.report, "expected_digest": found.expected_digest, "known_host": found.known_host,
        "stale": found.status.stale, "behind": found.status.behind, "state": found.state,
    })


def _grant(grant: BridgeGrant) -> GrantRead:
    return GrantRead(
        id=grant.id, tenant_id=grant.tenant_id, instance_id=grant.instance_id, port=grant.port
    )


# Admin: internal networks and bridge sources ------------------------------------------------

@admin_router.get("/internal-networks", response_model=Page[NetworkRead])
def list_internal_networks(_admin: Admin, services: Services, page: Paged) -> Page[NetworkRead]:
    return page.window(_network(n) for n in nf.list_internal_networks(db=services.db))


@admin_router.post("/internal-networks", status_code=201, response_model=NetworkRead)
def add_internal_network(body: NetworkCreate, admin: Admin, services: Services) -> NetworkRead:
    return _network(nf.add_internal_network(
        db=services.db, clock=services.clock, actor=_actor(admin), **body.model_dump()
    ))


@admin_router.delete("/internal-networks/{network_id}", status_code=204)
def delete_internal_network(
    network_id: Id, admin: Admin, services: Services,
    delete_rules: Annotated[bool, Query(description="also delete the rules that use it")] = False,
) -> Response:
    """409 naming the allow rules that reach into the network, unless `delete_rules=true`."""
    nf.delete_internal_network(
        db=services.db, clock=services.clock, actor=_actor(admin), network_id=network_id,
        delete_rules=delete_rules,
    )
    return Response(status_code=204)


@admin_router.get("/bridge-sources", response_model=Page[NetworkRead])
def list_bridge_sources(_admin: Admin, services: Services, page: Paged) -> Page[NetworkRead]:
    return page.window(_network(s) for s in nf.list_bridge_sources(db=services.db))


@admin_router.post("/bridge-sources", status_code=201, response_model=NetworkRead)
def add_bridge_source(body: NetworkCreate, admin: Admin, services: Services) -> NetworkRead:
    return _network(nf.add_bridge_source(
        db=services.db, clock=services.clock, actor=_actor(admin), **body.model_dump()
    ))


@admin_router.delete("/bridge-sources/{source_id}", status_code=204)
def delete_bridge_source(source_id: Id, admin: Admin, services: Services) -> Response:
    nf.delete_bridge_source(
        db=services.db, clock=services.clock, actor=_actor(admin), source_id=source_id
    )
    return Response(status_code=204)


@admin_router.get("/bridge-grants", response_model=Page[GrantRead])
def list_all_grants(
    _admin: Admin, services: Services, page: Paged, tenant_id: TenantFilter = None
) -> Page[GrantRead]:
    return page.window(_grant(g) for g in nf.list_grants(db=services.db, tenant_id=tenant_id))


# Admin: allow rules -------------------------------------------------------------------------

@admin_router.get("/rules", response_model=Page[RuleRead])
def list_rules(
    _admin: Admin, services: Services, page: Paged, tenant_id: TenantFilter = None
) -> Page[RuleRead]:
    """Every allow rule, or those naming one tenant or one of its instances."""
    return page.window(_rule(v) for v in nf.list_rules(db=services.db, tenant_id=tenant_id))


@admin_router.post("/rules", status_code=201, response_model=RuleRead)
def add_rule(body: RuleCreate, admin: Admin, services: Services, cloud: Driver) -> RuleRead:
    view = nf.add_rule(
        db=services.db, clock=services.clock, actor=_actor(admin),
        directory=nf.CloudDirectory(db=services.db, driver=cloud),
        spec=nf.RuleSpec(**body.model_dump()),
    )
    return _rule(view)


@admin_router.delete("/rules/{rule_id}", status_code=204)
def delete_rule(rule_id: Id, admin: Admin, services: Services) -> Response:
    nf.delete_rule(db=services.db, clock=services.clock, actor=_actor(admin), rule_id=rule_id)
    return Response(status_code=204)


# Admin: hosts and their agents --------------------------------------------------------------

@admin_router.get("/hosts", response_model=Page[ReportRead])
def list_reports(
    _admin: Admin, services: Services, cloud: Driver, page: Paged
) -> Page[ReportRead]:
    """Each agent's last report: stale, behind, or reporting for a host SWS does not know."""
    found = nf.host_statuses(
        db=services.db, clock=services.clock, window=nf.freshness(services.settings),
        directories=nf.region_directories(db=services.db, first=cloud,
                                          others=services.drivers().values()),
    )
    return page.window((_status(f) for f in found), key=lambda r: r.host)


@admin_router.get("/hosts/{host}/ruleset", response_model=None)
def host_ruleset(
    host: Host,
    _admin: Admin,
    services: Services,
    cloud: Driver,
    format: Annotated[Literal["json", "nft", "iptables", "ip6tables"], Query()] = "json",
) -> dict[str, Any] | PlainTextResponse:
    """The ruleset the host's agent must enforce: JSON sets, or rendered for a target."""
    ruleset = nf.host_ruleset(
        db=services.db, clock=services.clock, host=host,
        directory=nf.CloudDirectory(db=services.db, driver=cloud),
    )
    if format == "json":
        return ruleset.to_json()
    if format == "nft":
        return PlainTextResponse(nftables.render(ruleset))
    return PlainTextResponse(iptables.render(ruleset, 4 if format == "iptables" else 6))


@admin_router.post("/hosts/{host}/reports", status_code=201, response_model=ReportRead)
def report(
    host: Host, body: ReportCreate, _admin: Admin, services: Services, cloud: Driver
) -> ReportRead:
    found = nf.record_report(
        db=services.db, clock=services.clock, window=nf.freshness(services.settings),
        directory=nf.CloudDirectory(db=services.db, driver=cloud),
        report=AgentReport(host=host, **body.model_dump()),
    )
    return _status(found)


# Tenants ------------------------------------------------------------------------------------

@router.get("/reachable", response_model=Page[ReachableRead])
def reachable(caller: Caller, services: Services, page: Paged) -> Page[ReachableRead]:
    views = nf.reachable(db=services.db, clock=services.clock, tenant_id=caller.tenant_id)
    return page.window(
        ReachableRead(
            id=v.rule.id, destination=v.rule.destination, protocol=v.rule.protocol,
            port_min=v.rule.port_min,
            port_max=v.rule.port_max, scope=v.rule.scope, instance_id=v.rule.instance_id,
            expires_at=v.rule.expires_at,
        )
        for v in views
    )


@router.get("/bridge-grants", response_model=Page[GrantRead])
def list_my_grants(caller: Caller, services: Services, page: Paged) -> Page[GrantRead]:
    grants = nf.list_grants(db=services.db, tenant_id=caller.tenant_id)
    return page.window(_grant(g) for g in grants)


@router.get("/bridge-grants/{server_id}", response_model=Page[GrantRead])
def list_server_grants(
    server_id: Id, caller: Caller, services: Services, cloud: Driver, page: Paged
) -> Page[GrantRead]:
    grants = nf.list_grants(
        db=services.db, directory=nf.CloudDirectory(db=services.db, driver=cloud),
        tenant_id=caller.tenant_id, instance_id=server_id,
    )
    return page.window(_grant(g) for g in grants)


@router.put("/bridge-grants/{server_id}", response_model=list[GrantRead])
def toggle_grant(
    server_id: Id, body: GrantToggle, caller: Caller, services: Services, cloud: Driver
) -> list[GrantRead]:
    """Open (`enabled: true`) or close one TCP port of your server to Cloud Bridge."""
    grants = nf.set_grant(
        db=services.db, clock=services.clock, actor=_actor(caller),
        directory=nf.CloudDirectory(db=services.db, driver=cloud),
        tenant_id=caller.tenant_id, instance_id=server_id, port=body.port, enabled=body.enabled,
    )
    return [_grant(g) for g in grants]
