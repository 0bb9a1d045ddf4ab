"""Billing's usage of volumes (GB-hours per volume type) and of volume snapshots (GB-months),
integrated per clock hour from the volume resource events (create, resize, delete).

A snapshot is billed by its logical size (the volume's size when taken), not by the chunks it
added: every snapshot is independent, so each is charged as a full copy would be, and shared
chunks are never split between snapshots (docs/island.md#billing).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import RowMapping

from sws.billing.model import VOLUME, VOLUME_SNAPSHOT
from sws.billing.rating import UsagePoint
from sws.db.engine import Database
from sws.events.model import DELETE
from sws.events.translate_volumes import VOLUME_SNAPSHOT as SNAPSHOT_RESOURCE
from sws.volumes import repository as repo

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Piece:
    """A resource at one size from `start` to `end`."""

    start: datetime
    end: datetime
    size_gb: int
    item_type: str


def pieces(rows: Sequence[RowMapping], until: datetime) -> list[Piece]:
    """One resource's sizes over time, from its events in time order; a delete ends it."""
    found: list[Piece] = []
    size, item_type, since = None, "", None
    for row in rows:
        if since is not None and size is not None:
            found.append(Piece(since, row["occurred_at"], size, item_type))
        if row["action"] == DELETE:
            return found
        size = row["root_gb"] if row["root_gb"] is not None else size
        item_type = row["flavor_name"] or item_type
        since = row["occurred_at"]
    if since is not None and size is not None:
        found.append(Piece(since, until, size, item_type))
    return found


def hours(start: datetime, end: datetime) -> Iterable[datetime]:
    moment = start
    while moment < end:
        yield moment
        moment += HOUR


def _overlap(piece: Piece, hour: datetime) -> Decimal:
    seconds = (min(piece.end, hour + HOUR) - max(piece.start, hour)).total_seconds()
    return Decimal(max(0, round(seconds * 1_000_000))) / 1_000_000


def points_of(rows: Sequence[RowMapping], start: datetime, end: datetime) -> list[UsagePoint]:
    """One resource's usage points for the clock hours in [start, end)."""
    first = rows[0]
    snapshot = first["resource_type"] == SNAPSHOT_RESOURCE
    spans = pieces(rows, end)
    found = []
    for hour in hours(start, end):
        quantity = Decimal(0)
        for piece in spans:
            seconds = _overlap(piece, hour)
            if seconds:
                quantity += piece.size_gb * seconds / _unit_seconds(snapshot, hour)
        if quantity > 0:
            item_type = "gb_month" if snapshot else spans[-1].item_type
            found.append(UsagePoint(
                first["project_id"] or "", first["resource_id"], first["region"] or "",
                VOLUME_SNAPSHOT if snapshot else VOLUME, item_type, hour, quantity))
    return found


def _unit_seconds(snapshot: bool, hour: datetime) -> int:
    """A GB-hour's seconds, or a GB-month's (that calendar month's)."""
    if not snapshot:
        return 3600
    return calendar.monthrange(hour.year, hour.month)[1] * 86400


@dataclass
class VolumeUsageFeed:
    """Billing's `UsageSource` of volumes and volume snapshots."""

    db: Database
    default_region: str
    name: str = "usage:volumes"

    def points(self, *, start: datetime, end: datetime) -> Sequence[UsagePoint]:
        with self.db.read() as conn:
            rows = repo.volume_events_before(conn, end)
        by_resource: dict[tuple[str, str], list[RowMapping]] = {}
        for row in rows:
            by_resource.setdefault((row["resource_type"], row["resource_id"]), []).append(row)
        found = []
        for events in by_resource.values():
            for point in points_of(events, start, end):
                region = point.region or self.default_region
                found.append(UsagePoint(point.project_id, point.resource_id, region, point.item,
                                        point.item_type, point.hour_start, point.quantity))
        return found
