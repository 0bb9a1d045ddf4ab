"""
================
Storage firewall
================

Per-container IP filtering and per-source-IP limits for a Swift proxy, written by SWS.

Each container may carry a firewall in its system metadata:

- a **whitelist** of up to 100 IPs or CIDR masks (IPv4 or IPv6). A listed address skips every
  other rule, even if it is also blacklisted. A whitelist marked **exclusive** refuses every
  address that is not listed;
- a **blacklist** of up to 100 IPs or CIDR masks, refused;
- **request limits** per source IP: at most N requests per 5 minutes and/or per 24 hours;
- **traffic limits** per source IP: at most N MB (10^6 bytes) per 5 minutes and/or 24 hours,
  counting request bodies (uploads) and response bodies (downloads).

Answers: ``403`` for a blacklisted address or one missing from an exclusive whitelist; ``429``
with ``Retry-After`` (seconds to the end of the window) over a limit; ``400`` when a trusted
proxy's ``X-Forwarded-For`` has a hop that is not an address (see ``trusted_proxies``). The
plain-text body names the rule that refused. Account requests, auth requests and containers
without a firewall pass untouched.

Windows are fixed and aligned to the epoch (``now // 300``, ``now // 86400``). Every request
that reaches the limit check counts, refused ones included. Bytes are counted as they flow and
charged when the response closes, so the request that crosses a traffic budget completes and the
next one is refused.

With ``counter_backend = redis`` and ``redis_mode = exact`` (the default) every counted request
costs exactly one Redis round trip (one pipeline of ``INCRBY`` + ``EXPIREAT``). The bytes of a
finished request are not sent when it closes: they are carried into the next round trip this
worker makes for the same container and client address, before that request is decided, so one
client talking to one proxy worker sees exactly the semantics above. Other proxies and workers
see the bytes once they are sent: with that next request, or with the first counted request (of
any container) this worker serves once its oldest unsent charge is ``byte_flush_interval``
seconds old. A traffic limit can therefore be exceeded by at most the bytes of the requests
that finished on each other worker since its last round trip (one request's bytes for a client
that waits for each answer), plus what that client moves through other proxies during
``byte_flush_interval``. An idle worker keeps its unsent bytes until its next counted request.
Request limits are exact across proxies.

With ``redis_mode = batched`` a request is decided with no round trip, on this worker's counts
plus the global totals Redis gave back on its last round trip; a background thread sends the
deltas every ``sync_interval`` seconds (or ``sync_batch`` requests) in one pipelined round trip
and reads the totals back. Near a limit, that key's requests are checked synchronously. With P
workers, sync interval I and a rate R from one address to one container, at most
``N * 1.01 + P * I * R`` requests are admitted in a window over a limit of N (see
``sws_swift.budget``).

--------
Pipeline
--------

Place ``sws_firewall`` after the auth middleware and before ``proxy-server`` (and before
``copy``, ``slo``, ``dlo`` and ``versioned_writes``, so that only client requests are counted
and large-object downloads are counted whole)::

    [pipeline:main]
    pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats
               bulk tempurl ratelimit tempauth sws_firewall copy container-quotas
               account-quotas slo dlo versioned_writes symlink proxy-logging proxy-server

    [filter:sws_firewall]
    use = egg:sws_swift_middleware#sws_firewall
    # or: paste.filter_factory = sws_swift.middleware:filter_factory

``gatekeeper`` must stay in the pipeline: it strips sysmeta headers sent by clients, so only
SWS can write rules.

-------------
Configuration
-------------

======================= ========================= ===============================================
Option                  Default                   Description
----------------------- ------------------------- -----------------------------------------------
counter_backend         local                     ``local``: counters in this worker process
                                                  (exact for one proxy with ``workers = 1``).
                                                  ``redis``: counters shared by every proxy and
                                                  worker; one round trip per request.
byte_flush_interval     1                         Seconds after which a worker sends the bytes
                                                  it measured for every container and address
                                                  with its next counted request (see above).
redis_url               redis://127.0.0.1:6379/0  Redis for ``counter_backend = redis``:
                                                  ``redis://[:password@]host[:port][/db]`` or
                                                  ``unix://[:password@]/path[?db=N]``. The
                                                  middleware speaks RESP itself
                                                  (``sws_swift.resp``): no Redis library needed.
redis_key_prefix        swsfw:                    Prefix of every counter key.
redis_mode              exact                     ``exact``: one round trip per counted request.
                                                  ``batched``: decided locally, synced in the
                                                  background (bounded overshoot, see above).
sync_interval           0.1                       ``batched``: seconds between round trips.
sync_batch              1000                      ``batched``: a round trip also starts after
                                                  this many counted requests.
redis_timeout           0.1                       Seconds to connect or answer before the
                                                  backend counts as down.
backend_retry_interval  1                         After a backend failure, seconds during which
                                                  the backend is not tried again (requests
                                                  follow ``failure_mode`` meanwhile; one warning
                                                  is logged per interval).
failure_mode            open                      ``open``: when counters are unavailable or a
                                                  container's rules are unreadable, let the
                                                  request through (logged warning, StatsD
                                                  counter). ``closed``: answer ``503``.
trusted_proxies         (none)                    Comma-separated CIDRs of load balancers whose
                                                  ``X-Forwarded-For`` is believed. The client
                                                  is the rightmost hop not in this list; hops
                                                  may carry ports (``ip:port``,
                                                  ``[v6]:port``). A hop that must be read and
                                                  is not an address answers ``400``. From any
                                                  other peer the header is ignored and
                                                  ``REMOTE_ADDR`` is used.
exempt_sources          (none)                    Comma-separated CIDRs no container's rules
                                                  apply to (no list, no limit): the operator's
                                                  CDN edges, which fetch container origins for
                                                  every visitor of a distribution. Every other
                                                  address is judged by the tenant's rules.
rules_cache_size        4096                      Distinct compiled rule sets kept in memory.
======================= ========================= ===============================================

StatsD counters (with ``log_statsd_host``): ``sws_firewall.denied``, ``sws_firewall.limited``,
``sws_firewall.backend_unavailable``, ``sws_firewall.rules_unreadable``,
``sws_firewall.bad_forwarded_for``.

--------------------------
Rules in container sysmeta
--------------------------

SWS writes the rules with one container POST that carries, for example::

    X-Container-Sysmeta-Sws-Fw-Version:   1
    X-Container-Sysmeta-Sws-Fw-Allow:     203.0.113.0/24,2001:db8::/32
    X-Container-Sysmeta-Sws-Fw-Exclusive: true
    X-Container-Sysmeta-Sws-Fw-Deny:      192.0.2.7
    X-Container-Sysmeta-Sws-Fw-Limits:    requests/300=5000,requests/86400=500000,mb/300=100

Empty values remove the firewall. Clients cannot send these headers through the public
pipeline (gatekeeper removes them); SWS writes them through a pipeline without gatekeeper: an
``InternalClient`` or an internal-only proxy. ``sws_swift.rules.to_sysmeta_headers`` builds them.

The middleware reads the rules from ``get_container_info``: from the request's info cache, then
memcache, then a HEAD to the container servers. A change therefore takes effect at once on
proxies sharing the memcache that the writing pipeline cleared, and everywhere within
``recheck_container_existence`` seconds (proxy-server option, default 60). Compiled rules are
cached by their sysmeta text, so unchanged rules are never re-parsed.

Malformed rules (which SWS never writes) are logged once per distinct value and handled by
``failure_mode``; they never cause a 500.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from swift.common.registry import register_swift_info
from swift.common.swob import wsgi_to_str
from swift.common.utils import get_logger, list_from_csv
from swift.proxy.controllers.base import get_cache_key, get_container_info

from sws_swift.budget import BatchedCounters
from sws_swift.counters import BackendDown, Counters, LocalCounters, RedisCounters
from sws_swift.rules import (
    UNKNOWN,
    Address,
    CompiledRules,
    IPSet,
    Limit,
    RuleError,
    address_key,
    compile_rules,
    exceeded,
    from_sysmeta,
    limit_reason,
    parse_hop,
    parse_ip,
    refusal_text,
    screen,
    sysmeta_key,
    within,
)
from sws_swift.wsgi import CountedBody, CountingInput, container_path

Env = dict[str, Any]
StartResponse = Callable[..., Any]


class StorageFirewall:
    """WSGI middleware enforcing the container firewall kept in container sysmeta."""

    def __init__(self, app: Any, conf: dict[str, str], logger: Any = None) -> None:
        self.app = app
        self.logger = logger or get_logger(conf, log_route="sws_firewall")
        self.fail_closed = _failure_mode(conf.get("failure_mode", "open"))
        self.trusted = IPSet(list_from_csv(conf.get("trusted_proxies", "")))
        self.exempt = IPSet(list_from_csv(conf.get("exempt_sources", "")))
        self.counters: Counters = make_counters(conf)
        self.retry_interval = float(conf.get("backend_retry_interval", 1))
        self.cache_size = int(conf.get("rules_cache_size", 4096))
        self.clock: Callable[[], float] = time.time
        self.stats: Counter[str] = Counter()
        self._compiled: dict[tuple[str, ...], CompiledRules | None] = {}
        self._down_until = 0.0
        # Per-worker memos, bounded: 'account/container' -> infocache key (native strings),
        # REMOTE_ADDR -> (parsed address, its counter-key text).
        self._cache_keys: dict[str, str] = {}
        self._peers: dict[str, tuple[Address, str]] = {}

    def __call__(self, env: Env, start_response: StartResponse) -> Iterable[bytes]:
        container = container_path(env.get("PATH_INFO", ""))
        if container is None:
            return self.app(env, start_response)  # type: ignore[no-any-return]
        key = sysmeta_key(self._sysmeta(env, container))
        if key is None:
            return self.app(env, start_response)  # type: ignore[no-any-return]
        rules = self._rules(key, container)
        if rules is None:
            return self._unavailable(env, start_response, "rules_unreadable", "are unreadable")
        return self._enforce(env, start_response, container, rules)

    def _enforce(
        self, env: Env, start_response: StartResponse, container: str, rules: CompiledRules
    ) -> Iterable[bytes]:
        client = self._client(env)
        if client is None:
            return self._bad_forwarded_for(env, start_response)
        address, client_key = client
        # sws_swift.rules.screen, inlined on this hot path (the simulated store calls screen).
        if address in rules.allow or address in self.exempt:
            return self.app(env, start_response)  # type: ignore[no-any-return]
        if rules.exclusive or address in rules.deny:
            refusal = screen(rules, address)[1]
            return self._deny(env, start_response, refusal or "")
        if not rules.counted:
            return self.app(env, start_response)  # type: ignore[no-any-return]
        return self._count(env, start_response, container + "|" + client_key, rules)

    # --- rules ----------------------------------------------------------------------------

    def _sysmeta(self, env: Env, container: str) -> dict[str, str]:
        """The container's sysmeta, read in place from swift.infocache when it is there.

        get_container_info deep-copies the cached info on every call; we only read it, so a
        hit in the request's infocache costs a dict lookup. On a miss, get_container_info
        fills the infocache (from memcache, or a HEAD), where the proxy server finds it next.
        """
        cache_key = self._cache_keys.get(container)
        if cache_key is None:
            if len(self._cache_keys) >= self.cache_size:
                self._cache_keys.clear()
            account, name = (wsgi_to_str(part) for part in container.split("/", 1))
            cache_key = self._cache_keys[container] = get_cache_key(account, name)
        info = (env.get("swift.infocache") or {}).get(cache_key)
        if info is None:
            info = get_container_info(env, self.app, swift_source="SWSFW")
        return info.get("sysmeta") or {}

    def _rules(self, key: tuple[str, ...], container: str) -> CompiledRules | None:
        try:
            return self._compiled[key]
        except KeyError:
            pass
        compiled = None
        try:
            compiled = compile_rules(from_sysmeta(key))
        except RuleError as exc:
            self.logger.error("sws_firewall: unreadable rules on %s: %s (%r)", container, exc, key)
        if len(self._compiled) >= self.cache_size:
            del self._compiled[next(iter(self._compiled))]
        self._compiled[key] = compiled
        return compiled

    def _client(self, env: Env) -> tuple[Address, str] | None:
        """The client address and its counter-key text (REMOTE_ADDR alone is memoised); None
        when a trusted proxy's X-Forwarded-For has a hop that is not an address."""
        if "HTTP_X_FORWARDED_FOR" in env and self.trusted:
            address = self.client_address(env)
            return None if address is None else (address, address_key(address))
        remote = env.get("REMOTE_ADDR", "")
        peer = self._peers.get(remote)
        if peer is None:
            if len(self._peers) >= 65536:
                self._peers.clear()
            address = parse_ip(remote) or UNKNOWN
            peer = self._peers[remote] = (address, address_key(address))
        return peer

    def client_address(self, env: Env) -> Address | None:
        """REMOTE_ADDR, or behind trusted proxies the rightmost X-Forwarded-For hop that is not
        one of them (the leftmost hop if all are); None if a hop on the way is unparseable.

        Hops may carry ports (`ip:port`, `[v6]:port`). Header lines sent twice arrive joined
        with "," (eventlet.wsgi joins repeated headers), so every line counts.
        """
        address = parse_ip(env.get("REMOTE_ADDR", "")) or UNKNOWN
        forwarded = env.get("HTTP_X_FORWARDED_FOR")
        if forwarded is None or address is UNKNOWN or address not in self.trusted:
            return address
        for hop in reversed(forwarded.split(",")):
            parsed = parse_hop(hop)
            if parsed is None:
                return None
            address = parsed
            if parsed not in self.trusted:
                break
        return address

    # --- limits ---------------------------------------------------------------------------

    def _count(
        self, env: Env, start_response: StartResponse, key: str, rules: CompiledRules
    ) -> Iterable[bytes]:
        now = self.clock()
        try:
            if now < self._down_until:
                raise BackendDown("within backend_retry_interval of the last failure")
            requests, nbytes = self.counters.observe(
                key,
                now,
                rules.request_windows,
                rules.byte_windows,
                rules.request_caps,
                rules.byte_caps,
            )
        except BackendDown as exc:
            if now >= self._down_until:
                self._mark_down(now, exc)
            return self._backend_down(env, start_response)
        if within(rules, requests, nbytes):
            if not rules.byte_windows:
                return self.app(env, start_response)  # type: ignore[no-any-return]
            return self._metered(env, start_response, key, rules.byte_windows)
        limit, retry_after = exceeded(rules, requests, nbytes, now)
        return self._limited(env, start_response, limit, retry_after)

    def charge(self, key: str, windows: tuple[int, ...], nbytes: int) -> None:
        """Charge a finished request's bytes (the Redis backend sends them with a later call)."""
        now = self.clock()
        if nbytes <= 0 or now < self._down_until:
            return
        try:
            self.counters.charge(key, now, windows, nbytes)
        except BackendDown as exc:
            self._mark_down(now, exc)
            self._note("backend_unavailable")

    def _mark_down(self, now: float, exc: BackendDown) -> None:
        self._down_until = now + self.retry_interval
        mode = "closed" if self.fail_closed else "open"
        self.logger.warning("sws_firewall: counter backend unavailable, failing %s: %s", mode, exc)

    def _metered(
        self, env: Env, start_response: StartResponse, key: str, windows: tuple[int, ...]
    ) -> Iterable[bytes]:
        metered = _Metered(self, key, windows)
        env["wsgi.input"] = CountingInput(env["wsgi.input"], metered)
        try:
            metered.app_iter = self.app(env, start_response)
        except BaseException:
            metered.close()
            raise
        return metered

    # --- answers --------------------------------------------------------------------------

    def _backend_down(self, env: Env, start_response: StartResponse) -> Iterable[bytes]:
        return self._unavailable(env, start_response, "backend_unavailable", "cannot be counted")

    def _unavailable(
        self, env: Env, start_response: StartResponse, metric: str, what: str
    ) -> Iterable[bytes]:
        self._note(metric)
        if not self.fail_closed:
            return self.app(env, start_response)  # type: ignore[no-any-return]
        message = f"this container's firewall rules {what} right now"
        return _answer(env, start_response, "503 Service Unavailable", message)

    def _bad_forwarded_for(self, env: Env, start_response: StartResponse) -> Iterable[bytes]:
        self._note("bad_forwarded_for")
        reason = "the X-Forwarded-For from a trusted proxy has a hop that is not an IP address"
        return _answer(env, start_response, "400 Bad Request", reason)

    def _deny(self, env: Env, start_response: StartResponse, reason: str) -> Iterable[bytes]:
        self._note("denied")
        return _answer(env, start_response, "403 Forbidden", reason)

    def _limited(
        self, env: Env, start_response: StartResponse, limit: Limit, retry: int
    ) -> Iterable[bytes]:
        self._note("limited")
        reason = limit_reason(limit, retry)
        headers = [("Retry-After", str(retry))]
        return _answer(env, start_response, "429 Too Many Requests", reason, headers)

    def _note(self, metric: str) -> None:
        self.stats[metric] += 1
        self.logger.increment(metric)


def _answer(
    env: Env,
    start_response: StartResponse,
    status: str,
    reason: str,
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    """A plain-text refusal; a HEAD gets the headers only."""
    body = (refusal_text(reason) + "\n").encode()
    headers = [("Content-Type", "text/plain; charset=UTF-8"), ("Content-Length", str(len(body)))]
    start_response(status, headers + (extra or []))
    return [b""] if env.get("REQUEST_METHOD") == "HEAD" else [body]


def _failure_mode(value: str) -> bool:
    if value not in ("open", "closed"):
        raise ValueError(f"sws_firewall: failure_mode must be open or closed, not {value!r}")
    return value == "closed"


def make_counters(conf: dict[str, str]) -> Counters:
    backend = conf.get("counter_backend", "local")
    if backend == "local":
        return LocalCounters()
    if backend == "redis":
        return _redis_counters(conf)
    raise ValueError(f"sws_firewall: counter_backend must be local or redis, not {backend!r}")


def _redis_counters(conf: dict[str, str]) -> Counters:
    url = conf.get("redis_url", "redis://127.0.0.1:6379/0")
    prefix = conf.get("redis_key_prefix", "swsfw:")
    timeout = float(conf.get("redis_timeout", 0.1))
    mode = conf.get("redis_mode", "exact")
    if mode == "exact":
        flush_interval = float(conf.get("byte_flush_interval", 1))
        return RedisCounters.from_url(url, prefix, timeout, flush_interval)
    if mode == "batched":
        interval = float(conf.get("sync_interval", 0.1))
        batch = int(conf.get("sync_batch", 1000))
        if interval <= 0 or batch <= 0:
            raise ValueError("sws_firewall: sync_interval and sync_batch must be > 0")
        return BatchedCounters.from_url(url, prefix, timeout, interval, batch)
    raise ValueError(f"sws_firewall: redis_mode must be exact or batched, not {mode!r}")


class _Metered(CountedBody):
    """The response body; on close, charges the request's bytes, upload and download alike."""

    __slots__ = ("firewall", "key", "windows")

    def __init__(self, firewall: StorageFirewall, key: str, windows: tuple[int, ...]) -> None:
        super().__init__()
        self.firewall = firewall
        self.key = key
        self.windows = windows

    def finished(self) -> None:
        self.firewall.charge(self.key, self.windows, self.bytes_in + self.bytes_out)


def filter_factory(global_conf: dict[str, str], **local_conf: str) -> Callable[[Any], Any]:
    """paste.deploy entry point: `use = egg:sws_swift_middleware#sws_firewall`."""
    conf = {**global_conf, **local_conf}
    _failure_mode(conf.get("failure_mode", "open"))
    register_swift_info("sws_firewall", windows=[300, 86400], max_entries=100)

    def sws_firewall(app: Any) -> StorageFirewall:
        return StorageFirewall(app, conf)

    return sws_firewall


__all__ = ["StorageFirewall", "filter_factory"]
