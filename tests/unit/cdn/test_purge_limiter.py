"""Purge floods (issue 19): the per-tenant limit is shared by every API replica (two limiters on
one Redis, or on one database, count together), its refusal says exactly how long to wait, the
window slides, and one tenant's flood leaves the others alone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sws.cdn.limiter import PurgeLimiter, PurgePolicy, TooManyPurges
from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.identity.throttle import DatabaseFailures, FailureStore, RedisFailures

THREE_A_MINUTE = PurgePolicy(limit=3, window=timedelta(minutes=1))


def _store(kind: str, database: Database, request: pytest.FixtureRequest) -> FailureStore:
    if kind == "redis":
        return RedisFailures(request.getfixturevalue("resp_redis"),
                             prefix=request.getfixturevalue("redis_prefix") + "cdn:")
    return DatabaseFailures(database)


def _purge(limiter: PurgeLimiter, project: str) -> None:
    """What `create_purge` does around a job: check, write the job, count."""
    limiter.check(project)
    limiter.count(project)


@pytest.mark.parametrize("kind", ["database", "redis"])
def test_two_replicas_share_one_count_and_the_refusal_says_when_to_retry(
    kind: str, database: Database, clock: SimulatedClock, request: pytest.FixtureRequest
) -> None:
    one = PurgeLimiter(store=_store(kind, database, request), clock=clock, policy=THREE_A_MINUTE)
    two = PurgeLimiter(store=_store(kind, database, request), clock=clock, policy=THREE_A_MINUTE)
    _purge(one, "acme")
    clock.advance(timedelta(seconds=20))
    _purge(two, "acme")
    _purge(one, "acme")

    with pytest.raises(TooManyPurges) as refused:
        _purge(two, "acme")

    # the first purge leaves the window at 60 s
    assert (refused.value.status, refused.value.retry_after) == (429, 40)
    assert "try again in 40 s" in refused.value.detail
    _purge(two, "globex")  # another tenant has its own count
    clock.advance(timedelta(seconds=39))
    with pytest.raises(TooManyPurges) as still:
        _purge(one, "acme")
    assert still.value.retry_after == 1
    clock.advance(timedelta(seconds=1))
    _purge(one, "acme")  # the first purge has left the window
    with pytest.raises(TooManyPurges):
        _purge(two, "acme")


def test_a_refused_purge_is_not_counted(database: Database, clock: SimulatedClock) -> None:
    limiter = PurgeLimiter(store=DatabaseFailures(database), clock=clock, policy=THREE_A_MINUTE)
    for _ in range(3):
        _purge(limiter, "acme")
    for _ in range(5):  # a client hammering on the 429
        with pytest.raises(TooManyPurges):
            _purge(limiter, "acme")

    clock.advance(timedelta(minutes=1))

    for _ in range(3):  # a whole new window, not pushed back by the refusals
        _purge(limiter, "acme")
