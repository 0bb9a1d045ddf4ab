"""kill -9 of `sws-agent island snapshot` while it uploads to a real Swift, then restart and GC."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sws_island import index as indexes
from sws_island.chunks import CHUNK_PREFIX, CHUNK_SIZE
from sws_island.swift import SwiftAccount, SwiftStore
from tests.integration.island_rig import (
    AGENT,
    as_raw,
    kill_when,
    needs_qemu,
    overwrite,
    random_qcow2,
)

pytestmark = needs_qemu
CHUNKS = 16


@pytest.fixture
def account(swift_env: dict[str, str]) -> Iterator[SwiftAccount]:
    account = SwiftAccount(
        f"{swift_env['SWIFT_DEV_PROXY_A']}/auth/v1.0",
        swift_env["SWIFT_DEV_USER"],
        swift_env["SWIFT_DEV_KEY"],
        f"island-kill-{uuid.uuid4().hex[:8]}",
    )
    yield account
    store = SwiftStore(account)
    for name in list(store.list()):
        store.delete(name)


def agent(account: SwiftAccount, *args: str, stale_after: float = 3600) -> list[str]:
    return [
        *AGENT,
        "island",
        "--swift-auth",
        account.auth_url,
        "--swift-user",
        account.user,
        "--swift-key",
        account.key,
        "--swift-container",
        account.container,
        "--workers",
        "1",
        "--stale-after",
        str(stale_after),
        *args,
    ]


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.chaos
def test_a_snapshot_killed_mid_upload_to_swift_loses_nothing_completed(
    account: SwiftAccount, tmp_path: Path
) -> None:
    image = random_qcow2(tmp_path, CHUNKS)
    first = run(agent(account, "snapshot", "--volume", "vol", "--image", str(image)))
    assert first.returncode == 0, first.stderr
    kept = json.loads(first.stdout)["snapshot"]
    kept_bytes = as_raw(image, tmp_path)
    store = SwiftStore(account)
    before = len(list(store.list(CHUNK_PREFIX)))

    overwrite(image, tmp_path, list(range(CHUNKS)))
    uploading = agent(account, "snapshot", "--volume", "vol", "--image", str(image))
    kill_when(
        uploading, lambda: len(list(store.list(CHUNK_PREFIX))) >= before + 2, timeout=120, poll=0.01
    )
    assert [s for _, s in indexes.snapshots(store)] == [kept]

    time.sleep(0.2)
    swept = run(agent(account, "gc", stale_after=0.1))
    assert swept.returncode == 0, swept.stderr
    assert json.loads(swept.stdout)["deleted"] >= 2  # the interrupted snapshot's chunks
    target = tmp_path / "kept.raw"
    restored = run(
        agent(
            account,
            "restore",
            "--volume",
            "vol",
            "--snapshot",
            kept,
            "--target",
            str(target),
            "--format",
            "raw",
        )
    )
    assert restored.returncode == 0, restored.stderr
    assert target.read_bytes() == kept_bytes

    again = run(agent(account, "snapshot", "--volume", "vol", "--image", str(image)))
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert not summary["full_read"] and summary["bytes_read"] == CHUNKS * CHUNK_SIZE
    second = tmp_path / "second.qcow2"
    done = run(
        agent(
            account,
            "restore",
            "--volume",
            "vol",
            "--snapshot",
            summary["snapshot"],
            "--target",
            str(second),
        )
    )
    assert done.returncode == 0, done.stderr
    assert as_raw(second, tmp_path) == as_raw(image, tmp_path)
