"""Island snapshots beside restic and a Cinder-style full read: one volume, one Swift, one run.

At each size (default 256 MiB, 1 GiB and 4 GiB; `--sizes 256M,1G,4G`) a qcow2 volume has 60% of
its 4 MiB blocks written (each half random, half text, so zstd has something to do). Then, for
each of three engines, on the same data and the same Swift (scripts/swift-dev's, up beforehand):

- the first snapshot; a second after 10% of the blocks are rewritten; a third after 1% more;
- a full restore of the third, to a new file.

"island" reads only what the dirty bitmap marks. "cinder-style" is the baseline that re-reads
and hashes the whole volume each time (the Island engine with its bitmap ignored), uploading the
chunks whose hash changed, as Cinder's chunked backup driver compares per-block hashes. "restic"
(Debian package) backs the image file up to a Swift container and restores it with
`restic restore`. Each engine has its own container, so each uploads its own first copy.

Each row: wall seconds; CPU of this process and the children it waited for (qemu-img, qemu-nbd,
nbdinfo); CPU of scripts/swift-dev's processes (proxy, object, container, account servers,
memcached: `/proc/<pid>/stat`); restic's CPU (child rusage); bytes read; bytes uploaded; and
the cost per GiB of volume.

The floor: after the 10% step, the same number of compressed chunks as Island uploaded in that
step is sent to the same Swift with the same connections (HEAD then PUT, no reading or hashing):
Swift's own ingest, which no engine can beat.

Goals (issue 16), with --json in the last line: the 10% incremental in at most 1/5 of restic's
wall time in the same run, at the largest size (the issue's 4 GiB; the CPU ratio is printed next
to it); bytes uploaded at most 1.1x the compressed dirty bytes; restore at least 60 MB/s.

    .venv/bin/python bench/island.py [--sizes 256M,1G,4G] [--workers 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _measure import Cost, Verdict, Watched, measured
from sws_island.chunks import CHUNK_SIZE, chunk_hash, compress, object_name
from sws_island.index import SnapshotIndex
from sws_island.nbd import NbdExport, NbdSource
from sws_island.restore import RestoreSpec, restore
from sws_island.snapshot import SnapshotSpec, take_snapshot
from sws_island.swift import SwiftAccount, SwiftStore
from sws_island.volume import VolumeSnapshotSpec, snapshot_volume

ROOT = Path(__file__).resolve().parents[1]
TEXT = b"Island keeps every snapshot independent. " * (CHUNK_SIZE // 2 // 41 + 1)
GIB = 2**30
STEPS = (("first", 0.0), ("after 10%", 0.10), ("after 1%", 0.01))
ENGINES = ("island", "cinder-style", "restic")
RATIO_GOAL, UPLOAD_GOAL, RESTORE_GOAL = 0.2, 1.1, 60.0  # x restic's wall, x dirty, MB/s


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


# --- the rig: Swift, its processes, restic ------------------------------------------------


def swift_dev(command: str) -> str:
    done = subprocess.run(
        [str(ROOT / "scripts" / "swift-dev"), command], capture_output=True, text=True, check=True
    )
    return done.stdout


def swift_env() -> dict[str, str]:
    return dict(line.split("=", 1) for line in swift_dev("env").splitlines() if "=" in line)


def swift_processes() -> Watched:
    """scripts/swift-dev's servers ('proxy-a: up on 28080 (pid 25412)'), their CPU as 'Swift'."""
    watched = Watched("Swift")
    for line in swift_dev("status").splitlines():
        if "(pid " in line:
            watched.add(int(line.rsplit("(pid ", 1)[1].rstrip(")")))
    if not watched:
        raise SystemExit("scripts/swift-dev is not up: run scripts/swift-dev up")
    return watched


def new_store(
    env: dict[str, str], name: str, connections: int, container: str | None = None
) -> SwiftStore:
    account = SwiftAccount(
        f"{env['SWIFT_DEV_PROXY_A']}/auth/v1.0",
        env["SWIFT_DEV_USER"],
        env["SWIFT_DEV_KEY"],
        container or f"bench-{name}-{uuid.uuid4().hex[:6]}",
    )
    store = SwiftStore(account, connections=connections)
    store.ensure_container()
    return store


def empty(store: SwiftStore) -> None:
    """Leave nothing behind in the shared rig."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(store.delete, list(store.list())))
    store.delete_container()


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


@contextmanager
def measured_restic(swift: Watched) -> Iterator[Cost]:
    """Like measured(), with restic's CPU (the children waited for) apart from this process's."""
    before = children_cpu()
    with measured(swift) as cost:
        yield cost
    spent = children_cpu() - before
    cost.cpu -= spent
    cost.others = {"restic": spent, **cost.others}


class Restic:
    """restic on a container of the same Swift (repository password 'bench')."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {
            **os.environ,
            "RESTIC_PASSWORD": "bench",
            "ST_AUTH": f"{env['SWIFT_DEV_PROXY_A']}/auth/v1.0",
            "ST_USER": env["SWIFT_DEV_USER"],
            "ST_KEY": env["SWIFT_DEV_KEY"],
        }
        self.container = f"bench-restic-{uuid.uuid4().hex[:6]}"
        self.repo = f"swift:{self.container}:/"
        self.run("init")

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["restic", "-r", self.repo, *args], env=self.env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"restic {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def backup(self, image: Path) -> tuple[int, int]:
        """(bytes read, bytes added to the repository) from restic's summary."""
        summary = json.loads(self.run("backup", "--json", str(image)).strip().splitlines()[-1])
        added = summary.get("data_added_packed", summary["data_added"])
        return int(summary["total_bytes_processed"]), int(added)

    def restore(self, target: Path) -> None:
        self.run("restore", "latest", "--target", str(target))


# --- the engines ----------------------------------------------------------------------------


def cinder_style(
    volume: Path, store: SwiftStore, parent: SnapshotIndex | None, workers: int
) -> SnapshotIndex:
    """Re-read and hash everything; upload what changed (the engine with no dirty bitmap)."""
    with NbdExport(volume, connections=workers + 2) as export:
        source = NbdSource(export)
        try:
            spec = SnapshotSpec(
                "bench",
                source,
                store,
                parent=parent,
                dirty=None,
                full_read_reason="baseline",
                workers=workers,
            )
            return take_snapshot(spec)
        finally:
            source.close()


def floor(env: dict[str, str], blobs: list[bytes], workers: int, swift: Watched) -> Cost:
    """HEAD + PUT of ready compressed chunks with the engine's connections: Swift's ingest."""
    store = new_store(env, "floor", workers + 2)

    def send(blob: bytes) -> None:
        name = object_name(chunk_hash(blob))
        if not store.has(name):
            store.put(name, blob)

    try:
        with measured(swift) as cost, ThreadPoolExecutor(workers) as pool:
            list(pool.map(send, blobs))
    finally:
        empty(store)
    return cost


# --- one size -------------------------------------------------------------------------------


@dataclass
class Row:
    engine: str
    step: str
    cost: Cost
    read: int
    uploaded: int


class Report:
    """Rows printed as they come, and the figures of the verdict."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.rows: dict[tuple[int, str, str], Row] = {}

    def add(self, size: int, row: Row) -> Row:
        self.rows[(size, row.engine, row.step)] = row
        gib = size / GIB
        print(
            f"  {row.engine:12} {row.step:10} {row.cost.describe()}; read "
            f"{row.read / 2**20:8.1f} MiB, uploaded {row.uploaded / 2**20:8.1f} MiB; per GiB: "
            f"wall {row.cost.wall / gib:.2f} s, total CPU {row.cost.total_cpu / gib:.2f} s",
            flush=True,
        )
        name = f"{size // 2**20} MiB {row.engine} {row.step}"
        self.verdict.add_cost(name, row.cost)
        self.verdict.add(f"{name} total cpu per GiB", row.cost.total_cpu / gib, "s")
        self.verdict.add(f"{name} bytes read", row.read, "B")
        self.verdict.add(f"{name} bytes uploaded", row.uploaded, "B")
        return row


def restore_row(
    engine: str, index: SnapshotIndex, store: SwiftStore, folder: Path, workers: int, swift: Watched
) -> Row:
    target = folder / "restored.raw"
    with measured(swift) as cost:
        done = restore(RestoreSpec(index, store, target, workers))
    target.unlink()
    return Row(engine, "restore", cost, done.bytes_fetched, 0)


def one_size(
    size: int, args: argparse.Namespace, report: Report, swift: Watched, largest: bool
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="island-bench-"))
    env = swift_env()
    blocks = size // CHUNK_SIZE
    rng = random.Random(16)
    volume = folder / "vol.qcow2"
    make_volume(volume, blocks, rng.sample(range(blocks), blocks * 6 // 10))
    island, cinder = (new_store(env, name, args.workers + 2) for name in ENGINES[:2])
    restic = Restic(env)
    print(f"{size / GIB:g} GiB volume, 60% written, {args.workers} workers:", flush=True)
    parent: SnapshotIndex | None = None
    try:
        for step, share in STEPS:
            dirty = 0
            if share:
                numbers = rng.sample(range(blocks), max(1, int(blocks * share)))
                dirty = rewrite(volume, numbers, folder)
            with measured(swift) as cost:
                index = snapshot_volume(
                    VolumeSnapshotSpec("bench", volume, island, workers=args.workers)
                )
            mine = report.add(
                size, Row("island", step, cost, index.bytes_read, index.bytes_uploaded)
            )
            with measured(swift) as cost:
                parent = cinder_style(volume, cinder, parent, args.workers)
            report.add(
                size, Row("cinder-style", step, cost, parent.bytes_read, parent.bytes_uploaded)
            )
            with measured_restic(swift) as cost:
                read, added = restic.backup(volume)
            theirs = report.add(size, Row("restic", step, cost, read, added))
            if dirty:
                judge_step(report.verdict, size, step, mine, theirs, dirty, largest)
            if share == 0.10:
                chunks = max(1, round(index.bytes_uploaded / (dirty / len(numbers))))
                blobs = [compress(block()) for _ in range(chunks)]
                cost = floor(env, blobs, args.workers, swift)
                report.add(size, Row("swift floor", step, cost, 0, sum(map(len, blobs))))
                print(
                    f"  floor: {chunks} compressed chunks HEAD+PUT with {args.workers} "
                    f"workers; island's 10% wall is {mine.cost.wall / cost.wall:.1f}x it",
                    flush=True,
                )
        assert parent is not None
        for engine, store, last in (("island", island, index), ("cinder-style", cinder, parent)):
            row = report.add(size, restore_row(engine, last, store, folder, args.workers, swift))
            judge_restore(report.verdict, size, row)
        target = folder / "restic-restore"
        with measured_restic(swift) as cost:
            restic.restore(target)
        judge_restore(
            report.verdict, size, report.add(size, Row("restic", "restore", cost, size, 0))
        )
        shutil.rmtree(target)
    finally:
        for store in (island, cinder):
            empty(store)
        empty(new_store(env, "restic", 4, container=restic.container))
        shutil.rmtree(folder)


def judge_step(
    verdict: Verdict, size: int, step: str, mine: Row, theirs: Row, dirty: int, largest: bool
) -> None:
    """Island's time over restic's (goal at 10%, largest size) and uploads over the dirty bytes."""
    name = f"{size // 2**20} MiB island {step}"
    wall = mine.cost.wall / theirs.cost.wall
    cpu = mine.cost.total_cpu / theirs.cost.total_cpu
    goal = RATIO_GOAL if largest and step == "after 10%" else None
    verdict.add(f"{name} wall / restic wall", wall, "x", at_most=goal)
    verdict.add(f"{name} total cpu / restic total cpu", cpu, "x")
    uploaded = mine.uploaded / dirty
    verdict.add(f"{name} uploaded / compressed dirty", uploaded, "x", at_most=UPLOAD_GOAL)
    print(
        f"  island {step}: {wall:.2f}x restic's wall, {cpu:.2f}x its total CPU; uploaded "
        f"{uploaded:.2f}x the compressed dirty bytes ({dirty / 2**20:.1f} MiB)",
        flush=True,
    )


def judge_restore(verdict: Verdict, size: int, row: Row) -> None:
    rate = size / row.cost.wall / 1e6
    verdict.add(
        f"{size // 2**20} MiB {row.engine} restore rate",
        rate,
        "MB/s",
        at_least=RESTORE_GOAL if row.engine == "island" else None,
    )
    print(f"  {row.engine} restore: {rate:.0f} MB/s of volume", flush=True)


# --- main -----------------------------------------------------------------------------------


def parse_bytes(text: str) -> tuple[int, ...]:
    """'256M,1G,4G' -> sizes in bytes, whole 4 MiB chunks."""
    factors = {"m": 2**20, "g": 2**30}
    sizes = []
    for part in text.lower().split(","):
        part = part.strip()
        size = int(float(part[:-1]) * factors[part[-1]]) if part[-1:] in factors else int(part)
        if size < 10 * CHUNK_SIZE or size % CHUNK_SIZE:
            raise argparse.ArgumentTypeError(f"{part}: a multiple of 4M, at least 40M")
        sizes.append(size)
    return tuple(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=parse_bytes,
        default=(256 * 2**20, GIB, 4 * GIB),
        help="volume sizes, e.g. 256M,1G,4G (default)",
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--json", action="store_true", help="end with one JSON line: every figure, its goal and met"
    )
    args = parser.parse_args()
    if shutil.which("restic") is None:
        raise SystemExit("restic is not installed (apt-get install restic)")
    swift = swift_processes()
    print(f"load average {os.getloadavg()[0]:.1f} at the start")
    verdict = Verdict("island")
    report = Report(verdict)
    for size in args.sizes:
        one_size(size, args, report, swift, largest=size == max(args.sizes))
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    verdict.emit(args.json)


if __name__ == "__main__":
    main()
