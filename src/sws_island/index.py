"""A snapshot's index: chunk list, size and whole-content hash; one JSON object, written last."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field

from sws_island.chunks import CHUNK_SIZE, zero_hash
from sws_island.errors import SnapshotNotFound
from sws_island.store import ChunkStore

INDEX_PREFIX = "indexes/"
FORMAT = 1


@dataclass(frozen=True)
class SnapshotIndex:
    """Everything needed to restore one snapshot, with no reference to any other snapshot.

    `chunks[i]` is the SHA-256 name of the i-th 4 MiB chunk, or None when it is all zeros.
    `sha256` is the volume hash: SHA-256 over the concatenated digests of every chunk in order.
    `full_read` says the snapshot read the whole volume; `full_read_reason` says why.
    """

    volume: str
    snapshot: str
    created_at: str
    size: int
    chunks: tuple[str | None, ...]
    sha256: str
    parent: str | None = None
    full_read: bool = True
    full_read_reason: str = "first snapshot"
    bitmap: str | None = None
    bytes_read: int = 0
    bytes_uploaded: int = 0
    chunk_size: int = CHUNK_SIZE
    format: int = FORMAT
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def object_name(self) -> str:
        return index_name(self.volume, self.snapshot)

    def referenced(self) -> set[str]:
        return {name for name in self.chunks if name is not None}

    def stored_chunks(self) -> int:
        return sum(1 for name in self.chunks if name is not None)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, blob: bytes) -> SnapshotIndex:
        data = json.loads(blob)
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown index format {data.get('format')!r}")
        data["chunks"] = tuple(data["chunks"])
        return cls(**data)


def index_name(volume: str, snapshot: str) -> str:
    return f"{INDEX_PREFIX}{volume}/{snapshot}.json"


def chunk_lengths(size: int, chunk_size: int = CHUNK_SIZE) -> Iterator[int]:
    """The length of each chunk of a volume of `size` bytes (the last may be short)."""
    for offset in range(0, size, chunk_size):
        yield min(chunk_size, size - offset)


def volume_hash(size: int, chunks: Sequence[str | None], chunk_size: int = CHUNK_SIZE) -> str:
    """SHA-256 over the digests of the chunks in order (zero chunks by the hash of their zeros)."""
    whole = hashlib.sha256()
    for name, length in zip(chunks, chunk_lengths(size, chunk_size), strict=True):
        whole.update(bytes.fromhex(name if name is not None else zero_hash(length)))
    return whole.hexdigest()


def save(store: ChunkStore, index: SnapshotIndex) -> None:
    store.put(index.object_name, index.to_json())


def load(store: ChunkStore, volume: str, snapshot: str) -> SnapshotIndex:
    try:
        return SnapshotIndex.from_json(store.get(index_name(volume, snapshot)))
    except FileNotFoundError:
        raise SnapshotNotFound(f"no snapshot {snapshot} of volume {volume}") from None


def snapshots(store: ChunkStore, volume: str | None = None) -> list[tuple[str, str]]:
    """(volume, snapshot) of every complete snapshot, oldest first within a volume."""
    prefix = INDEX_PREFIX + (f"{volume}/" if volume else "")
    found = []
    for name in store.list(prefix):
        if name.endswith(".json"):
            vol, _, snap = name[len(INDEX_PREFIX) : -len(".json")].rpartition("/")
            found.append((vol, snap))
    return sorted(found)


def latest(store: ChunkStore, volume: str) -> SnapshotIndex | None:
    names = snapshots(store, volume)
    return load(store, *names[-1]) if names else None


def delete(store: ChunkStore, volume: str, snapshot: str) -> None:
    """Delete a snapshot's index; its chunks go at the next GC unless another index uses them."""
    load(store, volume, snapshot)
    store.delete(index_name(volume, snapshot))
