"""Bounded overshoot with two real Swift proxies sharing one Redis budget (`redis_mode = batched`).

Clients hammer one address (127.0.0.1) through both proxies at once, over a request limit of N per
5 minutes. Admitted requests stay within issue 17's bound, N x 1.01 + proxies x interval x rate,
and at least N pass (no false refusal). Local counters would admit about 2N.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import redis

from sws_swift.rules import FirewallRules, Limit

from .conftest import Swift
from .proxy_pair import (
    away_from_a_window_edge,
    backend_warnings,
    batched_proxies,
    hammer,
    overshoot_bound,
)

LIMIT = 150
INTERVAL = 0.1


def test_two_proxies_admit_within_the_bound_over_a_shared_limit(
    swift: Swift, tmp_path: Path
) -> None:
    swift.set_rules(FirewallRules(limits=(Limit("requests", 300, LIMIT),)))
    prefix = f"swsfw-overshoot-{uuid.uuid4().hex[:8]}:"
    path = f"/v1/{swift.env['SWIFT_DEV_ACCOUNT']}/{swift.container}/o"
    try:
        with batched_proxies(swift.env, 2, prefix, INTERVAL, tmp_path) as urls:
            away_from_a_window_edge(300, 60)
            seen = hammer(urls, path, swift.token, total=3 * LIMIT)
    finally:
        store = redis.Redis.from_url(swift.env["SWIFT_DEV_REDIS_URL"])
        for key in store.scan_iter(f"{prefix}*"):
            store.delete(key)
        store.close()
    assert seen.other == 0
    assert backend_warnings(tmp_path) == 0  # nothing passed by failing open
    assert all(seen.by_proxy.values()), seen  # both proxies admitted requests
    bound = overshoot_bound(LIMIT, 2, INTERVAL, seen.rate)
    assert LIMIT <= seen.admitted <= bound, (seen, bound)
    assert seen.limited == 3 * LIMIT - seen.admitted
