"""Network use cases of the simulated region: security groups and floating IPs, Neutron-style."""

from __future__ import annotations

import ipaddress
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select

from sws.drivers.base import SecurityGroupRuleCreate
from sws.drivers.simulated.catalog import seeded_id
from sws.drivers.simulated.notifications import FloatingIPFacts, neutron_message, port_id
from sws.drivers.simulated.repository import Txn
from sws.drivers.simulated.rules import normalise_rule
from sws.drivers.simulated.states import DELETED
from sws.drivers.simulated.tables import (
    sim_floating_ips,
    sim_security_group_rules,
    sim_security_groups,
    sim_servers,
)
from sws.errors import Conflict, Invalid, NotFound
from sws.text import check_text

DEFAULT_GROUP = "default"
NETWORK_HOST = "controller"

# ---- security groups -------------------------------------------------------------------------


def ensure_default_group(txn: Txn, project_id: str) -> None:
    """Every project gets a "default" group on first use, as Neutron does."""
    if _group_by_name(txn, project_id, DEFAULT_GROUP) is not None:
        return
    _insert_group(txn, project_id, DEFAULT_GROUP, "Default security group")


def _insert_group(txn: Txn, project_id: str, name: str, description: str) -> str:
    """A new group with Neutron's two default rules (all egress, IPv4 and IPv6); its id."""
    group_id = str(uuid.uuid4())
    txn.conn.execute(
        sim_security_groups.insert().values(
            id=group_id,
            region=txn.region,
            project_id=project_id,
            name=name,
            description=description,
            created_at=txn.now,
        )
    )
    for ethertype in ("IPv4", "IPv6"):
        insert_rule(txn, group_id, SecurityGroupRuleCreate(direction="egress", ethertype=ethertype))
    return group_id


def _group_by_name(txn: Txn, project_id: str, name: str) -> Row[Any] | None:
    query = select(sim_security_groups).where(
        sim_security_groups.c.region == txn.region,
        sim_security_groups.c.project_id == project_id,
        sim_security_groups.c.name == name,
    )
    return txn.conn.execute(query).first()


def group_rows(txn: Txn, project_id: str) -> list[Row[Any]]:
    query = (
        select(sim_security_groups)
        .where(
            sim_security_groups.c.region == txn.region,
            sim_security_groups.c.project_id == project_id,
        )
        .order_by(sim_security_groups.c.name)
    )
    return list(txn.conn.execute(query))


def group_row(txn: Txn, project_id: str, group_id: str) -> Row[Any]:
    query = select(sim_security_groups).where(
        sim_security_groups.c.region == txn.region,
        sim_security_groups.c.project_id == project_id,
        sim_security_groups.c.id == group_id,
    )
    row = txn.conn.execute(query).first()
    if row is None:
        raise NotFound(f"Security group {group_id} could not be found.")
    return row


def resolve_group_names(txn: Txn, project_id: str, names: tuple[str, ...]) -> tuple[str, ...]:
    """Check a create body's groups (by name or id) exist; return their names."""
    rows = group_rows(txn, project_id)
    known = {row.name: row.name for row in rows}
    known.update({row.id: row.name for row in rows})
    resolved = []
    for name in names or (DEFAULT_GROUP,):
        if name not in known:
            raise Invalid(
                f"Unable to find security_group with name or id '{name}'",
                field="security_groups",
            )
        resolved.append(known[name])
    return tuple(dict.fromkeys(resolved))


def create_group(txn: Txn, project_id: str, name: str, description: str) -> str:
    check_text(name, field="name", required=True)
    check_text(description, field="description")
    if _group_by_name(txn, project_id, name) is not None:
        raise Conflict(f"Security group '{name}' already exists.", field="name")
    return _insert_group(txn, project_id, name, description)


def delete_group(txn: Txn, project_id: str, group_id: str) -> None:
    row = group_row(txn, project_id, group_id)
    if row.name == DEFAULT_GROUP:
        raise Conflict("Insufficient rights for removing default security group.")
    if _group_in_use(txn, project_id, row.name):
        raise Conflict(f"Security Group {group_id} in use.")
    txn.conn.execute(
        sim_security_group_rules.delete().where(
            sim_security_group_rules.c.security_group_id == group_id
        )
    )
    txn.conn.execute(sim_security_groups.delete().where(sim_security_groups.c.id == group_id))


def _group_in_use(txn: Txn, project_id: str, name: str) -> bool:
    query = select(sim_servers.c.security_groups).where(
        sim_servers.c.region == txn.region,
        sim_servers.c.project_id == project_id,
        sim_servers.c.vm_state != DELETED,
    )
    return any(name in json.loads(groups) for groups in txn.conn.execute(query).scalars())


def add_rule(txn: Txn, project_id: str, group_id: str, rule: SecurityGroupRuleCreate) -> str:
    group_row(txn, project_id, group_id)
    clean = normalise_rule(rule)
    if _same_rule_exists(txn, group_id, clean):
        raise Conflict("Security group rule already exists.")
    return insert_rule(txn, group_id, clean)


def _same_rule_exists(txn: Txn, group_id: str, rule: SecurityGroupRuleCreate) -> bool:
    table = sim_security_group_rules
    query = select(table).where(table.c.security_group_id == group_id)
    for row in txn.conn.execute(query):
        existing = (row.direction, row.ethertype, row.protocol, row.port_range_min)
        if existing == (rule.direction, rule.ethertype, rule.protocol, rule.port_range_min) and (
            (row.port_range_max, row.remote_ip_prefix)
            == (rule.port_range_max, rule.remote_ip_prefix)
        ):
            return True
    return False


def insert_rule(txn: Txn, group_id: str, rule: SecurityGroupRuleCreate) -> str:
    rule_id = str(uuid.uuid4())
    txn.conn.execute(
        sim_security_group_rules.insert().values(
            id=rule_id,
            security_group_id=group_id,
            direction=rule.direction,
            ethertype=rule.ethertype,
            protocol=rule.protocol,
            port_range_min=rule.port_range_min,
            port_range_max=rule.port_range_max,
            remote_ip_prefix=rule.remote_ip_prefix,
            created_at=txn.now,
        )
    )
    return rule_id


def rule_row(txn: Txn, project_id: str, rule_id: str) -> Row[Any]:
    rules, groups = sim_security_group_rules, sim_security_groups
    query = (
        select(rules)
        .join(groups, groups.c.id == rules.c.security_group_id)
        .where(
            rules.c.id == rule_id,
            groups.c.region == txn.region,
            groups.c.project_id == project_id,
        )
    )
    row = txn.conn.execute(query).first()
    if row is None:
        raise NotFound(f"Security group rule {rule_id} could not be found.")
    return row


# ---- floating IPs ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FloatingPool:
    """The external network's allocation pool; the addresses are data, never contacted."""

    cidr: str = "203.0.113.0/24"

    def candidates(self) -> list[str]:
        hosts = list(ipaddress.ip_network(self.cidr).hosts())
        return [str(address) for address in hosts[1:]]  # the first one is the router's


def floating_row(txn: Txn, project_id: str, floating_ip_id: str) -> Row[Any]:
    query = select(sim_floating_ips).where(
        sim_floating_ips.c.region == txn.region,
        sim_floating_ips.c.project_id == project_id,
        sim_floating_ips.c.id == floating_ip_id,
    )
    row = txn.conn.execute(query).first()
    if row is None:
        raise NotFound(f"Floating IP {floating_ip_id} could not be found.")
    return row


def allocate(txn: Txn, pool: FloatingPool, project_id: str) -> str:
    used_query = select(sim_floating_ips.c.address).where(sim_floating_ips.c.region == txn.region)
    used = set(txn.conn.execute(used_query).scalars())
    free = next((address for address in pool.candidates() if address not in used), None)
    if free is None:
        raise Conflict("No more IP addresses available on network public.")
    floating_ip_id = str(uuid.uuid4())
    txn.conn.execute(
        sim_floating_ips.insert().values(
            id=floating_ip_id,
            region=txn.region,
            project_id=project_id,
            address=free,
            status="DOWN",
            revision_number=0,
            created_at=txn.now,
            updated_at=txn.now,
        )
    )
    emit_floating(txn, "floatingip.create.end", _reload(txn, floating_ip_id))
    return floating_ip_id


def associate(txn: Txn, row: Row[Any], server: Row[Any]) -> None:
    taken = select(sim_floating_ips.c.id).where(
        sim_floating_ips.c.server_id == server.id, sim_floating_ips.c.id != row.id
    )
    if txn.conn.execute(taken).first() is not None:
        raise Conflict(
            f"Cannot associate floating IP {row.address}: instance {server.id} already has one.",
            field="server_id",
        )
    _set_port(txn, row, server.id, server.fixed_ip, "ACTIVE")


def disassociate(txn: Txn, row: Row[Any]) -> None:
    if row.server_id is None:
        raise Conflict(f"Floating IP {row.address} is not associated.")
    _set_port(txn, row, None, None, "DOWN")


def release(txn: Txn, row: Row[Any]) -> None:
    txn.conn.execute(sim_floating_ips.delete().where(sim_floating_ips.c.id == row.id))
    emit_floating(txn, "floatingip.delete.end", row)


def release_server_ports(txn: Txn, server: Row[Any]) -> None:
    """When a server's port goes, Neutron unbinds the floating IPs that pointed at it."""
    query = select(sim_floating_ips).where(sim_floating_ips.c.server_id == server.id)
    for row in txn.conn.execute(query).all():
        _set_port(txn, row, None, None, "DOWN")


def _set_port(
    txn: Txn, row: Row[Any], server_id: str | None, fixed_ip: str | None, status: str
) -> None:
    txn.conn.execute(
        sim_floating_ips.update()
        .where(sim_floating_ips.c.id == row.id)
        .values(
            server_id=server_id,
            fixed_ip=fixed_ip,
            status=status,
            revision_number=row.revision_number + 1,
            updated_at=txn.now,
        )
    )
    emit_floating(txn, "floatingip.update.end", _reload(txn, row.id))


def _reload(txn: Txn, floating_ip_id: str) -> Row[Any]:
    query = select(sim_floating_ips).where(sim_floating_ips.c.id == floating_ip_id)
    return txn.conn.execute(query).one()


def emit_floating(txn: Txn, event_type: str, row: Row[Any]) -> None:
    facts = FloatingIPFacts(
        id=row.id,
        address=row.address,
        project_id=row.project_id,
        user_id=row.project_id,
        network_id=seeded_id(txn.region, "network", "public"),
        status=row.status,
        fixed_ip=row.fixed_ip,
        port_id=port_id(row.server_id) if row.server_id else None,
        router_id=seeded_id(txn.region, "router", row.project_id) if row.server_id else None,
        revision_number=row.revision_number,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
    txn.outbox.append(neutron_message(event_type, facts, txn.now, NETWORK_HOST))


def floating_out(txn: Txn, project_id: str) -> list[Row[Any]]:
    query = (
        select(sim_floating_ips)
        .where(
            sim_floating_ips.c.region == txn.region,
            sim_floating_ips.c.project_id == project_id,
        )
        .order_by(sim_floating_ips.c.address)
    )
    return list(txn.conn.execute(query))
