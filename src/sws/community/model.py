"""Community values and rules: lease terms, the next step of a lease, idle and mining tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sws.errors import Conflict, Invalid

Step = Literal["warn", "shelve", "delete"]
#: Audit and mail names of what the worker does to a free instance.
STEPS: tuple[Step, ...] = ("warn", "shelve", "delete")
QUOTA_NAMES = ("instances", "cores", "ram_mb", "floating_ips", "security_groups", "key_pairs")


@dataclass(frozen=True, slots=True)
class Terms:
    """The operator's community settings, as the rules use them."""

    regions: frozenset[str] = frozenset()
    lease: timedelta = timedelta(days=7)
    warn: timedelta = timedelta(hours=24)
    grace: timedelta = timedelta(days=3)
    idle_cpu_percent: float = 2.0
    idle_days: int = 3
    mining_cpu_percent: float = 90.0
    mining_hours: int = 12
    launch_limit: int = 10
    launch_window: timedelta = timedelta(hours=1)
    every: timedelta = timedelta(minutes=1)
    quota: dict[str, int] = field(default_factory=dict)
    exempt_tenants: frozenset[str] = frozenset()  # by name: the operator's own

    def is_free(self, region: str) -> bool:
        return region in self.regions


def free_regions(mode: str, listed: Iterable[str], known: Sequence[str]) -> frozenset[str]:
    """Every region in community mode, else the listed ones; an unknown name is refused."""
    listed = list(listed)
    unknown = sorted(set(listed) - set(known))
    if unknown:
        raise Invalid(
            f"community_regions names unknown regions: {unknown}", field="community_regions"
        )
    return frozenset(known) if mode == "community" else frozenset(listed)


def check_quota(values: dict[str, int]) -> dict[str, int]:
    """The free tier's quota: known names, none negative."""
    unknown = sorted(set(values) - set(QUOTA_NAMES))
    if unknown:
        raise Invalid(f"community_quota has unknown names: {unknown}", field="community_quota")
    if any(v < 0 for v in values.values()):
        raise Invalid("community_quota values must be 0 or more", field="community_quota")
    return dict(values)


def quota_text(values: dict[str, int]) -> str:
    """The free tier's quota as one comparable text, in `QUOTA_NAMES` order."""
    return ",".join(f"{name}={values[name]}" for name in QUOTA_NAMES if name in values)


@dataclass(frozen=True, slots=True)
class Lease:
    """One free instance's lease and what was done to it (each step at most once)."""

    server_id: str
    region: str
    project_id: str
    name: str
    started_at: datetime
    expires_at: datetime
    renewals: int = 0
    warned_at: datetime | None = None
    shelved_at: datetime | None = None
    deleted_at: datetime | None = None
    idle_since: datetime | None = None
    idle_shelved_at: datetime | None = None
    mining_since: datetime | None = None
    mining_cpu: float | None = None


def first_expiry(started_at: datetime, terms: Terms) -> datetime:
    return started_at + terms.lease


def next_step(lease: Lease, now: datetime, terms: Terms) -> Step | None:
    """What the lease asks for now: a warning, the shelve at expiry, the delete after grace."""
    if lease.deleted_at is not None:
        return None
    if lease.shelved_at is not None:
        return "delete" if now >= lease.expires_at + terms.grace else None
    if now >= lease.expires_at:
        return "shelve"
    if lease.warned_at is None and now >= lease.expires_at - terms.warn:
        return "warn"
    return None


def renewed_expiry(lease: Lease, now: datetime, terms: Terms) -> datetime:
    """A renewal gives a full lease from now; a deleted instance cannot be renewed."""
    if lease.deleted_at is not None:
        raise Conflict("this instance was deleted when its lease ran out", field="server_id")
    return max(lease.expires_at, now + terms.lease)


def is_idle(daily_cpu: Sequence[float | None], terms: Terms) -> bool:
    """Idle: a CPU average for each of the last `idle_days` days, every one under threshold."""
    last = list(daily_cpu)[-terms.idle_days :]
    if len(last) < terms.idle_days or any(v is None for v in last):
        return False
    return all(v is not None and v < terms.idle_cpu_percent for v in last)


def is_mining(hourly_cpu: Sequence[float | None], terms: Terms) -> bool:
    """Possibly mining: each of the last `mining_hours` hours averaged at or over threshold."""
    last = list(hourly_cpu)[-terms.mining_hours :]
    if len(last) < terms.mining_hours or any(v is None for v in last):
        return False
    return all(v is not None and v >= terms.mining_cpu_percent for v in last)
