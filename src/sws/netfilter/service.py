"""Use cases of the SWS filter: manage the policy, compile a host's ruleset, take agent reports.

Every change is written together with its audit entry (`sws.audit`) in one transaction.
Tenants and instances are looked up through a `Directory`, so the use cases work the same
against the simulated region, real OpenStack, or a fake in the tests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection

from sws.agents.model import AgentStatus, Freshness, agent_status
from sws.audit.model import AuditRecord, check_record
from sws.audit.repository import insert_entry
from sws.clock import Clock
from sws.config import Settings
from sws.db.engine import Database
from sws.drivers.base import CloudDriver, Server, ServerFilter
from sws.errors import Conflict, Duplicate, Invalid, NotFound
from sws.identity import service as identity
from sws.netfilter import repository as repo
from sws.netfilter.compiler import Ruleset, compile_ruleset
from sws.netfilter.model import (
    PORTED,
    AgentReport,
    AllowRule,
    BridgeGrant,
    BridgeSource,
    Instance,
    InternalNetwork,
    IpProtocol,
    Policy,
    Scope,
    applies_to,
    check_bridge_port,
    check_destination,
    check_expiry,
    check_guardable,
    check_no_overlap,
    check_ports,
    check_reason,
    check_scope,
    rules_using,
)

PAGE = 500


class Directory(Protocol):
    """Where the filter learns about tenants and instances."""

    def tenant_exists(self, tenant_id: str) -> bool: ...
    def instance(self, instance_id: str) -> Instance | None: ...
    def tenant_instance(self, tenant_id: str, instance_id: str) -> Instance: ...
    def instances_on(self, host: str) -> list[Instance]: ...
    def hosts(self) -> set[str]: ...


@dataclass(frozen=True)
class CloudDirectory:
    """The Directory of a region: tenants from identity, instances from the cloud driver."""

    db: Database
    driver: CloudDriver

    def tenant_exists(self, tenant_id: str) -> bool:
        try:
            identity.get_tenant(db=self.db, tenant_id=tenant_id)
        except NotFound:
            return False
        return True

    def instance(self, instance_id: str) -> Instance | None:
        return next((i for i in self._all(ServerFilter()) if i.id == instance_id), None)

    def tenant_instance(self, tenant_id: str, instance_id: str) -> Instance:
        return _instance(self.driver.get_server(tenant_id, instance_id))

    def instances_on(self, host: str) -> list[Instance]:
        return [i for i in self._all(ServerFilter(host=host)) if i.host == host]

    def hosts(self) -> set[str]:
        """The region's compute hosts by the name Nova gives their hypervisors."""
        return {h.hostname for h in self.driver.list_hypervisors()}

    def _all(self, filters: ServerFilter) -> Iterator[Instance]:
        marker: str | None = None
        while True:
            page = self.driver.list_all_servers(filters, PAGE, marker)
            yield from (_instance(s) for s in page if s.status != "DELETED")
            if len(page) < PAGE:
                return
            marker = page[-1].id


def _instance(server: Server) -> Instance:
    return Instance(
        id=server.id, tenant_id=server.project_id, fixed_ips=tuple(server.fixed_ips),
        host=server.host,
    )


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, for the audit log."""

    user_id: str
    name: str
    source: str = "api"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    scope: Scope
    destination: str
    protocol: IpProtocol
    reason: str
    port_min: int | None = None
    port_max: int | None = None
    tenant_id: str | None = None
    instance_id: str | None = None
    expires_at: datetime | None = None
    confirm: bool = False


@dataclass(frozen=True, slots=True)
class RuleView:
    """A stored rule and, for an instance rule, the instance's owner."""

    rule: AllowRule
    instance_tenant_id: str | None
    created_at: datetime


def _audit(conn: Connection, clock: Clock, actor: Actor, action: str, target: str,
           detail: Mapping[str, Any]) -> None:
    record = AuditRecord(
        actor_user_id=actor.user_id, actor_name=actor.name, action=f"netfilter.{action}",
        target_type="netfilter", target_id=target,
        detail=json.dumps(detail, sort_keys=True, default=str), source=actor.source,
    )
    insert_entry(conn, check_record(record), clock.now())


# Internal networks and bridge sources -------------------------------------------------------

def add_internal_network(
    *, db: Database, clock: Clock, actor: Actor, cidr: str, description: str = ""
) -> InternalNetwork:
    network = InternalNetwork(
        id=uuid.uuid4().hex, cidr=check_guardable(cidr, field="cidr"), description=description
    )
    _add_cidr(db, clock, actor, network, existing=repo.internal_networks,
              insert=repo.insert_internal_network, what="internal network",
              action="internal_network_add")
    return network


def add_bridge_source(
    *, db: Database, clock: Clock, actor: Actor, cidr: str, description: str = ""
) -> BridgeSource:
    source = BridgeSource(
        id=uuid.uuid4().hex, cidr=check_guardable(cidr, field="cidr"), description=description
    )
    _add_cidr(db, clock, actor, source, existing=repo.bridge_sources,
              insert=repo.insert_bridge_source, what="bridge source", action="bridge_source_add")
    return source


def _add_cidr(
    db: Database, clock: Clock, actor: Actor, item: InternalNetwork | BridgeSource, *,
    existing: Callable[[Connection], Sequence[InternalNetwork | BridgeSource]],
    insert: Callable[[Connection, Any, datetime], None], what: str, action: str,
) -> None:
    """Store a CIDR that overlaps none of its kind, and audit it: one transaction."""
    with db.begin() as conn:
        check_no_overlap(item.cidr, [row.cidr for row in existing(conn)], field="cidr", what=what)
        insert(conn, item, clock.now())
        _audit(conn, clock, actor, action, item.id, _values(item))


def _values(item: InternalNetwork | BridgeSource) -> dict[str, str]:
    return {"id": item.id, "cidr": item.cidr, "description": item.description}


def delete_internal_network(
    *, db: Database, clock: Clock, actor: Actor, network_id: str, delete_rules: bool = False
) -> list[AllowRule]:
    """Delete an internal network. Rules that reach into it would point outside the internal
    space: refused (409 naming them) unless `delete_rules`, which deletes them in the same
    transaction, each audited. Returns the rules deleted with it."""
    with db.begin() as conn:
        network = next((n for n in repo.internal_networks(conn) if n.id == network_id), None)
        if network is None:
            raise NotFound(f"{network_id} not found")
        users = rules_using(network.cidr, [repo.rule_from_row(r) for r in repo.rule_rows(conn)])
        if users and not delete_rules:
            raise Conflict(_in_use(network, users), field="delete_rules")
        _delete_network(conn, clock, actor, network, users)
    return users


def _delete_network(conn: Connection, clock: Clock, actor: Actor, network: InternalNetwork,
                    rules: Sequence[AllowRule]) -> None:
    """The network and the rules that use it, each with its audit entry."""
    for rule in rules:
        repo.delete_rule(conn, rule.id)
        detail = {k: getattr(rule, k) for k in repo.RULE_FIELDS}
        _audit(conn, clock, actor, "rule_delete", rule.id, {**detail, "with_network": network.cidr})
    repo.delete_internal_network(conn, network.id)
    _audit(conn, clock, actor, "internal_network_delete", network.id,
           {**_values(network), "deleted_rules": [r.id for r in rules]})


def _in_use(network: InternalNetwork, users: Sequence[AllowRule]) -> str:
    named = "; ".join(
        f"{r.id} ({r.destination} {r.protocol}{_ports(r)}, {r.reason!r})" for r in users
    )
    return (f"internal network {network.cidr} is used by {len(users)} allow rule(s): {named}. "
            "Delete those rules first, or delete them with the network (delete_rules=true).")


def _ports(rule: AllowRule) -> str:
    low, high = rule.ports()
    if rule.protocol not in PORTED:
        return ""
    return f" {low}" if low == high else f" {low}-{high}"


def delete_bridge_source(*, db: Database, clock: Clock, actor: Actor, source_id: str) -> None:
    with db.begin() as conn:
        if not repo.delete_bridge_source(conn, source_id):
            raise NotFound(f"{source_id} not found")
        _audit(conn, clock, actor, "bridge_source_delete", source_id, {"id": source_id})


def list_internal_networks(*, db: Database) -> list[InternalNetwork]:
    with db.read() as conn:
        return repo.internal_networks(conn)


def list_bridge_sources(*, db: Database) -> list[BridgeSource]:
    with db.read() as conn:
        return repo.bridge_sources(conn)


# Allow rules --------------------------------------------------------------------------------

def add_rule(
    *, db: Database, clock: Clock, directory: Directory, actor: Actor, spec: RuleSpec
) -> RuleView:
    """Validate every field, then store the rule and its audit entry together."""
    check_scope(spec.scope, spec.tenant_id, spec.instance_id)
    check_ports(spec.protocol, spec.port_min, spec.port_max)
    check_expiry(spec.expires_at, clock.now())
    reason = check_reason(spec.reason)
    owner = _check_target(directory, spec)
    with db.begin() as conn:
        internal = [n.cidr for n in repo.internal_networks(conn)]
        destination = check_destination(spec.destination, internal, confirm=spec.confirm)
        rule = AllowRule(
            id=uuid.uuid4().hex, scope=spec.scope, destination=destination,
            protocol=spec.protocol, port_min=spec.port_min,
            port_max=spec.port_max if spec.port_max is not None else spec.port_min,
            tenant_id=spec.tenant_id, instance_id=spec.instance_id,
            expires_at=spec.expires_at, reason=reason,
        )
        created_at = clock.now()
        repo.insert_rule(conn, rule, owner=owner, now=created_at)
        detail = {name: getattr(rule, name) for name in repo.RULE_FIELDS}
        _audit(conn, clock, actor, "rule_add", rule.id, {**detail, "confirm": spec.confirm})
    return RuleView(rule=rule, instance_tenant_id=owner, created_at=created_at)


def _check_target(directory: Directory, spec: RuleSpec) -> str | None:
    """The owner of an instance rule's instance; refuses unknown tenants and instances."""
    if spec.tenant_id is not None and not directory.tenant_exists(spec.tenant_id):
        raise Invalid(f"tenant {spec.tenant_id} does not exist", field="tenant_id")
    if spec.instance_id is None:
        return None
    found = directory.instance(spec.instance_id)
    if found is None:
        raise Invalid(f"instance {spec.instance_id} does not exist", field="instance_id")
    return found.tenant_id


def delete_rule(*, db: Database, clock: Clock, actor: Actor, rule_id: str) -> None:
    with db.begin() as conn:
        rows = repo.rule_rows(conn, rule_id)
        if not rows or not repo.delete_rule(conn, rule_id):
            raise NotFound(f"rule {rule_id} not found")
        detail = {k: rows[0][k] for k in repo.RULE_FIELDS}
        _audit(conn, clock, actor, "rule_delete", rule_id, detail)


def list_rules(*, db: Database, tenant_id: str | None = None) -> list[RuleView]:
    """Every allow rule, or those that name one tenant (itself or one of its instances)."""
    with db.read() as conn:
        views = [_view(row) for row in repo.rule_rows(conn)]
    if tenant_id is None:
        return views
    return [v for v in views if tenant_id in (v.rule.tenant_id, v.instance_tenant_id)]


def _view(row: Mapping[str, Any]) -> RuleView:
    return RuleView(
        rule=repo.rule_from_row(row), instance_tenant_id=row["instance_tenant_id"],
        created_at=row["created_at"],
    )


def reachable(*, db: Database, clock: Clock, tenant_id: str) -> list[RuleView]:
    """The active rules that open something for the tenant's instances (read-only view)."""
    now = clock.now()
    return [v for v in list_rules(db=db) if v.rule.active(now) and _concerns(v, tenant_id)]


def _concerns(view: RuleView, tenant_id: str) -> bool:
    scope = view.rule.scope
    if scope == "all":
        return True
    if scope == "tenant":
        return view.rule.tenant_id == tenant_id
    return view.instance_tenant_id == tenant_id


# Cloud Bridge grants (tenant-facing) --------------------------------------------------------

def list_grants(
    *, db: Database, directory: Directory | None = None, tenant_id: str | None = None,
    instance_id: str | None = None,
) -> list[BridgeGrant]:
    """Grants, optionally of one tenant; naming an instance checks the tenant owns it."""
    if instance_id is not None and tenant_id is not None and directory is not None:
        directory.tenant_instance(tenant_id, instance_id)
    with db.read() as conn:
        return repo.grants(conn, tenant_id=tenant_id, instance_id=instance_id)


def set_grant(
    *, db: Database, clock: Clock, directory: Directory, actor: Actor, tenant_id: str,
    instance_id: str, port: int, enabled: bool,
) -> list[BridgeGrant]:
    """Open (or close) `port` of the tenant's instance to the bridge sources; idempotent."""
    directory.tenant_instance(tenant_id, instance_id)  # another tenant's: NotFound
    check_bridge_port(port)
    try:
        with db.begin() as conn:
            _toggle(conn, clock, actor, tenant_id, instance_id, port, enabled)
    except Duplicate:
        raise Conflict("that grant changed meanwhile; try again", field="port") from None
    return list_grants(db=db, tenant_id=tenant_id, instance_id=instance_id)


def _toggle(conn: Connection, clock: Clock, actor: Actor, tenant_id: str, instance_id: str,
            port: int, enabled: bool) -> None:
    current = repo.find_grant(conn, instance_id, port)
    detail = {"instance_id": instance_id, "port": port, "tenant_id": tenant_id}
    if enabled and current is None:
        grant = BridgeGrant(id=uuid.uuid4().hex, tenant_id=tenant_id, instance_id=instance_id,
                            port=port)
        repo.insert_grant(conn, grant, clock.now())
        _audit(conn, clock, actor, "bridge_grant_add", grant.id, detail)
    elif not enabled and current is not None:
        repo.delete_grant(conn, current.id)
        _audit(conn, clock, actor, "bridge_grant_delete", current.id, detail)


# Compilation and agents ---------------------------------------------------------------------

def load_policy(*, db: Database) -> Policy:
    with db.read() as conn:
        return Policy(
            internal=tuple(repo.internal_networks(conn)),
            rules=tuple(repo.rule_from_row(r) for r in repo.rule_rows(conn)),
            bridge_sources=tuple(repo.bridge_sources(conn)),
            grants=tuple(repo.grants(conn)),
        )


def host_ruleset(*, db: Database, clock: Clock, directory: Directory, host: str) -> Ruleset:
    """The ruleset `host`'s agent must enforce now (expired rules are left out).

    A host SWS does not know is NotFound, never an empty ruleset: an agent started with a
    mistyped `--host` would otherwise load a table guarding no VM and report itself in sync.
    """
    return _compile(load_policy(db=db), clock.now(), directory, host)


def _compile(policy: Policy, now: datetime, directory: Directory, host: str) -> Ruleset:
    instances = directory.instances_on(host)
    if not instances and host not in directory.hosts():
        raise NotFound(
            f"compute host {host!r} is not known to SWS in this region: no hypervisor and no "
            "instance has that host name. Give the agent --host as Nova names the node "
            "(`openstack hypervisor list`), and --region for another region."
        )
    return compile_ruleset(policy, instances, host=host, now=now)


def instances_reached(policy: Policy, instances: Sequence[Instance], now: datetime) -> int:
    """How many (rule, instance) pairs are in force: a size hint for admins."""
    return sum(1 for r in policy.rules if r.active(now) for i in instances if applies_to(r, i))


@dataclass(frozen=True, slots=True)
class HostStatus:
    """An agent's last report judged now: against the ruleset SWS expects of its host *now*
    (not the one expected when it reported) and against how long it has been silent."""

    report: Mapping[str, Any]
    known_host: bool
    expected_digest: str | None
    status: AgentStatus

    @property
    def state(self) -> str:
        return self.status.state if self.known_host else "unknown_host"

    @property
    def healthy(self) -> bool:
        return self.known_host and self.status.healthy and bool(self.report["in_sync"])


#: The settings' defaults: three rounds of the agent's default `--interval 30`.
DEFAULT_WINDOW = Freshness(interval=timedelta(seconds=30), intervals=3)


def freshness(settings: Settings) -> Freshness:
    """The netfilter agents' window: `agent_stale_intervals` of their report interval."""
    return Freshness(
        interval=timedelta(seconds=settings.netfilter_agent_interval_seconds),
        intervals=settings.agent_stale_intervals,
    )


def record_report(
    *, db: Database, clock: Clock, directory: Directory, report: AgentReport,
    window: Freshness = DEFAULT_WINDOW,
) -> HostStatus:
    """Store a host's report next to the digest SWS expects it to run. A report for a host
    SWS does not know is stored too, so the console can show the agent that sends it."""
    expected = _expected(load_policy(db=db), clock.now(), directory, report.host)
    with db.begin() as conn:
        stored = repo.save_report(conn, report, expected=expected, now=clock.now())
    row = {**stored, "drift": dict(report.drift)}
    return _judge(row, expected, clock.now(), window)


def _expected(policy: Policy, now: datetime, directory: Directory, host: str) -> str | None:
    try:
        return _compile(policy, now, directory, host).digest()
    except NotFound:
        return None


def host_statuses(
    *, db: Database, clock: Clock, directories: Sequence[Directory], window: Freshness
) -> list[HostStatus]:
    """Every reporting agent, judged now: stale, behind, or reporting for a host no region
    knows. A host is judged in the first of `directories` (regions) that knows it."""
    policy, now = load_policy(db=db), clock.now()
    return [
        _judge(row, _expected_anywhere(policy, now, directories, row["host"]), now, window)
        for row in list_reports(db=db)
    ]


def _expected_anywhere(policy: Policy, now: datetime, directories: Sequence[Directory],
                       host: str) -> str | None:
    for directory in directories:
        found = _expected(policy, now, directory, host)
        if found is not None:
            return found
    return None


def region_directories(
    *, db: Database, first: CloudDriver, others: Iterable[CloudDriver]
) -> list[CloudDirectory]:
    """The Directory of every region, the one asked about first."""
    drivers = [first, *(d for d in others if d is not first)]
    return [CloudDirectory(db=db, driver=driver) for driver in drivers]


def _judge(row: Mapping[str, Any], expected: str | None, now: datetime, window: Freshness
           ) -> HostStatus:
    status = agent_status(reported_at=row["reported_at"], applied=row["digest"],
                          expected=expected, now=now, freshness=window)
    return HostStatus(report=row, known_host=expected is not None, expected_digest=expected,
                      status=status)


def list_reports(*, db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = [dict(r) for r in repo.reports(conn)]
    for row in rows:
        row["drift"] = json.loads(row["drift"])
    return rows
