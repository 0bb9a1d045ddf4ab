"""The errors the Island engine raises, each naming what went wrong."""

from __future__ import annotations


class IslandError(Exception):
    """Any failure of the snapshot engine."""


class SnapshotNotFound(IslandError):
    """No index exists for the named snapshot."""


class CorruptChunk(IslandError):
    """A chunk fetched from the store does not hash to its name."""

    def __init__(self, name: str, offset: int, actual: str) -> None:
        super().__init__(f"chunk {name} at offset {offset} is corrupt (content hashes to {actual})")
        self.name = name
        self.offset = offset
        self.actual = actual


class LockHeld(IslandError):
    """Garbage collection and snapshot writing exclude each other; the other side holds its lock."""


class StoreError(IslandError):
    """The object store failed after its retries."""
