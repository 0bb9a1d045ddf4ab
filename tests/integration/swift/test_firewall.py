"""The storage firewall in a real Swift proxy pipeline, driven with python-swiftclient.

Clients reach the proxies from 127.0.0.1. Proxy A trusts no X-Forwarded-For; proxy B trusts it
from 127.0.0.1, which lets a test speak "from" any IPv4 or IPv6 address. A and B share their
counters in Redis. Proxy C counts in a Redis that does not exist and fails closed.

Window resets: the proxies run on the wall clock, so a test cannot wait five minutes. It does
what crossing into the next window does, which is to start from fresh keys: it deletes the
container's counter keys in Redis. The exact boundary arithmetic (a window ends at the next
multiple of 300 s; Retry-After counts down to it) is tested in-process with an injected clock in
tests/unit/swift/test_middleware.py.
"""

from __future__ import annotations

import time

from swiftclient import client

from sws_swift.rules import FirewallRules, Limit

from .conftest import Swift


def test_whitelisted_address_passes_even_if_blacklisted(swift: Swift) -> None:
    swift.set_rules(FirewallRules(allow=("127.0.0.1",), deny=("127.0.0.0/8",)))
    assert swift.status("GET") == 200


def test_blacklisted_address_gets_403_naming_the_rule(swift: Swift) -> None:
    swift.set_rules(FirewallRules(deny=("10.0.0.0/8", "127.0.0.0/8")))
    refused = swift.refusal()
    assert refused.http_status == 403
    assert b"blacklist entry 127.0.0.0/8" in refused.http_response_content
    assert swift.status("HEAD") == 403


def test_exclusive_whitelist_refuses_unlisted_addresses(swift: Swift) -> None:
    swift.set_rules(FirewallRules(allow=("192.0.2.0/24",), exclusive=True))
    assert b"exclusive whitelist" in swift.refusal().http_response_content
    assert swift.status("GET", proxy="B", headers={"X-Forwarded-For": "192.0.2.44"}) == 200


def test_cidr_matching_ipv4_and_ipv6(swift: Swift) -> None:
    swift.set_rules(FirewallRules(deny=("198.51.100.0/22", "2001:db8:4000::/34")))

    def status(address: str) -> int:
        return swift.status("GET", proxy="B", headers={"X-Forwarded-For": address})

    assert status("198.51.103.255") == 403
    assert status("198.51.104.0") == 200
    assert status("2001:db8:7fff::1") == 403
    assert status("2001:db8:8000::1") == 200
    assert status("::ffff:198.51.100.1") == 403


def test_forwarded_for_ignored_from_untrusted_honoured_from_trusted(swift: Swift) -> None:
    swift.set_rules(FirewallRules(deny=("203.0.113.9",)))
    spoofed = {"X-Forwarded-For": "203.0.113.9"}
    assert swift.status("GET", proxy="A", headers=spoofed) == 200  # A trusts nobody
    assert swift.status("GET", proxy="B", headers=spoofed) == 403  # B trusts 127.0.0.1


def test_request_limit_trips_at_n_plus_one_and_the_window_resets(swift: Swift) -> None:
    swift.set_rules(FirewallRules(limits=(Limit("requests", 300, 5),)))
    assert [swift.status("HEAD") for _ in range(5)] == [200] * 5
    refused = swift.refusal()
    assert refused.http_status == 429
    assert 1 <= int(refused.http_response_headers["retry-after"]) <= 300
    assert b"requests limit 5 requests per 5 minutes" in refused.http_response_content
    swift.reset_windows()
    assert swift.status("HEAD") == 200


def test_traffic_limit_counts_put_and_get(swift: Swift) -> None:
    swift.set_rules(FirewallRules(limits=(Limit("mb", 300, 1),)))
    url = swift.url()
    client.put_object(url, swift.token, swift.container, "big", b"p" * 600_000)
    assert swift.status("HEAD", "big") == 200  # 0.6 MB so far: under the budget
    _, body = client.get_object(url, swift.token, swift.container, "big")
    assert len(body) == 600_000  # 1.2 MB once this response closed
    # The proxy charges the GET's bytes when it closes the response, which on a busy machine
    # can land just after the client has read the last byte: wait for that event.
    deadline = time.monotonic() + 5
    while swift.status("HEAD", "big") != 429 and time.monotonic() < deadline:
        time.sleep(0.05)
    refused = swift.refusal()
    assert refused.http_status == 429
    assert b"mb limit 1 MB per 5 minutes" in refused.http_response_content


def test_two_proxies_share_one_budget(swift: Swift) -> None:
    swift.set_rules(FirewallRules(limits=(Limit("requests", 300, 4),)))
    results = [swift.status("HEAD", proxy=p) for p in ("A", "B", "A", "B")]
    assert results == [200] * 4
    assert swift.status("HEAD", proxy="B") == 429
    assert swift.status("HEAD", proxy="A") == 429


def test_rule_changes_take_effect_within_the_container_info_cache_time(swift: Swift) -> None:
    swift.set_rules(FirewallRules(deny=("192.0.2.1",)))
    assert swift.status("GET") == 200  # the container's info is now in memcache
    changed = time.monotonic()
    swift.set_rules(FirewallRules(deny=("127.0.0.1",)))
    ttl = int(swift.env["SWIFT_DEV_CONTAINER_INFO_TTL"])
    while swift.status("GET") != 403:
        assert time.monotonic() - changed < ttl + 1, "rule change not applied in time"
        time.sleep(0.2)
    swift.set_rules(FirewallRules())
    assert swift.status("GET") == 200


def test_malformed_sysmeta_never_answers_500(swift: Swift) -> None:
    swift.set_raw(
        {
            "X-Container-Sysmeta-Sws-Fw-Version": "1",
            "X-Container-Sysmeta-Sws-Fw-Deny": "127.0.0.1/99",
            "X-Container-Sysmeta-Sws-Fw-Limits": "requests/300=lots",
        }
    )
    assert swift.status("GET", proxy="A") == 200  # fail-open
    assert swift.status("HEAD", proxy="A") == 200
    assert swift.status("GET", proxy="C") == 503  # fail-closed
    assert swift.status("HEAD", proxy="C") == 503


def test_counter_backend_down_fails_closed_on_proxy_c(swift: Swift) -> None:
    swift.set_rules(FirewallRules(limits=(Limit("requests", 86400, 1000),)))
    refused = swift.refusal(proxy="C")
    assert refused.http_status == 503
    assert b"cannot be counted" in refused.http_response_content
    swift.set_rules(FirewallRules(deny=("192.0.2.1",)))  # no limits: nothing to count
    assert swift.status("GET", proxy="C") == 200


def test_account_and_auth_requests_pass(swift: Swift) -> None:
    swift.set_rules(FirewallRules(deny=("0.0.0.0/0",)))
    client.get_auth(f"{swift.env['SWIFT_DEV_PROXY_A']}/auth/v1.0", "test:tester", "testing")
    headers, _ = client.get_account(swift.url(), swift.token)
    assert int(headers["x-account-container-count"]) >= 1
    assert swift.status("GET") == 403
