"""Fixed-window counters for the storage firewall: in-process, or shared through Redis.

A counter key names one container and one source IP. Every window (300 s or 86,400 s) is
aligned to the epoch: the window of time `t` is `t // window`. A backend offers two calls:

- `observe` counts one request in each request window and returns the bytes charged so far in
  each byte window;
- `charge` adds the bytes of a finished request to each byte window.

`LocalCounters` does both in memory at once. `RedisCounters` (``redis_mode = exact``) keeps the
round-trip budget of ONE Redis round trip per request: `charge` only records the bytes in this
worker (no I/O), and the next `observe` sends them. Each `observe` is one pipelined round trip
of plain `INCRBY` + `EXPIREAT` per counter (no Lua script, which costs more than the round trip)
that

1. adds the pending bytes of this key (measured when this address's previous request to this
   container closed on this worker) to its byte counters, so the decision sees them;
2. counts the request in each request window;
3. reads the byte counters;
4. and, once the oldest pending charge of ANY key is `flush_interval` seconds old, adds every
   pending charge of this worker as well, so that other proxies see them.

A backend that cannot answer raises `BackendDown`; the middleware then applies its
fail-open/fail-closed setting. Charges that a failed call carried are kept for the next one.

`sws_swift.budget.BatchedCounters` (``redis_mode = batched``) takes the round trip off the
request path: it decides on local counts plus the last known global totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sws_swift.resp import Redis, ReplyError, encode, integers, raise_errors

MAX_ENCODINGS = 65536  # counters whose commands a worker keeps encoded


class BackendDown(Exception):
    """The counter backend did not answer."""


class Counters(Protocol):
    def observe(
        self,
        key: str,
        now: float,
        request_windows: Sequence[int],
        byte_windows: Sequence[int],
        request_caps: Sequence[int] = (),
        byte_caps: Sequence[int] = (),
    ) -> tuple[list[int], list[int]]:
        """Count a request; return (requests so far incl. this one, bytes so far) per window.

        The caps (parallel to the windows) let a backend that estimates check exactly near them.
        """

    def charge(self, key: str, now: float, byte_windows: Sequence[int], nbytes: int) -> None:
        """Add `nbytes` to the key's byte counter in each window (possibly deferred)."""


class LocalCounters:
    """Counters in this process only: exact for one proxy worker, no network round trip.

    Each window size keeps only its current window; the previous one is dropped whole when
    the clock crosses into the next, so memory is bounded by the keys seen in one window.
    A slot is `[requests, bytes]`.
    """

    def __init__(self) -> None:
        self._windows: dict[int, tuple[float, dict[str, list[int]]]] = {}

    def _table(self, now: float, window: int) -> dict[str, list[int]]:
        """The window's current table; the previous window's is dropped whole."""
        index = now // window
        current = self._windows.get(window)
        if current is None or current[0] != index:
            current = self._windows[window] = (index, {})
        return current[1]

    # observe and charge inline the slot lookup: they run on every counted request.
    def observe(
        self,
        key: str,
        now: float,
        request_windows: Sequence[int],
        byte_windows: Sequence[int],
        request_caps: Sequence[int] = (),
        byte_caps: Sequence[int] = (),
    ) -> tuple[list[int], list[int]]:
        requests = []
        slots = []
        for window in request_windows:
            table = self._table(now, window)
            slot = table.get(key)
            if slot is None:
                slot = table[key] = [0, 0]
            slot[0] += 1
            requests.append(slot[0])
            slots.append(slot)
        if byte_windows == request_windows:  # both kinds of limit on the same windows
            return requests, [slot[1] for slot in slots]
        nbytes = []
        for window in byte_windows:
            slot = self._table(now, window).get(key)
            nbytes.append(0 if slot is None else slot[1])
        return requests, nbytes

    def charge(self, key: str, now: float, byte_windows: Sequence[int], nbytes: int) -> None:
        for window in byte_windows:
            table = self._table(now, window)
            slot = table.get(key)
            if slot is None:
                slot = table[key] = [0, 0]
            slot[1] += nbytes


class RedisCounters:
    """Counters shared by every proxy through one Redis; one pipelined round trip per request
    (`redis_mode = exact`).

    Byte charges are deferred into the next call (see the module docstring). The pipeline is
    plain `INCRBY` + `EXPIREAT` per counter (an increment of 0 reads it), not a Lua script,
    which cost more than the round trip itself.
    """

    GRACE = 60  # seconds a window's keys outlive the window, for clocks that disagree a little

    def __init__(self, client: Redis, prefix: str = "swsfw:", flush_interval: float = 1.0) -> None:
        self.client = client
        self._prefix = prefix
        self.flush_interval = flush_interval
        # Counter name -> [bytes not yet sent, EXPIREAT]; the time of the oldest such charge.
        self._pending: dict[str, list[int]] = {}
        self._pending_since: float | None = None
        self._encodings: dict[str, tuple[bytes, bytes]] = {}  # name -> INCRBY head, EXPIREAT

    @classmethod
    def from_url(
        cls, url: str, prefix: str, timeout: float, flush_interval: float = 1.0
    ) -> RedisCounters:
        return cls(Redis.from_url(url, timeout), prefix, flush_interval)

    def _name(self, kind: str, key: str, now: float, window: int) -> tuple[str, int]:
        index = int(now // window)
        return f"{self._prefix}{kind}:{window}:{index}:{key}", (index + 1) * window + self.GRACE

    def pending(self) -> dict[str, int]:
        """Bytes measured by this worker and not yet sent, per counter name."""
        return {name: entry[0] for name, entry in self._pending.items()}

    def observe(
        self,
        key: str,
        now: float,
        request_windows: Sequence[int],
        byte_windows: Sequence[int],
        request_caps: Sequence[int] = (),
        byte_caps: Sequence[int] = (),
    ) -> tuple[list[int], list[int]]:
        names: list[str] = []
        args: list[int] = []
        for window in request_windows:
            name, expires = self._name("r", key, now, window)
            names.append(name)
            args += (1, expires)
        carried: dict[str, list[int]] = {}
        for window in byte_windows:
            name, expires = self._name("b", key, now, window)
            entry = self._pending.pop(name, None)
            if entry is not None:
                carried[name] = entry
            names.append(name)
            args += (entry[0] if entry else 0, expires)
        if self._pending_since is not None and now - self._pending_since >= self.flush_interval:
            carried.update(self._take_all(names, args))
        results = self._run(names, args, carried)
        count = len(request_windows)
        return results[:count], results[count : count + len(byte_windows)]

    def _take_all(self, names: list[str], args: list[int]) -> dict[str, list[int]]:
        """Move every pending charge into this call's arguments."""
        pending, self._pending, self._pending_since = self._pending, {}, None
        for name, (nbytes, expires) in pending.items():
            names.append(name)
            args += (nbytes, expires)
        return pending

    def _run(self, names: list[str], args: list[int], carried: dict[str, list[int]]) -> list[int]:
        payload = b"".join(
            self.encoded(name, args[2 * i], args[2 * i + 1]) for i, name in enumerate(names)
        )
        try:
            return integers(raise_errors(self.client.send(payload, 2 * len(names)))[0::2])
        except (OSError, ReplyError) as exc:
            for name, (nbytes, expires) in carried.items():
                self._add(name, nbytes, expires, None)
            raise BackendDown(f"redis: {type(exc).__name__}: {exc}") from exc

    def encoded(self, name: str, increment: int, expires: int) -> bytes:
        """`INCRBY name increment` + `EXPIREAT name expires`, RESP-encoded. A counter's name
        fixes its expiry, so all but the increment is encoded once per counter."""
        parts = self._encodings.get(name)
        if parts is None:
            if len(self._encodings) >= MAX_ENCODINGS:
                self._encodings.clear()
            data = name.encode()
            head = b"*3\r\n$6\r\nINCRBY\r\n$%d\r\n%b\r\n" % (len(data), data)
            parts = self._encodings[name] = (head, encode(("EXPIREAT", name, expires)))
        digits = b"%d" % increment
        return b"%b$%d\r\n%b\r\n%b" % (parts[0], len(digits), digits, parts[1])

    def charge(self, key: str, now: float, byte_windows: Sequence[int], nbytes: int) -> None:
        """Record the bytes for this worker's next round trip; no I/O here."""
        for window in byte_windows:
            name, expires = self._name("b", key, now, window)
            self._add(name, nbytes, expires, now)

    def _add(self, name: str, nbytes: int, expires: int, now: float | None) -> None:
        entry = self._pending.get(name)
        if entry is None:
            self._pending[name] = [nbytes, expires]
        else:
            entry[0] += nbytes
        if self._pending_since is None:
            self._pending_since = now if now is not None else 0.0

    def flush(self) -> None:
        """Send every pending charge now (one call). Only tests call it: a worker that exits
        loses the bytes it has not sent yet."""
        if not self._pending:
            return
        names: list[str] = []
        args: list[int] = []
        self._run(names, args, self._take_all(names, args))
