"""Lock markers in the store: snapshot writers (shared) and GC (exclusive) exclude each other.

Each side writes its own marker first and only then lists the other side's markers, so of two that
start together at least one sees the other and backs off. A marker records when it was last
refreshed; one older than `stale_after` seconds belongs to a dead process and is ignored.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sws_island.errors import LockHeld
from sws_island.store import ChunkStore

LOCK_PREFIX = "locks/"
SNAPSHOT = "snapshot"
GC = "gc"
STALE_AFTER = 3600.0


@dataclass
class Lock:
    """One marker object; `refresh` rewrites it when a quarter of the stale period has passed."""

    store: ChunkStore
    kind: str
    clock: Callable[[], float] = time.time
    stale_after: float = STALE_AFTER
    name: str = field(default_factory=lambda: uuid.uuid4().hex)
    written_at: float = 0.0

    @property
    def object_name(self) -> str:
        return f"{LOCK_PREFIX}{self.kind}/{self.name}"

    def write(self) -> None:
        self.written_at = self.clock()
        body = {"at": self.written_at, "host": socket.gethostname(), "pid": os.getpid()}
        self.store.put(self.object_name, json.dumps(body).encode())

    def refresh(self) -> None:
        if self.clock() - self.written_at > self.stale_after / 4:
            self.write()

    def release(self) -> None:
        self.store.delete(self.object_name)


def live(store: ChunkStore, kind: str, now: float, stale_after: float) -> list[str]:
    """Names of the markers of `kind` refreshed within `stale_after` seconds of `now`."""
    alive = []
    for name in store.list(f"{LOCK_PREFIX}{kind}/"):
        try:
            at = float(json.loads(store.get(name))["at"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            continue
        if now - at < stale_after:
            alive.append(name)
    return alive


def stale(store: ChunkStore, kind: str, now: float, stale_after: float) -> list[str]:
    alive = set(live(store, kind, now, stale_after))
    return [name for name in store.list(f"{LOCK_PREFIX}{kind}/") if name not in alive]


def acquire(
    store: ChunkStore, kind: str, against: str, clock: Callable[[], float], stale_after: float
) -> Lock:
    """Write a `kind` marker; give it up and raise LockHeld if a live `against` marker exists."""
    lock = Lock(store, kind, clock, stale_after)
    lock.write()
    others = live(store, against, clock(), stale_after)
    if others:
        lock.release()
        raise LockHeld(f"{kind} refused: {against} in progress ({', '.join(others)})")
    return lock
