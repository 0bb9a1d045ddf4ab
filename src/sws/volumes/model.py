"""Snapshot schedules and their retention rule (keep N daily and M weekly). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sws.errors import Invalid

MAX_DAILY_KEEP = 90
MAX_WEEKLY_KEEP = 104


@dataclass(frozen=True, slots=True)
class Schedule:
    """One snapshot a UTC day of `volume_id`, keeping `daily_keep` days and `weekly_keep` weeks."""

    volume_id: str
    region: str
    tenant_id: str
    daily_keep: int
    weekly_keep: int
    created_at: datetime
    last_run_at: datetime | None = None

    def __post_init__(self) -> None:
        check_keeps(self.daily_keep, self.weekly_keep)

    def due(self, now: datetime) -> bool:
        """A schedule runs once a UTC day."""
        return self.last_run_at is None or self.last_run_at.date() < now.date()


@dataclass(frozen=True, slots=True)
class Taken:
    """A snapshot a schedule took, and when."""

    snapshot_id: str
    taken_at: datetime


def check_keeps(daily_keep: int, weekly_keep: int) -> None:
    if not 0 <= daily_keep <= MAX_DAILY_KEEP:
        raise Invalid(f"daily_keep must be 0 to {MAX_DAILY_KEEP}", field="daily_keep")
    if not 0 <= weekly_keep <= MAX_WEEKLY_KEEP:
        raise Invalid(f"weekly_keep must be 0 to {MAX_WEEKLY_KEEP}", field="weekly_keep")
    if daily_keep + weekly_keep == 0:
        raise Invalid("keep at least one daily or weekly snapshot", field="daily_keep")


def to_keep(taken: Sequence[Taken], daily_keep: int, weekly_keep: int) -> set[str]:
    """The newest snapshot of each of the newest `daily_keep` UTC days, and of each of the newest
    `weekly_keep` ISO weeks; a schedule's other snapshots are deleted."""
    newest_first = sorted(taken, key=lambda t: (t.taken_at, t.snapshot_id), reverse=True)
    keep: set[str] = set()
    for period, count in ((_day, daily_keep), (_week, weekly_keep)):
        seen: set[tuple[int, ...]] = set()
        for item in newest_first:
            key = period(item.taken_at)
            if key not in seen and len(seen) < count:
                seen.add(key)
                keep.add(item.snapshot_id)
    return keep


def _day(moment: datetime) -> tuple[int, ...]:
    return (moment.year, moment.month, moment.day)


def _week(moment: datetime) -> tuple[int, ...]:
    year, week, _ = moment.isocalendar()
    return (year, week)
