"""Persistence of load balancers (SQLAlchemy Core), in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from sws.db.paging import keyset
from sws.loadbalancer.model import LoadBalancerSpec, Member, MemberSpec, Monitor
from sws.loadbalancer.tables import (
    lb_hosts,
    lb_loadbalancers,
    lb_member_health,
    lb_members,
    lb_nodes,
    lb_state,
    lb_traffic,
)
from sws.paging import PageRequest


@dataclass(frozen=True, slots=True)
class LBRow:
    """A load balancer as stored, with its hosts and members."""

    id: str
    project_id: str
    region: str
    name: str
    type: str
    algorithm: str
    port: int | None
    monitor: Monitor
    public_domain_server_id: str | None
    created_at: datetime
    updated_at: datetime
    hosts: tuple[tuple[str, str], ...]  # (host, kind), auto first
    members: tuple[Member, ...]


def insert_lb(
    conn: Connection, *, lb_id: str, project_id: str, region: str, spec: LoadBalancerSpec,
    port: int | None, public_domain_server_id: str | None, now: datetime,
) -> None:
    conn.execute(insert(lb_loadbalancers).values(
        id=lb_id, project_id=project_id, region=region, name=spec.name, type=spec.type,
        algorithm=spec.algorithm, port=port, public_domain_server_id=public_domain_server_id,
        created_at=now, updated_at=now, **monitor_columns(spec.monitor),
    ))


def monitor_columns(monitor: Monitor) -> dict[str, Any]:
    return {
        "monitor_type": monitor.type,
        "monitor_interval_ms": monitor.interval_ms,
        "monitor_timeout_ms": monitor.timeout_ms,
        "monitor_rise": monitor.rise,
        "monitor_fall": monitor.fall,
        "monitor_http_path": monitor.http_path,
        "monitor_expected_codes": monitor.expected_codes,
    }


def update_lb(conn: Connection, lb_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(lb_loadbalancers).where(lb_loadbalancers.c.id == lb_id).values(**values))


def delete_lb(conn: Connection, lb_id: str) -> None:
    member_ids = select(lb_members.c.id).where(lb_members.c.lb_id == lb_id)
    conn.execute(delete(lb_member_health).where(lb_member_health.c.member_id.in_(member_ids)))
    conn.execute(delete(lb_members).where(lb_members.c.lb_id == lb_id))
    conn.execute(delete(lb_hosts).where(lb_hosts.c.lb_id == lb_id))
    conn.execute(delete(lb_loadbalancers).where(lb_loadbalancers.c.id == lb_id))


def public_domains(
    conn: Connection, project_id: str, server_ids: Sequence[str]
) -> list[tuple[str, str, int]]:
    """(server id, automatic host, shared port) of each listed server's public domain."""
    query = (
        select(lb_loadbalancers.c.public_domain_server_id, lb_hosts.c.host, lb_loadbalancers.c.port)
        .join(lb_hosts, lb_hosts.c.lb_id == lb_loadbalancers.c.id)
        .where(and_(lb_loadbalancers.c.project_id == project_id,
                    lb_loadbalancers.c.public_domain_server_id.in_(server_ids),
                    lb_hosts.c.kind == "auto"))
    )
    return [(row[0], row[1], row[2]) for row in conn.execute(query)]


def insert_host(conn: Connection, *, host: str, lb_id: str, kind: str, now: datetime) -> None:
    conn.execute(insert(lb_hosts).values(host=host, lb_id=lb_id, kind=kind, created_at=now))


def host_taken(conn: Connection, host: str) -> bool:
    return conn.execute(select(lb_hosts.c.host).where(lb_hosts.c.host == host)).first() is not None


def delete_host(conn: Connection, *, lb_id: str, host: str) -> int:
    result = conn.execute(
        delete(lb_hosts).where(
            and_(lb_hosts.c.lb_id == lb_id, lb_hosts.c.host == host, lb_hosts.c.kind == "custom")
        )
    )
    return int(result.rowcount or 0)


def used_ports(conn: Connection, low: int, high: int) -> set[int]:
    rows = conn.execute(
        select(lb_loadbalancers.c.port).where(lb_loadbalancers.c.port.between(low, high))
    )
    return {int(port) for (port,) in rows}


def insert_member(
    conn: Connection, *, member_id: str, lb_id: str, spec: MemberSpec, address: str,
    now: datetime,
) -> None:
    conn.execute(insert(lb_members).values(
        id=member_id, lb_id=lb_id, server_id=spec.server_id, address=address, port=spec.port,
        weight=spec.weight, backup=spec.backup, admin_state="enabled", created_at=now,
    ))


def update_member(conn: Connection, member_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(lb_members).where(lb_members.c.id == member_id).values(**values))


def delete_member(conn: Connection, member_id: str) -> None:
    conn.execute(delete(lb_member_health).where(lb_member_health.c.member_id == member_id))
    conn.execute(delete(lb_members).where(lb_members.c.id == member_id))


def member_exists(conn: Connection, *, lb_id: str, server_id: str, port: int) -> bool:
    query = select(lb_members.c.id).where(
        and_(
            lb_members.c.lb_id == lb_id,
            lb_members.c.server_id == server_id,
            lb_members.c.port == port,
        )
    )
    return conn.execute(query).first() is not None


def get_lb(conn: Connection, *, lb_id: str, project_id: str | None = None) -> LBRow | None:
    query = select(lb_loadbalancers).where(lb_loadbalancers.c.id == lb_id)
    if project_id is not None:
        query = query.where(lb_loadbalancers.c.project_id == project_id)
    rows = _assemble(conn, conn.execute(query).mappings().all())
    return rows[0] if rows else None


def lb_of_server(conn: Connection, *, server_id: str, project_id: str) -> LBRow | None:
    query = select(lb_loadbalancers).where(
        and_(
            lb_loadbalancers.c.public_domain_server_id == server_id,
            lb_loadbalancers.c.project_id == project_id,
        )
    )
    rows = _assemble(conn, conn.execute(query).mappings().all())
    return rows[0] if rows else None


def lbs_of_servers(conn: Connection, server_ids: Sequence[str]) -> list[LBRow]:
    """The public domains of the listed servers, whatever their project (one query; the
    server id is unique among public domains)."""
    if not server_ids:
        return []
    query = select(lb_loadbalancers).where(
        lb_loadbalancers.c.public_domain_server_id.in_(sorted(set(server_ids)))
    ).order_by(lb_loadbalancers.c.id)
    return _assemble(conn, conn.execute(query).mappings().all())


def list_lbs(
    conn: Connection, *, project_id: str | None = None, region: str | None = None,
    page: PageRequest | None = None,
) -> list[LBRow]:
    order = (lb_loadbalancers.c.created_at, lb_loadbalancers.c.id)
    query = select(lb_loadbalancers).order_by(*order)
    if project_id is not None:
        query = query.where(lb_loadbalancers.c.project_id == project_id)
    if region is not None:
        query = query.where(lb_loadbalancers.c.region == region)
    if page is not None:
        query = keyset(conn, query, order=order, request=page)
    return _assemble(conn, conn.execute(query).mappings().all())


def _assemble(conn: Connection, rows: Sequence[Any]) -> list[LBRow]:
    ids = [row["id"] for row in rows]
    hosts: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
    members: dict[str, list[Member]] = {i: [] for i in ids}
    if ids:
        for h in conn.execute(
            select(lb_hosts).where(lb_hosts.c.lb_id.in_(ids)).order_by(lb_hosts.c.created_at)
        ).mappings():
            hosts[h["lb_id"]].append((h["host"], h["kind"]))
        for m in conn.execute(
            select(lb_members).where(lb_members.c.lb_id.in_(ids)).order_by(
                lb_members.c.created_at, lb_members.c.id
            )
        ).mappings():
            members[m["lb_id"]].append(_member(m))
    return [_lb_row(row, hosts[row["id"]], members[row["id"]]) for row in rows]


def _member(m: Any) -> Member:
    return Member(
        id=m["id"], server_id=m["server_id"], address=m["address"], port=m["port"],
        weight=m["weight"], backup=bool(m["backup"]), admin_state=m["admin_state"],
    )


def _lb_row(row: Any, hosts: list[tuple[str, str]], members: list[Member]) -> LBRow:
    monitor = Monitor(
        type=row["monitor_type"], interval_ms=row["monitor_interval_ms"],
        timeout_ms=row["monitor_timeout_ms"], rise=row["monitor_rise"],
        fall=row["monitor_fall"], http_path=row["monitor_http_path"],
        expected_codes=row["monitor_expected_codes"],
    )
    hosts.sort(key=lambda item: item[1] != "auto")
    return LBRow(
        id=row["id"], project_id=row["project_id"], region=row["region"], name=row["name"],
        type=row["type"], algorithm=row["algorithm"], port=row["port"], monitor=monitor,
        public_domain_server_id=row["public_domain_server_id"],
        created_at=row["created_at"], updated_at=row["updated_at"],
        hosts=tuple(hosts), members=tuple(members),
    )


# ---- configuration version --------------------------------------------------------------


def bump_version(conn: Connection) -> int:
    """Increment the configuration version (creating the row on first use); returns it."""
    current = conn.execute(select(lb_state.c.version).where(lb_state.c.id == 1)).scalar()
    if current is None:
        conn.execute(insert(lb_state).values(id=1, version=1))
        return 1
    conn.execute(update(lb_state).where(lb_state.c.id == 1).values(version=lb_state.c.version + 1))
    return int(current) + 1


def version(conn: Connection) -> int:
    return int(conn.execute(select(lb_state.c.version).where(lb_state.c.id == 1)).scalar() or 0)


# ---- nodes and health -------------------------------------------------------------------


def node_rows(conn: Connection) -> dict[str, Any]:
    return {row["name"]: row for row in conn.execute(select(lb_nodes)).mappings()}


def upsert_node(conn: Connection, name: str, values: dict[str, Any]) -> None:
    found = conn.execute(select(lb_nodes.c.name).where(lb_nodes.c.name == name)).first()
    if found is None:
        conn.execute(insert(lb_nodes).values(name=name, **{"admin_state": "up", **values}))
    else:
        conn.execute(update(lb_nodes).where(lb_nodes.c.name == name).values(**values))


def known_member_ids(conn: Connection, ids: Iterable[str]) -> set[str]:
    wanted = list(ids)
    if not wanted:
        return set()
    rows = conn.execute(select(lb_members.c.id).where(lb_members.c.id.in_(wanted)))
    return {member_id for (member_id,) in rows}


def write_health(
    conn: Connection, *, node: str, statuses: dict[str, str], now: datetime
) -> None:
    if not statuses:
        return
    conn.execute(
        delete(lb_member_health).where(
            and_(
                lb_member_health.c.node == node,
                lb_member_health.c.member_id.in_(list(statuses)),
            )
        )
    )
    conn.execute(
        insert(lb_member_health),
        [
            {"member_id": m, "node": node, "status": s, "reported_at": now}
            for m, s in statuses.items()
        ],
    )


def health_reports(
    conn: Connection, member_ids: Sequence[str], since: datetime
) -> dict[str, dict[str, str]]:
    """member -> node -> status, for reports newer than `since`."""
    out: dict[str, dict[str, str]] = {m: {} for m in member_ids}
    if not member_ids:
        return out
    rows = conn.execute(
        select(lb_member_health).where(
            and_(
                lb_member_health.c.member_id.in_(list(member_ids)),
                lb_member_health.c.reported_at >= since,
            )
        )
    ).mappings()
    for row in rows:
        out[row["member_id"]][row["node"]] = row["status"]
    return out


def count_lbs(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(lb_loadbalancers)).scalar() or 0)


def lb_of_server_any(conn: Connection, server_id: str) -> bool:
    query = select(lb_loadbalancers.c.id).where(
        lb_loadbalancers.c.public_domain_server_id == server_id
    )
    return conn.execute(query).first() is not None


def auto_host_exists(conn: Connection, host: str) -> bool:
    query = select(lb_hosts.c.host).where(and_(lb_hosts.c.host == host, lb_hosts.c.kind == "auto"))
    return conn.execute(query).first() is not None


# ---- traffic (billing's bandwidth) ---------------------------------------------------------


def owners(conn: Connection, lb_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """lb id -> (project, region), from live LBs, else from the LB's earlier traffic rows
    (an LB deleted since the agent counted its last bytes)."""
    ids = list(lb_ids)
    if not ids:
        return {}
    rows = conn.execute(
        select(lb_loadbalancers.c.id, lb_loadbalancers.c.project_id, lb_loadbalancers.c.region)
        .where(lb_loadbalancers.c.id.in_(ids))
    ).all()
    found = {r.id: (r.project_id, r.region) for r in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        old = conn.execute(
            select(lb_traffic.c.lb_id, lb_traffic.c.project_id, lb_traffic.c.region)
            .where(lb_traffic.c.lb_id.in_(missing))
        ).all()
        for r in old:
            found.setdefault(r.lb_id, (r.project_id, r.region))
    return found


def add_traffic(
    conn: Connection, *, lb_id: str, project_id: str, region: str, hour_start: datetime,
    bytes_out: int,
) -> None:
    """Add bytes to the LB's row for that hour (insert it if missing)."""
    key = and_(lb_traffic.c.lb_id == lb_id, lb_traffic.c.hour_start == hour_start)
    done = conn.execute(
        update(lb_traffic).where(key).values(bytes_out=lb_traffic.c.bytes_out + bytes_out)
    )
    if done.rowcount == 0:
        conn.execute(insert(lb_traffic).values(
            lb_id=lb_id, hour_start=hour_start, project_id=project_id, region=region,
            bytes_out=bytes_out,
        ))


def traffic(conn: Connection, *, start: datetime, end: datetime) -> list[Any]:
    """Rows of hours starting in [start, end), in a stable order."""
    return list(conn.execute(
        select(lb_traffic)
        .where(and_(lb_traffic.c.hour_start >= start, lb_traffic.c.hour_start < end))
        .order_by(lb_traffic.c.hour_start, lb_traffic.c.lb_id)
    ).all())
