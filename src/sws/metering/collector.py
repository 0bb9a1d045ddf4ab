"""The collector: polls each region's metric source and stores deltas, rates and gauges."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import InstanceReading, MetricSource
from sws.metering import model, service
from sws.metering import repository as repo


@dataclass(frozen=True, slots=True)
class PollReport:
    instances: int
    samples: int


class Collector:
    """Turns cumulative readings into deltas with cursors kept in the database across restarts."""

    def __init__(self, *, db: Database, clock: Clock, sources: Mapping[str, MetricSource]) -> None:
        self._db = db
        self._clock = clock
        self._sources = dict(sources)
        self._cursors: dict[tuple[str, str, str], model.Cursor] | None = None
        self._lock = threading.Lock()
        self.last_readings: list[InstanceReading] = []

    def poll(self) -> PollReport:
        """Read every source once and store the result in one transaction."""
        with self._lock:
            readings = [r for source in self._sources.values() for r in source.read_instances()]
            cursors = self._load_cursors()
            before = dict(cursors)
            samples = [s for reading in readings for s in model.derive(reading, cursors)]
            touched = {k[0] for k, v in cursors.items() if before.get(k) != v}
            gone = {k[0] for k in cursors} - {r.server_id for r in readings}
            for key in [k for k in cursors if k[0] in gone]:
                del cursors[key]
            try:
                with service.writing(self._db) as conn:
                    service.store(conn, db=self._db, clock=self._clock, samples=samples)
                    repo.save_cursors(conn, cursors, touched | gone)
            except BaseException:
                self._cursors = None  # reload from the database: nothing of this poll was kept
                raise
            self.last_readings = readings
            return PollReport(instances=len(readings), samples=len(samples))

    def _load_cursors(self) -> dict[tuple[str, str, str], model.Cursor]:
        if self._cursors is None:
            with self._db.read() as conn:
                self._cursors = repo.load_cursors(conn)
        return self._cursors
