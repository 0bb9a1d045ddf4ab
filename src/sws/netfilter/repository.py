"""Persistence of the SWS filter's policy and agent reports (SQLAlchemy Core)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select, update

from sws.netfilter import tables as t
from sws.netfilter.model import (
    AgentReport,
    AllowRule,
    BridgeGrant,
    BridgeSource,
    InternalNetwork,
)

RULE_FIELDS = (
    "id", "scope", "destination", "protocol", "port_min", "port_max",
    "tenant_id", "instance_id", "expires_at", "reason",
)


def insert_internal_network(conn: Connection, network: InternalNetwork, now: datetime) -> None:
    _insert_cidr(conn, t.internal_networks, network, now)


def insert_bridge_source(conn: Connection, source: BridgeSource, now: datetime) -> None:
    _insert_cidr(conn, t.bridge_sources, source, now)


def _insert_cidr(
    conn: Connection, table: Table, item: InternalNetwork | BridgeSource, now: datetime
) -> None:
    conn.execute(insert(table).values(id=item.id, cidr=item.cidr, description=item.description,
                                      created_at=now))


def delete_internal_network(conn: Connection, network_id: str) -> bool:
    return _delete(conn, t.internal_networks, network_id)


def delete_bridge_source(conn: Connection, source_id: str) -> bool:
    return _delete(conn, t.bridge_sources, source_id)


def insert_rule(conn: Connection, rule: AllowRule, *, owner: str | None, now: datetime) -> None:
    """`owner`: the tenant of an instance rule's instance, kept so a tenant sees its rules."""
    values = {name: getattr(rule, name) for name in RULE_FIELDS}
    conn.execute(insert(t.allow_rules).values(**values, instance_tenant_id=owner, created_at=now))


def delete_rule(conn: Connection, rule_id: str) -> bool:
    return _delete(conn, t.allow_rules, rule_id)


def insert_grant(conn: Connection, grant: BridgeGrant, now: datetime) -> None:
    conn.execute(insert(t.bridge_grants).values(
        id=grant.id, tenant_id=grant.tenant_id, instance_id=grant.instance_id, port=grant.port,
        created_at=now,
    ))


def delete_grant(conn: Connection, grant_id: str) -> bool:
    return _delete(conn, t.bridge_grants, grant_id)


def _delete(conn: Connection, table: Table, row_id: str) -> bool:
    return conn.execute(delete(table).where(table.c.id == row_id)).rowcount > 0


def internal_networks(conn: Connection) -> list[InternalNetwork]:
    rows = conn.execute(select(t.internal_networks).order_by(t.internal_networks.c.cidr))
    return [InternalNetwork(id=r.id, cidr=r.cidr, description=r.description) for r in rows]


def bridge_sources(conn: Connection) -> list[BridgeSource]:
    rows = conn.execute(select(t.bridge_sources).order_by(t.bridge_sources.c.cidr))
    return [BridgeSource(id=r.id, cidr=r.cidr, description=r.description) for r in rows]


def rule_rows(conn: Connection, rule_id: str | None = None) -> list[Mapping[str, Any]]:
    query = select(t.allow_rules).order_by(t.allow_rules.c.created_at, t.allow_rules.c.id)
    if rule_id is not None:
        query = query.where(t.allow_rules.c.id == rule_id)
    return [dict(row._mapping) for row in conn.execute(query)]


def rule_from_row(row: Mapping[str, Any]) -> AllowRule:
    return AllowRule(**{name: row[name] for name in RULE_FIELDS})


def grants(
    conn: Connection, *, tenant_id: str | None = None, instance_id: str | None = None
) -> list[BridgeGrant]:
    query = select(t.bridge_grants).order_by(t.bridge_grants.c.instance_id, t.bridge_grants.c.port)
    if tenant_id is not None:
        query = query.where(t.bridge_grants.c.tenant_id == tenant_id)
    if instance_id is not None:
        query = query.where(t.bridge_grants.c.instance_id == instance_id)
    return [
        BridgeGrant(id=r.id, tenant_id=r.tenant_id, instance_id=r.instance_id, port=r.port)
        for r in conn.execute(query)
    ]


def find_grant(conn: Connection, instance_id: str, port: int) -> BridgeGrant | None:
    found = [g for g in grants(conn, instance_id=instance_id) if g.port == port]
    return found[0] if found else None


def save_report(
    conn: Connection, report: AgentReport, *, expected: str | None, now: datetime
) -> dict[str, Any]:
    """Store a host's latest report (one row per host); the row as stored."""
    values = {
        "host": report.host, "target": report.target, "digest": report.digest,
        "expected_digest": expected, "in_sync": report.in_sync, "elements": report.elements,
        "drift": json.dumps(report.drift, sort_keys=True), "error": report.error,
        "mode": report.mode, "reported_at": now,
        "apply_seconds": None if report.apply_seconds is None else f"{report.apply_seconds:.4f}",
    }
    _upsert_report(conn, values)
    return values


def _upsert_report(conn: Connection, values: Mapping[str, Any]) -> None:
    table = t.agent_reports
    changed = conn.execute(update(table).where(table.c.host == values["host"]).values(**values))
    if changed.rowcount == 0:
        conn.execute(insert(table).values(**values))


def reports(conn: Connection) -> list[Mapping[str, Any]]:
    table = t.agent_reports
    return [dict(row._mapping) for row in conn.execute(select(table).order_by(table.c.host))]
