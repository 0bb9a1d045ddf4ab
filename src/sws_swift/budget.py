"""Shared budgets at local cost: decide on local counts, sync deltas with Redis in the background.

`BatchedCounters` is the `redis_mode = batched` backend of the storage firewall. Every counter
(one container + source IP + window, requests or bytes) has, in each proxy worker:

- `known`: the global total Redis gave back the last time this worker talked to it about it;
- `unsent`: what this worker counted since (requests, and bytes charged at close);
- `inflight`: what a round trip now on the wire carries.

A request is decided on `known + inflight + unsent`, with no I/O. A background (green)thread
sends every `unsent` delta to Redis every `interval` seconds (0.1), or as soon as `batch`
requests (1000) have been counted, in ONE pipelined round trip of plain `INCRBY` + `EXPIREAT`
per counter, and reads the global totals back from the `INCRBY` answers on the same trip. No
Lua: a script costs more than the round trip itself.

**Near a limit** a counter switches to synchronous checks, for that counter's request only: when
the estimate is within `margin` of the cap, the request sends its own deltas in one pipelined
round trip and is decided on the totals Redis answers, which include every other worker's synced
counts. The margin is twice what the other workers added to that counter during the last sync
interval, plus one, so a counter that only this worker touches syncs once (at the cap). Over the
cap, requests are refused locally (an estimate never exceeds the true total: `known` only lags),
and counted in the background, so a flood of refused requests costs no round trips.

**Overshoot.** Only deltas that no other worker has seen yet can be admitted over a limit: each
worker's counts of the last sync interval (plus one round trip), while its estimate is still
below the margin. With P workers and a total rate R for one counter, at most `P * interval * R`
requests (or that many requests' bytes) are admitted over the limit of a window.

**Failures.** A round trip that fails keeps its deltas for the next one, and marks the backend
down: `observe` then raises `BackendDown` (the middleware applies `failure_mode`) until a later
round trip succeeds; the background thread keeps trying every interval (a `PING` when it has
nothing to send). A request within one interval of Redis failing is decided on local counts.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence

from sws_swift.counters import BackendDown
from sws_swift.resp import Arg, Redis, ReplyError, integers, raise_errors


class Slot:
    """One counter in one window, as this worker knows it."""

    __slots__ = ("expires", "growth", "inflight", "known", "name", "queued", "unsent")

    def __init__(self, name: str, expires: int) -> None:
        self.name = name
        self.expires = expires
        self.known = 0  # global total at the last round trip
        self.unsent = 0  # counted here since, not on the wire yet
        self.inflight = 0  # on the wire now
        self.growth = 0  # what other workers added between the last two round trips
        self.queued = False  # listed for the next background round trip

    def estimate(self) -> int:
        return self.known + self.inflight + self.unsent

    def margin(self) -> int:
        return 2 * self.growth + 1


Table = tuple[int, dict[str, Slot]]  # (window index, counter key -> slot)


class BatchedCounters:
    """Counters shared through Redis, decided locally; see the module docstring."""

    GRACE = 60  # seconds a window's keys outlive the window (as RedisCounters)

    def __init__(
        self,
        client: Redis,
        prefix: str = "swsfw:",
        interval: float = 0.1,
        batch: int = 1000,
        *,
        background: bool = True,
    ) -> None:
        self.client = client
        self.interval = interval
        self.batch = batch
        self.background = background
        self.sync_checks = 0  # requests decided by a synchronous round trip
        self._prefix = prefix
        self._tables: dict[tuple[str, int], Table] = {}
        self._dirty: list[Slot] = []  # slots with unsent counts, each once
        self._counted = 0  # requests counted since the last round trip
        self._failure: str | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._after_fork)

    @classmethod
    def from_url(
        cls, url: str, prefix: str, timeout: float, interval: float = 0.1, batch: int = 1000
    ) -> BatchedCounters:
        return cls(Redis.from_url(url, timeout), prefix, interval, batch)

    # --- the request path: no I/O unless near a limit -----------------------------------------

    def observe(
        self,
        key: str,
        now: float,
        request_windows: Sequence[int],
        byte_windows: Sequence[int],
        request_caps: Sequence[int] = (),
        byte_caps: Sequence[int] = (),
    ) -> tuple[list[int], list[int]]:
        """Count a request; (requests so far, bytes so far) per window, as estimated here."""
        if self._thread is None and self.background:
            self._start()
        if self._failure is not None:
            raise BackendDown(self._failure)
        with self._lock:
            request_slots = [self._slot("r", window, key, now) for window in request_windows]
            byte_slots = [self._slot("b", window, key, now) for window in byte_windows]
            for slot in request_slots:
                self._queue(slot)
                slot.unsent += 1
            for slot in byte_slots:  # read back on the next trip, with others' bytes
                self._queue(slot)
            self._counted += 1
            requests = [slot.estimate() for slot in request_slots]
            nbytes = [slot.estimate() for slot in byte_slots]
        if self._counted >= self.batch:
            self._wake.set()
        if _near(requests, request_caps, request_slots, 0) or _near(
            nbytes, byte_caps, byte_slots, 1
        ):
            return self._sync(request_slots, byte_slots)
        return requests, nbytes

    def charge(self, key: str, now: float, byte_windows: Sequence[int], nbytes: int) -> None:
        """Add a finished request's bytes to this worker's unsent deltas; no I/O."""
        with self._lock:
            for window in byte_windows:
                slot = self._slot("b", window, key, now)
                self._queue(slot)
                slot.unsent += nbytes

    def _queue(self, slot: Slot) -> None:
        if not slot.queued:
            slot.queued = True
            self._dirty.append(slot)

    def _slot(self, kind: str, window: int, key: str, now: float) -> Slot:
        index = int(now // window)
        table = self._tables.get((kind, window))
        if table is None or table[0] != index:  # a new window: the previous one's slots go
            table = self._tables[(kind, window)] = (index, {})
        slot = table[1].get(key)
        if slot is None:
            name = f"{self._prefix}{kind}:{window}:{index}:{key}"
            slot = table[1][key] = Slot(name, (index + 1) * window + self.GRACE)
        return slot

    def _sync(
        self, request_slots: list[Slot], byte_slots: list[Slot]
    ) -> tuple[list[int], list[int]]:
        """Decide on the global totals: this key's deltas in one round trip, totals read back."""
        slots = request_slots + byte_slots
        with self._lock:
            sent = _take(slots)
        totals = self._exchange(slots, sent)
        self.sync_checks += 1
        count = len(request_slots)
        return totals[:count], totals[count:]

    # --- the background round trip -------------------------------------------------------------

    def flush(self) -> None:
        """Send every unsent delta in one round trip and read the totals back (or PING when
        there is nothing to send and the backend is marked down); raises `BackendDown`."""
        with self._lock:
            slots, self._dirty, self._counted = self._dirty, [], 0
            for slot in slots:
                slot.queued = False
            sent = _take(slots)
        if slots:
            self._exchange(slots, sent)
        elif self._failure is not None:
            self._ping()

    def _exchange(self, slots: list[Slot], sent: list[int]) -> list[int]:
        """INCRBY + EXPIREAT per slot in one pipelined round trip; the totals, applied."""
        commands: list[Sequence[Arg]] = []
        for slot, delta in zip(slots, sent, strict=True):
            commands += (("INCRBY", slot.name, delta), ("EXPIREAT", slot.name, slot.expires))
        try:
            totals = integers(raise_errors(self.client.pipeline(commands))[0::2])
        except (OSError, ReplyError) as exc:
            with self._lock:
                self._give_back(slots, sent)
            self._failure = f"redis: {type(exc).__name__}: {exc}"
            raise BackendDown(self._failure) from exc
        with self._lock:
            _apply(slots, sent, totals)
        self._failure = None
        return totals

    def _give_back(self, slots: list[Slot], sent: list[int]) -> None:
        """A failed round trip's deltas return to unsent, for the next one."""
        for slot, delta in zip(slots, sent, strict=True):
            slot.inflight -= delta
            if delta:
                self._queue(slot)
            slot.unsent += delta

    def _ping(self) -> None:
        try:
            self.client.call("PING")
        except (OSError, ReplyError) as exc:
            raise BackendDown(f"redis: {type(exc).__name__}: {exc}") from exc
        self._failure = None

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="sws_firewall-sync", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            with contextlib.suppress(BackendDown):  # kept in _failure: requests see it
                self.flush()

    def _after_fork(self) -> None:
        """A forked worker has no flusher thread yet, and a fresh lock."""
        self._thread = None
        self._lock = threading.Lock()


def _near(values: list[int], caps: Sequence[int], slots: list[Slot], inclusive: int) -> bool:
    """Whether a counter is within its margin below its cap (request counts may equal the cap,
    `inclusive` = 0; a byte budget is used up at the cap, `inclusive` = 1)."""
    for value, cap, slot in zip(values, caps, slots, strict=False):  # no caps: never
        if cap - slot.margin() < value + inclusive <= cap:
            return True
    return False


def _take(slots: list[Slot]) -> list[int]:
    """Move each slot's unsent delta onto the wire; the deltas taken."""
    sent = []
    for slot in slots:
        delta, slot.unsent = slot.unsent, 0
        slot.inflight += delta
        sent.append(delta)
    return sent


def _apply(slots: list[Slot], sent: list[int], totals: list[int]) -> None:
    """Totals read back: they include the deltas just sent, and others' growth since."""
    for slot, delta, total in zip(slots, sent, totals, strict=True):
        slot.inflight -= delta
        slot.growth = max(0, total - slot.known - delta)
        slot.known = max(slot.known, total)
