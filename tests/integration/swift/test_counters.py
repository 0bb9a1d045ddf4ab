"""RedisCounters against the real Redis: one round trip per request, deferred byte charges.

These need only Redis (scripts/services ensure), not the Swift rig. Round trips are counted at
the client: every command redis-py sends, and every pipeline it executes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from sws_swift.counters import BackendDown, RedisCounters

T0 = 20834 * 86400.0  # a fresh 5-minute and 24-hour window starts here
BOTH = [300, 86400]


class CountingRedis(redis.Redis):
    """A redis client that counts its round trips."""

    round_trips = 0

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.round_trips += 1
        return super().execute_command(*args, **options)

    def pipeline(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the counters must not need a pipeline")


@pytest.fixture
def client() -> Iterator[CountingRedis]:
    store = CountingRedis(host="127.0.0.1", port=6379, socket_timeout=1)
    try:
        store.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at 127.0.0.1:6379 is not running (scripts/services ensure): {exc}")
    yield store
    for key in store.scan_iter("swsfw-test-*"):
        store.delete(key)
    store.close()


def counters(client: CountingRedis, flush_interval: float = 1.0) -> RedisCounters:
    prefix = f"swsfw-test-{uuid.uuid4().hex[:8]}:"
    made = RedisCounters(client, prefix=prefix, flush_interval=flush_interval)
    made.observe("warm|up", T0, [300], [300])  # loads the script once (EVALSHA, then SCRIPT LOAD)
    client.round_trips = 0
    return made


def test_every_request_costs_exactly_one_round_trip(client: CountingRedis) -> None:
    shared = counters(client)
    for n in range(1, 6):
        assert shared.observe("c|a", T0 + n, BOTH, BOTH) == ([n, n], [1000 * (n - 1)] * 2)
        shared.charge("c|a", T0 + n, BOTH, 1000)  # at close: no I/O
        assert client.round_trips == n


def test_every_counter_expires_after_its_window(client: CountingRedis) -> None:
    shared = counters(client)
    for n in range(3):
        shared.observe("c|a", T0 + n, BOTH, BOTH)
        shared.charge("c|a", T0 + n, BOTH, 10)
    shared.flush()
    names = list(client.scan_iter(f"{shared._prefix}*c|a"))
    assert len(names) == 4
    for name in names:
        window = int(name.decode().split(":")[2])
        expected = (T0 // window + 1) * window + RedisCounters.GRACE
        assert client.expiretime(name) == expected


def test_bytes_are_carried_into_the_next_request_of_the_same_key(client: CountingRedis) -> None:
    shared = counters(client, flush_interval=3600)
    shared.observe("c|a", T0, [], [300])
    shared.charge("c|a", T0, [300], 600_000)
    other = RedisCounters(client, prefix=shared._prefix)  # another proxy, same Redis
    assert other.observe("c|a", T0 + 1, [], [300]) == ([], [0])  # not sent yet
    assert shared.observe("c|a", T0 + 2, [], [300]) == ([], [600_000])  # sent before deciding
    assert other.observe("c|a", T0 + 3, [], [300]) == ([], [600_000])
    assert shared.pending() == {}


def test_other_keys_are_flushed_once_the_flush_interval_has_passed(client: CountingRedis) -> None:
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


def test_charges_survive_a_failed_round_trip(client: CountingRedis) -> None:
    shared = counters(client)
    shared.charge("c|a", T0, [300], 7)
    real = shared._script
    shared._script = _Broken()
    with pytest.raises(BackendDown):
        shared.observe("c|a", T0 + 1, [300], [300])
    assert sum(shared.pending().values()) == 7
    shared._script = real
    assert shared.observe("c|a", T0 + 2, [300], [300])[1] == [7]


def test_flush_sends_everything(client: CountingRedis) -> None:
    shared = counters(client, flush_interval=3600)
    shared.charge("c|a", T0, BOTH, 3)
    shared.charge("c|b", T0, [300], 4)
    shared.flush()
    assert shared.pending() == {}
    assert shared.observe("c|a", T0, [], BOTH) == ([], [3, 3])
    assert shared.observe("c|b", T0, [], [300]) == ([], [4])


class _Broken:
    def __call__(self, **kwargs: Any) -> Any:
        raise redis.ConnectionError("connection refused")
