"""sws_usage in-process: swob requests through the filter to a fake Swift app, with an injected
clock, flushing into the real Redis at 127.0.0.1:6379 (each test under its own key prefix).

Round trips are counted by the filter's own client (`sws_swift.resp.Redis.round_trips`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from swift.common.swob import Request

from sws_swift.resp import Redis
from sws_swift.usage import UsageMeter, filter_factory

H = 491_000  # an hour index (2026-01-05 08:00 UTC)
T0 = H * 3600.0
DOWN = "redis://127.0.0.1:9/0"  # nothing listens on the discard port


class FakeSwift:
    """Drains a PUT's body; answers GET and HEAD with `size` bytes, a missing object 404."""

    def __init__(self, size: int = 2500) -> None:
        self.size = size

    def __call__(self, env: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if env["REQUEST_METHOD"] == "PUT":
            while env["wsgi.input"].read(300):
                pass
        if env["PATH_INFO"].endswith("/missing"):
            body, status = b"Not Found", "404 Not Found"
        elif env["PATH_INFO"].endswith("/private"):
            body, status = b"Unauthorized", "401 Unauthorized"
        elif env["PATH_INFO"].endswith("/theirs"):
            body, status = b"Forbidden", "403 Forbidden"
        elif env["REQUEST_METHOD"] == "GET":
            body, status = b"g" * self.size, "200 OK"
        elif env["REQUEST_METHOD"] == "HEAD":  # a body the meter must not count
            body, status = b"h" * self.size, "204 OK"
        else:
            body, status = b"", "201 Created" if env["REQUEST_METHOD"] == "PUT" else "204 OK"
        start_response(status, [("Content-Length", str(len(body)))])
        return iter([body[:1000], body[1000:]])


class FakeLogger(logging.LoggerAdapter[logging.Logger]):
    def __init__(self) -> None:
        super().__init__(logging.getLogger("test.sws_usage"), {})
        self.metrics: list[str] = []
        self.warnings: list[str] = []
        self.errors: list[str] = []

    def increment(self, metric: str) -> None:
        self.metrics.append(metric)

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.warnings.append(str(msg) % args)

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.errors.append(str(msg) % args)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis(resp_redis: Redis) -> Redis:
    return resp_redis


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix


def keys_of(redis: Redis, prefix: str) -> list[str]:
    reply = redis.call("KEYS", prefix + "*")
    assert isinstance(reply, list)
    return sorted(key.decode() for key in reply if isinstance(key, bytes))


def fields(redis: Redis, key: str) -> dict[str, int]:
    reply = redis.call("HGETALL", key)
    assert isinstance(reply, list)
    pairs = [item for item in reply if isinstance(item, bytes)]
    return {k.decode(): int(v) for k, v in zip(pairs[::2], pairs[1::2], strict=True)}


def members(redis: Redis, key: str) -> set[str]:
    reply = redis.call("SMEMBERS", key)
    assert isinstance(reply, list)
    return {item.decode() for item in reply if isinstance(item, bytes)}


def make(prefix: str, url: str = "redis://127.0.0.1:6379/0", interval: str = "10") -> UsageMeter:
    conf = {"usage_key_prefix": prefix, "usage_redis_url": url, "usage_flush_interval": interval}
    meter = UsageMeter(FakeSwift(), conf, logger=FakeLogger())
    meter.clock = Clock()
    return meter


def clock(meter: UsageMeter) -> Clock:
    assert isinstance(meter.clock, Clock)
    return meter.clock


def call(
    meter: UsageMeter, path: str = "/v1/AUTH_test/photos/o", method: str = "GET", **kw: Any
) -> tuple[int, bytes]:
    req = Request.blank(path, method=method, **kw)
    status, _, app_iter = req.call_application(meter)
    content = b"".join(app_iter)
    getattr(app_iter, "close", lambda: None)()
    return int(status.split()[0]), content


def test_put_get_head_count_and_account_requests_do_not(redis: Redis, prefix: str) -> None:
    meter = make(prefix)
    assert call(meter, method="PUT", body=b"p" * 1000)[0] == 201
    assert call(meter) == (200, b"g" * 2500)
    assert call(meter, method="HEAD")[0] == 204
    assert call(meter, "/v1/AUTH_test")[0] == 200  # account listing: not counted
    assert call(meter, "/auth/v1.0")[0] == 200
    assert call(meter, "/info")[0] == 200
    assert meter.flush()

    key = f"{prefix}{H}:AUTH_test/photos"
    assert fields(redis, key) == {"requests": 3, "bytes_in": 1000, "bytes_out": 2500}
    assert members(redis, f"{prefix}{H}") == {"AUTH_test/photos"}
    assert keys_of(redis, prefix) == sorted([key, f"{prefix}{H}"])
    for name in (key, f"{prefix}{H}"):
        ttl = redis.call("TTL", name)
        assert isinstance(ttl, int) and 691200 - 5 <= ttl <= 691200


def test_requests_refused_by_authorization_are_not_billed(redis: Redis, prefix: str) -> None:
    meter = make(prefix)
    assert call(meter, "/v1/AUTH_test/photos/private")[0] == 401  # no valid token
    assert call(meter, "/v1/AUTH_test/photos/theirs")[0] == 403  # a token without access
    assert call(meter, "/v1/AUTH_test/photos/missing")[0] == 404  # the owner's own miss
    meter.flush()
    assert fields(redis, f"{prefix}{H}:AUTH_test/photos") == {
        "requests": 1, "bytes_in": 0, "bytes_out": 9,
    }


def test_other_statuses_count_and_names_are_decoded(redis: Redis, prefix: str) -> None:
    meter = make(prefix)
    assert call(meter, "/v1/AUTH_test/caf%C3%A9/missing") == (404, b"Not Found")
    assert call(meter, "/v1/AUTH_test/caf%C3%A9")[0] == 200  # a container listing
    meter.flush()
    assert fields(redis, f"{prefix}{H}:AUTH_test/café") == {
        "requests": 2, "bytes_in": 0, "bytes_out": 9 + 2500,
    }
    assert members(redis, f"{prefix}{H}") == {"AUTH_test/café"}


def test_requests_on_either_side_of_an_hour_land_in_two_hours(redis: Redis, prefix: str) -> None:
    meter = make(prefix, interval="3600")
    clock(meter).now = T0 + 3599.5
    call(meter, method="PUT", body=b"a" * 10)
    clock(meter).now = T0 + 3600.5
    call(meter, method="PUT", body=b"b" * 20)
    assert meter.redis.round_trips == 0
    meter.flush()
    assert meter.redis.round_trips == 1
    assert fields(redis, f"{prefix}{H}:AUTH_test/photos")["bytes_in"] == 10
    assert fields(redis, f"{prefix}{H + 1}:AUTH_test/photos")["bytes_in"] == 20
    assert members(redis, f"{prefix}{H}") == members(redis, f"{prefix}{H + 1}")


def test_one_flush_per_interval_in_one_round_trip(redis: Redis, prefix: str) -> None:
    meter = make(prefix, interval="10")
    for second in range(10):  # 0 .. 9 s after the first request: within the interval
        clock(meter).now = T0 + second
        call(meter, f"/v1/AUTH_test/c{second % 3}/o")
    assert meter.redis.round_trips == 0
    assert keys_of(redis, prefix) == []

    clock(meter).now = T0 + 10  # the first request to finish after the interval flushes
    call(meter, "/v1/AUTH_test/c0/o")
    assert meter.redis.round_trips == 1
    assert [fields(redis, f"{prefix}{H}:AUTH_test/c{i}")["requests"] for i in range(3)] == [
        5, 3, 3,
    ]
    clock(meter).now = T0 + 19.9
    call(meter)
    assert meter.redis.round_trips == 1
    clock(meter).now = T0 + 20
    call(meter)
    assert meter.redis.round_trips == 2
    assert fields(redis, f"{prefix}{H}:AUTH_test/photos")["requests"] == 2


def test_redis_down_keeps_usage_and_delivers_it_once_later(redis: Redis, prefix: str) -> None:
    meter = make(prefix, url=DOWN, interval="10")
    logger = meter.logger
    assert isinstance(logger, FakeLogger)
    assert call(meter, method="PUT", body=b"x" * 700)[0] == 201
    clock(meter).now = T0 + 10
    assert call(meter) == (200, b"g" * 2500)  # flush fails; the request is still served
    clock(meter).now = T0 + 15
    assert call(meter, method="HEAD")[0] == 204  # within the interval: no new attempt
    assert logger.metrics == ["flush_failed"]
    assert len(logger.warnings) == 1
    assert not meter.flush()  # an explicit flush fails too; no second warning this interval
    assert logger.metrics == ["flush_failed"] * 2
    assert len(logger.warnings) == 1
    assert meter.pending == {(H, "AUTH_test/photos"): [3, 700, 2500]}

    meter.redis = Redis.from_url("redis://127.0.0.1:6379/0", timeout=1)  # Redis is back
    clock(meter).now = T0 + 26
    call(meter)
    assert meter.pending == {}
    assert meter.flush()
    key = f"{prefix}{H}:AUTH_test/photos"
    assert fields(redis, key) == {"requests": 4, "bytes_in": 700, "bytes_out": 5000}
    assert meter.redis.round_trips == 1  # the second flush had nothing to send


def test_a_write_redis_refuses_is_logged_and_not_retried(redis: Redis, prefix: str) -> None:
    key = f"{prefix}{H}:AUTH_test/photos"
    redis.call("SET", key, "not a hash")
    meter = make(prefix)
    call(meter)
    call(meter, "/v1/AUTH_test/other")
    assert meter.flush()  # the transaction ran; one container's increments were refused
    logger = meter.logger
    assert isinstance(logger, FakeLogger)
    assert logger.errors and "WRONGTYPE" in logger.errors[0]
    assert meter.pending == {}
    assert fields(redis, f"{prefix}{H}:AUTH_test/other")["requests"] == 1


def test_recorded_once_whether_the_iterator_ends_or_the_response_closes(prefix: str) -> None:
    meter = make(prefix, url=DOWN)
    req = Request.blank("/v1/AUTH_test/photos/o")
    app_iter = meter(req.environ, lambda *args: None)
    assert b"".join(app_iter) == b"g" * 2500  # reiterate style: only the iterator is consumed
    assert meter.pending == {(H, "AUTH_test/photos"): [1, 0, 2500]}
    assert hasattr(app_iter, "close")
    app_iter.close()
    assert meter.pending == {(H, "AUTH_test/photos"): [1, 0, 2500]}


def test_a_raising_app_still_counts_the_request(prefix: str) -> None:
    def broken(env: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        env["wsgi.input"].read()
        raise RuntimeError("proxy failure")

    meter = UsageMeter(broken, {"usage_key_prefix": prefix}, logger=FakeLogger())
    meter.clock = Clock()
    req = Request.blank("/v1/AUTH_test/photos/o", method="PUT", body=b"z" * 42)
    with pytest.raises(RuntimeError):
        meter(req.environ, lambda *args: None)
    assert meter.pending == {(H, "AUTH_test/photos"): [1, 42, 0]}


def test_filter_factory_reads_the_options() -> None:
    meter = filter_factory(
        {}, usage_redis_url="redis://127.0.0.1:6390/3", usage_redis_timeout="0.5",
        usage_key_prefix="p:", usage_flush_interval="2",
    )(FakeSwift())
    assert isinstance(meter, UsageMeter)
    redis = meter.redis
    assert (redis.address, redis.db, redis.timeout) == (("127.0.0.1", 6390), 3, 0.5)
    assert (meter.prefix, meter.flush_interval) == ("p:", 2.0)
    default = filter_factory({})(FakeSwift())
    assert (default.redis.address, default.redis.db) == (("127.0.0.1", 6379), 0)
    assert (default.prefix, default.flush_interval, default.redis.timeout) == ("swsusage:", 10, 0.1)
