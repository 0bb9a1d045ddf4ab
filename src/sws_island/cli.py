"""`sws-agent island snapshot|restore|delete|gc|list`: the Island engine from a node's shell.

The store is a directory (--store DIR) or a Swift container (--swift-auth URL --swift-user USER
--swift-key KEY --swift-container NAME, or the same as SWS_ISLAND_SWIFT_* variables). Each command
prints one JSON object per result on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from sws_island import index as indexes
from sws_island import locks
from sws_island.errors import IslandError
from sws_island.gc import collect
from sws_island.store import ChunkStore, DirectoryStore
from sws_island.swift import SwiftAccount, SwiftStore
from sws_island.volume import VolumeSnapshotSpec, restore_volume, snapshot_volume


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sws-agent island", description=__doc__.splitlines()[0])
    env = os.environ.get
    parser.add_argument("--store", type=Path, help="a directory store (instead of Swift)")
    parser.add_argument("--swift-auth", default=env("SWS_ISLAND_SWIFT_AUTH"))
    parser.add_argument("--swift-user", default=env("SWS_ISLAND_SWIFT_USER"))
    parser.add_argument("--swift-key", default=env("SWS_ISLAND_SWIFT_KEY"))
    parser.add_argument("--swift-container", default=env("SWS_ISLAND_SWIFT_CONTAINER", "island"))
    parser.add_argument("--workers", type=int, default=4, help="parallel reads and uploads")
    parser.add_argument(
        "--stale-after",
        type=float,
        default=locks.STALE_AFTER,
        help="seconds after which a lock marker left by a dead process is ignored",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    snap = commands.add_parser("snapshot", help="snapshot a qcow2 volume")
    snap.add_argument("--volume", required=True)
    snap.add_argument("--image", required=True, type=Path)
    rest = commands.add_parser("restore", help="restore a snapshot to a new file")
    rest.add_argument("--volume", required=True)
    rest.add_argument("--snapshot", required=True)
    rest.add_argument("--target", required=True, type=Path)
    rest.add_argument("--format", choices=("qcow2", "raw"), default="qcow2")
    delete = commands.add_parser("delete", help="delete a snapshot (its chunks go at the next gc)")
    delete.add_argument("--volume", required=True)
    delete.add_argument("--snapshot", required=True)
    commands.add_parser("gc", help="remove chunks no snapshot references")
    listing = commands.add_parser("list", help="list snapshots")
    listing.add_argument("--volume")
    return parser


def _store(args: argparse.Namespace) -> ChunkStore:
    if args.store:
        return DirectoryStore(args.store)
    if not (args.swift_auth and args.swift_user and args.swift_key):
        raise IslandError("give --store DIR or --swift-auth, --swift-user and --swift-key")
    account = SwiftAccount(args.swift_auth, args.swift_user, args.swift_key, args.swift_container)
    store = SwiftStore(account, connections=args.workers + 2)
    store.ensure_container()
    return store


def _summary(index: indexes.SnapshotIndex) -> dict[str, object]:
    data = asdict(index)
    del data["chunks"]
    data["stored_chunks"] = index.stored_chunks()
    return data


def _run(args: argparse.Namespace) -> None:
    store = _store(args)
    if args.command == "snapshot":
        spec = VolumeSnapshotSpec(
            args.volume, args.image, store, workers=args.workers, stale_after=args.stale_after
        )
        print(json.dumps(_summary(snapshot_volume(spec))))
    elif args.command == "restore":
        index = indexes.load(store, args.volume, args.snapshot)
        result = restore_volume(index, store, args.target, args.format, args.workers)
        print(
            json.dumps(
                {
                    "path": str(result.path),
                    "sha256": result.sha256,
                    "bytes_written": result.bytes_written,
                    "bytes_fetched": result.bytes_fetched,
                }
            )
        )
    elif args.command == "delete":
        indexes.delete(store, args.volume, args.snapshot)
        print(json.dumps({"deleted": args.snapshot}))
    elif args.command == "gc":
        print(json.dumps(asdict(collect(store, stale_after=args.stale_after))))
    else:
        for volume, snapshot in indexes.snapshots(store, args.volume):
            print(json.dumps(_summary(indexes.load(store, volume, snapshot))))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _run(args)
    except (IslandError, OSError) as exc:
        print(f"sws-agent island: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
