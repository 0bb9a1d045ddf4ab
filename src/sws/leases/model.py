"""Leader leases as pure values: who leads a role, until when, and under which epoch.

A lease is one row per role. Whoever holds a live lease leads; a lease that was not renewed
before `expires_at` is free. Each new term (a new holder, or the same holder after a lapse)
takes the next epoch, so epochs only grow. A leader's writes carry its `Fence` (holder and
epoch) and are refused unless the stored lease still matches it and is live: a leader that was
paused past its lease, and woke up after another took over, cannot act on its stale term.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sws.errors import Invalid


@dataclass(frozen=True, slots=True)
class LeaseTerms:
    """How long a lease lasts unrenewed, and how often holders renew and standbys ask.

    A standby leads at most `ttl + renew` after the leader's death.
    """

    ttl: timedelta = timedelta(seconds=6)
    renew: timedelta = timedelta(seconds=2)

    def __post_init__(self) -> None:
        if self.renew <= timedelta(0) or self.ttl <= self.renew:
            raise Invalid(
                "a lease's renew interval must be positive and shorter than its TTL",
                field="lease_renew_seconds",
            )

    @classmethod
    def of_seconds(cls, ttl: float, renew: float) -> LeaseTerms:
        return cls(timedelta(seconds=ttl), timedelta(seconds=renew))


@dataclass(frozen=True, slots=True)
class Fence:
    """What a leader's critical writes present: its role, its own name and its epoch."""

    name: str
    holder: str
    epoch: int


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    epoch: int
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        return now < self.expires_at

    @property
    def fence(self) -> Fence:
        return Fence(self.name, self.holder, self.epoch)


def claim(
    current: Lease | None, *, name: str, holder: str, now: datetime, ttl: timedelta
) -> Lease | None:
    """The lease once `holder` asks for it at `now`; None while someone else holds it live.

    The live holder renews and keeps its epoch; any new term takes the next epoch.
    """
    if current is None:
        return Lease(name, holder, 1, now + ttl)
    if current.live(now):
        if current.holder != holder:
            return None
        return replace(current, expires_at=now + ttl)
    return Lease(name, holder, current.epoch + 1, now + ttl)


def admits(current: Lease | None, fence: Fence, now: datetime) -> bool:
    """Whether a write carrying `fence` may happen now: its term is the live one."""
    return (
        current is not None
        and current.live(now)
        and (current.holder, current.epoch) == (fence.holder, fence.epoch)
    )


def released(current: Lease | None, fence: Fence, now: datetime) -> Lease | None:
    """The lease after its holder steps down (it expires now); None if it was not theirs."""
    if current is None or (current.holder, current.epoch) != (fence.holder, fence.epoch):
        return None
    return replace(current, expires_at=min(now, current.expires_at))
