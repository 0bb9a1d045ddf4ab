"""Taking a snapshot: read changed chunks, upload those the store lacks, write the index last."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sws_island import index as indexes
from sws_island import locks
from sws_island.chunks import CHUNK_SIZE, chunk_hash, compress, is_zero, object_name
from sws_island.index import SnapshotIndex, chunk_lengths, volume_hash
from sws_island.source import BlockSource
from sws_island.store import ChunkStore


@dataclass(frozen=True)
class SnapshotSpec:
    """What to snapshot and how.

    `dirty` is the set of chunk numbers that may have changed since `parent` (from a dirty bitmap);
    None means unknown, and the whole volume is read and hashed, for `full_read_reason`.
    """

    volume: str
    source: BlockSource
    store: ChunkStore
    parent: SnapshotIndex | None = None
    dirty: frozenset[int] | None = None
    full_read_reason: str = "first snapshot"
    bitmap: str | None = None
    workers: int = 4
    clock: Callable[[], float] = time.time
    stale_after: float = locks.STALE_AFTER
    snapshot: str = field(default_factory=lambda: new_snapshot_id())


def new_snapshot_id(at: float | None = None) -> str:
    stamp = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    return f"{stamp:%Y%m%dT%H%M%S.%f}Z-{secrets.token_hex(3)}"


@dataclass
class _Tally:
    read: int = 0
    uploaded: int = 0
    claimed: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, read: int = 0, uploaded: int = 0) -> None:
        with self._lock:
            self.read += read
            self.uploaded += uploaded

    def claim(self, name: str) -> bool:
        """True for the first thread of this snapshot to meet chunk `name` (it alone uploads it)."""
        with self._lock:
            if name in self.claimed:
                return False
            self.claimed.add(name)
            return True


def _incremental(spec: SnapshotSpec, count: int) -> bool:
    parent = spec.parent
    return (
        parent is not None
        and spec.dirty is not None
        and parent.size == spec.source.size
        and parent.chunk_size == CHUNK_SIZE
        and len(parent.chunks) == count
    )


def _allocated_chunks(source: BlockSource, count: int) -> set[int] | None:
    ranges = source.allocated()
    if ranges is None:
        return None
    found: set[int] = set()
    for offset, length in ranges:
        if length > 0:
            found.update(range(offset // CHUNK_SIZE, (offset + length - 1) // CHUNK_SIZE + 1))
    return {n for n in found if n < count}


READERS = 2  # threads reading, hashing and checking for zeros; they feed the uploaders


@dataclass
class _Pipeline:
    """Readers hash chunks and hand new ones to `spec.workers` uploaders, so Swift never waits
    on a read: at most two chunks per uploader are in flight (read or queued) at once."""

    spec: SnapshotSpec
    lengths: list[int]
    tally: _Tally
    lock: locks.Lock
    known: frozenset[str]  # chunks known present (the parent's): no HEAD for them

    def __post_init__(self) -> None:
        self.slots = threading.BoundedSemaphore(2 * max(1, self.spec.workers))
        self.uploads: list[Future[None]] = []
        self.failed: list[BaseException] = []

    def run(self, wanted: list[int]) -> list[str | None]:
        workers = max(1, self.spec.workers)
        with (
            ThreadPoolExecutor(max_workers=workers) as self.senders,
            ThreadPoolExecutor(max_workers=min(READERS, workers)) as readers,
        ):
            names = list(readers.map(self._read, wanted))
            for upload in self.uploads:
                upload.result()
        return names

    def _read(self, number: int) -> str | None:
        """Read chunk `number`; queue its upload unless it is zero or known; return its name."""
        if self.failed:
            raise self.failed[0]
        self.slots.acquire()
        handed = False
        try:
            length = self.lengths[number]
            data = self.spec.source.read(number * CHUNK_SIZE, length)
            if len(data) != length:
                raise OSError(f"short read of chunk {number}: {len(data)} of {length} bytes")
            self.tally.add(read=length)
            if is_zero(data):
                return None
            name = chunk_hash(data)
            if self.tally.claim(name) and name not in self.known:
                self.uploads.append(self.senders.submit(self._send, name, data))
                handed = True
            return name
        finally:
            if not handed:
                self.slots.release()

    def _send(self, name: str, data: bytes) -> None:
        """Upload the chunk unless the store has it (the HEAD), then free its slot."""
        try:
            if not self.spec.store.has(object_name(name)):
                blob = compress(data)
                self.spec.store.put(object_name(name), blob)
                self.tally.add(uploaded=len(blob))
            self.lock.refresh()
        except BaseException as exc:
            self.failed.append(exc)
            raise
        finally:
            self.slots.release()


def take_snapshot(spec: SnapshotSpec) -> SnapshotIndex:
    """Write the chunks, then the index: until the index is written the snapshot does not exist."""
    lengths = list(chunk_lengths(spec.source.size))
    lock = locks.acquire(spec.store, locks.SNAPSHOT, locks.GC, spec.clock, spec.stale_after)
    try:
        return _write(spec, lengths, lock)
    finally:
        lock.release()


def _parent_survives(spec: SnapshotSpec) -> bool:
    """Whether the parent's index still exists: then GC, excluded by our lock, kept its chunks."""
    return spec.parent is not None and spec.store.has(spec.parent.object_name)


def _write(spec: SnapshotSpec, lengths: list[int], lock: locks.Lock) -> SnapshotIndex:
    count = len(lengths)
    incremental = _incremental(spec, count)
    reason = spec.full_read_reason
    if incremental and not _parent_survives(spec):
        incremental, reason = False, "parent snapshot was deleted"
    chunks: list[str | None] = [None] * count
    known: frozenset[str] = frozenset()
    if incremental and spec.parent:
        chunks = list(spec.parent.chunks)
        # the parent's index exists and GC is excluded by our lock: its chunks are present
        known = frozenset(spec.parent.referenced())
    if incremental and spec.dirty is not None:
        wanted: Iterable[int] = sorted(n for n in spec.dirty if n < count)
    else:
        allocated = _allocated_chunks(spec.source, count)
        wanted = range(count) if allocated is None else sorted(allocated)
    tally = _Tally()
    wanted = list(wanted)
    names = _Pipeline(spec, lengths, tally, lock, known).run(wanted)
    for number, name in zip(wanted, names, strict=True):
        chunks[number] = name
    index = SnapshotIndex(
        volume=spec.volume,
        snapshot=spec.snapshot,
        created_at=datetime.fromtimestamp(spec.clock(), UTC).isoformat(),
        size=spec.source.size,
        chunks=tuple(chunks),
        sha256=volume_hash(spec.source.size, chunks),
        parent=spec.parent.snapshot if spec.parent else None,
        full_read=not incremental,
        full_read_reason="" if incremental else reason,
        bitmap=spec.bitmap,
        bytes_read=tally.read,
        bytes_uploaded=tally.uploaded,
    )
    indexes.save(spec.store, index)
    return index
