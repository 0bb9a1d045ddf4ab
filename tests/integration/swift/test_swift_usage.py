"""Reading real-Swift usage from Redis (`sws.drivers.openstack.swift_usage`), on the real Redis.

The hashes are written here as the proxies' `sws_usage` filter writes them; the rig test in
test_objectstore.py has real proxies write them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sws.drivers.base import ContainerInfo, ContainerUsage
from sws.drivers.openstack.swift_usage import SwiftUsage
from sws_swift.resp import Redis

HOUR_10 = datetime(2026, 11, 20, 10, tzinfo=UTC)
H10 = int(HOUR_10.timestamp()) // 3600


@pytest.fixture
def redis(resp_redis: Redis) -> Redis:
    return resp_redis


class Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix


def proxy_writes(redis: Redis, prefix: str, hour: int, member: str, **fields: int) -> None:
    """What a proxy's sws_usage flush sends for one container."""
    key = f"{prefix}{hour}:{member}"
    redis.pipeline(
        [("HINCRBY", key, name, value) for name, value in fields.items()]
        + [("SADD", f"{prefix}{hour}", member)]
    )


def test_an_hour_is_reported_once_settled_with_exact_figures(redis: Redis, prefix: str) -> None:
    clock = Clock(HOUR_10 + timedelta(hours=1, minutes=4))
    usage = SwiftUsage(redis=redis, region="r1", now=clock, prefix=prefix, settle_seconds=300)
    proxy_writes(redis, prefix, H10, "AUTH_p1/photos", requests=3, bytes_in=1000, bytes_out=2500)
    proxy_writes(redis, prefix, H10, "AUTH_p1/photos", requests=2, bytes_out=500)  # proxy B
    proxy_writes(redis, prefix, H10, "other_p9/x", requests=7)  # not a tenant account
    day = (HOUR_10 - timedelta(hours=10), HOUR_10 + timedelta(hours=14))
    assert usage.usage(start=day[0], end=day[1]) == []  # 10:00-11:00 is 4 minutes old

    clock.at += timedelta(minutes=1)
    assert usage.usage(start=day[0], end=day[1]) == [
        ContainerUsage(
            project_id="p1", container="photos", hour_start=HOUR_10, byte_seconds=0,
            requests=5, bytes_out=3000, bytes_in=1000, region="r1",
        )
    ]
    assert usage.usage(start=HOUR_10 + timedelta(seconds=1), end=day[1]) == []


def test_stored_bytes_are_the_mean_of_the_hours_samples(redis: Redis, prefix: str) -> None:
    clock = Clock(HOUR_10 + timedelta(minutes=5))
    usage = SwiftUsage(redis=redis, region="r1", now=clock, prefix=prefix)
    for size in (1_000_000, 1_000_000, 4_000_000):  # three samples in the hour
        usage.record_storage("p1", [ContainerInfo(name="backup", object_count=1, bytes_used=size)])
        clock.at += timedelta(minutes=20)
    clock.at = HOUR_10 + timedelta(hours=2)
    (row,) = usage.usage(start=HOUR_10, end=HOUR_10 + timedelta(hours=1))
    assert (row.container, row.requests) == ("backup", 0)
    assert row.byte_seconds == 2_000_000 * 3600
    ttl = redis.call("TTL", f"{prefix}{H10}:AUTH_p1/backup")
    assert isinstance(ttl, int) and 8 * 86400 - 60 < ttl <= 8 * 86400


def test_a_container_name_with_colons_keeps_them(redis: Redis, prefix: str) -> None:
    usage = SwiftUsage(
        redis=redis, region="r1", now=Clock(HOUR_10 + timedelta(hours=3)), prefix=prefix
    )
    proxy_writes(redis, prefix, H10 + 1, "AUTH_p2/a:b", requests=1)
    (row,) = usage.usage(start=HOUR_10, end=HOUR_10 + timedelta(hours=3))
    assert (row.project_id, row.container, row.hour_start) == (
        "p2", "a:b", HOUR_10 + timedelta(hours=1)
    )
