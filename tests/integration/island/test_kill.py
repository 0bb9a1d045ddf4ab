"""kill -9 of `sws-agent island snapshot` mid-upload, then restart: nothing completed is lost.

Every completed snapshot restores bit-for-bit, GC never deletes a chunk a completed snapshot
references, and the interrupted snapshot leaves no index; the next run completes from the bitmaps.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from sws_island import index as indexes
from sws_island.chunks import CHUNK_SIZE
from sws_island.store import DirectoryStore
from tests.budget import repeats
from tests.integration.island_rig import (
    AGENT,
    as_raw,
    kill_when,
    needs_qemu,
    overwrite,
    random_qcow2,
)

pytestmark = needs_qemu
CHUNKS = 24


def island(store: Path, *args: str, stale_after: float = 3600) -> subprocess.CompletedProcess[str]:
    command = [
        *AGENT,
        "island",
        "--store",
        str(store),
        "--workers",
        "1",
        "--stale-after",
        str(stale_after),
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def restores_to(store: Path, volume: str, snapshot: str, expected: bytes, tmp_path: Path) -> None:
    target = tmp_path / f"restored-{snapshot}.raw"
    done = island(
        store,
        "restore",
        "--volume",
        volume,
        "--snapshot",
        snapshot,
        "--target",
        str(target),
        "--format",
        "raw",
    )
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == expected
    target.unlink()


def kill_mid_upload(store: Path, image: Path, before: int) -> None:
    """Start a snapshot and SIGKILL it once it has uploaded at least one new chunk."""
    command = [
        *AGENT,
        "island",
        "--store",
        str(store),
        "--workers",
        "1",
        "snapshot",
        "--volume",
        "vol",
        "--image",
        str(image),
    ]
    chunks = store / "chunks"
    kill_when(command, lambda: len(list(chunks.iterdir())) > before)


@pytest.mark.chaos
def test_kill_minus_nine_mid_upload_then_restart(tmp_path: Path) -> None:
    store = tmp_path / "store"
    image = random_qcow2(tmp_path, CHUNKS)
    first = island(store, "snapshot", "--volume", "vol", "--image", str(image))
    assert first.returncode == 0, first.stderr
    completed = {json.loads(first.stdout)["snapshot"]: as_raw(image, tmp_path)}

    for round_ in range(repeats(2)):
        overwrite(image, tmp_path, list(range(round_, CHUNKS, 2)))
        kill_mid_upload(store, image, len(list((store / "chunks").iterdir())))
        directory = DirectoryStore(store)
        assert {s for _, s in indexes.snapshots(directory)} == set(
            completed
        )  # no index: no snapshot
        assert island(store, "gc").returncode == 1  # the dead writer's marker is still fresh
        time.sleep(0.2)
        swept = island(store, "gc", stale_after=0.1)
        assert swept.returncode == 0, swept.stderr
        for snapshot, data in completed.items():
            restores_to(store, "vol", snapshot, data, tmp_path)

        again = island(store, "snapshot", "--volume", "vol", "--image", str(image))
        assert again.returncode == 0, again.stderr
        summary = json.loads(again.stdout)
        assert not summary["full_read"]  # both generations' bitmaps survived the kill
        assert summary["bytes_read"] == CHUNKS // 2 * CHUNK_SIZE
        completed[summary["snapshot"]] = as_raw(image, tmp_path)
        for snapshot, data in completed.items():
            restores_to(store, "vol", snapshot, data, tmp_path)


@pytest.mark.chaos
def test_kill_minus_nine_mid_gc_then_restart(tmp_path: Path) -> None:
    store = tmp_path / "store"
    image = random_qcow2(tmp_path, 4)
    done = island(store, "snapshot", "--volume", "vol", "--image", str(image))
    assert done.returncode == 0, done.stderr
    kept = json.loads(done.stdout)["snapshot"]
    expected = as_raw(image, tmp_path)
    orphans = [f"chunks/{n:064x}" for n in range(30_000)]  # chunks no index references
    for name in orphans:  # written plainly: a put's fsync would cost the test 25 s
        (store / name).write_bytes(b"orphan")
    # Enough orphans that the sweep outlasts a loaded machine's scheduling delays, and a
    # cheap sign that it has begun: any of 64 orphans spread across the store is gone.
    watched = [store / name for name in orphans[::469]]

    gc = [*AGENT, "island", "--store", str(store), "gc"]
    kill_when(gc, lambda: not all(path.exists() for path in watched))
    assert len(list((store / "chunks").iterdir())) > 4  # killed part-way through the sweep

    refused = island(store, "snapshot", "--volume", "vol", "--image", str(image))
    assert refused.returncode == 1 and "gc in progress" in refused.stderr
    restores_to(store, "vol", kept, expected, tmp_path)
    time.sleep(0.2)
    swept = island(store, "gc", stale_after=0.1)
    assert swept.returncode == 0, swept.stderr
    assert len(list((store / "chunks").iterdir())) == 4
    restores_to(store, "vol", kept, expected, tmp_path)
    after = island(store, "snapshot", "--volume", "vol", "--image", str(image), stale_after=0.1)
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["bytes_read"] == 0  # the refused attempt's bitmap was kept


def test_list_and_delete_from_the_command_line(tmp_path: Path) -> None:
    store = tmp_path / "store"
    image = tmp_path / "vol.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "8M"], check=True)
    made = [
        json.loads(island(store, "snapshot", "--volume", "vol", "--image", str(image)).stdout)
        for _ in range(2)
    ]
    listed = [json.loads(line) for line in island(store, "list").stdout.splitlines()]
    assert [s["snapshot"] for s in listed] == [s["snapshot"] for s in made]
    assert listed[0]["full_read_reason"] == "first snapshot" and not listed[1]["full_read"]
    assert (
        island(store, "delete", "--volume", "vol", "--snapshot", made[0]["snapshot"]).returncode
        == 0
    )
    missing = island(store, "delete", "--volume", "vol", "--snapshot", made[0]["snapshot"])
    assert missing.returncode == 1 and "no snapshot" in missing.stderr
    assert len(island(store, "list", "--volume", "vol").stdout.splitlines()) == 1
    nothing = subprocess.run([*AGENT, "island", "list"], capture_output=True, text=True)
    assert nothing.returncode == 1 and "--store" in nothing.stderr
