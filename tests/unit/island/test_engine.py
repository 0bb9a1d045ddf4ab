"""The Island engine over the memory and directory stores: chunks, indexes, restore, GC, locks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sws_island import index as indexes
from sws_island import locks
from sws_island.chunks import CHUNK_PREFIX, CHUNK_SIZE, chunk_hash, compress, object_name
from sws_island.errors import CorruptChunk, LockHeld, SnapshotNotFound
from sws_island.gc import collect
from sws_island.restore import RestoreSpec, file_volume_hash, restore
from sws_island.snapshot import SnapshotSpec, take_snapshot
from sws_island.source import BytesSource, RawFileSource
from sws_island.store import ChunkStore, DirectoryStore, MemoryStore

MiB = 1024 * 1024


def volume(*pieces: tuple[int, bytes], size: int = 3 * CHUNK_SIZE + MiB) -> bytes:
    """A volume of `size` zero bytes with `pieces` (offset, bytes) written over it."""
    data = bytearray(size)
    for offset, piece in pieces:
        data[offset : offset + len(piece)] = piece
    return bytes(data)


@pytest.fixture(params=["memory", "directory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChunkStore]:
    yield MemoryStore() if request.param == "memory" else DirectoryStore(tmp_path / "store")


def restored(store: ChunkStore, index: indexes.SnapshotIndex, tmp_path: Path) -> bytes:
    target = tmp_path / f"{index.snapshot}.raw"
    restore(RestoreSpec(index, store, target))
    return target.read_bytes()


def test_store_contract(store: ChunkStore) -> None:
    store.put("chunks/ab", b"one")
    store.put("indexes/v/s.json", b"two")
    assert store.has("chunks/ab") and not store.has("chunks/cd")
    assert store.get("chunks/ab") == b"one"
    assert list(store.list("chunks/")) == ["chunks/ab"]
    store.delete("chunks/ab")
    store.delete("chunks/ab")  # deleting twice is not an error
    assert not store.has("chunks/ab")
    with pytest.raises(FileNotFoundError):
        store.get("chunks/ab")


def test_a_snapshot_restores_bit_for_bit_and_zero_chunks_are_never_stored(
    store: ChunkStore, tmp_path: Path
) -> None:
    data = volume((10, b"hello"), (2 * CHUNK_SIZE + 7, b"world" * 1000))
    index = take_snapshot(SnapshotSpec("vol-1", BytesSource(data), store))
    assert index.chunks[1] is None and index.chunks[3] is None  # all zeros
    assert index.stored_chunks() == 2 == len(list(store.list(CHUNK_PREFIX)))
    assert index.full_read and index.full_read_reason == "first snapshot"
    assert restored(store, index, tmp_path) == data
    assert file_volume_hash(tmp_path / f"{index.snapshot}.raw") == index.sha256


def test_chunks_are_named_by_content_and_uploaded_once() -> None:
    store = MemoryStore()
    data = volume((0, b"A" * CHUNK_SIZE), (CHUNK_SIZE, b"A" * CHUNK_SIZE))
    first = take_snapshot(SnapshotSpec("vol-1", BytesSource(data), store))
    assert first.chunks[0] == first.chunks[1] == chunk_hash(b"A" * CHUNK_SIZE)
    assert first.bytes_uploaded == len(compress(b"A" * CHUNK_SIZE))
    assert list(store.list(CHUNK_PREFIX)) == [object_name(chunk_hash(b"A" * CHUNK_SIZE))]
    again = take_snapshot(SnapshotSpec("vol-2", BytesSource(data), store))
    assert again.bytes_uploaded == 0 and again.bytes_read == len(data)


def test_an_incremental_snapshot_reads_only_the_dirty_chunks(
    store: ChunkStore, tmp_path: Path
) -> None:
    before = volume((0, b"a" * MiB), (2 * CHUNK_SIZE, b"c" * MiB))
    parent = take_snapshot(SnapshotSpec("vol-1", BytesSource(before), store))
    after = volume((0, b"a" * MiB), (2 * CHUNK_SIZE, b"C" * MiB))
    child = take_snapshot(
        SnapshotSpec("vol-1", BytesSource(after), store, parent=parent, dirty=frozenset({2}))
    )
    assert (
        child.bytes_read == CHUNK_SIZE and not child.full_read and child.parent == parent.snapshot
    )
    assert child.chunks[0] == parent.chunks[0] and child.chunks[2] != parent.chunks[2]
    assert restored(store, child, tmp_path) == after
    assert restored(store, parent, tmp_path) == before


def test_without_a_bitmap_the_engine_reads_everything_and_records_why(store: ChunkStore) -> None:
    data = volume((5, b"x"))
    parent = take_snapshot(SnapshotSpec("vol-1", BytesSource(data), store))
    child = take_snapshot(
        SnapshotSpec(
            "vol-1",
            BytesSource(data),
            store,
            parent=parent,
            dirty=None,
            full_read_reason="bitmap island-1 is in-use (unclean shutdown)",
        )
    )
    assert child.full_read and child.bytes_read == len(data)
    assert child.full_read_reason == "bitmap island-1 is in-use (unclean shutdown)"
    saved = indexes.load(store, "vol-1", child.snapshot)
    assert saved == child


def test_every_snapshot_is_independent_of_the_one_it_came_from(
    store: ChunkStore, tmp_path: Path
) -> None:
    first_data = volume((0, b"1" * CHUNK_SIZE))
    first = take_snapshot(SnapshotSpec("vol-1", BytesSource(first_data), store))
    second_data = volume((0, b"1" * CHUNK_SIZE), (CHUNK_SIZE, b"2" * 100))
    second = take_snapshot(
        SnapshotSpec("vol-1", BytesSource(second_data), store, parent=first, dirty=frozenset({1}))
    )
    indexes.delete(store, "vol-1", first.snapshot)
    result = collect(store)
    assert result.deleted == 0  # chunk 0 is still referenced by the second snapshot
    assert restored(store, second, tmp_path) == second_data
    indexes.delete(store, "vol-1", second.snapshot)
    assert collect(store).deleted == 2
    assert list(store.list(CHUNK_PREFIX)) == []
    with pytest.raises(SnapshotNotFound):
        indexes.load(store, "vol-1", second.snapshot)


def test_a_corrupt_chunk_is_named_and_not_written(store: ChunkStore, tmp_path: Path) -> None:
    data = volume((0, b"good" * 1000), (CHUNK_SIZE, b"bad!" * 1000))
    index = take_snapshot(SnapshotSpec("vol-1", BytesSource(data), store))
    victim = index.chunks[1]
    assert victim is not None
    store.put(object_name(victim), compress(b"evil" * 1000 + bytes(CHUNK_SIZE - 4000)))
    target = tmp_path / "restored.raw"
    with pytest.raises(CorruptChunk) as caught:
        restore(RestoreSpec(index, store, target))
    assert caught.value.name == victim and caught.value.offset == CHUNK_SIZE
    assert victim in str(caught.value)
    with open(target, "rb") as file:
        file.seek(CHUNK_SIZE)
        assert b"evil" not in file.read(CHUNK_SIZE)


def test_an_undecodable_chunk_is_reported_as_corrupt(store: ChunkStore, tmp_path: Path) -> None:
    index = take_snapshot(SnapshotSpec("vol-1", BytesSource(volume((0, b"z"))), store))
    name = index.chunks[0]
    assert name is not None
    store.put(object_name(name), b"not zstd")
    with pytest.raises(CorruptChunk, match=name):
        restore(RestoreSpec(index, store, tmp_path / "r.raw"))


def test_gc_waits_for_a_snapshot_being_written_and_ignores_a_dead_ones_marker() -> None:
    store = MemoryStore()
    now = [1000.0]
    take_snapshot(SnapshotSpec("vol-1", BytesSource(volume((0, b"q"))), store))
    store.put(object_name("0" * 64), b"orphan")
    writer = locks.acquire(store, locks.SNAPSHOT, locks.GC, lambda: now[0], 60)
    with pytest.raises(LockHeld, match="snapshot in progress"):
        collect(store, clock=lambda: now[0], stale_after=60)
    assert store.has(object_name("0" * 64))
    assert list(store.list("locks/gc/")) == []  # the refused GC took its marker back
    now[0] += 61  # the writer died: its marker is no longer refreshed
    result = collect(store, clock=lambda: now[0], stale_after=60)
    assert result.deleted == 1 and result.stale_locks_removed == 1
    assert not store.has(writer.object_name)


def test_a_snapshot_is_refused_while_gc_runs() -> None:
    store = MemoryStore()
    gc_lock = locks.acquire(store, locks.GC, locks.SNAPSHOT, lambda: 0.0, 60)
    with pytest.raises(LockHeld):
        take_snapshot(
            SnapshotSpec("vol-1", BytesSource(volume()), store, clock=lambda: 1.0, stale_after=60)
        )
    assert (
        list(store.list(indexes.INDEX_PREFIX)) == [] and list(store.list("locks/snapshot/")) == []
    )
    gc_lock.release()


def test_a_raw_file_snapshot(tmp_path: Path) -> None:
    data = volume((123, b"raw" * 999), size=CHUNK_SIZE + 5)
    path = tmp_path / "v.raw"
    path.write_bytes(data)
    source = RawFileSource(path)
    store = MemoryStore()
    index = take_snapshot(SnapshotSpec("vol-raw", source, store, workers=2))
    source.close()
    assert index.size == CHUNK_SIZE + 5 and len(index.chunks) == 2
    assert restored(store, index, tmp_path) == data
    assert indexes.snapshots(store) == [("vol-raw", index.snapshot)]


def test_a_deleted_parent_is_not_reused(store: ChunkStore, tmp_path: Path) -> None:
    data = volume((0, b"p" * 10))
    parent = take_snapshot(SnapshotSpec("vol-1", BytesSource(data), store))
    indexes.delete(store, "vol-1", parent.snapshot)
    collect(store)
    child = take_snapshot(
        SnapshotSpec("vol-1", BytesSource(data), store, parent=parent, dirty=frozenset())
    )
    assert child.full_read and child.full_read_reason == "parent snapshot was deleted"
    assert restored(store, child, tmp_path) == data
