"""Island on real qcow2 files: dirty bitmaps over qemu-nbd, their rotation, the crash fallback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from sws_island import index as indexes
from sws_island.chunks import CHUNK_SIZE
from sws_island.errors import IslandError
from sws_island.restore import file_volume_hash
from sws_island.store import DirectoryStore
from sws_island.volume import VolumeSnapshotSpec, island_bitmaps, restore_volume, snapshot_volume

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("qemu-img", "qemu-io", "qemu-nbd", "nbdinfo")),
    reason="needs qemu-utils and libnbd-bin (scripts/install-system-packages)",
)
MiB = 1024 * 1024


def qemu_io(path: Path, *commands: str) -> None:
    args = [arg for command in commands for arg in ("-c", command)]
    subprocess.run(["qemu-io", "-f", "qcow2", *args, str(path)], check=True, capture_output=True)


def raw_bytes(path: Path, tmp_path: Path) -> bytes:
    raw = tmp_path / f"{path.name}.as-raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(path), str(raw)], check=True)
    data = raw.read_bytes()
    raw.unlink()
    return data


@pytest.fixture
def vol(tmp_path: Path) -> Path:
    path = tmp_path / "vol.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "64M"], check=True)
    qemu_io(path, "write -P 0x11 0 3M", "write -P 0x22 20M 5M", "write -P 0x33 60M 1M")
    return path


def test_the_second_snapshot_reads_only_chunks_the_bitmap_marks(vol: Path, tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "store")
    first = snapshot_volume(VolumeSnapshotSpec("vol-1", vol, store))
    assert first.full_read and first.full_read_reason == "first snapshot"
    assert first.bytes_read == 4 * CHUNK_SIZE  # the allocated chunks 0, 5, 6 and 15 only
    assert [b.name for b in island_bitmaps(vol)] == [first.bitmap]
    before = raw_bytes(vol, tmp_path)

    qemu_io(vol, "write -P 0x44 21M 64k", "write -P 0x55 40M 4k")  # chunks 5 and 10
    second = snapshot_volume(VolumeSnapshotSpec("vol-1", vol, store))
    assert not second.full_read and second.parent == first.snapshot
    assert second.bytes_read == 2 * CHUNK_SIZE
    assert [b.name for b in island_bitmaps(vol)] == [second.bitmap]
    after = raw_bytes(vol, tmp_path)

    third = snapshot_volume(VolumeSnapshotSpec("vol-1", vol, store))
    assert not third.full_read and third.bytes_read == 0 and third.chunks == second.chunks

    indexes.delete(store, "vol-1", first.snapshot)
    restored = restore_volume(second, store, tmp_path / "second.qcow2")
    assert raw_bytes(restored.path, tmp_path) == after and restored.sha256 == second.sha256
    raw = restore_volume(first, store, tmp_path / "first.raw", image_format="raw")
    assert raw.path.read_bytes() == before
    assert file_volume_hash(raw.path) == first.sha256


def _marked_in_use(vol: Path) -> bool:
    try:
        return any(b.in_use for b in island_bitmaps(vol))
    except IslandError:  # qemu-img info met the header mid-rewrite
        return False


def test_a_bitmap_left_in_use_by_a_crash_forces_a_full_read_that_is_recorded(
    vol: Path, tmp_path: Path
) -> None:
    store = DirectoryStore(tmp_path / "store")
    snapshot_volume(VolumeSnapshotSpec("vol-1", vol, store))
    sock = tmp_path / "rw.sock"
    writer = subprocess.Popen(
        ["qemu-nbd", "--persistent", "-f", "qcow2", "-k", str(sock), str(vol)]
    )
    # Kill only once qemu has marked the bitmap in-use on disk: a kill while it rewrites the
    # bitmap directory can leave no bitmap at all (the "missing" case, tested below).
    deadline = time.monotonic() + 10
    while not _marked_in_use(vol) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(writer.pid, signal.SIGKILL)  # the image was open read-write: its bitmap stays in-use
    writer.wait()
    assert [b.in_use for b in island_bitmaps(vol)] == [True]
    qemu_io(vol, "write -P 0x66 30M 1M")

    after_crash = snapshot_volume(VolumeSnapshotSpec("vol-1", vol, store))
    assert after_crash.full_read and "in-use" in after_crash.full_read_reason
    assert after_crash.bytes_read == 5 * CHUNK_SIZE
    assert [b.name for b in island_bitmaps(vol)] == [after_crash.bitmap]
    assert not island_bitmaps(vol)[0].in_use
    restored = restore_volume(after_crash, store, tmp_path / "r.raw", image_format="raw")
    assert restored.path.read_bytes() == raw_bytes(vol, tmp_path)

    qemu_io(vol, "write -P 0x77 0 4k")
    next_one = snapshot_volume(VolumeSnapshotSpec("vol-1", vol, store))
    assert not next_one.full_read and next_one.bytes_read == CHUNK_SIZE


def test_a_missing_bitmap_forces_a_full_read(vol: Path, tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "store")
    first = snapshot_volume(VolumeSnapshotSpec("vol-1", vol, store))
    assert first.bitmap is not None
    subprocess.run(["qemu-img", "bitmap", "--remove", str(vol), first.bitmap], check=True)
    second = snapshot_volume(VolumeSnapshotSpec("vol-1", vol, store))
    assert second.full_read and "missing" in second.full_read_reason
    assert second.chunks == first.chunks
