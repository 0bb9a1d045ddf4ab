"""Persistence of the CDN (SQLAlchemy Core), in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, delete, insert, select, update

from sws.cdn.model import ORIGIN_DELETED, Backend, CacheSettings, PurgeSpec
from sws.cdn.tables import (
    cdn_certificates,
    cdn_distributions,
    cdn_edges,
    cdn_hosts,
    cdn_purge_edges,
    cdn_purges,
    cdn_signing,
    cdn_state,
)
from sws.db.paging import keyset
from sws.loadbalancer.tables import lb_loadbalancers
from sws.paging import PageRequest


@dataclass(frozen=True, slots=True)
class DistributionRow:
    """A distribution as stored, with its host names ((host, kind), automatic first)."""

    id: str
    project_id: str
    region: str
    name: str
    origin_kind: str
    origin_ref: str
    backend: Backend
    settings: CacheSettings
    hosts: tuple[tuple[str, str], ...]
    created_at: datetime
    updated_at: datetime
    origin_missing: bool = False  # its load balancer was deleted: served as disabled
    disabled_reason: str | None = None  # why SWS disabled it (origin_deleted)

    @property
    def serving(self) -> CacheSettings:
        """The settings the edges apply: disabled while the origin is missing."""
        if self.origin_missing or self.disabled_reason is not None:
            return replace(self.settings, enabled=False)
        return self.settings

    @property
    def origin_deleted(self) -> bool:
        return self.origin_missing or self.disabled_reason == ORIGIN_DELETED


@dataclass(frozen=True, slots=True)
class PurgeRow:
    """A purge job as stored, with each edge's state."""

    id: str
    project_id: str
    distribution_id: str
    spec: PurgeSpec
    idempotency_key: str | None
    created_at: datetime
    edges: dict[str, str]


# ---- distributions ------------------------------------------------------------------------


def insert_distribution(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(insert(cdn_distributions).values(**values))


def settings_columns(settings: CacheSettings) -> dict[str, Any]:
    return {
        "default_ttl": settings.default_ttl, "honour_origin": settings.honour_origin,
        "query_in_key": settings.query_in_key, "enabled": settings.enabled,
        "allowed_methods": ",".join(settings.allowed_methods),
    }


def backend_columns(backend: Backend) -> dict[str, Any]:
    return {
        "backend_host": backend.host, "backend_port": backend.port,
        "backend_host_header": backend.host_header,
        "backend_path_prefix": backend.path_prefix,
    }


def update_distribution(conn: Connection, distribution_id: str, values: Mapping[str, Any]) -> None:
    conn.execute(
        update(cdn_distributions).where(cdn_distributions.c.id == distribution_id).values(**values)
    )


def disable_for(conn: Connection, distribution_id: str, reason: str, now: datetime) -> bool:
    """Disable it with `reason` unless SWS already did (False then: a concurrent worker won)."""
    result = conn.execute(
        update(cdn_distributions)
        .where(and_(cdn_distributions.c.id == distribution_id,
                    cdn_distributions.c.disabled_reason.is_(None)))
        .values(enabled=False, disabled_reason=reason, updated_at=now)
    )
    return int(result.rowcount) == 1


def delete_distribution(conn: Connection, distribution_id: str) -> None:
    """Its hosts and purges go with it (explicitly: SQLite may run without foreign keys)."""
    purge_ids = select(cdn_purges.c.id).where(cdn_purges.c.distribution_id == distribution_id)
    conn.execute(delete(cdn_purge_edges).where(cdn_purge_edges.c.purge_id.in_(purge_ids)))
    conn.execute(delete(cdn_purges).where(cdn_purges.c.distribution_id == distribution_id))
    conn.execute(delete(cdn_hosts).where(cdn_hosts.c.distribution_id == distribution_id))
    for table in (cdn_certificates, cdn_signing):
        conn.execute(delete(table).where(table.c.distribution_id == distribution_id))
    conn.execute(delete(cdn_distributions).where(cdn_distributions.c.id == distribution_id))


def get_distribution(
    conn: Connection, *, distribution_id: str, project_id: str | None = None
) -> DistributionRow | None:
    query = select(cdn_distributions).where(cdn_distributions.c.id == distribution_id)
    if project_id is not None:
        query = query.where(cdn_distributions.c.project_id == project_id)
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return _with_origins(conn, [_distribution(row, _hosts_of(conn, [row["id"]]))])[0]


def list_distributions(
    conn: Connection, *, project_id: str | None = None, page: PageRequest | None = None,
    origin: tuple[str, str] | None = None,
) -> list[DistributionRow]:
    """Oldest first (every project's when `project_id` is None); `origin` (kind, ref) keeps
    those on that origin."""
    query = select(cdn_distributions)
    if project_id is not None:
        query = query.where(cdn_distributions.c.project_id == project_id)
    if origin is not None:
        query = query.where(and_(cdn_distributions.c.origin_kind == origin[0],
                                 cdn_distributions.c.origin_ref == origin[1]))
    order = [cdn_distributions.c.created_at, cdn_distributions.c.id]
    if page is not None:
        query = keyset(conn, query, order=order, request=page)
    else:
        query = query.order_by(*order)
    rows = list(conn.execute(query).mappings())
    hosts = _hosts_of(conn, [r["id"] for r in rows])
    return _with_origins(conn, [_distribution(r, hosts) for r in rows])


def _with_origins(conn: Connection, rows: list[DistributionRow]) -> list[DistributionRow]:
    """Mark the distributions whose load balancer no longer exists (one query)."""
    refs = {r.origin_ref for r in rows if r.origin_kind == "loadbalancer"}
    if not refs:
        return rows
    query = select(lb_loadbalancers.c.id).where(lb_loadbalancers.c.id.in_(refs))
    alive = set(conn.execute(query).scalars())
    return [
        replace(r, origin_missing=True)
        if r.origin_kind == "loadbalancer" and r.origin_ref not in alive else r
        for r in rows
    ]


def _hosts_of(conn: Connection, ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
    if not ids:
        return found
    query = select(cdn_hosts).where(cdn_hosts.c.distribution_id.in_(ids))
    for row in conn.execute(query.order_by(cdn_hosts.c.created_at, cdn_hosts.c.host)).mappings():
        found[row["distribution_id"]].append((row["host"], row["kind"]))
    for hosts in found.values():
        hosts.sort(key=lambda h: h[1] != "auto")  # the automatic name first
    return found


def _distribution(row: RowMapping, hosts: Mapping[str, list[tuple[str, str]]]) -> (
    DistributionRow
):
    return DistributionRow(
        id=row["id"], project_id=row["project_id"], region=row["region"], name=row["name"],
        origin_kind=row["origin_kind"], origin_ref=row["origin_ref"],
        backend=Backend(row["backend_host"], int(row["backend_port"]),
                        row["backend_host_header"], row["backend_path_prefix"]),
        settings=CacheSettings(int(row["default_ttl"]), bool(row["honour_origin"]),
                               bool(row["query_in_key"]), bool(row["enabled"]),
                               tuple(row["allowed_methods"].split(","))),
        hosts=tuple(hosts.get(row["id"], ())), created_at=row["created_at"],
        updated_at=row["updated_at"], disabled_reason=row["disabled_reason"],
    )


def insert_host(conn: Connection, *, host: str, distribution_id: str, kind: str,
                now: datetime) -> None:
    conn.execute(insert(cdn_hosts).values(host=host, distribution_id=distribution_id, kind=kind,
                                          created_at=now))


def host_taken(conn: Connection, host: str) -> bool:
    found = conn.execute(select(cdn_hosts.c.host).where(cdn_hosts.c.host == host)).first()
    return found is not None


def auto_host_exists(conn: Connection, host: str) -> bool:
    query = select(cdn_hosts.c.host).where(
        and_(cdn_hosts.c.host == host, cdn_hosts.c.kind == "auto")
    )
    return conn.execute(query).first() is not None


def delete_host(conn: Connection, *, distribution_id: str, host: str) -> int:
    result = conn.execute(delete(cdn_hosts).where(and_(
        cdn_hosts.c.distribution_id == distribution_id, cdn_hosts.c.host == host,
        cdn_hosts.c.kind == "custom",
    )))
    return int(result.rowcount)


# ---- purges -------------------------------------------------------------------------------


def insert_purge(conn: Connection, *, purge_id: str, project_id: str, distribution_id: str,
                 spec: PurgeSpec, idempotency_key: str | None, edges: Iterable[str],
                 now: datetime) -> None:
    conn.execute(insert(cdn_purges).values(
        id=purge_id, project_id=project_id, distribution_id=distribution_id, kind=spec.kind,
        value=spec.value, mode=spec.mode, idempotency_key=idempotency_key, created_at=now,
    ))
    rows = [{"purge_id": purge_id, "edge": e, "state": "pending"} for e in edges]
    if rows:
        conn.execute(insert(cdn_purge_edges), rows)


def purge_by_key(conn: Connection, project_id: str, idempotency_key: str) -> PurgeRow | None:
    row = conn.execute(select(cdn_purges).where(and_(
        cdn_purges.c.project_id == project_id, cdn_purges.c.idempotency_key == idempotency_key,
    ))).mappings().first()
    return None if row is None else _purge(conn, row)


def get_purge(conn: Connection, *, purge_id: str, distribution_id: str) -> PurgeRow | None:
    row = conn.execute(select(cdn_purges).where(and_(
        cdn_purges.c.id == purge_id, cdn_purges.c.distribution_id == distribution_id,
    ))).mappings().first()
    return None if row is None else _purge(conn, row)


def list_purges(conn: Connection, *, distribution_id: str, page: PageRequest) -> list[PurgeRow]:
    """Newest first."""
    query = select(cdn_purges).where(cdn_purges.c.distribution_id == distribution_id)
    order = [cdn_purges.c.created_at, cdn_purges.c.id]
    query = keyset(conn, query, order=order, request=page, descending=True)
    return [_purge(conn, row) for row in conn.execute(query).mappings()]


def _purge(conn: Connection, row: RowMapping) -> PurgeRow:
    edges = conn.execute(
        select(cdn_purge_edges.c.edge, cdn_purge_edges.c.state)
        .where(cdn_purge_edges.c.purge_id == row["id"]).order_by(cdn_purge_edges.c.edge)
    ).all()
    return PurgeRow(
        id=row["id"], project_id=row["project_id"], distribution_id=row["distribution_id"],
        spec=PurgeSpec(row["kind"], row["value"], row["mode"]),
        idempotency_key=row["idempotency_key"], created_at=row["created_at"],
        edges={edge: state for edge, state in edges},
    )


def pending_purges(conn: Connection, edge: str) -> list[RowMapping]:
    """What `edge` still owes, oldest first, with the distribution's automatic host."""
    query = (
        select(cdn_purges, cdn_hosts.c.host)
        .join(cdn_purge_edges, cdn_purge_edges.c.purge_id == cdn_purges.c.id)
        .join(cdn_hosts, and_(cdn_hosts.c.distribution_id == cdn_purges.c.distribution_id,
                              cdn_hosts.c.kind == "auto"))
        .where(and_(cdn_purge_edges.c.edge == edge, cdn_purge_edges.c.state == "pending"))
        .order_by(cdn_purges.c.created_at, cdn_purges.c.id)
    )
    return list(conn.execute(query).mappings())


def finish_purges(conn: Connection, *, edge: str, results: Mapping[str, str],
                  now: datetime) -> None:
    for purge_id, state in sorted(results.items()):
        conn.execute(update(cdn_purge_edges).where(and_(
            cdn_purge_edges.c.purge_id == purge_id, cdn_purge_edges.c.edge == edge,
            cdn_purge_edges.c.state == "pending",
        )).values(state=state, finished_at=now))


# ---- edges and the version ----------------------------------------------------------------


def upsert_edge(conn: Connection, name: str, values: Mapping[str, Any]) -> None:
    found = conn.execute(select(cdn_edges.c.name).where(cdn_edges.c.name == name)).first()
    if found is None:
        conn.execute(insert(cdn_edges).values(name=name, **values))
    else:
        conn.execute(update(cdn_edges).where(cdn_edges.c.name == name).values(**values))


def edge_rows(conn: Connection) -> dict[str, RowMapping]:
    return {row["name"]: row for row in conn.execute(select(cdn_edges)).mappings()}


def bump_version(conn: Connection) -> int:
    """Increment the version the edges long-poll on (creating the row on first use)."""
    current = conn.execute(select(cdn_state.c.version).where(cdn_state.c.id == 1)).scalar()
    if current is None:
        conn.execute(insert(cdn_state).values(id=1, version=1))
        return 1
    conn.execute(
        update(cdn_state).where(cdn_state.c.id == 1).values(version=cdn_state.c.version + 1)
    )
    return int(current) + 1


def version(conn: Connection) -> int:
    return int(conn.execute(select(cdn_state.c.version).where(cdn_state.c.id == 1)).scalar() or 0)


# ---- signed URLs and certificates -----------------------------------------------------------


def get_signing(conn: Connection, distribution_id: str) -> RowMapping | None:
    query = select(cdn_signing).where(cdn_signing.c.distribution_id == distribution_id)
    return conn.execute(query).mappings().first()


def put_signing(conn: Connection, distribution_id: str, values: Mapping[str, Any]) -> None:
    if get_signing(conn, distribution_id) is None:
        conn.execute(insert(cdn_signing).values(distribution_id=distribution_id, **values))
    else:
        conn.execute(update(cdn_signing).where(cdn_signing.c.distribution_id == distribution_id)
                     .values(**values))


def signing_keys(conn: Connection) -> dict[str, tuple[str, ...]]:
    """distribution id -> its keys (current first), for the distributions in signed mode."""
    rows = conn.execute(select(cdn_signing).where(cdn_signing.c.enabled.is_(True))).mappings()
    return {r["distribution_id"]: tuple(k for k in (r["current_key"], r["previous_key"]) if k)
            for r in rows}


def put_certificate(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(delete(cdn_certificates).where(cdn_certificates.c.host == values["host"]))
    conn.execute(insert(cdn_certificates).values(**values))


def delete_certificate(conn: Connection, *, distribution_id: str, host: str) -> int:
    return conn.execute(delete(cdn_certificates).where(and_(
        cdn_certificates.c.distribution_id == distribution_id,
        cdn_certificates.c.host == host))).rowcount


def certificates(conn: Connection, distribution_id: str | None = None) -> list[RowMapping]:
    """Tenants' certificates (one distribution's, or all), by host name."""
    query = select(cdn_certificates).order_by(cdn_certificates.c.host)
    if distribution_id is not None:
        query = query.where(cdn_certificates.c.distribution_id == distribution_id)
    return list(conn.execute(query).mappings())
