"""Persistence of CDN traffic (SQLAlchemy Core), in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from sws.cdn.tables import cdn_distributions
from sws.cdn.traffic_model import Counts, HourTraffic
from sws.cdn.traffic_tables import cdn_traffic, cdn_traffic_streams


def counted_to(conn: Connection, edge: str, stream: str) -> int | None:
    """How far the edge's log `stream` was counted (locked for this transaction), if at all."""
    c = cdn_traffic_streams.c
    query = (select(c.counted_to).where(and_(c.edge == edge, c.stream == stream))
             .with_for_update())
    found = conn.execute(query).scalar()
    return None if found is None else int(found)


def set_counted_to(conn: Connection, edge: str, stream: str, end: int, now: datetime, *,
                   new: bool) -> None:
    c = cdn_traffic_streams.c
    if new:  # a racing first report of the same stream meets the key: Duplicate (409)
        conn.execute(insert(cdn_traffic_streams).values(
            edge=edge, stream=stream, counted_to=end, updated_at=now))
        return
    conn.execute(update(cdn_traffic_streams)
                 .where(and_(c.edge == edge, c.stream == stream))
                 .values(counted_to=end, updated_at=now))


def owners(conn: Connection, distribution_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """distribution id -> (project, region): from live distributions, else from earlier
    traffic rows (a distribution deleted since the edge served it)."""
    ids = sorted(set(distribution_ids))
    if not ids:
        return {}
    d = cdn_distributions.c
    found = {r.id: (r.project_id, r.region) for r in conn.execute(
        select(d.id, d.project_id, d.region).where(d.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        t = cdn_traffic.c
        for r in conn.execute(select(t.distribution_id, t.project_id, t.region)
                              .where(t.distribution_id.in_(missing))):
            found.setdefault(r.distribution_id, (r.project_id, r.region))
    return found


def add(conn: Connection, row: HourTraffic) -> None:
    """Add the counts to the (distribution, hour, view) row, inserting it when missing."""
    t = cdn_traffic.c
    key = and_(t.distribution_id == row.distribution_id, t.hour_start == row.hour_start,
               t.isp == row.isp)
    n = row.counts
    done = conn.execute(update(cdn_traffic).where(key).values(
        hit_requests=t.hit_requests + n.hit_requests,
        miss_requests=t.miss_requests + n.miss_requests,
        hit_bytes=t.hit_bytes + n.hit_bytes, miss_bytes=t.miss_bytes + n.miss_bytes,
    ))
    if done.rowcount == 0:
        conn.execute(insert(cdn_traffic).values(
            distribution_id=row.distribution_id, hour_start=row.hour_start, isp=row.isp,
            project_id=row.project_id, region=row.region, hit_requests=n.hit_requests,
            miss_requests=n.miss_requests, hit_bytes=n.hit_bytes, miss_bytes=n.miss_bytes,
        ))


def of_distribution(conn: Connection, distribution_id: str, *, start: datetime,
                    end: datetime) -> list[HourTraffic]:
    t = cdn_traffic.c
    return _rows(conn.execute(
        select(cdn_traffic)
        .where(and_(t.distribution_id == distribution_id, t.hour_start >= start,
                    t.hour_start < end))
        .order_by(t.hour_start, t.isp)
    ).mappings())


def between(conn: Connection, *, start: datetime, end: datetime) -> list[HourTraffic]:
    """Rows of hours starting in [start, end), in a stable order."""
    t = cdn_traffic.c
    return _rows(conn.execute(
        select(cdn_traffic)
        .where(and_(t.hour_start >= start, t.hour_start < end))
        .order_by(t.hour_start, t.distribution_id, t.isp)
    ).mappings())


def _rows(found: Iterable[Any]) -> list[HourTraffic]:
    return [
        HourTraffic(r["distribution_id"], r["project_id"], r["region"], r["isp"],
                    r["hour_start"], Counts(int(r["hit_requests"]), int(r["miss_requests"]),
                                            int(r["hit_bytes"]), int(r["miss_bytes"])))
        for r in found
    ]
