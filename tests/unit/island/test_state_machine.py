"""A hypothesis state machine: random writes, snapshots, deletes and GCs over the fake store.

Every surviving snapshot must restore to exactly the bytes the volume had when it was taken.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from sws_island import index as indexes
from sws_island.chunks import CHUNK_PREFIX, CHUNK_SIZE
from sws_island.gc import collect
from sws_island.restore import RestoreSpec, restore
from sws_island.snapshot import SnapshotSpec, take_snapshot
from sws_island.source import BytesSource
from sws_island.store import MemoryStore
from tests.budget import examples

SIZE = 2 * CHUNK_SIZE + 4096


class Island(RuleBasedStateMachine):
    """Model: the volume's bytes, chunks written since the last snapshot, each snapshot's bytes."""

    snapshots = Bundle("snapshots")

    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryStore()
        self.data = bytearray(SIZE)
        self.dirty: set[int] = set()
        self.taken: dict[str, bytes] = {}
        self.last: indexes.SnapshotIndex | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix="island-"))

    @rule(
        offset=st.integers(0, SIZE - 1),
        length=st.integers(1, 64 * 1024),
        byte=st.sampled_from([0, 1, 0x5A, 0xFF]),
    )
    def write(self, offset: int, length: int, byte: int) -> None:
        length = min(length, SIZE - offset)
        self.data[offset : offset + length] = bytes([byte]) * length
        self.dirty.update(range(offset // CHUNK_SIZE, (offset + length - 1) // CHUNK_SIZE + 1))

    @rule(target=snapshots, with_bitmap=st.booleans())
    def snapshot(self, with_bitmap: bool) -> str:
        dirty = frozenset(self.dirty) if with_bitmap else None
        index = take_snapshot(
            SnapshotSpec(
                "vol",
                BytesSource(bytes(self.data)),
                self.store,
                parent=self.last,
                dirty=dirty,
                full_read_reason="no bitmap",
            )
        )
        self.taken[index.snapshot] = bytes(self.data)
        self.dirty.clear()
        self.last = index
        return index.snapshot

    @rule(snapshot=consumes(snapshots))
    def delete(self, snapshot: str) -> None:
        indexes.delete(self.store, "vol", snapshot)
        del self.taken[snapshot]

    @rule()
    def gc(self) -> None:
        collect(self.store)

    @rule(snapshot=snapshots)
    def restores_bit_for_bit(self, snapshot: str) -> None:
        index = indexes.load(self.store, "vol", snapshot)
        target = self.tmp / f"{snapshot}-{len(list(self.tmp.iterdir()))}.raw"
        restore(RestoreSpec(index, self.store, target))
        assert target.read_bytes() == self.taken[snapshot]
        target.unlink()

    @invariant()
    def every_referenced_chunk_is_stored(self) -> None:
        stored = set(self.store.list(CHUNK_PREFIX))
        for volume, snapshot in indexes.snapshots(self.store):
            for name in indexes.load(self.store, volume, snapshot).referenced():
                assert f"{CHUNK_PREFIX}{name}" in stored

    def teardown(self) -> None:
        for snapshot, data in self.taken.items():
            index = indexes.load(self.store, "vol", snapshot)
            target = self.tmp / f"final-{snapshot}.raw"
            restore(RestoreSpec(index, self.store, target))
            assert target.read_bytes() == data
            target.unlink()
        self.tmp.rmdir()


Island.TestCase.settings = settings(
    max_examples=examples(12), stateful_step_count=10, deadline=None
)
TestIsland = Island.TestCase
