"""SQL of the snapshot schedules and the snapshots they took."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from sws.volumes.model import Schedule, Taken
from sws.volumes.tables import volume_scheduled_snapshots, volume_schedules


def _schedule(row: RowMapping) -> Schedule:
    return Schedule(volume_id=row["volume_id"], region=row["region"], tenant_id=row["tenant_id"],
                    daily_keep=row["daily_keep"], weekly_keep=row["weekly_keep"],
                    created_at=row["created_at"], last_run_at=row["last_run_at"])


def get(conn: Connection, tenant_id: str, volume_id: str) -> Schedule | None:
    row = conn.execute(select(volume_schedules).where(
        volume_schedules.c.tenant_id == tenant_id,
        volume_schedules.c.volume_id == volume_id)).mappings().first()
    return None if row is None else _schedule(row)


def save(conn: Connection, schedule: Schedule) -> None:
    """Insert or replace the volume's schedule (one per volume)."""
    conn.execute(delete(volume_schedules).where(
        volume_schedules.c.volume_id == schedule.volume_id))
    conn.execute(insert(volume_schedules).values(
        volume_id=schedule.volume_id, region=schedule.region, tenant_id=schedule.tenant_id,
        daily_keep=schedule.daily_keep, weekly_keep=schedule.weekly_keep,
        last_run_at=schedule.last_run_at, created_at=schedule.created_at))


def remove(conn: Connection, volume_id: str) -> None:
    conn.execute(delete(volume_schedules).where(volume_schedules.c.volume_id == volume_id))
    conn.execute(delete(volume_scheduled_snapshots).where(
        volume_scheduled_snapshots.c.volume_id == volume_id))


def all_schedules(conn: Connection) -> list[Schedule]:
    rows = conn.execute(select(volume_schedules).order_by(volume_schedules.c.volume_id))
    return [_schedule(row) for row in rows.mappings()]


def mark_run(conn: Connection, volume_id: str, at: datetime) -> None:
    conn.execute(update(volume_schedules).where(volume_schedules.c.volume_id == volume_id)
                 .values(last_run_at=at))


def record_taken(conn: Connection, schedule: Schedule, taken: Taken) -> None:
    conn.execute(insert(volume_scheduled_snapshots).values(
        snapshot_id=taken.snapshot_id, volume_id=schedule.volume_id, region=schedule.region,
        tenant_id=schedule.tenant_id, taken_at=taken.taken_at))


def taken_of(conn: Connection, volume_id: str) -> list[Taken]:
    rows = conn.execute(select(volume_scheduled_snapshots).where(
        volume_scheduled_snapshots.c.volume_id == volume_id)).mappings()
    return [Taken(snapshot_id=row["snapshot_id"], taken_at=row["taken_at"]) for row in rows]


def forget_taken(conn: Connection, snapshot_ids: set[str]) -> None:
    if snapshot_ids:
        conn.execute(delete(volume_scheduled_snapshots).where(
            volume_scheduled_snapshots.c.snapshot_id.in_(sorted(snapshot_ids))))


def volume_events_before(conn: Connection, end: datetime) -> list[RowMapping]:
    """Every volume and volume snapshot event before `end`, by resource then time (billing)."""
    from sws.events.tables import resource_events
    from sws.events.translate_volumes import VOLUME, VOLUME_SNAPSHOT

    e = resource_events.c
    query = (select(e.resource_type, e.resource_id, e.project_id, e.region, e.occurred_at,
                    e.action, e.flavor_name, e.root_gb)
             .where(e.resource_type.in_((VOLUME, VOLUME_SNAPSHOT)), e.occurred_at < end)
             .order_by(e.resource_type, e.resource_id, e.occurred_at, e.message_id))
    return list(conn.execute(query).mappings())
