"""Garbage collection: delete chunks no index references, never while a snapshot is written."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sws_island import index as indexes
from sws_island import locks
from sws_island.chunks import CHUNK_PREFIX
from sws_island.store import ChunkStore


@dataclass(frozen=True)
class GcResult:
    indexes: int
    referenced: int
    deleted: int
    stale_locks_removed: int


def collect(
    store: ChunkStore,
    clock: Callable[[], float] = time.time,
    stale_after: float = locks.STALE_AFTER,
) -> GcResult:
    """Take the GC lock (raises LockHeld while a snapshot is written), then mark and sweep."""
    lock = locks.acquire(store, locks.GC, locks.SNAPSHOT, clock, stale_after)
    try:
        stale = locks.stale(store, locks.SNAPSHOT, clock(), stale_after)
        for name in stale:
            store.delete(name)
        found = indexes.snapshots(store)
        referenced: set[str] = set()
        for volume, snapshot in found:
            referenced |= indexes.load(store, volume, snapshot).referenced()
        deleted = 0
        for name in list(store.list(CHUNK_PREFIX)):
            if name[len(CHUNK_PREFIX) :] not in referenced:
                lock.refresh()
                store.delete(name)
                deleted += 1
        return GcResult(len(found), len(referenced), deleted, len(stale))
    finally:
        lock.release()
