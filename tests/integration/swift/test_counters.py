"""RedisCounters against the real Redis: one round trip per request, deferred byte charges.

These need only Redis (scripts/services ensure), not the Swift rig. Round trips are counted by
the client (`sws_swift.resp.Redis.round_trips`: one per exchange with the server).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from sws_swift.counters import BackendDown, RedisCounters
from sws_swift.resp import Redis, encode

T0 = 20834 * 86400.0  # a fresh 5-minute and 24-hour window starts here
BOTH = [300, 86400]


@pytest.fixture
def client(resp_redis: Redis) -> Iterator[Redis]:
    yield resp_redis
    keys = scan(resp_redis, "swsfw-test-*")
    if keys:
        resp_redis.call("DEL", *keys)


def scan(client: Redis, pattern: str) -> list[bytes]:
    reply = client.call("KEYS", pattern)
    assert isinstance(reply, list)
    return [key for key in reply if isinstance(key, bytes)]


def counters(client: Redis, flush_interval: float = 1.0) -> RedisCounters:
    prefix = f"swsfw-test-{uuid.uuid4().hex[:8]}:"
    made = RedisCounters(client, prefix=prefix, flush_interval=flush_interval)
    made.observe("warm|up", T0, [300], [300])  # loads the script once (EVALSHA, then SCRIPT LOAD)
    client.round_trips = 0
    return made


def test_every_request_costs_exactly_one_round_trip(client: Redis) -> None:
    shared = counters(client)
    for n in range(1, 6):
        assert shared.observe("c|a", T0 + n, BOTH, BOTH) == ([n, n], [1000 * (n - 1)] * 2)
        shared.charge("c|a", T0 + n, BOTH, 1000)  # at close: no I/O
        assert client.round_trips == n


def test_every_counter_expires_after_its_window(client: Redis) -> None:
    shared = counters(client)
    for n in range(3):
        shared.observe("c|a", T0 + n, BOTH, BOTH)
        shared.charge("c|a", T0 + n, BOTH, 10)
    shared.flush()
    names = scan(client, f"{shared._prefix}*c|a")
    assert len(names) == 4
    for name in names:
        window = int(name.decode().split(":")[2])
        expected = (T0 // window + 1) * window + RedisCounters.GRACE
        assert client.call("EXPIRETIME", name) == expected


def test_bytes_are_carried_into_the_next_request_of_the_same_key(client: Redis) -> None:
    shared = counters(client, flush_interval=3600)
    shared.observe("c|a", T0, [], [300])
    shared.charge("c|a", T0, [300], 600_000)
    other = RedisCounters(client, prefix=shared._prefix)  # another proxy, same Redis
    assert other.observe("c|a", T0 + 1, [], [300]) == ([], [0])  # not sent yet
    assert shared.observe("c|a", T0 + 2, [], [300]) == ([], [600_000])  # sent before deciding
    assert other.observe("c|a", T0 + 3, [], [300]) == ([], [600_000])
    assert shared.pending() == {}


def test_other_keys_are_flushed_once_the_flush_interval_has_passed(client: Redis) -> None:
    shared = counters(client, flush_interval=1.0)
    shared.charge("c|a", T0, [300], 5)
    shared.observe("c|b", T0 + 0.5, [300], [])  # too early: c|a stays here
    assert len(shared.pending()) == 1
    rounds = client.round_trips
    shared.observe("c|b", T0 + 1.0, [300], [])  # the same single call carries c|a's bytes
    assert client.round_trips == rounds + 1
    assert shared.pending() == {}
    other = RedisCounters(client, prefix=shared._prefix)
    assert other.observe("c|a", T0 + 2, [], [300]) == ([], [5])


def test_charges_survive_a_failed_round_trip(client: Redis) -> None:
    shared = counters(client)
    shared.charge("c|a", T0, [300], 7)
    real = shared.client
    shared.client = Redis(host="127.0.0.1", port=9, timeout=0.2)  # nothing listens there
    with pytest.raises(BackendDown):
        shared.observe("c|a", T0 + 1, [300], [300])
    assert sum(shared.pending().values()) == 7
    shared.client = real
    assert shared.observe("c|a", T0 + 2, [300], [300])[1] == [7]


def test_flush_sends_everything(client: Redis) -> None:
    shared = counters(client, flush_interval=3600)
    shared.charge("c|a", T0, BOTH, 3)
    shared.charge("c|b", T0, [300], 4)
    shared.flush()
    assert shared.pending() == {}
    assert shared.observe("c|a", T0, [], BOTH) == ([], [3, 3])
    assert shared.observe("c|b", T0, [], [300]) == ([], [4])


def test_each_counter_is_sent_as_incrby_and_expireat(client: Redis) -> None:
    shared = counters(client)
    for name, increment in (("n:300:1:c|a", 12), ("n:300:1:c|a", 0), ("n:é/ü|6:1", 7)):
        expected = encode(("INCRBY", name, increment)) + encode(("EXPIREAT", name, 99))
        assert shared.encoded(name, increment, 99) == expected
