"""The middleware in-process: swob requests through sws_firewall to a fake Swift app.

Container info is planted in the request's `swift.infocache`, exactly where
`get_container_info` looks first, and time comes from an injected clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from swift.common.swob import Request
from swift.proxy.controllers.base import get_cache_key, headers_to_container_info

from sws_swift.budget import BatchedCounters
from sws_swift.counters import BackendDown, LocalCounters, RedisCounters
from sws_swift.middleware import StorageFirewall, filter_factory
from sws_swift.rules import FirewallRules, Limit, to_sysmeta_headers

BODY = b"x" * 1000
T0 = 20834 * 86400.0  # 2027-01-15 00:00 UTC: a fresh 5-minute and 24-hour window starts


class FakeSwift:
    """Answers 200 with BODY to GET, drains the body of a PUT, 204 otherwise."""

    def __init__(self) -> None:
        self.calls = 0
        self.closed = 0

    def __call__(self, env: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.calls += 1
        if env["REQUEST_METHOD"] == "PUT":
            while env["wsgi.input"].read(100):
                pass
        body = BODY if env["REQUEST_METHOD"] == "GET" else b""
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return self._iter(body)

    def _iter(self, body: bytes) -> Iterator[bytes]:
        try:
            yield body
        finally:
            self.closed += 1


class FakeLogger(logging.LoggerAdapter[logging.Logger]):
    def __init__(self) -> None:
        super().__init__(logging.getLogger("test.sws_firewall"), {})
        self.metrics: list[str] = []
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def increment(self, metric: str) -> None:
        self.metrics.append(metric)

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.errors.append(str(msg) % args)

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.warnings.append(str(msg) % args)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class BrokenCounters:
    def observe(self, *args: Any) -> tuple[list[int], list[int]]:
        raise BackendDown("connection refused")

    def charge(self, *args: Any) -> None:
        raise BackendDown("connection refused")


def make(**conf: str) -> tuple[StorageFirewall, FakeSwift, Clock]:
    app = FakeSwift()
    firewall = StorageFirewall(app, conf, logger=FakeLogger())
    clock = Clock()
    firewall.clock = clock
    return firewall, app, clock


def call(
    firewall: StorageFirewall,
    sysmeta: dict[str, str] | None,
    path: str = "/v1/AUTH_test/c/o",
    method: str = "GET",
    ip: str = "198.51.100.7",
    body: bytes | None = None,
    **headers: str,
) -> tuple[int, dict[str, str], bytes]:
    req = Request.blank(path, method=method, body=body, headers=headers)
    req.environ["REMOTE_ADDR"] = ip
    if sysmeta is not None:
        info = headers_to_container_info(sysmeta, 200)
        req.environ["swift.infocache"] = {get_cache_key("AUTH_test", "c"): info}
    status, response_headers, app_iter = req.call_application(firewall)
    content = b"".join(app_iter)
    getattr(app_iter, "close", lambda: None)()
    return int(status.split()[0]), dict(response_headers), content


def rules(**kwargs: Any) -> dict[str, str]:
    return {k: v for k, v in to_sysmeta_headers(FirewallRules(**kwargs)).items() if v}


def test_whitelisted_address_passes_even_if_blacklisted() -> None:
    firewall, app, _ = make()
    sysmeta = rules(allow=("198.51.100.0/24",), deny=("198.51.100.7",))
    assert call(firewall, sysmeta)[0] == 200
    assert app.calls == 1


def test_blacklisted_address_gets_403_naming_the_entry() -> None:
    firewall, app, _ = make()
    status, _, body = call(firewall, rules(deny=("10.0.0.0/8", "198.51.0.0/16")))
    assert status == 403
    assert b"blacklist entry 198.51.0.0/16" in body
    assert app.calls == 0
    assert firewall.stats["denied"] == 1


def test_ipv6_blacklist() -> None:
    firewall, _, _ = make()
    sysmeta = rules(deny=("2001:db8::/32",))
    assert call(firewall, sysmeta, ip="2001:db8:1::5")[0] == 403
    assert call(firewall, sysmeta, ip="2001:db9::5")[0] == 200


def test_exclusive_whitelist_refuses_everyone_else() -> None:
    firewall, _, _ = make()
    sysmeta = rules(allow=("203.0.113.0/24",), exclusive=True)
    status, _, body = call(firewall, sysmeta)
    assert status == 403
    assert b"exclusive whitelist" in body
    assert call(firewall, sysmeta, ip="203.0.113.9")[0] == 200


def test_head_refusal_has_no_body() -> None:
    firewall, _, _ = make()
    status, headers, body = call(firewall, rules(deny=("0.0.0.0/0",)), method="HEAD")
    assert (status, body) == (403, b"")
    assert int(headers["Content-Length"]) > 0


@pytest.mark.parametrize("path", ["/v1/AUTH_test", "/v1/AUTH_test/", "/auth/v1.0", "/info", "/"])
def test_account_and_auth_requests_pass_untouched(path: str) -> None:
    firewall, app, _ = make()
    assert call(firewall, rules(deny=("0.0.0.0/0",)), path=path)[0] == 200
    assert app.calls == 1


def test_container_without_rules_passes() -> None:
    firewall, app, _ = make()
    assert call(firewall, {})[0] == 200
    assert app.calls == 1


def test_request_limit_trips_at_n_plus_one_and_resets_with_the_window() -> None:
    firewall, _, clock = make()
    sysmeta = rules(limits=(Limit("requests", 300, 3),))
    assert [call(firewall, sysmeta)[0] for _ in range(3)] == [200, 200, 200]
    clock.now = T0 + 200
    status, headers, body = call(firewall, sysmeta)
    assert status == 429
    assert headers["Retry-After"] == "100"
    assert b"requests limit 3 requests per 5 minutes" in body
    assert call(firewall, sysmeta, ip="198.51.100.8")[0] == 200  # per source IP
    clock.now = T0 + 300
    assert call(firewall, sysmeta)[0] == 200


def test_daily_limit_reports_the_longer_wait() -> None:
    firewall, _, clock = make()
    sysmeta = rules(limits=(Limit("requests", 300, 2), Limit("requests", 86400, 2)))
    call(firewall, sysmeta)
    call(firewall, sysmeta)
    clock.now = T0 + 60
    status, headers, body = call(firewall, sysmeta)
    assert status == 429
    assert headers["Retry-After"] == str(86400 - 60)
    assert b"per 24 hours" in body


def test_traffic_limit_counts_uploads_and_downloads() -> None:
    firewall, app, _ = make()
    sysmeta = rules(limits=(Limit("mb", 300, 1),))
    upload = b"u" * 600_000
    assert call(firewall, sysmeta, method="PUT", body=upload)[0] == 200
    assert call(firewall, sysmeta, method="HEAD")[0] == 200  # 0.6 MB used
    assert call(firewall, sysmeta, method="PUT", body=upload)[0] == 200  # crosses the budget
    status, _, body = call(firewall, sysmeta)
    assert status == 429
    assert b"mb limit 1 MB per 5 minutes" in body
    assert app.closed == 3


def _metered_get(firewall: StorageFirewall) -> Any:
    sysmeta = rules(limits=(Limit("mb", 300, 1),))
    req = Request.blank("/v1/AUTH_test/c/o")
    req.environ["REMOTE_ADDR"] = "198.51.100.7"
    info = headers_to_container_info(sysmeta, 200)
    req.environ["swift.infocache"] = {"container/AUTH_test/c": info}
    return req.call_application(firewall)[2]


KEY = "AUTH_test/c|4:c6336407"  # 198.51.100.7


def test_response_bytes_are_charged_when_the_response_closes() -> None:
    firewall, _, _ = make()
    firewall.counters = counters = LocalCounters()
    app_iter = _metered_get(firewall)
    chunks = iter(app_iter)
    assert next(chunks) == BODY
    assert counters.observe(KEY, T0, [], [300]) == ([], [0])
    app_iter.close()
    app_iter.close()
    assert counters.observe(KEY, T0, [], [300]) == ([], [len(BODY)])


def test_response_bytes_are_charged_when_only_the_iterator_is_kept() -> None:
    """Swift's reiterate() keeps iter(app_iter) and never calls app_iter.close()."""
    firewall, app, _ = make()
    firewall.counters = counters = LocalCounters()
    assert b"".join(iter(_metered_get(firewall))) == BODY
    assert counters.observe(KEY, T0, [], [300]) == ([], [len(BODY)])
    assert app.closed == 1


def test_forwarded_for_is_ignored_from_an_untrusted_peer() -> None:
    firewall, _, _ = make(trusted_proxies="192.0.2.10")
    sysmeta = rules(deny=("203.0.113.5",))
    assert call(firewall, sysmeta, ip="198.51.100.7", X_Forwarded_For="203.0.113.5")[0] == 200
    assert call(firewall, sysmeta, ip="192.0.2.10", X_Forwarded_For="203.0.113.5")[0] == 403


def test_forwarded_for_takes_the_rightmost_untrusted_hop() -> None:
    firewall, _, _ = make(trusted_proxies="192.0.2.0/24, 2001:db8:ff::/48")
    env = {"REMOTE_ADDR": "192.0.2.10", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.5, 192.0.2.11"}
    assert firewall.client_address(env) == (4, 0xCB007105)
    env["HTTP_X_FORWARDED_FOR"] = "garbage, 192.0.2.11"
    assert firewall.client_address(env) is None  # never the trusted proxy's own address
    env = {"REMOTE_ADDR": "2001:db8:ff::1", "HTTP_X_FORWARDED_FOR": "2001:db8::9"}
    assert firewall.client_address(env) == (6, 0x20010DB8 << 96 | 9)


@pytest.mark.parametrize("mode, expected", [("open", 200), ("closed", 503)])
def test_malformed_sysmeta_follows_failure_mode_and_is_logged_once(
    mode: str, expected: int
) -> None:
    firewall, _, _ = make(failure_mode=mode)
    sysmeta = {"X-Container-Sysmeta-Sws-Fw-Version": "1", "X-Container-Sysmeta-Sws-Fw-Deny": "x/99"}
    assert call(firewall, sysmeta)[0] == expected
    assert call(firewall, sysmeta, method="HEAD")[0] == expected
    assert len(firewall.logger.errors) == 1
    assert firewall.stats["rules_unreadable"] == 2


@pytest.mark.parametrize("mode, expected", [("open", 200), ("closed", 503)])
def test_backend_down_follows_failure_mode(mode: str, expected: int) -> None:
    firewall, _, clock = make(failure_mode=mode, backend_retry_interval="5")
    firewall.counters = BrokenCounters()
    sysmeta = rules(limits=(Limit("requests", 300, 1),))
    assert [call(firewall, sysmeta)[0] for _ in range(3)] == [expected] * 3
    assert len(firewall.logger.warnings) == 1  # one warning per retry interval
    assert firewall.stats["backend_unavailable"] == 3
    assert "backend_unavailable" in firewall.logger.metrics
    clock.now += 5
    call(firewall, sysmeta)
    assert len(firewall.logger.warnings) == 2


def test_compiled_rules_are_cached_by_sysmeta_value() -> None:
    firewall, _, _ = make(rules_cache_size="2")
    for n in range(5):
        call(firewall, rules(deny=(f"10.0.0.{n}",)))
    assert len(firewall._compiled) == 2


def test_filter_factory_builds_the_middleware_and_checks_options() -> None:
    firewall = filter_factory({}, failure_mode="closed", trusted_proxies="10.0.0.1")(FakeSwift())
    assert isinstance(firewall, StorageFirewall)
    assert firewall.fail_closed
    with pytest.raises(ValueError, match="failure_mode"):
        filter_factory({}, failure_mode="sometimes")
    with pytest.raises(ValueError, match="counter_backend"):
        filter_factory({}, counter_backend="etcd")(FakeSwift())


def test_redis_counters_take_the_byte_flush_interval() -> None:
    firewall = filter_factory({}, counter_backend="redis", byte_flush_interval="0.25")(FakeSwift())
    assert isinstance(firewall.counters, RedisCounters)
    assert firewall.counters.flush_interval == 0.25


def test_redis_mode_batched_takes_its_interval_and_batch() -> None:
    conf = {"counter_backend": "redis", "redis_mode": "batched"}
    firewall = filter_factory({}, **conf, sync_interval="0.25", sync_batch="50")(FakeSwift())
    assert isinstance(firewall.counters, BatchedCounters)
    assert (firewall.counters.interval, firewall.counters.batch) == (0.25, 50)
    assert isinstance(
        filter_factory({}, counter_backend="redis")(FakeSwift()).counters, RedisCounters
    )
    with pytest.raises(ValueError, match="redis_mode"):
        filter_factory({}, counter_backend="redis", redis_mode="eventual")(FakeSwift())
    with pytest.raises(ValueError, match="sync_interval"):
        filter_factory({}, **conf, sync_interval="0")(FakeSwift())
