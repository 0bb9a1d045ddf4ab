"""The billing worker as the composition root wires it: one farmer pass per tick."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from sws.billing import farmer
from sws.billing.farmer import FarmReport
from sws.billing.ports import UsageSource
from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import CloudDriver

CLOSE_CHECK = timedelta(hours=1)


class BillingRuntime:
    """Runs `farmer.farm_pass` on every tick; looks for months to close at most hourly."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        drivers: Callable[[], Mapping[str, CloudDriver]],
        sources: Sequence[UsageSource] = (),
    ) -> None:
        self.db, self.clock, self.drivers, self.sources = db, clock, drivers, list(sources)
        self._closed_check: datetime | None = None

    def tick(self) -> FarmReport:
        now = self.clock.now()
        close = self._closed_check is None or now - self._closed_check >= CLOSE_CHECK
        if close:
            self._closed_check = now
        return farmer.farm_pass(
            db=self.db,
            clock=self.clock,
            drivers=self.drivers(),
            sources=self.sources,
            close_months=close,
        )
