"""Abuse limits of the front door, shared by every process like the login throttle: hits per
subject (a client address, its /24 or /64, a normalised e-mail) in a sliding window, counted
in Redis when `SWS_REDIS_URL` is set (`throttle.RedisFailures`) and in `abuse_hits` otherwise.

A hit over the limit is refused with `TooManyRequests` (429 with `Retry-After`) and not
counted. Keys are SHA-256 of (limit name, subject): neither store keeps addresses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select

from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import SWSError
from sws.identity.throttle import FailureStore, RedisFailures
from sws.signup.tables import abuse_hits
from sws_swift.resp import Redis


class TooManyRequests(SWSError):
    """429 with `Retry-After`."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.retry_after = retry_after


class DatabaseHits:
    """Hits as rows of `abuse_hits`; a key's rows past its window go when it is hit again."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def since(self, key: str, moment: datetime) -> list[datetime]:
        c = abuse_hits.c
        query = select(c.hit_at).where(c.key == key, c.hit_at > moment).order_by(c.hit_at)
        with self._db.read() as conn:
            return list(conn.execute(query).scalars())

    def add(self, key: str, at: datetime, horizon: datetime) -> None:
        c = abuse_hits.c
        with self._db.begin() as conn:
            conn.execute(delete(abuse_hits).where(c.key == key, c.hit_at <= horizon))
            conn.execute(insert(abuse_hits).values(key=key, hit_at=at))

    def clear(self, key: str) -> None:
        with self._db.begin() as conn:
            conn.execute(delete(abuse_hits).where(abuse_hits.c.key == key))


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `count` hits in any `window`; `what` words the refusal."""

    name: str
    count: int
    window: timedelta
    what: str


class Limiter:
    """Counts hits against named limits in one shared store."""

    def __init__(self, *, store: FailureStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def hit(self, limit: Limit, subject: str, *, field: str | None = None) -> None:
        """Count one hit of `subject`, or raise `TooManyRequests` if it is over `limit`."""
        now = self._clock.now()
        key = _key(limit.name, subject)
        recent = self._store.since(key, now - limit.window)
        if len(recent) >= limit.count:
            wait = recent[-limit.count] + limit.window - now
            seconds = max(1, int(wait.total_seconds() + 0.999))
            raise TooManyRequests(
                f"too many {limit.what}; try again in {seconds} s", retry_after=seconds, field=field
            )
        self._store.add(key, now, now - limit.window)


def _key(name: str, subject: str) -> str:
    return hashlib.sha256(f"{name}\x00{subject.lower()}".encode()).hexdigest()


def build_limiter(settings: Any, *, db: Database, clock: Clock) -> Limiter:
    """On `redis_url` if set (the same Redis as the login throttle), else the database."""
    store: FailureStore = DatabaseHits(db)
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url, timeout=1.0)
        store = RedisFailures(redis, prefix=f"{settings.redis_prefix}abuse:")
    return Limiter(store=store, clock=clock)
