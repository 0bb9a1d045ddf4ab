"""
=====================
Container usage meter
=====================

Per-container usage of a Swift proxy, for billing, written by SWS: for every container and
clock hour (UTC), the number of **requests**, the **bytes in** (request bodies: uploads) and the
**bytes out** (response bodies: downloads, egress). Every proxy and worker adds its counts to
the same Redis, where SWS reads them (``sws.drivers.openstack.swift_usage``).

--------
Pipeline
--------

Place ``sws_usage`` right after ``sws_firewall`` (so a request the firewall refuses is not
billed: only requests it lets through are usage), after the auth middleware, and before
``copy``, ``slo``, ``dlo`` and ``versioned_writes`` (so that only client requests are counted
and a large-object download is counted whole, as one request)::

    [pipeline:main]
    pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats
               bulk tempurl ratelimit tempauth sws_firewall sws_usage copy container-quotas
               account-quotas slo dlo versioned_writes symlink proxy-logging proxy-server

    [filter:sws_usage]
    use = egg:sws_swift_middleware#sws_usage
    # or: paste.filter_factory = sws_swift.usage:filter_factory
    usage_redis_url = redis://127.0.0.1:6379/0

Every proxy of a region must use the same ``usage_redis_url`` and ``usage_key_prefix``.

-------------
Configuration
-------------

===================== ========================= =================================================
Option                Default                   Description
--------------------- ------------------------- -------------------------------------------------
usage_redis_url       redis://127.0.0.1:6379/0  ``redis://[:password@]host[:port][/db]`` or
                                                ``unix://[:password@]/path[?db=N]``. The filter
                                                speaks RESP itself (``sws_swift.resp``).
usage_redis_timeout   0.1                       Seconds to connect or answer before a flush
                                                counts as failed.
usage_key_prefix      swsusage:                 Prefix of every key (see below).
usage_flush_interval  10                        Seconds between flushes of this worker's counts.
===================== ========================= =================================================

StatsD counter (with ``log_statsd_host``): ``sws_usage.flush_failed``.

------------
What counts
------------

- Every request to ``/v1/<account>/<container>[/<object>]`` (any valid API version) that reaches
  this filter, whatever status the rest of the pipeline answers (404 and 5xx included),
  except ``401`` and ``403``: tempauth and keystoneauth pass requests without a valid token
  (or without access to the account) on to be refused by the proxy server's authorization
  check, and nobody's bill should grow because a stranger knocks. Account requests
  (``/v1/<account>``), ``/auth`` and ``/info`` are not counted; nor are the proxy's container
  and account info lookups, which go straight to the proxy server. Sub-requests that
  middlewares to the left make on a client's behalf (``bulk`` extract and delete,
  ``formpost``, ``staticweb``) pass through and count.
- Bytes in: the request body as the pipeline reads it. Bytes out: the response body as it is
  handed to the WSGI server (a client that disconnects mid-download is charged what was sent
  until then, within the server's buffer). A ``HEAD`` counts one request and no bytes.
- A request is recorded once, when its response closes (or its body iterator ends), in the hour
  of that moment: a download running across an hour boundary counts in the hour it ends.

------------
Redis format
------------

For the hour ``h = int(now // 3600)`` (hours since the epoch, UTC) and each container with
usage in it::

    HINCRBY {prefix}{h}:{account}/{container}  requests  N
    HINCRBY {prefix}{h}:{account}/{container}  bytes_in  N
    HINCRBY {prefix}{h}:{account}/{container}  bytes_out N
    SADD    {prefix}{h}  {account}/{container}
    EXPIRE  both keys 691200   (8 days, renewed by each flush)

``account`` and ``container`` are the decoded names from the path (``AUTH_abc/photos``; UTF-8
in Redis). SWS adds its storage samples (``byte_samples``, ``samples``) to the same hashes.

---------------------
Flushes and accuracy
---------------------

Counting costs no Redis I/O: each worker adds to counts in memory per hour and container. The
first request to finish once ``usage_flush_interval`` seconds have passed since the worker's
last flush sends them all in ONE round trip (one ``MULTI`` ... ``EXEC`` transaction, so Redis
applies a flush whole or not at all). An idle worker flushes with its next request, and at
exit (best effort).

When Redis cannot be reached, the request is still served; the counts stay in memory (merged
with newer ones), one warning is logged per interval, the StatsD counter is incremented, and
the flush is tried again after the interval. Nothing is counted twice, except in one case: a
flush that Redis applied but whose reply did not arrive within ``usage_redis_timeout`` is sent
again.

Loss bound: a worker that dies loses at most the usage it recorded since its last flush, i.e.
its last ``usage_flush_interval`` seconds (more only while Redis was unreachable). Counts for an
hour keep arriving until ``usage_flush_interval`` after it ends (from an idle worker, with its
next request), so the reader should wait a few minutes after an hour ends before reading it
(SWS waits 5 minutes).
"""

from __future__ import annotations

import atexit
import contextlib
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from swift.common.registry import register_swift_info
from swift.common.swob import wsgi_to_str
from swift.common.utils import get_logger

from sws_swift.resp import Arg, Redis, Reply, ReplyError
from sws_swift.usage_keys import add_to_hour, hour_of, keep_hour
from sws_swift.wsgi import CountedBody, CountingInput, container_path

Env = dict[str, Any]
StartResponse = Callable[..., Any]
Usage = dict[tuple[int, str], list[int]]  # (hour, 'account/container') -> [requests, in, out]

UNBILLED = frozenset({"401", "403"})  # refused by authorization: a stranger's request


class UsageMeter:
    """WSGI middleware counting requests and body bytes per container and hour into Redis."""

    def __init__(self, app: Any, conf: dict[str, str], logger: Any = None) -> None:
        self.app = app
        self.logger = logger or get_logger(conf, log_route="sws_usage")
        self.prefix = conf.get("usage_key_prefix", "swsusage:")
        self.redis = Redis.from_url(
            conf.get("usage_redis_url", "redis://127.0.0.1:6379/0"),
            timeout=float(conf.get("usage_redis_timeout", 0.1)),
        )
        self.flush_interval = float(conf.get("usage_flush_interval", 10))
        self.clock: Callable[[], float] = time.time
        self.pending: Usage = {}
        self._last_flush: float | None = None
        self._warned_at = float("-inf")
        atexit.register(_flush_at_exit, weakref.ref(self))

    def __call__(self, env: Env, start_response: StartResponse) -> Iterable[bytes]:
        path = container_path(env.get("PATH_INFO", ""))
        if path is None:
            return self.app(env, start_response)  # type: ignore[no-any-return]
        container = str(wsgi_to_str(path))
        tally = _Tally(self, container, count_out=env.get("REQUEST_METHOD") != "HEAD")
        env["wsgi.input"] = CountingInput(env["wsgi.input"], tally)

        def starting(status: str, headers: Any, exc_info: Any = None) -> Any:
            tally.refused = status[:3] in UNBILLED
            return start_response(status, headers, exc_info)

        try:
            tally.app_iter = self.app(env, starting)
        except BaseException:
            tally.close()
            raise
        return tally

    # --- recording ------------------------------------------------------------------------

    def record(self, container: str, bytes_in: int, bytes_out: int) -> None:
        """Add one finished request; flush if the interval has passed. Never raises."""
        now = self.clock()
        slot = self.pending.setdefault((hour_of(now), container), [0, 0, 0])
        slot[0] += 1
        slot[1] += bytes_in
        slot[2] += bytes_out
        if self._last_flush is None:  # the interval starts with the first request
            self._last_flush = now
        if now - self._last_flush >= self.flush_interval:
            self.flush()

    def flush(self) -> bool:
        """Send every pending count in one round trip; False (counts kept) if Redis failed."""
        now = self.clock()
        self._last_flush = now
        if not self.pending:
            return True
        # Taken out before the I/O: greenthreads that finish meanwhile add to a fresh dict.
        batch, self.pending = self.pending, {}
        try:
            replies = self.redis.pipeline(self.commands(batch))
            _check_applied(replies)
        except (OSError, ReplyError) as exc:
            self._keep(batch)
            self._failed(now, exc)
            return False
        self._report_write_errors(replies[-1])
        return True

    def commands(self, batch: Usage) -> list[Sequence[Arg]]:
        """The flush of `batch` as one MULTI ... EXEC transaction."""
        commands: list[Sequence[Arg]] = [("MULTI",)]
        for (hour, container), (requests, bytes_in, bytes_out) in batch.items():
            counts = {"requests": requests, "bytes_in": bytes_in, "bytes_out": bytes_out}
            commands += add_to_hour(self.prefix, hour, container, counts)
        commands += [keep_hour(self.prefix, h) for h in sorted({hour for hour, _ in batch})]
        commands.append(("EXEC",))
        return commands

    def _keep(self, batch: Usage) -> None:
        """Put a batch that did not reach Redis back, merged with what came since."""
        for slot_key, counts in batch.items():
            slot = self.pending.setdefault(slot_key, [0, 0, 0])
            for i, value in enumerate(counts):
                slot[i] += value

    def _failed(self, now: float, exc: Exception) -> None:
        self.logger.increment("flush_failed")
        if now - self._warned_at >= max(self.flush_interval, 1.0):
            self._warned_at = now
            self.logger.warning(
                "sws_usage: cannot flush usage to Redis, keeping it for the next try: %s", exc
            )

    def _report_write_errors(self, executed: Reply) -> None:
        """Commands that Redis ran and refused (e.g. a key of another type): not retried."""
        assert isinstance(executed, list)  # _check_applied made sure
        errors = [str(reply) for reply in executed if isinstance(reply, ReplyError)]
        if errors:
            self.logger.error(
                "sws_usage: Redis refused %d usage writes: %s", len(errors), errors[0]
            )


def _check_applied(replies: list[Reply]) -> None:
    """Raise unless EXEC ran the transaction (an aborted one changed nothing)."""
    executed = replies[-1] if replies else None
    if isinstance(executed, ReplyError):
        raise executed
    if not isinstance(executed, list):
        raise ReplyError(f"EXEC answered {executed!r:.80}")


def _flush_at_exit(meter: weakref.ref[UsageMeter]) -> None:
    alive = meter()
    if alive is None or not alive.pending:
        return
    with contextlib.suppress(Exception):  # best effort at interpreter exit
        alive.flush()


class _Tally(CountedBody):
    """The response body; on close, records the request unless authorization refused it."""

    __slots__ = ("container", "count_out", "meter", "refused")

    def __init__(self, meter: UsageMeter, container: str, count_out: bool) -> None:
        super().__init__()
        self.refused = False  # answered 401/403: not the account owner's request
        self.meter = meter
        self.container = container
        self.count_out = count_out

    def finished(self) -> None:
        if not self.refused:
            out = self.bytes_out if self.count_out else 0
            self.meter.record(self.container, self.bytes_in, out)


def filter_factory(global_conf: dict[str, str], **local_conf: str) -> Callable[[Any], Any]:
    """paste.deploy entry point: `use = egg:sws_swift_middleware#sws_usage`."""
    conf = {**global_conf, **local_conf}
    register_swift_info("sws_usage")

    def sws_usage(app: Any) -> UsageMeter:
        return UsageMeter(app, conf)

    return sws_usage


__all__ = ["UsageMeter", "filter_factory"]
