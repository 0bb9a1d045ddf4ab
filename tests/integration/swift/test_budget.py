"""BatchedCounters (`redis_mode = batched`) against the real Redis: local decisions, one
pipelined round trip per sync, exact checks near a limit, bounded overshoot, Redis outages.

These need only Redis (scripts/services ensure), not the Swift rig. Most tests run without the
background thread (`background=False`) and call `flush()` where the thread would, so every
round trip is counted (`sws_swift.resp.Redis.round_trips`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from swift.common.swob import Request
from swift.proxy.controllers.base import get_cache_key, headers_to_container_info

from sws_swift.budget import BatchedCounters
from sws_swift.counters import BackendDown
from sws_swift.middleware import filter_factory
from sws_swift.resp import Redis
from sws_swift.rules import FirewallRules, Limit, to_sysmeta_headers
from tests.integration.sws_process import free_port

T0 = 20834 * 86400.0  # a fresh 5-minute and 24-hour window starts here
BOTH = [300, 86400]


@pytest.fixture
def client(resp_redis: Redis) -> Iterator[Redis]:
    yield resp_redis
    delete_keys(resp_redis, "swsfw-budget-*")


def delete_keys(client: Redis, pattern: str) -> None:
    keys = client.call("KEYS", pattern)
    if isinstance(keys, list):
        names = [key for key in keys if isinstance(key, bytes)]
        if names:
            client.call("DEL", *names)


def prefix() -> str:
    return f"swsfw-budget-{uuid.uuid4().hex[:8]}:"


def worker(client: Redis, shared_prefix: str, batch: int = 1000) -> BatchedCounters:
    return BatchedCounters(client, shared_prefix, interval=60, batch=batch, background=False)


def redis_value(client: Redis, name: str) -> int:
    reply = client.call("GET", name)
    return int(reply) if isinstance(reply, bytes) else 0


def test_requests_are_decided_locally_and_synced_in_one_round_trip(client: Redis) -> None:
    counters = worker(client, prefix())
    client.round_trips = 0
    for n in range(1, 51):
        assert counters.observe("c|a", T0 + n, BOTH, BOTH) == ([n, n], [0, 0])
    assert client.round_trips == 0
    counters.charge("c|a", T0 + 50, BOTH, 1234)
    counters.flush()
    assert client.round_trips == 1  # 4 counters, INCRBY + EXPIREAT each, one pipeline
    assert redis_value(client, f"{counters._prefix}r:300:{int(T0 // 300)}:c|a") == 50
    assert redis_value(client, f"{counters._prefix}b:86400:{int(T0 // 86400)}:c|a") == 1234
    ttl = client.call("TTL", f"{counters._prefix}r:300:{int(T0 // 300)}:c|a")
    assert isinstance(ttl, int) and ttl > 0


def test_the_global_totals_come_back_on_the_same_trip(client: Redis) -> None:
    shared = prefix()
    a, b = worker(client, shared), worker(client, shared)
    for n in range(10):
        a.observe("c|x", T0 + n, [300], [300])
    a.charge("c|x", T0 + 10, [300], 500)
    a.flush()
    assert b.observe("c|x", T0 + 11, [300], [300]) == ([1], [0])  # b has not synced yet
    client.round_trips = 0
    b.flush()
    assert client.round_trips == 1
    assert b.observe("c|x", T0 + 12, [300], [300]) == ([12], [500])


def test_a_batch_of_requests_wakes_the_background_sync(client: Redis) -> None:
    counters = worker(client, prefix(), batch=5)
    for n in range(4):
        counters.observe("c|a", T0 + n, [300], [])
    assert not counters._wake.is_set()
    counters.observe("c|a", T0 + 5, [300], [])
    assert counters._wake.is_set()


def test_the_background_thread_syncs_every_interval(client: Redis) -> None:
    shared = prefix()
    counters = BatchedCounters(Redis(timeout=1), shared, interval=0.05)
    for n in range(20):
        counters.observe("c|a", T0 + n, [300], [])
    name = f"{shared}r:300:{int(T0 // 300)}:c|a"
    deadline = time.monotonic() + 5
    while redis_value(client, name) != 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert redis_value(client, name) == 20


def test_near_the_cap_one_round_trip_decides_and_over_it_none(client: Redis) -> None:
    counters = worker(client, prefix())
    client.round_trips = 0
    seen = [counters.observe("c|a", T0, [300], [], [10])[0][0] for _ in range(12)]
    assert seen == list(range(1, 13))
    assert counters.sync_checks == 1  # the 10th: the one that may still pass
    assert client.round_trips == 1  # the 11th and 12th are refused locally


def test_near_the_cap_the_check_sees_what_other_workers_synced(client: Redis) -> None:
    shared = prefix()
    a, b = worker(client, shared), worker(client, shared)
    b.observe("c|a", T0, [300], [], [100])
    b.flush()
    for _ in range(80):
        a.observe("c|a", T0, [300], [], [100])
    a.flush()  # the global total is now 81; b still knows 1
    assert b.observe("c|a", T0, [300], [], [100])[0][0] == 2  # far from the cap: local
    b.flush()  # b reads 82 back: others added 80 in one interval, its margin becomes 161
    assert b.sync_checks == 0
    client.round_trips = 0
    assert b.observe("c|a", T0, [300], [], [100])[0][0] == 83  # Redis's total
    assert b.sync_checks == 1 and client.round_trips == 1


@settings(max_examples=25, deadline=None)
@given(
    schedule=st.lists(st.integers(0, 2), min_size=1, max_size=300),
    cap=st.integers(1, 60),
    every=st.integers(1, 20),
)
def test_admitted_stay_within_the_unsynced_counts_of_the_other_workers(
    schedule: list[int], cap: int, every: int
) -> None:
    shared = prefix()
    resp_redis = Redis(timeout=1)
    workers = [worker(resp_redis, shared) for _ in range(3)]
    since_sync = [0, 0, 0]
    admitted = 0
    try:
        for who in schedule:
            count = workers[who].observe("c|a", T0, [300], [], [cap])[0][0]
            admitted += count <= cap
            since_sync[who] += 1
            if since_sync[who] == every:  # each worker syncs after `every` of its requests
                workers[who].flush()
                since_sync[who] = 0
        # No false refusal, and over the cap only what two other workers had not synced yet.
        assert min(cap, len(schedule)) <= admitted <= cap + 2 * every
    finally:
        delete_keys(resp_redis, shared + "*")


def test_a_failed_sync_keeps_its_deltas_and_marks_the_backend_down(client: Redis) -> None:
    shared = prefix()
    counters = BatchedCounters(
        Redis(port=free_port(), timeout=0.2), shared, interval=60, background=False
    )
    for n in range(5):
        counters.observe("c|a", T0 + n, [300], [300])
    counters.charge("c|a", T0 + 5, [300], 70)
    with pytest.raises(BackendDown):
        counters.flush()
    with pytest.raises(BackendDown):
        counters.observe("c|a", T0 + 6, [300], [300])  # the middleware applies failure_mode
    with pytest.raises(BackendDown):
        counters.flush()  # nothing new to send: a PING, still refused
    counters.client = client  # Redis is back
    counters.flush()
    counters.flush()
    index = int(T0 // 300)
    assert redis_value(client, f"{shared}r:300:{index}:c|a") == 5  # delivered exactly once
    assert redis_value(client, f"{shared}b:300:{index}:c|a") == 70
    assert counters.observe("c|a", T0 + 7, [300], [300]) == ([6], [70])


@pytest.mark.parametrize("mode, expected", [("open", 200), ("closed", 503)])
def test_the_middleware_applies_failure_mode_when_redis_is_down(mode: str, expected: int) -> None:
    firewall = filter_factory(
        {},
        counter_backend="redis",
        redis_mode="batched",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        redis_timeout="0.2",
        sync_interval="60",
        failure_mode=mode,
    )(ok_app)
    assert isinstance(firewall.counters, BatchedCounters)
    firewall.counters.background = False
    sysmeta = request_limit(5)
    assert status(firewall, sysmeta) == 200  # decided locally before any sync has failed
    with pytest.raises(BackendDown):
        firewall.counters.flush()
    assert status(firewall, sysmeta) == expected
    assert firewall.stats["backend_unavailable"] == 1


def test_the_middleware_refuses_over_a_shared_budget(client: Redis) -> None:
    shared = prefix()
    conf = {
        "counter_backend": "redis",
        "redis_mode": "batched",
        "redis_key_prefix": shared,
        "sync_interval": "60",
    }
    a, b = filter_factory({}, **conf)(ok_app), filter_factory({}, **conf)(ok_app)
    for firewall in (a, b):
        firewall.counters.background = False
    sysmeta = request_limit(4)
    assert [status(a, sysmeta) for _ in range(3)] == [200] * 3
    assert status(b, sysmeta) == 200  # b's first: 4, and b has not synced yet
    a.counters.flush()
    b.counters.flush()
    assert [status(b, sysmeta) for _ in range(2)] == [429, 429]


def request_limit(amount: int) -> dict[str, str]:
    rules = FirewallRules(limits=(Limit("requests", 300, amount),))
    return {k: v for k, v in to_sysmeta_headers(rules).items() if v}


def ok_app(env: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
    start_response("200 OK", [("Content-Length", "0")])
    return [b""]


def status(firewall: Callable[..., object], sysmeta: dict[str, str]) -> int:
    req = Request.blank("/v1/AUTH_test/c/o")
    req.environ["REMOTE_ADDR"] = "198.51.100.7"
    req.environ["swift.infocache"] = {
        get_cache_key("AUTH_test", "c"): headers_to_container_info(sysmeta, 200)
    }
    answer, _, body = req.call_application(firewall)
    b"".join(body)
    return int(answer.split()[0])
