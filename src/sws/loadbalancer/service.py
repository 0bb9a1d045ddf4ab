"""Use cases of load balancers: create, change and delete LBs, members, host names and
instance public domains; hand LB nodes their desired state; take their health reports.

Every change validates everything first and then writes in one transaction that also bumps the
configuration version, so an agent only ever sees whole changes: nothing half-applied reaches
HAProxy. Agents long-poll `wait_for_version`; a change wakes the waiters of this process at
once and those of other API replicas within `POLL_SECONDS`.

Lifecycle events go into the events journal as Octavia-shaped notifications
(`octavia.loadbalancer.create.end` / `delete.end`), so billing charges load balancers exactly
as it would charge Octavia's. The event is written in the transaction of the change itself:
a crash can lose both or neither, never an LB that billing does not know about.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from sws.agents.versions import VersionWatch
from sws.cdn import lifecycle as cdn_lifecycle
from sws.cdn.lifecycle import DeletedOrigin
from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import CloudDriver
from sws.errors import Conflict, Duplicate, Invalid, NotFound, SWSError
from sws.events import service as events
from sws.loadbalancer import ownership
from sws.loadbalancer import repository as repo
from sws.loadbalancer.model import (
    DesiredState,
    Health,
    LoadBalancer,
    LoadBalancerSpec,
    Member,
    MemberSpec,
    Monitor,
    Node,
    NodeState,
    auto_host,
    check_algorithm,
    check_name,
    check_port,
    check_weight,
    first_free_port,
    normalise_host,
    overall_health,
)
from sws.loadbalancer.repository import LBRow
from sws.paging import PageRequest

POLL_SECONDS = 0.25
MAX_MEMBERS = 100
MAX_CUSTOM_HOSTS = 20
ATTEMPTS = 5
_versions = VersionWatch(POLL_SECONDS)


@dataclass(frozen=True, slots=True)
class LBConfig:
    """The cloud-wide LB settings (from `Settings`, by the container's `lb_config`)."""

    zone: str = "lb.example.com"
    http_port: int = 80
    port_min: int = 11000
    port_max: int = 19999
    nodes: tuple[tuple[str, str, str], ...] = (("lb-1", "127.0.0.1", "default"),)
    isp_views: dict[str, list[str]] = field(default_factory=dict)
    node_timeout_seconds: float = 10.0
    dns_ttl: int = 30
    nameservers: tuple[str, ...] = ("ns1.example.com",)
    # Where TXT proofs of custom host names are looked up (a fake in tests).
    txt: ownership.TxtResolver = field(default_factory=ownership.DnsTxtResolver, compare=False)

    @classmethod
    def from_settings(cls, settings: Any, txt: ownership.TxtResolver | None = None) -> LBConfig:
        return cls(
            zone=settings.lb_zone, http_port=settings.lb_http_port,
            port_min=settings.lb_port_min, port_max=settings.lb_port_max,
            nodes=tuple((n.name, n.address, n.isp) for n in settings.lb_nodes),
            isp_views=dict(settings.lb_isp_views),
            node_timeout_seconds=settings.lb_node_timeout_seconds,
            dns_ttl=settings.dns_ttl, nameservers=tuple(settings.dns_nameservers),
            txt=txt or ownership.DnsTxtResolver(),
        )

    @property
    def addresses(self) -> list[str]:
        return [address for _, address, _ in self.nodes]


@dataclass(frozen=True, slots=True)
class MemberView:
    member: Member
    health: Health
    nodes: dict[str, str]


@dataclass(frozen=True, slots=True)
class LBView:
    """A load balancer as a tenant sees it: endpoints on the shared IPs and member health."""

    row: LBRow
    endpoints: list[str]
    addresses: list[str]
    members: list[MemberView]


# ---- reads --------------------------------------------------------------------------------


def list_loadbalancers(
    *, db: Database, clock: Clock, config: LBConfig, project_id: str | None,
    page: PageRequest | None = None, region: str | None = None,
) -> list[LBView]:
    """The project's LBs (every project's when None: admins), oldest first; one page of
    them when `page` is given."""
    with db.read() as conn:
        rows = repo.list_lbs(conn, project_id=project_id, region=region, page=page)
        return [_view(conn, clock, config, row) for row in rows]


def get_loadbalancer(
    *, db: Database, clock: Clock, config: LBConfig, project_id: str, lb_id: str
) -> LBView:
    with db.read() as conn:
        return _view(conn, clock, config, _owned(conn, project_id, lb_id))


def _owned(conn: Connection, project_id: str, lb_id: str) -> LBRow:
    row = repo.get_lb(conn, lb_id=lb_id, project_id=project_id)
    if row is None:
        raise NotFound(f"Load balancer {lb_id} could not be found.")
    return row


def _view(conn: Connection, clock: Clock, config: LBConfig, row: LBRow) -> LBView:
    since = clock.now() - timedelta(seconds=config.node_timeout_seconds)
    reports = repo.health_reports(conn, [m.id for m in row.members], since)
    members = [
        MemberView(m, overall_health(m.admin_state, list(reports[m.id].values())), reports[m.id])
        for m in row.members
    ]
    return LBView(row, endpoints(config, row), config.addresses, members)


def endpoints(config: LBConfig, row: LBRow) -> list[str]:
    if row.type == "tcp":
        return [f"{host}:{row.port}" for host, kind in row.hosts if kind == "auto"]
    suffix = "" if config.http_port == 80 else f":{config.http_port}"
    return [f"http://{host}{suffix}/" for host, _ in row.hosts]


def public_domains(*, db: Database, project_id: str, server_ids: Sequence[str]) -> dict[str, str]:
    """`<random>.<zone>:<port>` of each listed server that has a public domain, in one query."""
    if not server_ids:
        return {}
    with db.read() as conn:
        found = repo.public_domains(conn, project_id, server_ids)
    return {server_id: f"{host}:{port}" for server_id, host, port in found}


# ---- load balancers -----------------------------------------------------------------------


def create_loadbalancer(
    *, db: Database, clock: Clock, driver: CloudDriver, config: LBConfig, project_id: str,
    region: str, spec: LoadBalancerSpec, public_domain_server_id: str | None = None,
) -> LBView:
    """Validate everything, then write the LB, its names, port, members and its create event
    in one transaction: billing sees every LB that exists, and no LB that does not."""
    check_name(spec.name)
    if spec.type not in ("http", "tcp"):
        raise Invalid("type is http or tcp", field="type")
    check_algorithm(spec.algorithm)
    hosts = _custom_hosts(spec.type, spec.custom_hosts, config, project_id)
    resolved = [_resolve_member(driver, project_id, member) for member in spec.members]
    _no_duplicate_members(resolved)
    new = _NewLB(uuid.uuid4().hex, project_id, region, spec, public_domain_server_id)
    for attempt in range(ATTEMPTS):
        try:
            with db.begin() as conn:
                _insert_lb(conn, clock, config, new)
                _insert_hosts(conn, clock, new.id, hosts)
                for member in resolved:
                    _insert_member(conn, clock, new.id, member)
                repo.bump_version(conn)
                _journal(conn, clock, _owned(conn, project_id, new.id), "create.end")
            break
        except Duplicate:
            _explain_conflict(db, hosts, public_domain_server_id, attempt)
    _versions.changed()
    return get_loadbalancer(db=db, clock=clock, config=config, project_id=project_id,
                            lb_id=new.id)


@dataclass(frozen=True, slots=True)
class _NewLB:
    id: str
    project_id: str
    region: str
    spec: LoadBalancerSpec
    public_domain_server_id: str | None


def _custom_hosts(
    type: str, hosts: Sequence[str], config: LBConfig, project_id: str
) -> list[str]:
    if hosts and type != "http":
        raise Invalid("custom host names are for http load balancers", field="custom_hosts")
    if len(hosts) > MAX_CUSTOM_HOSTS:
        raise Invalid(f"at most {MAX_CUSTOM_HOSTS} custom host names", field="custom_hosts")
    names = [normalise_host(h, f"custom_hosts.{i}") for i, h in enumerate(hosts)]
    if len(set(names)) != len(names):
        raise Invalid("a custom host name is listed twice", field="custom_hosts")
    for i, name in enumerate(names):
        try:
            _may_claim(name, config, project_id)
        except SWSError as error:
            error.field = f"custom_hosts.{i}"  # the list entry at fault, not a bare "host"
            raise
    return names


def _may_claim(name: str, config: LBConfig, project_id: str) -> None:
    """Under the LB zone, or proven by the name's TXT record (`ownership`)."""
    ownership.check_claim(name, zone=config.zone, project_id=project_id, resolver=config.txt)


def _insert_lb(conn: Connection, clock: Clock, config: LBConfig, new: _NewLB) -> None:
    now = clock.now()
    port = _allocate_port(conn, config) if new.spec.type == "tcp" else None
    repo.insert_lb(conn, lb_id=new.id, project_id=new.project_id, region=new.region,
                   spec=new.spec, port=port,
                   public_domain_server_id=new.public_domain_server_id, now=now)
    repo.insert_host(conn, host=_free_auto_host(conn, config), lb_id=new.id, kind="auto", now=now)


def _allocate_port(conn: Connection, config: LBConfig) -> int:
    used = repo.used_ports(conn, config.port_min, config.port_max)
    port = first_free_port(used, config.port_min, config.port_max)
    if port is None:
        raise Conflict(
            f"no free port left in {config.port_min}-{config.port_max} on the shared IPs",
            field="type",
        )
    return port


def _free_auto_host(conn: Connection, config: LBConfig) -> str:
    for _ in range(ATTEMPTS):
        host = auto_host(config.zone)
        if not repo.host_taken(conn, host):
            return host
    raise Conflict("could not find a free automatic host name; try again")


def _insert_hosts(conn: Connection, clock: Clock, lb_id: str, hosts: Sequence[str]) -> None:
    for host in hosts:
        if repo.host_taken(conn, host):
            raise Conflict(f"host name {host} is already taken", field="host")
        repo.insert_host(conn, host=host, lb_id=lb_id, kind="custom", now=clock.now())


def _explain_conflict(
    db: Database, hosts: Sequence[str], server_id: str | None, attempt: int
) -> None:
    """A unique key lost a race: name the loser's field, or let the caller retry (port)."""
    with db.read() as conn:
        for host in hosts:
            if repo.host_taken(conn, host):
                raise Conflict(f"host name {host} is already taken", field="host")
        if server_id is not None and repo.lb_of_server_any(conn, server_id):
            raise Conflict("this instance already has a public domain", field="server_id")
    if attempt == ATTEMPTS - 1:
        raise Conflict("the load balancer could not be saved; try again")


def update_loadbalancer(
    *, db: Database, clock: Clock, config: LBConfig, project_id: str, lb_id: str,
    name: str | None = None, algorithm: str | None = None, monitor: Monitor | None = None,
) -> LBView:
    values: dict[str, Any] = {"updated_at": clock.now()}
    if name is not None:
        values["name"] = check_name(name)
    if algorithm is not None:
        values["algorithm"] = check_algorithm(algorithm)
    if monitor is not None:
        values.update(repo.monitor_columns(monitor))
    with db.begin() as conn:
        _owned(conn, project_id, lb_id)
        repo.update_lb(conn, lb_id, values)
        repo.bump_version(conn)
    _versions.changed()
    return get_loadbalancer(db=db, clock=clock, config=config, project_id=project_id, lb_id=lb_id)


def delete_loadbalancer(*, db: Database, clock: Clock, project_id: str, lb_id: str) -> None:
    with db.begin() as conn:
        row = _owned(conn, project_id, lb_id)
        if row.public_domain_server_id is not None:
            raise Conflict(
                "this is an instance's public domain; delete it at "
                f"/v1/servers/{row.public_domain_server_id}/public-domain",
            )
        _delete(conn, row, clock)
    _versions.changed()


def _delete(conn: Connection, row: LBRow, clock: Clock, at: datetime | None = None) -> None:
    """Delete `row` in the caller's transaction; its billing ends `at` (now by default)."""
    repo.delete_lb(conn, row.id)
    repo.bump_version(conn)
    _journal(conn, clock, row, "delete.end", at)
    # CDN distributions on it are disabled and their tenant told, in this transaction
    cdn_lifecycle.origin_deleted_in(conn, clock, DeletedOrigin(row.project_id, "loadbalancer",
                                                               row.id))


# ---- members ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Resolved:
    spec: MemberSpec
    address: str


def _resolve_member(driver: CloudDriver, project_id: str, spec: MemberSpec) -> _Resolved:
    """Only an instance of the caller's own project may be a member (another's is 'missing')."""
    check_port(spec.port)
    check_weight(spec.weight)
    try:
        server = driver.get_server(project_id, spec.server_id)
    except NotFound:
        raise Invalid(
            f"Server {spec.server_id} could not be found in your project.", field="server_id"
        ) from None
    if server.project_id != project_id:  # a driver that forgot to scope: refuse all the same
        raise Invalid(
            f"Server {spec.server_id} could not be found in your project.", field="server_id"
        )
    if not server.fixed_ips:
        raise Invalid(f"Server {spec.server_id} has no fixed IP yet.", field="server_id")
    address = server.fixed_ips[0]
    ipaddress.ip_address(address)
    return _Resolved(spec, address)


def _no_duplicate_members(members: Sequence[_Resolved]) -> None:
    seen = {(m.spec.server_id, m.spec.port) for m in members}
    if len(seen) != len(members):
        raise Invalid("the same instance and port are listed twice", field="members")
    if len(members) > MAX_MEMBERS:
        raise Invalid(f"at most {MAX_MEMBERS} members", field="members")


def _insert_member(conn: Connection, clock: Clock, lb_id: str, member: _Resolved) -> str:
    member_id = uuid.uuid4().hex
    repo.insert_member(conn, member_id=member_id, lb_id=lb_id, spec=member.spec,
                       address=member.address, now=clock.now())
    return member_id


def add_member(
    *, db: Database, clock: Clock, driver: CloudDriver, config: LBConfig, project_id: str,
    lb_id: str, spec: MemberSpec,
) -> MemberView:
    with db.read() as conn:
        _owned(conn, project_id, lb_id)  # another tenant's LB is missing, whatever the body
    resolved = _resolve_member(driver, project_id, spec)
    try:
        with db.begin() as conn:
            row = _owned(conn, project_id, lb_id)
            _may_add_member(conn, row, spec)
            member_id = _insert_member(conn, clock, lb_id, resolved)
            repo.bump_version(conn)
    except Duplicate:
        raise Conflict("this instance and port are already a member", field="port") from None
    _versions.changed()
    view = get_loadbalancer(db=db, clock=clock, config=config, project_id=project_id, lb_id=lb_id)
    return next(m for m in view.members if m.member.id == member_id)


def _may_add_member(conn: Connection, row: LBRow, spec: MemberSpec) -> None:
    if row.public_domain_server_id is not None:
        raise Conflict("a public domain has exactly one member", field="server_id")
    if len(row.members) >= MAX_MEMBERS:
        raise Conflict(f"a load balancer has at most {MAX_MEMBERS} members")
    if repo.member_exists(conn, lb_id=row.id, server_id=spec.server_id, port=spec.port):
        raise Conflict("this instance and port are already a member", field="port")


def update_member(
    *, db: Database, clock: Clock, config: LBConfig, project_id: str, lb_id: str,
    member_id: str, weight: int | None = None, admin_state: str | None = None,
) -> MemberView:
    values: dict[str, Any] = {}
    if weight is not None:
        check_weight(weight)
        values["weight"] = weight
    if admin_state is not None:
        if admin_state not in ("enabled", "maint"):
            raise Invalid("admin_state is enabled or maint", field="admin_state")
        values["admin_state"] = admin_state
    with db.begin() as conn:
        _owned_member(conn, project_id, lb_id, member_id)
        if values:
            repo.update_member(conn, member_id, values)
            repo.bump_version(conn)
    _versions.changed()
    view = get_loadbalancer(db=db, clock=clock, config=config, project_id=project_id, lb_id=lb_id)
    return next(m for m in view.members if m.member.id == member_id)


def remove_member(
    *, db: Database, project_id: str, lb_id: str, member_id: str
) -> None:
    with db.begin() as conn:
        row = _owned_member(conn, project_id, lb_id, member_id)
        if row.public_domain_server_id is not None:
            raise Conflict("a public domain keeps its member; delete the public domain")
        repo.delete_member(conn, member_id)
        repo.bump_version(conn)
    _versions.changed()


def _owned_member(conn: Connection, project_id: str, lb_id: str, member_id: str) -> LBRow:
    row = _owned(conn, project_id, lb_id)
    if not any(m.id == member_id for m in row.members):
        raise NotFound(f"Member {member_id} could not be found.")
    return row


# ---- custom host names --------------------------------------------------------------------


def add_host(
    *, db: Database, clock: Clock, config: LBConfig, project_id: str, lb_id: str, host: str
) -> LBView:
    name = normalise_host(host, "host")
    with db.read() as conn:
        _owned(conn, project_id, lb_id)  # another tenant's LB is missing before anything else
    _may_claim(name, config, project_id)
    try:
        with db.begin() as conn:
            row = _owned(conn, project_id, lb_id)
            if row.type != "http":
                raise Invalid("custom host names are for http load balancers", field="host")
            if sum(kind == "custom" for _, kind in row.hosts) >= MAX_CUSTOM_HOSTS:
                raise Conflict(f"at most {MAX_CUSTOM_HOSTS} custom host names", field="host")
            _insert_hosts(conn, clock, lb_id, [name])
            repo.bump_version(conn)
    except Duplicate:
        raise Conflict(f"host name {name} is already taken", field="host") from None
    _versions.changed()
    return get_loadbalancer(db=db, clock=clock, config=config, project_id=project_id, lb_id=lb_id)


def remove_host(*, db: Database, project_id: str, lb_id: str, host: str) -> None:
    name = host.strip().lower().removesuffix(".")
    with db.begin() as conn:
        _owned(conn, project_id, lb_id)
        if repo.delete_host(conn, lb_id=lb_id, host=name) == 0:
            raise NotFound(f"Host name {host} could not be found on this load balancer.")
        repo.bump_version(conn)
    _versions.changed()


# ---- instance public domains --------------------------------------------------------------


def create_public_domain(
    *, db: Database, clock: Clock, driver: CloudDriver, config: LBConfig, project_id: str,
    region: str, server_id: str, port: int = 22,
) -> LBView:
    """`<random>.<zone>:<port>` forwarding to the instance's `port`: a one-member L4 LB."""
    check_port(port)
    driver.get_server(project_id, server_id)  # 404 for a missing or another tenant's server
    with db.read() as conn:
        if repo.lb_of_server(conn, server_id=server_id, project_id=project_id) is not None:
            raise Conflict("this instance already has a public domain", field="server_id")
    spec = LoadBalancerSpec(name=f"public-domain-{server_id[:8]}", type="tcp",
                            members=(MemberSpec(server_id=server_id, port=port),))
    return create_loadbalancer(
        db=db, clock=clock, driver=driver, config=config, project_id=project_id,
        region=region, spec=spec, public_domain_server_id=server_id,
    )


def get_public_domain(
    *, db: Database, clock: Clock, config: LBConfig, project_id: str, server_id: str
) -> LBView:
    with db.read() as conn:
        row = repo.lb_of_server(conn, server_id=server_id, project_id=project_id)
        if row is None:
            raise NotFound(f"Server {server_id} has no public domain.")
        return _view(conn, clock, config, row)


def delete_public_domain(*, db: Database, clock: Clock, project_id: str, server_id: str) -> None:
    with db.begin() as conn:
        row = repo.lb_of_server(conn, server_id=server_id, project_id=project_id)
        if row is None:
            raise NotFound(f"Server {server_id} has no public domain.")
        _delete(conn, row, clock)
    _versions.changed()


def instances_deleted_in(
    conn: Connection, clock: Clock, deleted: Mapping[str, datetime]
) -> list[str]:
    """An instance's public domain goes with the instance: `deleted` maps each deleted
    instance to when it was deleted; the ids of the public domains deleted.

    The one home of the rule. The events path calls it in the transaction that applies an
    `instance.delete.end`, whoever deleted the instance (the API, the console, Nova itself,
    the simulated region, the reconciler), so every way in behaves the same. The load
    balancer's delete is journaled at the instance's delete time (never before the load
    balancer was created), so billing ends its charge there, not when the event arrived.
    Only the public domain made for the instance goes: a load balancer the tenant made with
    the instance as one of its members stays, and its member is reported down.
    """
    rows = repo.lbs_of_servers(conn, list(deleted))
    for row in rows:
        server_id = row.public_domain_server_id or ""
        _delete(conn, row, clock, max(deleted[server_id], row.created_at))
    if rows:
        _versions.changed()
    return [row.id for row in rows]


# ---- the agents' side ---------------------------------------------------------------------


def desired_state(*, db: Database, config: LBConfig) -> DesiredState:
    with db.read() as conn:
        version = repo.version(conn)
        rows = repo.list_lbs(conn)
    return DesiredState(
        version=version, http_port=config.http_port, port_min=config.port_min,
        port_max=config.port_max, loadbalancers=tuple(_desired(row) for row in rows),
        node_addresses=tuple((name, address) for name, address, _ in config.nodes),
    )


def _desired(row: LBRow) -> LoadBalancer:
    return LoadBalancer(
        id=row.id, project_id=row.project_id, type=row.type,  # type: ignore[arg-type]
        algorithm=row.algorithm,  # type: ignore[arg-type]
        monitor=row.monitor, hosts=tuple(h for h, _ in row.hosts), port=row.port,
        members=row.members,
    )


def auto_host_exists(*, db: Database, host: str) -> bool:
    """Whether the LB zone answers for `host`: an LB's automatic name, or a name a tenant
    claimed under the zone (the zone's DNS is asked only for names in the zone)."""
    with db.read() as conn:
        return repo.host_taken(conn, host)


def current_version(*, db: Database) -> int:
    with db.read() as conn:
        return repo.version(conn)


def wait_for_version(*, db: Database, after: int, timeout: float) -> int:
    """Block until the configuration version passes `after`, or `timeout` seconds pass."""
    return _versions.wait_past(lambda: current_version(db=db), after=after, timeout=timeout)


def report(
    *, db: Database, clock: Clock, config: LBConfig, node: str, version: int | None,
    members: dict[str, str], traffic: dict[str, int] | None = None,
) -> None:
    """An agent's heartbeat with what its HAProxy sees of each member, and the bytes each
    LB sent to clients since the node's previous report (added to this clock hour)."""
    known_node(config, node)
    statuses = {m: s for m, s in members.items() if s in ("up", "down", "maint")}
    now = clock.now()
    with db.begin() as conn:
        known = repo.known_member_ids(conn, statuses)
        repo.write_health(
            conn, node=node, statuses={m: s for m, s in statuses.items() if m in known}, now=now
        )
        repo.upsert_node(conn, node, {"last_seen_at": now, "applied_version": version})
        _add_traffic(conn, now, traffic or {})


def _add_traffic(conn: Connection, now: datetime, traffic: dict[str, int]) -> None:
    counted = {lb: n for lb, n in traffic.items() if n > 0}
    owners = repo.owners(conn, counted)
    hour = now.replace(minute=0, second=0, microsecond=0)
    for lb_id in sorted(counted):
        if lb_id not in owners:  # never seen (deleted before it had any traffic row)
            continue
        project_id, region = owners[lb_id]
        repo.add_traffic(conn, lb_id=lb_id, project_id=project_id, region=region,
                         hour_start=hour, bytes_out=counted[lb_id])


@dataclass(frozen=True, slots=True)
class LBTraffic:
    """Outbound bytes of one load balancer in one clock hour (exact, bytes)."""

    project_id: str
    lb_id: str
    region: str
    hour_start: datetime
    bytes_out: int


def traffic_usage(*, db: Database, start: datetime, end: datetime) -> list[LBTraffic]:
    """Per LB per hour, for hours starting in [start, end): billing's bandwidth source."""
    with db.read() as conn:
        rows = repo.traffic(conn, start=start, end=end)
    return [LBTraffic(r.project_id, r.lb_id, r.region, r.hour_start, int(r.bytes_out))
            for r in rows]


def known_node(config: LBConfig, node: str) -> None:
    if node not in {name for name, _, _ in config.nodes}:
        raise NotFound(f"LB node {node} could not be found.")


def set_node_state(*, db: Database, config: LBConfig, node: str, state: str) -> None:
    known_node(config, node)
    if state not in ("up", "down", "maint"):
        raise Invalid("state is up, down or maint", field="state")
    with db.begin() as conn:
        repo.upsert_node(conn, node, {"admin_state": state})


def nodes(*, db: Database, clock: Clock, config: LBConfig) -> list[Node]:
    """Every configured node with its admin state and whether it reported recently."""
    since = clock.now() - timedelta(seconds=config.node_timeout_seconds)
    with db.read() as conn:
        rows = repo.node_rows(conn)
    out = []
    for name, address, isp in config.nodes:
        row = rows.get(name)
        seen = row["last_seen_at"] if row is not None else None
        state: NodeState = row["admin_state"] if row is not None else "up"
        out.append(Node(name, address, isp, state, seen is not None and seen >= since))
    return out


# ---- the events journal (billing) ---------------------------------------------------------


def _journal(
    conn: Connection, clock: Clock, row: LBRow, action: str, at: datetime | None = None
) -> None:
    """An Octavia-shaped notification (`octavia.loadbalancer.<action>`), journaled in the
    caller's transaction so billing's `load_balancer` item charges exactly what committed;
    it happened `at` (now by default: a public domain deleted with its instance is older)."""
    received = clock.now()
    now = received if at is None else at
    event_type = f"octavia.loadbalancer.{action}"
    payload: dict[str, Any] = {
        "id": row.id, "project_id": row.project_id, "name": row.name,
        "provisioning_status": "ACTIVE" if action == "create.end" else "DELETED",
        "operating_status": "ONLINE", "provider": "sws",
        "flavor_id": f"sws-{row.type}", "created_at": _iso(row.created_at),
        "updated_at": _iso(now), "vip": {"ip_address": None, "port_id": None},
        "listeners": [], "pools": [],
    }
    message = {
        "message_id": f"sws-lb-{row.id}-{action.split('.')[0]}",
        "publisher_id": "sws.loadbalancer", "event_type": event_type, "priority": "INFO",
        "payload": payload, "timestamp": now.strftime("%Y-%m-%d %H:%M:%S.%f"),
    }
    events.ingest_in(conn, envelopes=[message], received_at=received, region=row.region,
                     source="loadbalancer")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")
