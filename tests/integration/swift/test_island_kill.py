"""kill -9 of `sws-agent island snapshot` while it uploads to a real Swift, then restart and GC."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sws_island import index as indexes
from sws_island.chunks import CHUNK_PREFIX, CHUNK_SIZE
from sws_island.swift import SwiftAccount, SwiftStore

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("qemu-img", "qemu-io", "qemu-nbd", "nbdinfo")),
    reason="needs qemu-utils and libnbd-bin (scripts/install-system-packages)",
)
AGENT = [sys.executable, "-c", "import sys, sws_agent; sys.exit(sws_agent.main())"]
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


def content(image: Path, tmp_path: Path) -> bytes:
    raw = tmp_path / "now.raw"
    subprocess.run(["qemu-img", "convert", "-U", "-O", "raw", str(image), str(raw)], check=True)
    data = raw.read_bytes()
    raw.unlink()
    return data


@pytest.mark.chaos
def test_a_snapshot_killed_mid_upload_to_swift_loses_nothing_completed(
    account: SwiftAccount, tmp_path: Path
) -> None:
    raw = tmp_path / "seed.raw"
    raw.write_bytes(os.urandom(CHUNKS * CHUNK_SIZE))
    image = tmp_path / "vol.qcow2"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(image)], check=True)
    raw.unlink()
    first = run(agent(account, "snapshot", "--volume", "vol", "--image", str(image)))
    assert first.returncode == 0, first.stderr
    kept = json.loads(first.stdout)["snapshot"]
    kept_bytes = content(image, tmp_path)
    store = SwiftStore(account)
    before = len(list(store.list(CHUNK_PREFIX)))

    noise = tmp_path / "noise"
    noise.write_bytes(os.urandom(CHUNKS * CHUNK_SIZE))
    subprocess.run(
        ["qemu-io", "-f", "qcow2", "-c", f"write -s {noise} 0 {CHUNKS * CHUNK_SIZE}", str(image)],
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        agent(account, "snapshot", "--volume", "vol", "--image", str(image)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while len(list(store.list(CHUNK_PREFIX))) < before + 2 and time.monotonic() < deadline:
        assert process.poll() is None, "the snapshot finished before it could be killed"
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
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
    assert content(second, tmp_path) == content(image, tmp_path)
