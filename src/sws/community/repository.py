"""SQL of the community domain: leases of free instances, the steps claimed, the flags, and the
free tier's quota as set on each project."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from sws.community.model import Lease, Step
from sws.community.tables import community_instances as t
from sws.community.tables import community_quotas as q
from sws.db.once import insert_once
from sws.identity.tables import tenants

_C = t.c
_FIELDS = tuple(f.name for f in fields(Lease))
#: The column each step stamps, so a step is claimed once by a compare-and-set.
STEP_COLUMNS: dict[Step, Any] = {
    "warn": _C.warned_at,
    "shelve": _C.shelved_at,
    "delete": _C.deleted_at,
}


def _lease(row: RowMapping) -> Lease:
    return Lease(**{name: row[name] for name in _FIELDS})


def live_ids(conn: Connection, region: str) -> set[str]:
    query = select(_C.server_id).where(_C.region == region, _C.deleted_at.is_(None))
    return set(conn.execute(query).scalars())


def add(conn: Connection, lease: Lease) -> bool:
    values = {name: getattr(lease, name) for name in _FIELDS}
    return insert_once(conn, t, values, key="server_id")


def mark_gone(conn: Connection, server_ids: Iterable[str], now: datetime) -> int:
    """Instances deleted outside the lease (by their owner): their leases end."""
    ids = sorted(server_ids)
    if not ids:
        return 0
    query = update(t).where(_C.server_id.in_(ids), _C.deleted_at.is_(None))
    return int(conn.execute(query.values(deleted_at=now)).rowcount)


def due(conn: Connection, before: datetime) -> list[Lease]:
    """Live leases whose expiry (or warning) falls before `before`, soonest first."""
    query = (
        select(t)
        .where(_C.deleted_at.is_(None), _C.expires_at <= before)
        .order_by(_C.expires_at, _C.server_id)
    )
    return [_lease(row) for row in conn.execute(query).mappings()]


def active(conn: Connection, regions: Sequence[str]) -> list[Lease]:
    """Leases of instances neither shelved nor deleted, in `regions`."""
    query = (
        select(t)
        .where(_C.deleted_at.is_(None), _C.shelved_at.is_(None), _C.region.in_(sorted(regions)))
        .order_by(_C.server_id)
    )
    return [_lease(row) for row in conn.execute(query).mappings()]


def claim(conn: Connection, server_id: str, step: Step, now: datetime) -> bool:
    """Stamp `step` on the lease unless it was stamped already (by this or another worker)."""
    column = STEP_COLUMNS[step]
    query = update(t).where(_C.server_id == server_id, column.is_(None), _C.deleted_at.is_(None))
    return bool(conn.execute(query.values({column.name: now})).rowcount)


def unclaim(conn: Connection, server_id: str, step: Step) -> None:
    """Undo a claim whose action failed, so the next pass tries again."""
    column = STEP_COLUMNS[step]
    conn.execute(update(t).where(_C.server_id == server_id).values({column.name: None}))


def get(conn: Connection, server_id: str, project_id: str | None) -> Lease | None:
    query = select(t).where(_C.server_id == server_id)
    if project_id is not None:
        query = query.where(_C.project_id == project_id)
    row = conn.execute(query).mappings().first()
    return None if row is None else _lease(row)


def of_project(conn: Connection, project_id: str) -> list[Lease]:
    query = select(t).where(_C.project_id == project_id, _C.deleted_at.is_(None))
    return [_lease(row) for row in conn.execute(query.order_by(_C.expires_at)).mappings()]


def renew(conn: Connection, lease: Lease, expires_at: datetime) -> bool:
    """The new expiry, warnings and shelving reset; a compare-and-set on the old expiry."""
    query = (
        update(t)
        .where(
            _C.server_id == lease.server_id,
            _C.expires_at == lease.expires_at,
            _C.deleted_at.is_(None),
        )
        .values(
            expires_at=expires_at,
            renewals=lease.renewals + 1,
            warned_at=None,
            shelved_at=None,
            idle_since=None,
            idle_shelved_at=None,
        )
    )
    return bool(conn.execute(query).rowcount)


def set_flags(conn: Connection, server_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(t).where(_C.server_id == server_id).values(**values))


def claim_idle_shelve(conn: Connection, server_id: str, now: datetime) -> bool:
    query = update(t).where(
        _C.server_id == server_id,
        _C.shelved_at.is_(None),
        _C.deleted_at.is_(None),
        _C.idle_since.is_not(None),
    )
    return bool(conn.execute(query.values(shelved_at=now, idle_shelved_at=now)).rowcount)


def flagged(conn: Connection, limit: int = 500) -> list[Lease]:
    """Live instances flagged idle or possibly mining, for the operator."""
    query = (
        select(t)
        .where(
            _C.deleted_at.is_(None), (_C.mining_since.is_not(None)) | (_C.idle_since.is_not(None))
        )
        .order_by(_C.mining_since.desc(), _C.server_id)
        .limit(limit)
    )
    return [_lease(row) for row in conn.execute(query).mappings()]


def quota_due(
    conn: Connection,
    region: str,
    quota: str,
    *,
    skip: Select[tuple[str]],
    exempt: Iterable[str],
    limit: int,
) -> list[str]:
    """Projects of `region` whose quota SWS has not set to `quota` (never, or to another
    value), leaving out those `skip` selects and the `exempt` ones; at most `limit`, by id."""
    query = (
        select(tenants.c.id)
        .outerjoin(q, and_(q.c.project_id == tenants.c.id, q.c.region == region))
        .where(
            (q.c.quota.is_(None)) | (q.c.quota != quota),
            tenants.c.id.not_in(skip),
            tenants.c.id.not_in(sorted(exempt)),
        )
        .order_by(tenants.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def record_quota(conn: Connection, project_id: str, region: str, quota: str, now: datetime) -> None:
    """The free tier's `quota` is set on the project in `region`. Workers that set the same
    quota at once both succeed: the row is updated, or inserted once (a savepoint keeps the
    transaction usable when another worker's insert won)."""
    where = (q.c.project_id == project_id) & (q.c.region == region)
    if conn.execute(update(q).where(where).values(quota=quota, set_at=now)).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(
                insert(q).values(project_id=project_id, region=region, quota=quota, set_at=now)
            )
    except IntegrityError:
        conn.execute(update(q).where(where).values(quota=quota, set_at=now))
