"""Restoring a snapshot to a new raw file: parallel fetches, each chunk verified first."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sws_island.chunks import CHUNK_SIZE, chunk_hash, decompress, object_name
from sws_island.errors import CorruptChunk, IslandError
from sws_island.index import SnapshotIndex, chunk_lengths
from sws_island.store import ChunkStore


@dataclass(frozen=True)
class RestoreSpec:
    """Which snapshot to restore, from which store, to which new raw file."""

    index: SnapshotIndex
    store: ChunkStore
    target: Path
    workers: int = 4


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    sha256: str
    bytes_written: int
    bytes_fetched: int


def _fetch(spec: RestoreSpec, number: int, name: str, length: int) -> tuple[bytes, int]:
    try:
        blob = spec.store.get(object_name(name))
    except FileNotFoundError:
        offset = number * CHUNK_SIZE
        raise IslandError(f"chunk {name} at offset {offset} is missing from the store") from None
    try:
        data = decompress(blob)
    except Exception:  # zstd raises its own error type for a damaged frame
        raise CorruptChunk(name, number * CHUNK_SIZE, "an undecodable frame") from None
    actual = chunk_hash(data)
    if actual != name or len(data) != length:
        raise CorruptChunk(name, number * CHUNK_SIZE, actual)
    return data, len(blob)


def file_volume_hash(path: Path, chunk_size: int = CHUNK_SIZE) -> str:
    """The volume hash (see SnapshotIndex.sha256) of a raw file, read back from disk."""
    whole = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(chunk_size):
            whole.update(hashlib.sha256(block).digest())
    return whole.hexdigest()


def restore(spec: RestoreSpec) -> RestoreResult:
    """Write the snapshot to a new file `target`, then check the whole-volume hash."""
    index = spec.index
    lengths = list(chunk_lengths(index.size, index.chunk_size))
    stored = [(n, name) for n, name in enumerate(index.chunks) if name is not None]
    fd = os.open(spec.target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    written = fetched = 0
    try:
        os.ftruncate(fd, index.size)
        with ThreadPoolExecutor(max_workers=max(1, spec.workers)) as pool:
            results = pool.map(lambda it: _fetch(spec, it[0], it[1], lengths[it[0]]), stored)
            for (number, _), (data, blob_size) in zip(stored, results, strict=True):
                os.pwrite(fd, data, number * index.chunk_size)
                written += len(data)
                fetched += blob_size
        os.fsync(fd)
    finally:
        os.close(fd)
    actual = file_volume_hash(spec.target, index.chunk_size)
    if actual != index.sha256:
        raise IslandError(
            f"restored volume hashes to {actual}; snapshot {index.snapshot} says {index.sha256}"
        )
    return RestoreResult(spec.target, actual, written, fetched)
