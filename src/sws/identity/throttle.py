"""Login throttling shared by every process: failures per (user name, client address) in a
sliding window, counted in Redis when one is configured and in the database otherwise.

After `limit` failures within `window`, further attempts from that pair are refused with
`TooManyLogins` (429 with `Retry-After`) without checking the password, until the oldest
failure leaves the window. A successful login clears the pair's count. The key is a SHA-256
of the pair, so neither store keeps user names or addresses.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import SWSError, Unavailable
from sws.identity import repository as repo
from sws_swift.resp import Redis, Reply, ReplyError, raise_errors


class TooManyLogins(SWSError):
    """Too many failed logins for this user from this address: 429 with `Retry-After`."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, field="name")
        self.retry_after = retry_after


class FailureStore(Protocol):
    """Where failed logins are counted; every process of one cloud must share it."""

    def since(self, key: str, moment: datetime) -> list[datetime]: ...
    def add(self, key: str, at: datetime, horizon: datetime) -> None: ...
    def clear(self, key: str) -> None: ...


class DatabaseFailures:
    """Failures as rows of `login_failures`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def since(self, key: str, moment: datetime) -> list[datetime]:
        with self._db.read() as conn:
            return repo.login_failures_since(conn, key, moment)

    def add(self, key: str, at: datetime, horizon: datetime) -> None:
        with self._db.begin() as conn:
            repo.add_login_failure(conn, key, at, horizon)

    def clear(self, key: str) -> None:
        with self._db.begin() as conn:
            repo.clear_login_failures(conn, key)


class RedisFailures:
    """Failures as a sorted set per key (score: the failure's POSIX time), expiring by itself.
    When Redis cannot be reached, logins fail closed with 503 rather than go unthrottled."""

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def since(self, key: str, moment: datetime) -> list[datetime]:
        reply = self._run([
            ("ZRANGEBYSCORE", self._prefix + key, f"({moment.timestamp()}", "+inf", "WITHSCORES")
        ])[0]
        scores = reply[1::2] if isinstance(reply, list) else []
        return [datetime.fromtimestamp(float(_text(s)), UTC) for s in scores]

    def add(self, key: str, at: datetime, horizon: datetime) -> None:
        name = self._prefix + key
        ttl = max(1, int((at - horizon).total_seconds()) + 1)
        self._run([
            ("ZADD", name, str(at.timestamp()), uuid.uuid4().hex),
            ("ZREMRANGEBYSCORE", name, "-inf", str(horizon.timestamp())),
            ("EXPIRE", name, str(ttl)),
        ])

    def clear(self, key: str) -> None:
        self._run([("DEL", self._prefix + key)])

    def _run(self, commands: list[tuple[str, ...]]) -> list[Reply]:
        try:
            return raise_errors(self._redis.pipeline(commands))
        except (OSError, ReplyError) as error:
            raise Unavailable(
                f"the login throttle's Redis cannot be used ({error}); try again shortly"
            ) from error


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    limit: int = 5
    window: timedelta = timedelta(minutes=1)


class LoginThrottle:
    """At most `policy.limit` failed logins per (user, address) in any `policy.window`."""

    def __init__(self, *, store: FailureStore, clock: Clock, policy: ThrottlePolicy) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy

    def check(self, user: str, address: str) -> None:
        """Raise `TooManyLogins` if this pair must wait before trying again."""
        now = self._clock.now()
        recent = self._store.since(_key(user, address), now - self._policy.window)
        if len(recent) < self._policy.limit:
            return
        wait = recent[-self._policy.limit] + self._policy.window - now
        seconds = max(1, int(wait.total_seconds() + 0.999))
        raise TooManyLogins(
            f"too many failed logins for {user} from {address}; try again in {seconds} s",
            retry_after=seconds,
        )

    def failed(self, user: str, address: str) -> None:
        now = self._clock.now()
        self._store.add(_key(user, address), now, now - self._policy.window)

    def succeeded(self, user: str, address: str) -> None:
        self._store.clear(_key(user, address))


def _key(user: str, address: str) -> str:
    return hashlib.sha256(f"{user.lower()}\x00{address}".encode()).hexdigest()


def _text(reply: Reply) -> str:
    return reply.decode("ascii") if isinstance(reply, bytes) else str(reply)


def build_throttle(settings: Any, *, db: Database, clock: Clock) -> LoginThrottle:
    """The throttle `settings` ask for: on `redis_url` if set, else on the database."""
    policy = ThrottlePolicy(
        limit=settings.login_max_failures, window=timedelta(seconds=settings.login_window_seconds)
    )
    store: FailureStore = DatabaseFailures(db)
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url, timeout=1.0)
        store = RedisFailures(redis, prefix=f"{settings.redis_prefix}login:")
    return LoginThrottle(store=store, clock=clock, policy=policy)
