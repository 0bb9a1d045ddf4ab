"""The community worker as the composition root wires it: a lease pass every `every`, the CPU
checks (idle, mining) at most hourly; both run in every ticker (steps are claimed once)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sws.clock import Clock
from sws.community import model, service
from sws.community.cpu import CpuSource, MeteredCpu
from sws.community.free_tier import ensure_free_prices
from sws.community.model import Terms
from sws.community.service import PassReport
from sws.db.engine import Database
from sws.drivers.base import CloudDriver
from sws.signup.limits import Limiter, build_limiter

CPU_EVERY = timedelta(hours=1)
log = logging.getLogger("sws.community")


def terms_from(settings: Any) -> Terms:
    """The settings' community terms (docs/community.md); no free region: nothing to do."""
    s = settings
    return Terms(
        regions=model.free_regions(s.mode, s.community_regions, s.regions),
        lease=timedelta(days=s.community_lease_days),
        warn=timedelta(hours=s.community_lease_warn_hours),
        grace=timedelta(days=s.community_grace_days),
        idle_cpu_percent=s.community_idle_cpu_percent,
        idle_days=s.community_idle_days,
        mining_cpu_percent=s.community_mining_cpu_percent,
        mining_hours=s.community_mining_hours,
        launch_limit=s.community_launch_limit,
        launch_window=timedelta(seconds=s.community_launch_window_seconds),
        every=timedelta(seconds=s.community_pass_seconds),
        quota=model.check_quota(s.community_quota),
        exempt_tenants=frozenset({s.operator_tenant}),
    )


class CommunityRuntime:
    """Runs the passes on the injected clock; `check_launch` guards launches in free regions."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        terms: Terms,
        drivers: Callable[[], Mapping[str, CloudDriver]],
        limiter: Limiter,
        cpu: CpuSource | None = None,
    ) -> None:
        self.db, self.clock, self.terms, self.drivers = db, clock, terms, drivers
        self.limiter = limiter
        self.cpu: CpuSource = cpu or MeteredCpu(db)
        self._leased: datetime | None = None
        self._cpu_checked: datetime | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        *,
        db: Database,
        clock: Clock,
        drivers: Callable[[], Mapping[str, CloudDriver]],
    ) -> CommunityRuntime:
        return cls(
            db=db,
            clock=clock,
            terms=terms_from(settings),
            drivers=drivers,
            limiter=build_limiter(settings, db=db, clock=clock),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.terms.regions)

    @property
    def whole_cloud_free(self) -> bool:
        """Every region is free: billing meters at zero and never reviews balances."""
        return bool(self.terms.regions) and self.terms.regions >= set(self.drivers())

    def tick(self) -> PassReport | None:
        """A lease pass when `every` has passed; the CPU checks when an hour has."""
        now = self.clock.now()
        if not self.enabled or (self._leased is not None and now - self._leased < self.terms.every):
            return None
        self._leased = now
        ensure_free_prices(db=self.db, clock=self.clock, regions=self.terms.regions)
        report = service.lease_pass(
            db=self.db, clock=self.clock, drivers=self.drivers(), terms=self.terms
        )
        report.quotas_set = service.quota_pass(
            db=self.db, clock=self.clock, drivers=self.drivers(), terms=self.terms
        )
        if self._cpu_checked is None or now - self._cpu_checked >= CPU_EVERY:
            self._cpu_checked = now
            checked = service.cpu_pass(
                db=self.db, clock=self.clock, drivers=self.drivers(), terms=self.terms, cpu=self.cpu
            )
            report.idle_flagged, report.idle_shelved = checked.idle_flagged, checked.idle_shelved
            report.mining_flagged = checked.mining_flagged
        return report

    def check_launch(self, tenant_id: str, region: str) -> None:
        """429 with Retry-After when the tenant launches too often in a free region."""
        service.check_launch(
            limiter=self.limiter, terms=self.terms, tenant_id=tenant_id, region=region
        )
