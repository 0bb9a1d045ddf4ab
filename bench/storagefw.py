"""Per-request overhead of the storage firewall, next to Swift's own ratelimit, in one run.

Each variant sends the same request (PUT of a 100-byte object, answered 201 by a fake Swift)
built with `swob.Request.blank` through the middleware; "added" is the variant's time minus the
pass-through time (the fake app alone). Two placements, both measured in every run:

- **info cached**: the account's and container's info are already in the request's
  `swift.infocache`, as they are once an earlier middleware has looked them up, so no variant
  pays a memcache read for them;
- **info from memcache**: the request starts with an empty infocache and memcache holds both
  infos, as in a proxy where the middleware is the first to ask. The fake app then does what
  Swift's object controller does, `get_container_info` (from the infocache if a middleware filled
  it, else memcache), so that read is in the pass-through time and a middleware is charged only
  for what it adds: Swift's ratelimit reads the account's info (its global write limit) as well.

- sws_swift, local counters: 100 whitelist + 100 blacklist CIDRs (the client is on neither),
  request and traffic limits on both windows (the worst case: four counters per request);
- sws_swift, Redis counters: the same rules, counters in the Redis at 127.0.0.1:6379: one
  EVALSHA per request, which also carries the previous request's bytes (a finished request's
  bytes are sent with the next round trip, never in one of their own); and with request
  limits only (the same single round trip, fewer keys);
- Swift ratelimit: `container_ratelimit_0` (so every object PUT is counted) with a real memcached;
- match only: the CIDR check alone, as a linear `ipaddress` scan and as the compiled bisect.

Run with the Swift extra installed (`make test` does) and Redis up (scripts/services ensure):
    .venv/bin/python bench/storagefw.py [-n 20000] [--rounds 5]
A private memcached is started on 127.0.0.1:21299 for the run and stopped by its PID.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from typing import Any

from swift.common.memcached import MemcacheRing
from swift.common.middleware.ratelimit import RateLimitMiddleware
from swift.common.swob import Request
from swift.common.utils import get_logger
from swift.proxy.controllers.base import (
    get_cache_key,
    get_container_info,
    headers_to_account_info,
    headers_to_container_info,
)

from sws_swift.middleware import StorageFirewall
from sws_swift.resp import Redis
from sws_swift.rules import FirewallRules, Limit, compile_rules, parse_ip, to_sysmeta_headers

MEMCACHED_PORT = 21299
CLIENT = "198.51.100.7"
BODY = b"x" * 100


def fake_swift(env: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    env["wsgi.input"].read()
    start_response("201 Created", [("Content-Length", "0")])
    return [b""]


def fake_proxy(env: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The fake Swift, looking up the container's info first as the object controller does."""
    get_container_info(env, fake_proxy, swift_source="BENCH")
    return fake_swift(env, start_response)


def random_cidrs(rng: random.Random, n: int) -> tuple[str, ...]:
    cidrs: set[str] = set()
    while len(cidrs) < n:
        if rng.random() < 0.7:
            net: Any = ipaddress.IPv4Network(
                (rng.getrandbits(32), rng.randint(8, 32)), strict=False
            )
        else:
            net = ipaddress.IPv6Network((rng.getrandbits(128), rng.randint(16, 128)), strict=False)
        if net.version == 6 or not net.overlaps(ipaddress.ip_network(CLIENT)):
            cidrs.add(str(net))
    return tuple(cidrs)


def the_rules() -> FirewallRules:
    rng = random.Random(42)
    big = 10**9
    return FirewallRules(
        allow=random_cidrs(rng, 100),
        deny=random_cidrs(rng, 100),
        limits=tuple(Limit(k, w, big) for k in ("requests", "mb") for w in (300, 86400)),  # type: ignore[arg-type]
    )


def request_factory(
    sysmeta: dict[str, str], memcache: MemcacheRing, *, cached: bool
) -> Callable[[], Request]:
    """PUTs to AUTH_test/c; with `cached`, both infos are in the request's infocache."""
    info = headers_to_container_info(sysmeta, 200)
    info["object_count"] = 10
    infos = {
        get_cache_key("AUTH_test", "c"): info,
        get_cache_key("AUTH_test"): headers_to_account_info({}, 200),
    }
    if not cached:
        for key, value in infos.items():
            memcache.set(key, value, time=3600)

    def make() -> Request:
        req = Request.blank("/v1/AUTH_test/c/o", method="PUT", body=BODY)
        req.environ["REMOTE_ADDR"] = CLIENT
        req.environ["swift.infocache"] = dict(infos) if cached else {}
        req.environ["swift.cache"] = memcache
        return req

    return make


def run(app: Any, make: Callable[[], Request], n: int) -> float:
    """Mean microseconds per request, including building the request."""
    started = time.perf_counter()
    for _ in range(n):
        _status, _, app_iter = make().call_application(app)
        for _chunk in app_iter:
            pass
        close = getattr(app_iter, "close", None)
        if close:
            close()
    return (time.perf_counter() - started) / n * 1e6


def best_of(rounds: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(rounds))


def start_memcached() -> subprocess.Popen[bytes]:
    exe = shutil.which("memcached")
    if exe is None:
        raise SystemExit("memcached is not installed (apt-get install -y memcached)")
    proc = subprocess.Popen(
        [exe, "-l", "127.0.0.1", "-p", str(MEMCACHED_PORT), "-U", "0", "-u", "root"]
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", MEMCACHED_PORT), timeout=0.1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("memcached did not start")


def match_only(rules: FirewallRules, n: int) -> tuple[float, float]:
    networks = [ipaddress.ip_network(c) for c in rules.allow + rules.deny]
    compiled = compile_rules(rules)
    started = time.perf_counter()
    for _ in range(n):
        address = ipaddress.ip_address(CLIENT)
        any(address in net for net in networks if net.version == address.version)
    scan = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    for _ in range(n):
        parsed = parse_ip(CLIENT)
        _ = parsed in compiled.allow or parsed in compiled.deny
    return scan, (time.perf_counter() - started) / n * 1e6


def sysmeta_of(rules: FirewallRules) -> dict[str, str]:
    return {k: v for k, v in to_sysmeta_headers(rules).items() if v}


def measure(
    app: Any, memcache: MemcacheRing, rules: FirewallRules, *, cached: bool, n: int, rounds: int
) -> tuple[float, dict[str, float]]:
    """Pass-through µs/request and each variant's µs/request, in front of `app`."""
    n_net = max(n // 4, 1000)
    make = request_factory(sysmeta_of(rules), memcache, cached=cached)
    request_limits = tuple(limit for limit in rules.limits if limit.kind == "requests")
    make_requests_only = request_factory(
        sysmeta_of(FirewallRules(allow=rules.allow, deny=rules.deny, limits=request_limits)),
        memcache,
        cached=cached,
    )
    local = StorageFirewall(app, {"counter_backend": "local"})
    shared = StorageFirewall(app, {"counter_backend": "redis", "redis_key_prefix": "swsfw-bench:"})
    ratelimit = RateLimitMiddleware(
        app, {"container_ratelimit_0": "1000000", "max_sleep_time_seconds": "60"}
    )
    for warm in (local, shared, ratelimit):
        run(warm, make, 100)
    if shared.stats["backend_unavailable"]:
        raise SystemExit("Redis at 127.0.0.1:6379 does not answer (scripts/services ensure)")
    base = best_of(rounds, lambda: run(app, make, n))
    return base, {
        "sws_swift, local counters": best_of(rounds, lambda: run(local, make, n)),
        "sws_swift, Redis counters": best_of(rounds, lambda: run(shared, make, n_net)),
        "sws_swift, Redis, request limits only": best_of(
            rounds, lambda: run(shared, make_requests_only, n_net)
        ),
        "Swift ratelimit, memcached": best_of(rounds, lambda: run(ratelimit, make, n_net)),
    }


def redis_round_trip(n: int, rounds: int) -> float:
    """µs for one PING through the firewall's Redis client: the floor of a shared counter."""
    client = Redis(timeout=1)

    def ping() -> float:
        started = time.perf_counter()
        for _ in range(n):
            client.call("PING")
        return (time.perf_counter() - started) / n * 1e6

    return best_of(rounds, ping)


def report(title: str, base: float, figures: dict[str, float]) -> float:
    """Print one placement's table and ratios; returns ratelimit's added µs."""
    added = {name: us - base for name, us in figures.items()}
    rl = added["Swift ratelimit, memcached"]
    print(f"\n{title}")
    print(f"{'variant':40} {'µs/request':>11} {'added µs':>9}")
    print(f"{'pass-through (fake app)':40} {base:11.1f} {0:9.1f}")
    for name, us in figures.items():
        print(f"{name:40} {us:11.1f} {added[name]:9.1f}")
    print(f"local counters added: {added['sws_swift, local counters']:.1f} µs (goal <= 5)")
    ratio = added["sws_swift, Redis counters"] / rl
    print(f"Redis counters added / ratelimit added: {ratio:.2f}x (goal <= 0.3x)")
    ratio = added["sws_swift, Redis, request limits only"] / rl
    print(f"Redis, request limits only / ratelimit added: {ratio:.2f}x")
    return rl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=20000, help="requests per round (local variants)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n, rounds = args.n, args.rounds

    memcached = start_memcached()
    try:
        logger = get_logger({}, log_route="bench")
        memcache = MemcacheRing([f"127.0.0.1:{MEMCACHED_PORT}"], logger=logger)
        rules = the_rules()
        cached = measure(fake_swift, memcache, rules, cached=True, n=n, rounds=rounds)
        from_memcache = measure(fake_proxy, memcache, rules, cached=False, n=n, rounds=rounds)
        ping = redis_round_trip(max(n // 4, 1000), rounds)
        scan, bisect = min((match_only(rules, n) for _ in range(rounds)), key=lambda x: x[1])
    finally:
        memcached.terminate()
        memcached.wait()

    print(f"rules: {len(rules.allow)} whitelist + {len(rules.deny)} blacklist CIDRs, 4 limits")
    rl = report("info cached (in the request's infocache)", *cached)
    report("info from memcache (the middleware is the first to ask)", *from_memcache)
    print(f"\none Redis round trip (PING through sws_swift.resp): {ping:6.1f} µs")
    # A shared counter costs at least one round trip, so this ratio is the best it can reach.
    print(f"floor, one round trip / ratelimit added (info cached): {ping / rl:.2f}x")
    print(f"match only, ipaddress linear scan of 200 CIDRs: {scan:6.2f} µs")
    print(f"match only, compiled bisect (parse + 2 lookups): {bisect:6.2f} µs")
    print(f"(best of {rounds} rounds; n={n}, network variants n={max(n // 4, 1000)})")


if __name__ == "__main__":
    main()
