"""The metering jobs on the clock: poll, seal rollups, retention, alarm evaluation, delivery."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import MetricSource
from sws.leases.model import LeaseTerms
from sws.leases.service import ALARM_EVALUATOR, Leadership, LeaseLost
from sws.metering import alarms, service
from sws.metering.collector import Collector
from sws.metering.model import Retention
from sws.metering.notifiers import Notifiers

log = logging.getLogger("sws.metering")

@dataclass(frozen=True, slots=True)
class Schedule:
    poll: timedelta = timedelta(seconds=10)
    grace: timedelta = timedelta(seconds=30)
    evaluation: timedelta = timedelta(seconds=60)
    housekeeping: timedelta = timedelta(hours=1)
    retention: Retention = field(default_factory=Retention)
    delivery: alarms.DeliveryPolicy = field(default_factory=alarms.DeliveryPolicy)


@dataclass
class Health:
    """What `/metrics` reports about metering itself."""

    polls: int = 0
    samples: int = 0
    instances: int = 0
    last_poll_at: datetime | None = None
    last_poll_seconds: float = 0.0
    transitions: int = 0
    deliveries: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        alarms.OUTCOMES, 0))


class MeteringRuntime:
    """Runs each job when it falls due; `tick()` is called by the container's ticker."""

    def __init__(
        self, *, db: Database, clock: Clock, sources: Mapping[str, MetricSource],
        notifiers: Notifiers, schedule: Schedule = Schedule(),
        leases: LeaseTerms = LeaseTerms(),
    ) -> None:
        self.db, self.clock, self.schedule = db, clock, schedule
        self.collector = Collector(db=db, clock=clock, sources=sources)
        self.notifiers = notifiers
        # Alarm evaluation runs in one process at a time: the holder of this lease.
        self.leadership = Leadership(db=db, clock=clock, name=ALARM_EVALUATOR, terms=leases)
        self.health = Health()
        self._next: dict[str, datetime] = {}

    def _due(self, job: str, every: timedelta, now: datetime) -> bool:
        if now < self._next.get(job, now):
            return False
        self._next[job] = now + every
        return True

    def tick(self) -> None:
        now = self.clock.now()
        if self._due("housekeeping", self.schedule.housekeeping, now):
            self.housekeeping()
        if self._due("poll", self.schedule.poll, now):
            self.poll()
        self.evaluate()
        self.deliver()

    def evaluate(self) -> None:
        """Evaluate the alarms when due, if this process leads the alarm evaluator."""
        if self.leadership.fence() is None:
            return
        now = self.clock.now()
        if now < self._next.get("evaluate", now):
            return
        try:
            self.health.transitions += alarms.evaluate_alarms(
                db=self.db, clock=self.clock, guard=self.leadership
            )
        except LeaseLost as lost:  # another process leads now; it evaluates from here on
            log.warning("alarm evaluation stopped: %s", lost.detail)
            self.leadership.lost()
            return
        # Next at the clock's next multiple of the interval, and only after a pass that ended
        # (a failed one is tried again at the next tick): "60 s after the last pass" drifted by
        # a tick each time and, with a 3.7 s tick, left two one-minute windows an hour unjudged.
        self._next["evaluate"] = _next_multiple(now, self.schedule.evaluation)

    def poll(self) -> None:
        started = time.perf_counter()
        report = self.collector.poll()
        service.seal(db=self.db, clock=self.clock, grace=self.schedule.grace)
        health = self.health
        health.polls += 1
        health.samples += report.samples
        health.instances = report.instances
        health.last_poll_at = self.clock.now()
        health.last_poll_seconds = time.perf_counter() - started

    def housekeeping(self) -> None:
        service.prepare_partitions(db=self.db, clock=self.clock)
        service.enforce_retention(db=self.db, clock=self.clock, retention=self.schedule.retention)

    def deliver(self) -> None:
        counts = alarms.deliver_due(
            db=self.db, clock=self.clock, notifiers=self.notifiers, policy=self.schedule.delivery
        )
        for key, value in counts.items():
            self.health.deliveries[key] += value


def _next_multiple(now: datetime, every: timedelta) -> datetime:
    """The first multiple of `every` since the epoch after `now`."""
    step = every.total_seconds()
    return datetime.fromtimestamp((now.timestamp() // step + 1) * step, UTC)
