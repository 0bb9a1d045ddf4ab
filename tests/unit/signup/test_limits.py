"""Front-door limits shared by every process: two limiters on one Redis or one database
count together; a refusal says how long to wait; each window slides."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import Invalid
from sws.identity.throttle import FailureStore, RedisFailures
from sws.signup.limits import DatabaseHits, Limit, Limiter, TooManyRequests
from sws.signup.service import LIMITS, Limits
from sws_swift.resp import Redis

THREE = Limit("test", 3, timedelta(minutes=10), "tries")


def _stores(kind: str, database: Database, redis: Redis | None, prefix: str) -> FailureStore:
    if kind == "redis":
        assert redis is not None
        return RedisFailures(redis, prefix=prefix)
    return DatabaseHits(database)


@pytest.mark.parametrize("kind", ["database", "redis"])
def test_two_processes_share_one_count_and_the_window_slides(
    kind: str, database: Database, clock: SimulatedClock, request: pytest.FixtureRequest
) -> None:
    redis = request.getfixturevalue("resp_redis") if kind == "redis" else None
    prefix = request.getfixturevalue("redis_prefix") if kind == "redis" else ""
    one = Limiter(store=_stores(kind, database, redis, prefix), clock=clock)
    two = Limiter(store=_stores(kind, database, redis, prefix), clock=clock)
    one.hit(THREE, "203.0.113.7")
    clock.advance(timedelta(minutes=4))
    two.hit(THREE, "203.0.113.7")
    one.hit(THREE, "203.0.113.7")
    with pytest.raises(TooManyRequests) as refused:
        two.hit(THREE, "203.0.113.7")
    assert refused.value.retry_after == 6 * 60 and refused.value.status == 429
    two.hit(THREE, "198.51.100.1")  # another subject has its own count
    clock.advance(timedelta(minutes=6))
    two.hit(THREE, "203.0.113.7")  # the first hit left the window
    with pytest.raises(TooManyRequests):
        one.hit(THREE, "203.0.113.7")


def test_a_refused_hit_is_not_counted(database: Database, clock: SimulatedClock) -> None:
    limiter = Limiter(store=DatabaseHits(database), clock=clock)
    for _ in range(3):
        limiter.hit(THREE, "x")
    for _ in range(5):
        with pytest.raises(TooManyRequests):
            limiter.hit(THREE, "x")
    clock.advance(timedelta(minutes=10))
    for _ in range(3):
        limiter.hit(THREE, "x")


def test_limits_of_the_same_subject_count_apart(database: Database, clock: SimulatedClock) -> None:
    limiter = Limiter(store=DatabaseHits(database), clock=clock)
    other = Limit("other", 1, timedelta(hours=1), "others")
    for _ in range(3):
        limiter.hit(THREE, "ann@example.com")
    limiter.hit(other, "ann@example.com")


def test_an_operator_changes_counts_by_name_and_a_typo_is_refused() -> None:
    limits = Limits.with_counts({"signup-address": 50})
    assert limits.signup_address.count == 50 and limits.signup_network.count == 20
    assert {getattr(limits, n.replace("-", "_")).name for n in LIMITS} == set(LIMITS)
    with pytest.raises(Invalid, match="signup-adress"):
        Limits.with_counts({"signup-adress": 50})
    with pytest.raises(Invalid):
        Limits.with_counts({"signup-email": 0})
