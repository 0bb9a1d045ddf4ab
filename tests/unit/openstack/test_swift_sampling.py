"""`SwiftObjectStore.sample_storage` when some accounts, or Swift itself, cannot be listed.

The InternalClient is a fake holding account listings; the samples go to the real Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sws.drivers.openstack.objectstore import GIVE_UP, SwiftObjectStore
from sws.drivers.openstack.swift_usage import SwiftUsage
from sws.errors import Unavailable
from sws_swift.resp import Redis
from sws_swift.usage_keys import hour_of, usage_key

NOW = datetime(2026, 3, 2, 10, 27, tzinfo=UTC)


class Cluster:
    """Account listings by account; a listed-as-broken account answers 503."""

    def __init__(self, listings: dict[str, list[dict[str, Any]]], broken: set[str]) -> None:
        self.listings, self.broken = listings, broken
        self.asked: list[str] = []

    def iter_containers(self, account: str) -> Iterator[dict[str, Any]]:
        self.asked.append(account)
        if account in self.broken:
            raise RuntimeError(f"Unexpected response: 503 Service Unavailable ({account})")
        yield from self.listings.get(account, [])


def store(cluster: Cluster, redis: Redis, prefix: str) -> SwiftObjectStore:
    usage = SwiftUsage(redis=redis, region="RegionOne", now=lambda: NOW, prefix=prefix)
    return SwiftObjectStore(region="RegionOne", proxy_url="http://127.0.0.1:1",
                            token=lambda refresh: "unused", internal=lambda: cluster, usage=usage)


def samples(redis: Redis, prefix: str, member: str) -> list[Any]:
    return list(redis.call("HMGET", usage_key(prefix, hour_of(NOW.timestamp()), member),
                           "byte_samples", "samples"))  # type: ignore[arg-type]


def test_an_account_that_cannot_be_listed_is_skipped_and_reported(
    resp_redis: Redis, redis_prefix: str
) -> None:
    photo = {"name": "photos", "count": 3, "bytes": 4096}
    cluster = Cluster({"AUTH_acme": [photo], "AUTH_initech": [photo]}, broken={"AUTH_globex"})
    swift = store(cluster, resp_redis, redis_prefix)
    with pytest.raises(Unavailable, match=r"projects not sampled: 1 \(2 containers were\): "
                                          r"object storage could not list the containers"):
        swift.sample_storage(["acme", "globex", "initech"])
    assert samples(resp_redis, redis_prefix, "AUTH_acme/photos") == [b"4096", b"1"]
    assert samples(resp_redis, redis_prefix, "AUTH_initech/photos") == [b"4096", b"1"]


def test_swift_down_ends_the_round_after_a_few_accounts(
    resp_redis: Redis, redis_prefix: str
) -> None:
    projects = [f"p{n}" for n in range(10)]
    cluster = Cluster({}, broken={f"AUTH_{p}" for p in projects})
    with pytest.raises(Unavailable, match=f"projects not sampled: {GIVE_UP} "):
        store(cluster, resp_redis, redis_prefix).sample_storage(projects)
    assert cluster.asked == [f"AUTH_p{n}" for n in range(GIVE_UP)]
