"""qcow2 volumes: snapshots driven by persistent dirty bitmaps (one per generation), with fallback.

At each snapshot a new bitmap `island-<snapshot>` is added and enabled, the older Island bitmaps
are disabled, their dirty extents (read over NBD) say which chunks to read, and once the index is
written the older bitmaps are removed. A bitmap flagged in-use (not saved cleanly, e.g. after a
crash) or missing makes the engine read and hash everything, and the index records why.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sws_island import index as indexes
from sws_island import locks
from sws_island.chunks import CHUNK_SIZE
from sws_island.errors import IslandError
from sws_island.index import SnapshotIndex
from sws_island.nbd import NbdExport, NbdSource
from sws_island.restore import RestoreResult, RestoreSpec, restore
from sws_island.snapshot import SnapshotSpec, new_snapshot_id, take_snapshot
from sws_island.store import ChunkStore

PREFIX = "island-"


def _qemu_img(*args: str) -> str:
    done = subprocess.run(["qemu-img", *args], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise IslandError(f"qemu-img {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class Bitmap:
    name: str
    flags: tuple[str, ...]

    @property
    def in_use(self) -> bool:
        return "in-use" in self.flags


def image_info(path: Path) -> dict[str, object]:
    info = json.loads(_qemu_img("info", "-U", "--output=json", str(path)))
    return dict(info)


def island_bitmaps(path: Path) -> list[Bitmap]:
    """The image's Island bitmaps, oldest first (names sort by snapshot time)."""
    return _bitmaps_of(path, image_info(path))


def _bitmaps_of(path: Path, info: dict[str, object]) -> list[Bitmap]:
    if info.get("format") != "qcow2":
        raise IslandError(f"{path} is {info.get('format')}, not qcow2")
    specific = info.get("format-specific")
    data = specific.get("data", {}) if isinstance(specific, dict) else {}
    found = [Bitmap(b["name"], tuple(b.get("flags", ()))) for b in data.get("bitmaps", [])]
    return sorted((b for b in found if b.name.startswith(PREFIX)), key=lambda b: b.name)


@dataclass(frozen=True)
class VolumeSnapshotSpec:
    """Snapshot the qcow2 file `path` of `volume` into `store` (parent: its latest snapshot)."""

    volume: str
    path: Path
    store: ChunkStore
    workers: int = 4
    clock: Callable[[], float] = time.time
    stale_after: float = locks.STALE_AFTER
    snapshot: str = field(default_factory=new_snapshot_id)


@dataclass(frozen=True)
class _Plan:
    parent: SnapshotIndex | None
    read_from: tuple[str, ...]  # bitmaps whose dirty extents say what changed since the parent
    reason: str  # why everything is read, when read_from is empty


def _plan(parent: SnapshotIndex | None, bitmaps: list[Bitmap], size: int) -> _Plan:
    if parent is None:
        return _Plan(None, (), "first snapshot")
    if parent.size != size:
        return _Plan(parent, (), f"volume size changed from {parent.size} to {size}")
    broken = [b.name for b in bitmaps if b.in_use]
    if broken:
        return _Plan(parent, (), f"bitmap {', '.join(broken)} was not saved cleanly (in-use)")
    names = [b.name for b in bitmaps]
    if parent.bitmap is None or parent.bitmap not in names:
        return _Plan(parent, (), f"bitmap {parent.bitmap or '(none)'} of the parent is missing")
    return _Plan(parent, tuple(n for n in names if n >= parent.bitmap), "")


def _dirty_chunks(source: NbdSource, bitmaps: tuple[str, ...]) -> frozenset[int]:
    dirty: set[int] = set()
    for bitmap in bitmaps:
        for offset, length in source.dirty(bitmap):
            dirty.update(range(offset // CHUNK_SIZE, (offset + length - 1) // CHUNK_SIZE + 1))
    return frozenset(dirty)


def snapshot_volume(spec: VolumeSnapshotSpec) -> SnapshotIndex:
    """Rotate the bitmaps, read what changed over NBD, write the snapshot, drop the old bitmaps."""
    with ThreadPoolExecutor(max_workers=1) as aside:  # the store's round trips meanwhile
        latest = aside.submit(indexes.latest, spec.store, spec.volume)
        info = image_info(spec.path)  # one qemu-img run for the bitmaps and the size
        parent = latest.result()
    bitmaps = _bitmaps_of(spec.path, info)
    size = int(str(info["virtual-size"]))
    plan = _plan(parent, bitmaps, size)
    for broken in (b for b in bitmaps if b.in_use):
        _qemu_img("bitmap", "--remove", str(spec.path), broken.name)
    fresh = f"{PREFIX}{spec.snapshot}"
    _qemu_img("bitmap", "--add", "--enable", str(spec.path), fresh)
    for older in plan.read_from:
        _qemu_img("bitmap", "--disable", str(spec.path), older)
    with NbdExport(spec.path, plan.read_from, connections=spec.workers + 2) as export:
        source = NbdSource(export)
        try:
            dirty = _dirty_chunks(source, plan.read_from) if plan.read_from else None
            index = take_snapshot(
                SnapshotSpec(
                    spec.volume,
                    source,
                    spec.store,
                    parent=plan.parent,
                    dirty=dirty,
                    full_read_reason=plan.reason,
                    bitmap=fresh,
                    workers=spec.workers,
                    clock=spec.clock,
                    stale_after=spec.stale_after,
                    snapshot=spec.snapshot,
                )
            )
        finally:
            source.close()
    for bitmap in bitmaps:  # the older generations (in-use ones were removed above)
        if not bitmap.in_use:
            _qemu_img("bitmap", "--remove", str(spec.path), bitmap.name)
    return index


def restore_volume(
    index: SnapshotIndex,
    store: ChunkStore,
    target: Path,
    image_format: str = "qcow2",
    workers: int = 4,
) -> RestoreResult:
    """Restore to a new raw file, or to a new qcow2 (restored raw beside it, then converted)."""
    if image_format == "raw":
        return restore(RestoreSpec(index, store, target, workers))
    if image_format != "qcow2":
        raise IslandError(f"unknown image format {image_format!r} (raw or qcow2)")
    if target.exists():
        raise FileExistsError(target)
    raw = target.with_name(f".{target.name}.raw")
    try:
        result = restore(RestoreSpec(index, store, raw, workers))
        _qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw), str(target))
    finally:
        raw.unlink(missing_ok=True)
    return RestoreResult(target, result.sha256, result.bytes_written, result.bytes_fetched)
