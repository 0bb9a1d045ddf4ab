"""Use cases of volume snapshot schedules: set, show, remove, and the ticker's daily run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.volumes import BlockStorage
from sws.errors import NotFound, SWSError
from sws.volumes import repository as repo
from sws.volumes.model import Schedule, Taken, check_keeps, to_keep

_log = logging.getLogger(__name__)


@dataclass
class VolumeSchedules:
    """Schedules over each region's block storage (`storage(region)`)."""

    db: Database
    clock: Clock
    storage: Callable[[str], BlockStorage]
    every: timedelta = timedelta(minutes=1)
    _next: datetime | None = None

    def tick(self) -> int:
        """The ticker's call: `run_due` at most once per `every`."""
        now = self.clock.now()
        if self._next is not None and now < self._next:
            return 0
        self._next = now + self.every
        return self.run_due()

    def set(self, *, tenant_id: str, region: str, volume_id: str, daily_keep: int,
            weekly_keep: int) -> Schedule:
        """Create or change the volume's schedule; another tenant's volume is NotFound."""
        check_keeps(daily_keep, weekly_keep)
        self.storage(region).get_volume(tenant_id, volume_id)
        with self.db.begin() as conn:
            old = repo.get(conn, tenant_id, volume_id)
            schedule = Schedule(
                volume_id=volume_id, region=region, tenant_id=tenant_id, daily_keep=daily_keep,
                weekly_keep=weekly_keep, created_at=old.created_at if old else self.clock.now(),
                last_run_at=old.last_run_at if old else None)
            repo.save(conn, schedule)
        return schedule

    def get(self, *, tenant_id: str, volume_id: str) -> Schedule:
        with self.db.read() as conn:
            found = repo.get(conn, tenant_id, volume_id)
        if found is None:
            raise NotFound(f"Volume {volume_id} has no snapshot schedule.")
        return found

    def remove(self, *, tenant_id: str, volume_id: str) -> None:
        """Stop the schedule; the snapshots it took stay (now kept like any other)."""
        self.get(tenant_id=tenant_id, volume_id=volume_id)
        with self.db.begin() as conn:
            repo.remove(conn, volume_id)

    def run_due(self) -> int:
        """Take today's snapshot of every due schedule, then apply its retention."""
        with self.db.read() as conn:
            schedules = repo.all_schedules(conn)
        now, ran = self.clock.now(), 0
        for schedule in schedules:
            if schedule.due(now):
                try:
                    self._run(schedule)
                    ran += 1
                except SWSError as error:
                    _log.warning("snapshot schedule of volume %s: %s", schedule.volume_id,
                                 error.detail)
        return ran

    def _run(self, schedule: Schedule) -> None:
        storage, now = self.storage(schedule.region), self.clock.now()
        try:
            snap = storage.create_volume_snapshot(schedule.tenant_id, schedule.volume_id,
                                                  f"daily-{now:%Y-%m-%d}")
        except NotFound:  # the volume was deleted: its schedule goes with it
            with self.db.begin() as conn:
                repo.remove(conn, schedule.volume_id)
            return
        with self.db.begin() as conn:
            repo.record_taken(conn, schedule, Taken(snap.id, now))
            repo.mark_run(conn, schedule.volume_id, now)
            taken = repo.taken_of(conn, schedule.volume_id)
        expired = {t.snapshot_id for t in taken} - to_keep(
            taken, schedule.daily_keep, schedule.weekly_keep)
        for snapshot_id in sorted(expired):
            with suppress(NotFound):  # deleted by hand already
                storage.delete_volume_snapshot(schedule.tenant_id, snapshot_id)
        with self.db.begin() as conn:
            repo.forget_taken(conn, expired)
