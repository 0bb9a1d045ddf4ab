"""Persistence of the SWS filter's policy and agent reports (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select, update

from sws.netfilter import tables as t
from sws.netfilter.model import AllowRule, BridgeGrant, BridgeSource, InternalNetwork

RULE_FIELDS = (
    "id", "scope", "destination", "protocol", "port_min", "port_max",
    "tenant_id", "instance_id", "expires_at", "reason",
)


def insert_row(conn: Connection, table: Table, values: Mapping[str, Any]) -> None:
    conn.execute(insert(table).values(**values))


def delete_row(conn: Connection, table: Table, row_id: str) -> bool:
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


def save_report(conn: Connection, values: Mapping[str, Any]) -> None:
    table = t.agent_reports
    changed = conn.execute(update(table).where(table.c.host == values["host"]).values(**values))
    if changed.rowcount == 0:
        conn.execute(insert(table).values(**values))


def reports(conn: Connection) -> list[Mapping[str, Any]]:
    table = t.agent_reports
    return [dict(row._mapping) for row in conn.execute(select(table).order_by(table.c.host))]
