"""Use cases of the SWS filter: manage the policy, compile a host's ruleset, take agent reports.

Every change is written together with its audit entry (`sws.audit`) in one transaction.
Tenants and instances are looked up through a `Directory`, so the use cases work the same
against the simulated region, real OpenStack, or a fake in the tests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Table
from sqlalchemy.exc import IntegrityError

from sws.audit.model import AuditRecord, check_record
from sws.audit.repository import insert_entry
from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import CloudDriver, Server, ServerFilter
from sws.errors import Conflict, Invalid, NotFound
from sws.identity import service as identity
from sws.netfilter import repository as repo
from sws.netfilter import tables as t
from sws.netfilter.compiler import Ruleset, compile_ruleset
from sws.netfilter.model import (
    AllowRule,
    BridgeGrant,
    BridgeSource,
    Instance,
    InternalNetwork,
    IpProtocol,
    Policy,
    Scope,
    applies_to,
    canonical_cidr,
    check_bridge_port,
    check_destination,
    check_expiry,
    check_no_overlap,
    check_ports,
    check_reason,
    check_scope,
)

PAGE = 500


class Directory(Protocol):
    """Where the filter learns about tenants and instances."""

    def tenant_exists(self, tenant_id: str) -> bool: ...
    def instance(self, instance_id: str) -> Instance | None: ...
    def tenant_instance(self, tenant_id: str, instance_id: str) -> Instance: ...
    def instances_on(self, host: str) -> list[Instance]: ...


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
        id=uuid.uuid4().hex, cidr=canonical_cidr(cidr, field="cidr"), description=description
    )
    _add_cidr(db, clock, actor, network, existing=repo.internal_networks,
              table=t.internal_networks, what="internal network", action="internal_network_add")
    return network


def add_bridge_source(
    *, db: Database, clock: Clock, actor: Actor, cidr: str, description: str = ""
) -> BridgeSource:
    source = BridgeSource(
        id=uuid.uuid4().hex, cidr=canonical_cidr(cidr, field="cidr"), description=description
    )
    _add_cidr(db, clock, actor, source, existing=repo.bridge_sources,
              table=t.bridge_sources, what="bridge source", action="bridge_source_add")
    return source


def _add_cidr(
    db: Database, clock: Clock, actor: Actor, item: InternalNetwork | BridgeSource, *,
    existing: Callable[[Connection], Sequence[InternalNetwork | BridgeSource]], table: Table,
    what: str, action: str,
) -> None:
    """Store a CIDR that overlaps none of its kind, and audit it: one transaction."""
    with db.begin() as conn:
        check_no_overlap(item.cidr, [row.cidr for row in existing(conn)], field="cidr", what=what)
        repo.insert_row(conn, table, {**_values(item), "created_at": clock.now()})
        _audit(conn, clock, actor, action, item.id, _values(item))


def _values(item: InternalNetwork | BridgeSource) -> dict[str, str]:
    return {"id": item.id, "cidr": item.cidr, "description": item.description}


def delete_internal_network(*, db: Database, clock: Clock, actor: Actor, network_id: str) -> None:
    _delete(db, clock, actor, t.internal_networks, network_id, "internal_network_delete")


def delete_bridge_source(*, db: Database, clock: Clock, actor: Actor, source_id: str) -> None:
    _delete(db, clock, actor, t.bridge_sources, source_id, "bridge_source_delete")


def _delete(db: Database, clock: Clock, actor: Actor, table: Any, row_id: str, action: str) -> None:
    with db.begin() as conn:
        if not repo.delete_row(conn, table, row_id):
            raise NotFound(f"{row_id} not found")
        _audit(conn, clock, actor, action, row_id, {"id": row_id})


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
        values = {name: getattr(rule, name) for name in repo.RULE_FIELDS}
        row = {**values, "instance_tenant_id": owner, "created_at": clock.now()}
        repo.insert_row(conn, t.allow_rules, row)
        _audit(conn, clock, actor, "rule_add", rule.id, {**values, "confirm": spec.confirm})
    return RuleView(rule=rule, instance_tenant_id=owner, created_at=row["created_at"])


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
        if not rows or not repo.delete_row(conn, t.allow_rules, rule_id):
            raise NotFound(f"rule {rule_id} not found")
        detail = {k: rows[0][k] for k in repo.RULE_FIELDS}
        _audit(conn, clock, actor, "rule_delete", rule_id, detail)


def list_rules(*, db: Database) -> list[RuleView]:
    with db.read() as conn:
        return [_view(row) for row in repo.rule_rows(conn)]


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
    except IntegrityError:
        raise Conflict("that grant changed meanwhile; try again", field="port") from None
    return list_grants(db=db, tenant_id=tenant_id, instance_id=instance_id)


def _toggle(conn: Connection, clock: Clock, actor: Actor, tenant_id: str, instance_id: str,
            port: int, enabled: bool) -> None:
    current = repo.find_grant(conn, instance_id, port)
    detail = {"instance_id": instance_id, "port": port, "tenant_id": tenant_id}
    if enabled and current is None:
        grant_id = uuid.uuid4().hex
        repo.insert_row(conn, t.bridge_grants, {
            "id": grant_id, "tenant_id": tenant_id, "instance_id": instance_id, "port": port,
            "created_at": clock.now(),
        })
        _audit(conn, clock, actor, "bridge_grant_add", grant_id, detail)
    elif not enabled and current is not None:
        repo.delete_row(conn, t.bridge_grants, current.id)
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
    """The ruleset `host`'s agent must enforce now (expired rules are left out)."""
    instances = directory.instances_on(host)
    return compile_ruleset(load_policy(db=db), instances, host=host, now=clock.now())


def instances_reached(policy: Policy, instances: Sequence[Instance], now: datetime) -> int:
    """How many (rule, instance) pairs are in force: a size hint for admins."""
    return sum(1 for r in policy.rules if r.active(now) for i in instances if applies_to(r, i))


@dataclass(frozen=True, slots=True)
class AgentReport:
    host: str
    target: str
    digest: str
    in_sync: bool
    elements: int
    mode: str
    drift: Mapping[str, Any]
    error: str | None = None
    apply_seconds: float | None = None


def record_report(
    *, db: Database, clock: Clock, directory: Directory, report: AgentReport
) -> dict[str, Any]:
    """Store a host's report next to the digest SWS expects it to run."""
    expected = host_ruleset(db=db, clock=clock, directory=directory, host=report.host).digest()
    values = {
        "host": report.host, "target": report.target, "digest": report.digest,
        "expected_digest": expected, "in_sync": report.in_sync, "elements": report.elements,
        "drift": json.dumps(report.drift, sort_keys=True), "error": report.error,
        "mode": report.mode, "reported_at": clock.now(),
        "apply_seconds": None if report.apply_seconds is None else f"{report.apply_seconds:.4f}",
    }
    with db.begin() as conn:
        repo.save_report(conn, values)
    return {**values, "drift": dict(report.drift)}


def list_reports(*, db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = [dict(r) for r in repo.reports(conn)]
    for row in rows:
        row["drift"] = json.loads(row["drift"])
    return rows
