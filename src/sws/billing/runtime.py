"""The billing worker as the composition root wires it: one farmer pass per tick."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from sws.billing import farmer, service
from sws.billing.farmer import FarmReport
from sws.billing.ports import UsageSource
from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import CloudDriver
from sws.leases.model import LeaseTerms
from sws.leases.service import MONTH_CLOSE, Leadership, LeaseLost

CLOSE_CHECK = timedelta(hours=1)
log = logging.getLogger("sws.billing")


class BillingRuntime:
    """Runs `farmer.farm_pass` on every tick; looks for months to close at most hourly.

    Any number of farmers may run; the month close runs only in the holder of its lease.
    """

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        drivers: Callable[[], Mapping[str, CloudDriver]],
        sources: Sequence[UsageSource] = (),
        leases: LeaseTerms = LeaseTerms(),
        review_standing: bool = True,  # False: a free cloud, no low-balance steps
    ) -> None:
        self.db, self.clock, self.drivers, self.sources = db, clock, drivers, list(sources)
        self.review_standing = review_standing
        self._closed_check: datetime | None = None
        self.leadership = Leadership(db=db, clock=clock, name=MONTH_CLOSE, terms=leases)

    def tick(self) -> FarmReport:
        report = farmer.farm_pass(
            db=self.db,
            clock=self.clock,
            drivers=self.drivers(),
            sources=self.sources,
            close_months=False,
            review_standing=self.review_standing,
        )
        report.closed = self.close_months()
        return report

    def close_months(self) -> list[str]:
        """Close the months that are due, at most hourly, if this process leads the close."""
        now = self.clock.now()
        if self.leadership.fence() is None:
            return []
        if self._closed_check is not None and now - self._closed_check < CLOSE_CHECK:
            return []
        self._closed_check = now
        policy, _ = service.load_policy(db=self.db)
        try:
            return service.close_due_months(
                db=self.db, clock=self.clock, delay=policy.close_delay, guard=self.leadership
            )
        except LeaseLost as lost:  # another farmer leads the close now
            log.warning("month close stopped: %s", lost.detail)
            self.leadership.lost()
            return []
