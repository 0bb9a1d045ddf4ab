"""Island's chunk store on a real Swift (scripts/swift-dev): snapshots, restore, GC, corruption."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sws_island import index as indexes
from sws_island.chunks import CHUNK_PREFIX, CHUNK_SIZE, compress, object_name
from sws_island.errors import CorruptChunk, StoreError
from sws_island.gc import collect
from sws_island.restore import RestoreSpec, restore
from sws_island.snapshot import SnapshotSpec, take_snapshot
from sws_island.source import BytesSource
from sws_island.swift import SwiftAccount, SwiftStore


@pytest.fixture
def account(swift_env: dict[str, str]) -> SwiftAccount:
    return SwiftAccount(
        f"{swift_env['SWIFT_DEV_PROXY_A']}/auth/v1.0",
        swift_env["SWIFT_DEV_USER"],
        swift_env["SWIFT_DEV_KEY"],
        f"island-{uuid.uuid4().hex[:10]}",
    )


@pytest.fixture
def store(account: SwiftAccount) -> Iterator[SwiftStore]:
    store = SwiftStore(account, connections=4)
    store.ensure_container()
    yield store
    for name in list(store.list()):
        store.delete(name)


def test_the_swift_store_keeps_objects_by_name(store: SwiftStore) -> None:
    assert not store.has("chunks/a")
    store.put("chunks/a", b"alpha")
    store.put("chunks/b", b"beta")
    store.put("indexes/v/s.json", b"{}")
    assert store.has("chunks/a") and store.get("chunks/b") == b"beta"
    assert list(store.list("chunks/")) == ["chunks/a", "chunks/b"]
    store.delete("chunks/a")
    store.delete("chunks/a")
    with pytest.raises(FileNotFoundError):
        store.get("chunks/a")


def test_snapshots_on_swift_restore_bit_for_bit_and_stay_independent(
    store: SwiftStore, tmp_path: Path
) -> None:
    first_data = bytearray(3 * CHUNK_SIZE)
    first_data[100:200] = b"x" * 100
    first_data[2 * CHUNK_SIZE :] = bytes(range(256)) * (CHUNK_SIZE // 256)
    first = take_snapshot(SnapshotSpec("vol-s", BytesSource(bytes(first_data)), store, workers=4))
    second_data = bytearray(first_data)
    second_data[CHUNK_SIZE + 5] = 7
    second = take_snapshot(
        SnapshotSpec(
            "vol-s", BytesSource(bytes(second_data)), store, parent=first, dirty=frozenset({1})
        )
    )
    assert second.bytes_read == CHUNK_SIZE and 0 < second.bytes_uploaded < 4096
    assert len(list(store.list(CHUNK_PREFIX))) == 3

    indexes.delete(store, "vol-s", first.snapshot)
    assert collect(store).deleted == 0
    target = tmp_path / "second.raw"
    restore(RestoreSpec(second, store, target, workers=4))
    assert target.read_bytes() == bytes(second_data)


def test_a_corrupt_chunk_on_swift_is_named(store: SwiftStore, tmp_path: Path) -> None:
    index = take_snapshot(SnapshotSpec("vol-c", BytesSource(b"data" * (CHUNK_SIZE // 4)), store))
    name = index.chunks[0]
    assert name is not None
    store.put(object_name(name), compress(b"atad" * (CHUNK_SIZE // 4)))
    with pytest.raises(CorruptChunk, match=name):
        restore(RestoreSpec(index, store, tmp_path / "r.raw"))


def test_an_unreachable_swift_fails_after_its_retries(account: SwiftAccount) -> None:
    dead = SwiftAccount("http://127.0.0.1:9/auth/v1.0", account.user, account.key, "x")
    with pytest.raises(StoreError, match=r"auth .* gave up"):
        SwiftStore(dead, attempts=2, backoff=0).has("chunks/a")


def test_wrong_credentials_are_refused(account: SwiftAccount) -> None:
    wrong = SwiftAccount(account.auth_url, account.user, "not-the-key", account.container)
    with pytest.raises(StoreError, match="401"):
        SwiftStore(wrong).has("chunks/a")
