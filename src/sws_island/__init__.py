"""Island: incremental, independent volume snapshots kept as content-named chunks."""

from sws_island.chunks import CHUNK_SIZE
from sws_island.errors import CorruptChunk, IslandError, LockHeld, SnapshotNotFound

__all__ = ["CHUNK_SIZE", "CorruptChunk", "IslandError", "LockHeld", "SnapshotNotFound"]
