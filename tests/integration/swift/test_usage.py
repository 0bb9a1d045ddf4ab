"""sws_usage in the real Swift proxies: usage of one container through proxies A and B, summed in
the shared Redis exactly as SWS reads it (`sws.drivers.openstack.swift_usage`).

The rig's proxies flush after every request (`usage_flush_interval = 0`); a proxy flushes once
the response has been sent, so the test waits (briefly) for the totals to arrive. Its containers
are created with the InternalClient, which is not behind sws_usage, so only the test's own
requests count. The interval, the hour boundary and a Redis outage are tested in-process with an
injected clock in tests/unit/swift/test_usage.py.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator

import pytest
from swiftclient import client

from sws_swift.rules import FirewallRules

from .conftest import Swift


@pytest.fixture
def metered(swift: Swift) -> Iterator[Swift]:
    """A fresh container that no request through a proxy has touched yet."""
    account = swift.env["SWIFT_DEV_ACCOUNT"]
    container = f"usage-{uuid.uuid4().hex[:10]}"
    swift.internal.create_container(account, container)
    fresh = dataclasses.replace(swift, container=container)
    hour = int(time.time() // 3600)
    yield fresh
    prefix = swift.env["SWIFT_DEV_USAGE_PREFIX"]
    for h in range(hour, int(time.time() // 3600) + 1):
        swift.redis.delete(f"{prefix}{h}:{fresh.member}")
        swift.redis.srem(f"{prefix}{h}", fresh.member)


def totals(swift: Swift, since_hour: int) -> dict[str, int]:
    """The container's usage summed over the hours since `since_hour` (a test may cross one)."""
    summed = {"requests": 0, "bytes_in": 0, "bytes_out": 0}
    for hour in range(since_hour, int(time.time() // 3600) + 1):
        for field, value in swift.usage(hour).items():
            summed[field] += value
    return summed


def settled_totals(swift: Swift, since_hour: int, expected: dict[str, int]) -> dict[str, int]:
    """The totals once they equal `expected` (proxies flush after answering), or after 10 s."""
    deadline = time.monotonic() + 10
    while totals(swift, since_hour) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more arrives: a double count would show now
    return totals(swift, since_hour)


def test_usage_through_two_proxies_adds_up_in_redis(metered: Swift) -> None:
    hour = int(time.time() // 3600)
    c, token = metered.container, metered.token
    client.put_object(metered.url("A"), token, c, "a", b"a" * 1000)
    client.put_object(metered.url("B"), token, c, "b", b"b" * 3000)
    assert client.get_object(metered.url("A"), token, c, "b")[1] == b"b" * 3000
    assert client.get_object(metered.url("B"), token, c, "a")[1] == b"a" * 1000
    client.head_object(metered.url("B"), token, c, "a")
    with pytest.raises(client.ClientException) as missing:
        client.get_object(metered.url("A"), token, c, "missing")
    not_found = len(missing.value.http_response_content)
    client.head_account(metered.url("A"), token)  # an account request: not counted

    expected = {"requests": 6, "bytes_in": 4000, "bytes_out": 4000 + not_found}
    assert settled_totals(metered, hour, expected) == expected
    members = metered.redis.smembers(f"{metered.env['SWIFT_DEV_USAGE_PREFIX']}{hour}")
    assert metered.member.encode() in members


def test_a_request_the_firewall_refuses_is_not_usage(metered: Swift) -> None:
    hour = int(time.time() // 3600)
    metered.set_rules(FirewallRules(deny=("192.0.2.44",)))
    refused = metered.status("GET", "nothing", proxy="B", headers={"X-Forwarded-For": "192.0.2.44"})
    assert refused == 403
    client.put_object(metered.url("B"), metered.token, metered.container, "o", b"served")

    expected = {"requests": 1, "bytes_in": 6, "bytes_out": 0}
    assert settled_totals(metered, hour, expected) == expected
