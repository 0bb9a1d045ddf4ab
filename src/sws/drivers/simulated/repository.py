"""Persistence for the simulated region: rows in, frozen `base.py` values out."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Row, Select, Table, func, select

from sws.drivers.base import (
    Flavor,
    FloatingIP,
    Image,
    KeyPair,
    SecurityGroup,
    SecurityGroupRule,
    Server,
    ServerBrief,
    ServerFilter,
)
from sws.drivers.simulated.catalog import FLAVORS_BY_ID, HostShape, ImageSeed
from sws.drivers.simulated.notifications import Fault, InstanceFacts
from sws.drivers.simulated.scheduler import HostState, flavor_disk_gb
from sws.drivers.simulated.states import DELETED, RESIZED, api_status, statuses_vm_states
from sws.drivers.simulated.tables import (
    sim_floating_ips,
    sim_hypervisors,
    sim_images,
    sim_keypairs,
    sim_security_group_rules,
    sim_security_groups,
    sim_servers,
)
from sws.errors import NotFound


@dataclass(slots=True)
class Txn:
    """One transaction of one region: the connection, its "now", and messages to send after."""

    conn: Connection
    region: str
    now: datetime
    outbox: list[dict[str, Any]] = field(default_factory=list)
    earliest_due: datetime | None = None

    def note_due(self, when: datetime) -> None:
        """Remember the earliest task this transaction scheduled, for the region's due hint."""
        if self.earliest_due is None or when < self.earliest_due:
            self.earliest_due = when


def flavor(flavor_id: str) -> Flavor:
    return FLAVORS_BY_ID[flavor_id]


# ---- servers -------------------------------------------------------------------------------


def server_row(txn: Txn, server_id: str, project_id: str | None) -> Row[Any]:
    """The live server row; another project's server is as missing as a deleted one."""
    query = select(sim_servers).where(
        sim_servers.c.region == txn.region,
        sim_servers.c.id == server_id,
        sim_servers.c.vm_state != DELETED,
    )
    if project_id is not None:
        query = query.where(sim_servers.c.project_id == project_id)
    row = txn.conn.execute(query).first()
    if row is None:
        raise NotFound(f"Instance {server_id} could not be found.")
    return row


def shown_placement(row: Row[Any]) -> tuple[Flavor, Flavor | None, str | None]:
    """(flavor, old_flavor, host) as the API shows them at this point of a resize."""
    if row.task_state == "resize_migrating":
        return flavor(row.old_flavor_id), None, row.source_host
    if row.vm_state == RESIZED and row.old_flavor_id is not None:
        return flavor(row.flavor_id), flavor(row.old_flavor_id), row.host
    return flavor(row.flavor_id), None, row.host


def to_server(row: Row[Any], floating: Sequence[str]) -> Server:
    current, old, host = shown_placement(row)
    return Server(
        id=row.id,
        name=row.name,
        project_id=row.project_id,
        user_id=row.user_id,
        flavor=current,
        image_id=row.image_id,
        status=api_status(row.vm_state, row.task_state),
        vm_state=row.vm_state,
        task_state=row.task_state,
        power_state=row.power_state,
        host=host,
        fixed_ips=(row.fixed_ip,),
        floating_ips=tuple(floating),
        key_name=row.key_name,
        security_groups=tuple(json.loads(row.security_groups)),
        created_at=row.created_at,
        updated_at=row.updated_at,
        launched_at=row.launched_at,
        terminated_at=row.terminated_at,
        fault=_fault_message(row.fault),
        old_flavor=old,
    )


def _fault_message(text: str | None) -> str | None:
    fault = load_fault(text)
    return fault.message if fault else None


def load_fault(text: str | None) -> Fault | None:
    if not text:
        return None
    data = json.loads(text)
    return Fault(exception=data["exception"], message=data["message"])


def dump_fault(fault: Fault) -> str:
    return json.dumps({"exception": fault.exception, "message": fault.message})


def facts(row: Row[Any], keypair: KeyPair | None = None) -> InstanceFacts:
    current, _old, host = shown_placement(row)
    return InstanceFacts(
        uuid=row.id,
        number=row.number,
        tenant_id=row.project_id,
        user_id=row.user_id,
        display_name=row.name,
        host=host,
        state=row.vm_state,
        task_state=row.task_state,
        power_state=row.power_state,
        flavor=current,
        image_uuid=row.image_id,
        key_name=row.key_name,
        fixed_ip=row.fixed_ip,
        mac=row.mac,
        reservation_id=row.reservation_id,
        request_id=row.request_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        launched_at=row.launched_at,
        terminated_at=row.terminated_at,
        deleted_at=row.deleted_at,
        fault=load_fault(row.fault),
        keypair=keypair,
    )


def servers_out(txn: Txn, rows: Sequence[Row[Any]]) -> list[Server]:
    floating = floating_addresses(txn, [row.id for row in rows])
    return [to_server(row, floating.get(row.id, ())) for row in rows]


def floating_addresses(txn: Txn, server_ids: Sequence[str]) -> dict[str, list[str]]:
    if not server_ids:
        return {}
    query = (
        select(sim_floating_ips.c.server_id, sim_floating_ips.c.address)
        .where(sim_floating_ips.c.server_id.in_(server_ids))
        .order_by(sim_floating_ips.c.address)
    )
    found: dict[str, list[str]] = defaultdict(list)
    for server_id, address in txn.conn.execute(query):
        found[server_id].append(address)
    return found


def update_server(txn: Txn, server_id: str, **values: Any) -> None:
    values.setdefault("updated_at", txn.now)
    if values.get("task_due_at") is not None:
        txn.note_due(values["task_due_at"])
    txn.conn.execute(sim_servers.update().where(sim_servers.c.id == server_id).values(**values))


def reload_server(txn: Txn, server_id: str) -> Row[Any]:
    row = txn.conn.execute(select(sim_servers).where(sim_servers.c.id == server_id)).one()
    return row


def server_page(
    txn: Txn, project_id: str | None, filters: ServerFilter, limit: int, below: int | None
) -> list[Row[Any]]:
    """Up to `limit` live servers matching `filters`, newest first, numbered below `below`.

    A status filter narrows by vm_state in SQL, then by the API status each row shows (one
    vm_state can show as two statuses, depending on its task)."""
    query = _filtered(select(sim_servers), txn.region, project_id, filters)
    if below is not None:
        query = query.where(sim_servers.c.number < below)
    query = query.order_by(sim_servers.c.number.desc())
    if filters.status is None:
        return list(txn.conn.execute(query.limit(limit)).all())
    wanted = filters.status.upper()
    rows = txn.conn.execute(query)
    matching = (r for r in rows if api_status(r.vm_state, r.task_state) == wanted)
    return [row for _, row in zip(range(limit), matching, strict=False)]


def server_briefs(
    txn: Txn, project_id: str, limit: int, filters: ServerFilter
) -> list[ServerBrief]:
    """Up to `limit` of the project's live servers that `filters` keep, newest first (as
    `server_page`), reading only the columns a picker shows."""
    c = sim_servers.c
    columns = select(c.id, c.name, c.vm_state, c.task_state, c.fixed_ip)
    query = _filtered(columns, txn.region, project_id, filters).order_by(c.number.desc())
    rows = txn.conn.execute(query if filters.status else query.limit(limit))
    briefs = (  # unpacked: a Row's attributes by name cost as much again as reading it
        ServerBrief(server_id, name, api_status(vm_state, task_state), (fixed_ip,))
        for server_id, name, vm_state, task_state, fixed_ip in rows
    )
    wanted = filters.status.upper() if filters.status else None
    kept = (brief for brief in briefs if wanted is None or brief.status == wanted)
    return [brief for _, brief in zip(range(limit), kept, strict=False)]


def status_counts(txn: Txn, project_id: str) -> dict[str, int]:
    """How many of the project's live servers show each API status: one `GROUP BY` on
    (vm_state, task_state), whose few groups map to statuses here."""
    c = sim_servers.c
    columns = select(c.vm_state, c.task_state, func.count())
    query = _filtered(columns, txn.region, project_id, ServerFilter())
    counts: dict[str, int] = defaultdict(int)
    for vm_state, task_state, count in txn.conn.execute(query.group_by(c.vm_state, c.task_state)):
        counts[api_status(vm_state, task_state)] += int(count)
    return dict(counts)


def _filtered(
    query: Select[Any], region: str, project_id: str | None, filters: ServerFilter
) -> Select[Any]:
    columns = sim_servers.c
    query = query.where(columns.region == region, columns.vm_state != DELETED)
    if project_id is not None:
        query = query.where(columns.project_id == project_id)
    if filters.name:
        query = query.where(columns.name.icontains(filters.name, autoescape=True))
    for column, value in (
        (columns.flavor_id, filters.flavor_id),
        (columns.image_id, filters.image_id),
        (columns.host, filters.host),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.status is not None:
        query = query.where(columns.vm_state.in_(statuses_vm_states(filters.status.upper())))
    return query


def due_servers(txn: Txn, now: datetime, limit: int) -> list[Row[Any]]:
    """Servers whose task is due by `now`, earliest first."""
    query = (
        select(sim_servers)
        .where(sim_servers.c.region == txn.region, sim_servers.c.task_due_at <= now)
        .order_by(sim_servers.c.task_due_at, sim_servers.c.number)
        .limit(limit)
    )
    return list(txn.conn.execute(query).all())


def next_due(txn: Txn) -> datetime | None:
    query = select(func.min(sim_servers.c.task_due_at)).where(sim_servers.c.region == txn.region)
    found: datetime | None = txn.conn.execute(query).scalar()
    return found


def next_number(txn: Txn) -> int:
    query = select(func.max(sim_servers.c.number)).where(sim_servers.c.region == txn.region)
    return int(txn.conn.execute(query).scalar() or 0) + 1


# ---- capacity and quota ----------------------------------------------------------------------


def _flavor_counts(
    txn: Txn, group: Any, flavor_column: Any, *where: Any
) -> list[tuple[str, str, int]]:
    query = (
        select(group, flavor_column, func.count())
        .where(sim_servers.c.region == txn.region, sim_servers.c.vm_state != DELETED, *where)
        .group_by(group, flavor_column)
    )
    return [(str(a), str(b), int(c)) for a, b, c in txn.conn.execute(query)]


def host_states(txn: Txn) -> list[HostState]:
    """Every hypervisor with what its live instances (and pending resizes) hold on it."""
    used: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    holdings = _flavor_counts(
        txn, sim_servers.c.host, sim_servers.c.flavor_id, sim_servers.c.host.is_not(None)
    ) + _flavor_counts(
        txn,
        sim_servers.c.source_host,
        sim_servers.c.old_flavor_id,
        sim_servers.c.source_host.is_not(None),
    )
    for host, flavor_id, count in holdings:
        _add_usage(used[host], flavor(flavor_id), count)
    return [_host_state(row, used[row.hostname]) for row in hypervisor_rows(txn)]


def _add_usage(totals: list[int], held: Flavor, count: int) -> None:
    totals[0] += held.vcpus * count
    totals[1] += (held.ram_mb + held.swap_mb) * count
    totals[2] += flavor_disk_gb(held) * count


def _host_state(row: Row[Any], used: list[int]) -> HostState:
    return HostState(
        hostname=row.hostname,
        vcpus=row.vcpus,
        ram_mb=row.ram_mb,
        disk_gb=row.disk_gb,
        vcpus_used=used[0],
        ram_used_mb=used[1],
        disk_used_gb=used[2],
        enabled=row.status == "enabled" and row.state == "up",
    )


def insert_hypervisor(txn: Txn, hypervisor_id: str, hostname: str, shape: HostShape) -> None:
    txn.conn.execute(
        sim_hypervisors.insert().values(
            id=hypervisor_id, region=txn.region, hostname=hostname, state="up",
            status="enabled", vcpus=shape.vcpus, ram_mb=shape.ram_mb, disk_gb=shape.disk_gb,
            created_at=txn.now,
        )
    )


def hypervisor_rows(txn: Txn) -> list[Row[Any]]:
    query = (
        select(sim_hypervisors)
        .where(sim_hypervisors.c.region == txn.region)
        .order_by(sim_hypervisors.c.hostname)
    )
    return list(txn.conn.execute(query))


def servers_by_host(txn: Txn) -> dict[str, list[str]]:
    query = (
        select(sim_servers.c.host, sim_servers.c.id)
        .where(
            sim_servers.c.region == txn.region,
            sim_servers.c.vm_state != DELETED,
            sim_servers.c.host.is_not(None),
        )
        .order_by(sim_servers.c.number)
    )
    found: dict[str, list[str]] = defaultdict(list)
    for host, server_id in txn.conn.execute(query):
        found[host].append(server_id)
    return found


@dataclass(frozen=True, slots=True)
class ComputeUsage:
    instances: int
    cores: int
    ram_mb: int


def compute_usage(txn: Txn, project_id: str) -> ComputeUsage:
    rows = _flavor_counts(
        txn,
        sim_servers.c.project_id,
        sim_servers.c.flavor_id,
        sim_servers.c.project_id == project_id,
    )
    instances = cores = ram = 0
    for _project, flavor_id, count in rows:
        held = flavor(flavor_id)
        instances += count
        cores += held.vcpus * count
        ram += held.ram_mb * count
    return ComputeUsage(instances=instances, cores=cores, ram_mb=ram)


OwnedKind = Literal["key_pairs", "security_groups", "floating_ips"]
_OWNED: dict[str, Table] = {
    "key_pairs": sim_keypairs, "security_groups": sim_security_groups,
    "floating_ips": sim_floating_ips,
}


def count_owned(txn: Txn, kind: OwnedKind, project_id: str) -> int:
    """How many key pairs, security groups or floating IPs the project holds (for quotas)."""
    table = _OWNED[kind]
    query = (
        select(func.count())
        .select_from(table)
        .where(table.c.region == txn.region, table.c.project_id == project_id)
    )
    return int(txn.conn.execute(query).scalar_one())


# ---- images, key pairs, security groups, floating IPs ---------------------------------------


def to_image(row: Row[Any]) -> Image:
    return Image(
        id=row.id,
        name=row.name,
        status=row.status,
        min_disk_gb=row.min_disk_gb,
        min_ram_mb=row.min_ram_mb,
        size_bytes=row.size_bytes,
        visibility=row.visibility,
        owner_project_id=row.owner_project_id,
        created_at=row.created_at,
        image_type=row.image_type,
        source_server_id=row.source_server_id,
    )


def image_row(txn: Txn, project_id: str, image_id: str) -> Row[Any] | None:
    """An image the project can see: public ones and its own; deleted ones are gone."""
    query = select(sim_images).where(
        sim_images.c.region == txn.region,
        sim_images.c.id == image_id,
        sim_images.c.status != "deleted",
    )
    row = txn.conn.execute(query).first()
    if row is None or (row.visibility != "public" and row.owner_project_id != project_id):
        return None
    return row


def visible_images(txn: Txn, project_id: str) -> list[Row[Any]]:
    """Public images and the project's own, by name; deleted ones are gone."""
    query = (
        select(sim_images)
        .where(
            sim_images.c.region == txn.region,
            sim_images.c.status != "deleted",
            (sim_images.c.visibility == "public") | (sim_images.c.owner_project_id == project_id),
        )
        .order_by(sim_images.c.name, sim_images.c.id)
    )
    return list(txn.conn.execute(query))


def image_exists(txn: Txn, image_id: str) -> bool:
    found = select(sim_images.c.id).where(sim_images.c.id == image_id)
    return txn.conn.execute(found).first() is not None


def insert_public_image(txn: Txn, image_id: str, seed: ImageSeed) -> None:
    txn.conn.execute(
        sim_images.insert().values(
            id=image_id, region=txn.region, name=seed.name, status="active",
            min_disk_gb=seed.min_disk_gb, min_ram_mb=seed.min_ram_mb, size_bytes=seed.size_bytes,
            visibility="public", owner_project_id=None, image_type="image",
            source_server_id=None, created_at=txn.now, updated_at=txn.now,
        )
    )


def mark_image_deleted(txn: Txn, image_id: str) -> None:
    txn.conn.execute(
        sim_images.update()
        .where(sim_images.c.id == image_id)
        .values(status="deleted", updated_at=txn.now)
    )


def to_keypair(row: Row[Any]) -> KeyPair:
    return KeyPair(
        name=row.name,
        fingerprint=row.fingerprint,
        public_key=row.public_key,
        created_at=row.created_at,
        key_type=row.key_type,
    )


def keypair_row(txn: Txn, project_id: str, name: str) -> Row[Any] | None:
    query = select(sim_keypairs).where(
        sim_keypairs.c.region == txn.region,
        sim_keypairs.c.project_id == project_id,
        sim_keypairs.c.name == name,
    )
    return txn.conn.execute(query).first()


def keypair_rows(txn: Txn, project_id: str) -> list[Row[Any]]:
    query = (
        select(sim_keypairs)
        .where(sim_keypairs.c.region == txn.region, sim_keypairs.c.project_id == project_id)
        .order_by(sim_keypairs.c.name)
    )
    return list(txn.conn.execute(query))


def insert_keypair(txn: Txn, project_id: str, keypair: KeyPair) -> None:
    txn.conn.execute(
        sim_keypairs.insert().values(
            region=txn.region, project_id=project_id, name=keypair.name,
            fingerprint=keypair.fingerprint, public_key=keypair.public_key,
            key_type=keypair.key_type, created_at=keypair.created_at,
        )
    )


def delete_keypair(txn: Txn, project_id: str, name: str) -> None:
    txn.conn.execute(
        sim_keypairs.delete().where(
            sim_keypairs.c.region == txn.region,
            sim_keypairs.c.project_id == project_id,
            sim_keypairs.c.name == name,
        )
    )


def delete_rule(txn: Txn, rule_id: str) -> None:
    txn.conn.execute(
        sim_security_group_rules.delete().where(sim_security_group_rules.c.id == rule_id)
    )


def to_rule(row: Row[Any]) -> SecurityGroupRule:
    return SecurityGroupRule(
        id=row.id,
        security_group_id=row.security_group_id,
        direction=row.direction,
        ethertype=row.ethertype,
        protocol=row.protocol,
        port_range_min=row.port_range_min,
        port_range_max=row.port_range_max,
        remote_ip_prefix=row.remote_ip_prefix,
    )


def security_groups_out(txn: Txn, rows: Iterable[Row[Any]]) -> list[SecurityGroup]:
    groups = list(rows)
    rules: dict[str, list[SecurityGroupRule]] = defaultdict(list)
    if groups:
        query = (
            select(sim_security_group_rules)
            .where(sim_security_group_rules.c.security_group_id.in_([g.id for g in groups]))
            .order_by(sim_security_group_rules.c.created_at, sim_security_group_rules.c.id)
        )
        for rule in txn.conn.execute(query):
            rules[rule.security_group_id].append(to_rule(rule))
    return [
        SecurityGroup(
            id=g.id,
            name=g.name,
            description=g.description,
            project_id=g.project_id,
            rules=tuple(rules[g.id]),
        )
        for g in groups
    ]


def to_floating_ip(row: Row[Any]) -> FloatingIP:
    return FloatingIP(
        id=row.id,
        address=row.address,
        project_id=row.project_id,
        status=row.status,
        server_id=row.server_id,
        fixed_ip=row.fixed_ip,
        created_at=row.created_at,
    )
