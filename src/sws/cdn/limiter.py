"""Purge rate limits per tenant, on the store the login throttle uses (Redis or the database).

At most `limit` purge jobs per tenant in any sliding `window`; the next one is refused with
`TooManyPurges` (429 with `Retry-After`) until the oldest leaves the window. Replays of an
Idempotency-Key are not new jobs and are never counted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import SWSError
from sws.identity.throttle import DatabaseFailures, FailureStore, RedisFailures
from sws_swift.resp import Redis


class TooManyPurges(SWSError):
    """Too many purge jobs from this tenant: 429 with `Retry-After`."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class PurgePolicy:
    limit: int = 30
    window: timedelta = timedelta(minutes=1)


class PurgeLimiter:
    """A sliding window of purge jobs per tenant."""

    def __init__(self, *, store: FailureStore, clock: Clock, policy: PurgePolicy) -> None:
        self._store = store
        self._clock = clock
        self.policy = policy

    def check(self, project_id: str) -> None:
        """Raise `TooManyPurges` when this tenant must wait before its next purge."""
        now = self._clock.now()
        recent = self._store.since(_key(project_id), now - self.policy.window)
        if len(recent) < self.policy.limit:
            return
        wait = recent[-self.policy.limit] + self.policy.window - now
        seconds = max(1, int(wait.total_seconds() + 0.999))
        raise TooManyPurges(
            f"at most {self.policy.limit} purges per {int(self.policy.window.total_seconds())} s;"
            f" try again in {seconds} s (or purge a prefix, a key or everything at once)",
            retry_after=seconds,
        )

    def count(self, project_id: str) -> None:
        now = self._clock.now()
        self._store.add(_key(project_id), now, now - self.policy.window)


def _key(project_id: str) -> str:
    return hashlib.sha256(f"cdn-purge\x00{project_id}".encode()).hexdigest()


def build_limiter(settings: Any, *, db: Database, clock: Clock) -> PurgeLimiter:
    """On `redis_url` when set (shared by every API replica), else on the database."""
    policy = PurgePolicy(limit=settings.cdn_purge_limit,
                         window=timedelta(seconds=settings.cdn_purge_window_seconds))
    store: FailureStore = DatabaseFailures(db)
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url, timeout=1.0)
        store = RedisFailures(redis, prefix=f"{settings.redis_prefix}cdn:")
    return PurgeLimiter(store=store, clock=clock, policy=policy)
