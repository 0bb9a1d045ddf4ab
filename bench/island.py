"""Island snapshots side by side with a Cinder-style full read, on one qcow2 volume and one store.

The volume (default 4 GiB) has 60% of its 4 MiB blocks written (each half random, half text, so
zstd has something to do). Then, for each engine, in one run:

- the first snapshot;
- a second after 10% of the blocks are rewritten;
- a third after 1% more;
- a full restore of the third (Island only; the baseline restores the same way).

"island" reads only what the dirty bitmap marks; "cinder-style" is the baseline that re-reads and
hashes the whole volume each time (the Island engine with its bitmap ignored), uploading only the
chunks whose hash changed, as Cinder's chunked backup driver compares per-block hashes. Each engine
has its own container (or directory), so each uploads its own first copy.

Each row: wall seconds, CPU seconds of this process, bytes read from the volume, bytes uploaded.
Goals (issue 16): the 10% incremental in at most 1/5 of the baseline's time; bytes uploaded at most
1.1x the compressed dirty bytes; restore at least 60 MB/s.

    .venv/bin/python bench/island.py [--size-mib 4096] [--swift] [--workers 4] [--json]

With --swift the store is scripts/swift-dev's Swift (started by the caller: scripts/swift-dev up);
otherwise a directory under a temporary folder. restic (Debian package; skipped when absent) backs
up the image file to the same store, its rows giving restic's own bytes processed and data added.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _measure import Cost, measured
from sws_island.chunks import CHUNK_SIZE, compress
from sws_island.index import SnapshotIndex
from sws_island.nbd import NbdExport, NbdSource
from sws_island.restore import RestoreSpec, restore
from sws_island.snapshot import SnapshotSpec, take_snapshot
from sws_island.store import ChunkStore, DirectoryStore
from sws_island.swift import SwiftAccount, SwiftStore
from sws_island.volume import VolumeSnapshotSpec, snapshot_volume

ROOT = Path(__file__).resolve().parents[1]
TEXT = b"Island keeps every snapshot independent. " * (CHUNK_SIZE // 2 // 41 + 1)


def block() -> bytes:
    return os.urandom(CHUNK_SIZE // 2) + TEXT[: CHUNK_SIZE // 2]


def make_volume(path: Path, blocks: int, written: list[int]) -> None:
    raw = path.with_suffix(".raw")
    with open(raw, "wb") as out:
        out.truncate(blocks * CHUNK_SIZE)
        for number in written:
            out.seek(number * CHUNK_SIZE)
            out.write(block())
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(path)], check=True)
    raw.unlink()


def rewrite(path: Path, numbers: list[int], scratch: Path) -> int:
    """Rewrite blocks through qemu-io (so the bitmap sees them); return the compressed bytes."""
    compressed = 0
    for start in range(0, len(numbers), 64):
        commands = []
        for number in numbers[start : start + 64]:
            data = block()
            compressed += len(compress(data))
            source = scratch / f"block-{number}"
            source.write_bytes(data)
            commands += ["-c", f"write -s {source} {number * CHUNK_SIZE} {CHUNK_SIZE}"]
        subprocess.run(
            ["qemu-io", "-f", "qcow2", *commands, str(path)], check=True, capture_output=True
        )
        for number in numbers[start : start + 64]:
            (scratch / f"block-{number}").unlink()
    return compressed


def swift_dev_env() -> dict[str, str]:
    out = subprocess.run(
        [str(ROOT / "scripts" / "swift-dev"), "env"], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def stores(args: argparse.Namespace, folder: Path) -> dict[str, ChunkStore]:
    if not args.swift:
        return {name: DirectoryStore(folder / name) for name in ("island", "cinder-style")}
    env = swift_dev_env()
    found: dict[str, ChunkStore] = {}
    for name in ("island", "cinder-style"):
        account = SwiftAccount(
            f"{env['SWIFT_DEV_PROXY_A']}/auth/v1.0",
            env["SWIFT_DEV_USER"],
            env["SWIFT_DEV_KEY"],
            f"bench-{name}-{uuid.uuid4().hex[:6]}",
        )
        store = SwiftStore(account, connections=args.workers + 2)
        store.ensure_container()
        found[name] = store
    return found


def baseline(
    volume: Path, store: ChunkStore, parent: SnapshotIndex | None, workers: int
) -> SnapshotIndex:
    """Re-read and hash everything; upload what changed (the engine with no dirty bitmap)."""
    with NbdExport(volume, connections=workers + 2) as export:
        source = NbdSource(export)
        try:
            return take_snapshot(
                SnapshotSpec(
                    "bench",
                    source,
                    store,
                    parent=parent,
                    dirty=None,
                    full_read_reason="baseline",
                    workers=workers,
                )
            )
        finally:
            source.close()


def restic_env(args: argparse.Namespace, folder: Path) -> tuple[dict[str, str], str] | None:
    """restic's environment and repository (Swift container or folder); None without restic."""
    if shutil.which("restic") is None:
        return None
    env = {**os.environ, "RESTIC_PASSWORD": "bench"}
    if not args.swift:
        return env, str(folder / "restic")
    rig = swift_dev_env()
    env.update(
        ST_AUTH=f"{rig['SWIFT_DEV_PROXY_A']}/auth/v1.0",
        ST_USER=rig["SWIFT_DEV_USER"],
        ST_KEY=rig["SWIFT_DEV_KEY"],
    )
    return env, f"swift:bench-restic-{uuid.uuid4().hex[:6]}:/"


def restic_backup(restic: tuple[dict[str, str], str], image: Path) -> tuple[int, int]:
    """Back the image file up; (bytes read, bytes added to the repository) from restic's summary."""
    env, repo = restic
    done = subprocess.run(
        ["restic", "-r", repo, "backup", "--json", str(image)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return int(summary["total_bytes_processed"]), int(summary["data_added"])


def row(name: str, cost: Cost, read: int, uploaded: int) -> dict[str, object]:
    figures = {
        "step": name,
        "seconds": round(cost.wall, 2),
        "cpu": round(cost.cpu, 2),
        "bytes_read": read,
        "bytes_uploaded": uploaded,
    }
    print(
        f"{name:32} {cost.wall:8.2f} s  cpu {cost.cpu:7.2f} s  read {read / 2**20:9.1f} MiB  "
        f"uploaded {uploaded / 2**20:9.1f} MiB",
        flush=True,
    )
    return figures


def run(args: argparse.Namespace, folder: Path) -> dict[str, object]:
    blocks = args.size_mib * 2**20 // CHUNK_SIZE
    rng = random.Random(16)
    volume = folder / "vol.qcow2"
    make_volume(volume, blocks, rng.sample(range(blocks), blocks * 6 // 10))
    by_engine = stores(args, folder)
    rows = []
    results: dict[str, object] = {"size_mib": args.size_mib, "workers": args.workers}
    parent: SnapshotIndex | None = None
    restic = restic_env(args, folder)
    if restic is None:
        print("restic is not installed: its rows are left out")
    else:
        subprocess.run(
            ["restic", "-r", restic[1], "init"], env=restic[0], check=True, capture_output=True
        )
    for step, share in (("first", 0.0), ("after 10%", 0.10), ("after 1%", 0.01)):
        dirty = 0
        if share:
            dirty = rewrite(volume, rng.sample(range(blocks), max(1, int(blocks * share))), folder)
            results[f"compressed dirty bytes {step}"] = dirty
        with measured() as cost:
            index = snapshot_volume(
                VolumeSnapshotSpec("bench", volume, by_engine["island"], workers=args.workers)
            )
        rows.append(row(f"island {step}", cost, index.bytes_read, index.bytes_uploaded))
        if dirty:
            results[f"island uploaded / compressed dirty {step}"] = round(
                index.bytes_uploaded / dirty, 3
            )
        with measured() as cost:
            parent = baseline(volume, by_engine["cinder-style"], parent, args.workers)
        rows.append(row(f"cinder-style {step}", cost, parent.bytes_read, parent.bytes_uploaded))
        if restic is not None:
            with measured() as cost:
                read, added = restic_backup(restic, volume)
            rows.append(row(f"restic {step}", cost, read, added))
    target = folder / "restored.raw"
    with measured() as cost:
        restored = restore(RestoreSpec(index, by_engine["island"], target, args.workers))
    rows.append(row("island restore", cost, restored.bytes_fetched, 0))
    results["restore MB/s"] = round(index.size / cost.wall / 1e6, 1)
    print(f"restore: {results['restore MB/s']} MB/s of volume")
    results["rows"] = rows
    for store in by_engine.values():
        if isinstance(store, SwiftStore):  # leave nothing behind in the shared rig
            for name in list(store.list()):
                store.delete(name)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=4096)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--swift", action="store_true", help="use scripts/swift-dev's Swift")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="island-bench-") as folder:
        results = run(args, Path(folder))
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
