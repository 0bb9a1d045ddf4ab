"""Fixed-window counters for the storage firewall: in-process, or shared through Redis.

A counter key names one container and one source IP. Every window (300 s or 86,400 s) is
aligned to the epoch: the window of time `t` is `t // window`. A backend offers two calls:

- `observe` counts one request in each request window and reads the bytes already charged in
  each byte window; with Redis it is ONE pipelined round trip;
- `charge` adds the bytes of a finished request to each byte window.

A backend that cannot answer raises `BackendDown`; the middleware then applies its
fail-open/fail-closed setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class BackendDown(Exception):
    """The counter backend did not answer."""


class Counters(Protocol):
    def observe(
        self, key: str, now: float, request_windows: Sequence[int], byte_windows: Sequence[int]
    ) -> tuple[list[int], list[int]]:
        """Count a request; return (requests so far incl. this one, bytes so far) per window."""

    def charge(self, key: str, now: float, byte_windows: Sequence[int], nbytes: int) -> None:
        """Add `nbytes` to the key's byte counter in each window."""


class LocalCounters:
    """Counters in this process only: exact for one proxy worker, no network round trip.

    Each window size keeps only its current window; the previous one is dropped whole when
    the clock crosses into the next, so memory is bounded by the keys seen in one window.
    """

    def __init__(self) -> None:
        self._windows: dict[int, tuple[int, dict[str, list[int]]]] = {}

    def _slot(self, key: str, now: float, window: int) -> list[int]:
        index = int(now // window)
        current = self._windows.get(window)
        if current is None or current[0] != index:
            current = (index, {})
            self._windows[window] = current
        slot = current[1].get(key)
        if slot is None:
            slot = current[1][key] = [0, 0]
        return slot

    def observe(
        self, key: str, now: float, request_windows: Sequence[int], byte_windows: Sequence[int]
    ) -> tuple[list[int], list[int]]:
        requests = []
        for window in request_windows:
            slot = self._slot(key, now, window)
            slot[0] += 1
            requests.append(slot[0])
        return requests, [self._slot(key, now, window)[1] for window in byte_windows]

    def charge(self, key: str, now: float, byte_windows: Sequence[int], nbytes: int) -> None:
        for window in byte_windows:
            self._slot(key, now, window)[1] += nbytes


class RedisCounters:
    """Counters shared by every proxy through one Redis; each key expires after its window."""

    GRACE = 60  # seconds a window's keys outlive the window, for clocks that disagree a little

    def __init__(self, client: Any, prefix: str = "swsfw:") -> None:
        self._client = client
        self._prefix = prefix
        from redis.exceptions import RedisError

        self._errors: tuple[type[BaseException], ...] = (RedisError, OSError)

    @classmethod
    def from_url(cls, url: str, prefix: str, timeout: float) -> RedisCounters:
        import redis

        client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False
        )
        return cls(client, prefix)

    def _key(self, kind: str, key: str, now: float, window: int) -> tuple[str, int]:
        index = int(now // window)
        return f"{self._prefix}{kind}:{window}:{index}:{key}", (index + 1) * window + self.GRACE

    def observe(
        self, key: str, now: float, request_windows: Sequence[int], byte_windows: Sequence[int]
    ) -> tuple[list[int], list[int]]:
        pipe = self._client.pipeline(transaction=False)
        for window in request_windows:
            name, expires = self._key("r", key, now, window)
            pipe.incr(name)
            pipe.expireat(name, expires)
        for window in byte_windows:
            pipe.get(self._key("b", key, now, window)[0])
        results = self._execute(pipe)
        requests = [int(value) for value in results[: 2 * len(request_windows) : 2]]
        return requests, [int(value or 0) for value in results[2 * len(request_windows) :]]

    def charge(self, key: str, now: float, byte_windows: Sequence[int], nbytes: int) -> None:
        pipe = self._client.pipeline(transaction=False)
        for window in byte_windows:
            name, expires = self._key("b", key, now, window)
            pipe.incrby(name, nbytes)
            pipe.expireat(name, expires)
        self._execute(pipe)

    def _execute(self, pipe: Any) -> list[Any]:
        try:
            return list(pipe.execute())
        except self._errors as exc:
            raise BackendDown(f"redis: {type(exc).__name__}: {exc}") from exc
