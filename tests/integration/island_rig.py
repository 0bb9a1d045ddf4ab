"""What the Island kill tests share: the agent's command, qcow2 images of random data, and
SIGKILL of a running agent (with its qemu-nbd) at the moment a condition holds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sws_island.chunks import CHUNK_SIZE

needs_qemu = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("qemu-img", "qemu-io", "qemu-nbd", "nbdinfo")),
    reason="needs qemu-utils and libnbd-bin (scripts/install-system-packages)",
)
AGENT = [sys.executable, "-c", "import sys, sws_agent; sys.exit(sws_agent.main())"]


def random_qcow2(tmp_path: Path, chunks: int) -> Path:
    """A qcow2 volume of `chunks` chunks of random data."""
    raw = tmp_path / "seed.raw"
    raw.write_bytes(os.urandom(chunks * CHUNK_SIZE))
    image = tmp_path / "vol.qcow2"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(image)], check=True)
    raw.unlink()
    return image


def as_raw(image: Path, tmp_path: Path) -> bytes:
    """The volume's bytes now (read with -U: an agent may hold the image open)."""
    raw = tmp_path / "now.raw"
    subprocess.run(["qemu-img", "convert", "-U", "-O", "raw", str(image), str(raw)], check=True)
    data = raw.read_bytes()
    raw.unlink()
    return data


def overwrite(image: Path, tmp_path: Path, chunk_numbers: list[int]) -> None:
    """Write fresh random data over each of the given chunks of a qcow2 volume."""
    noise = tmp_path / "noise"
    for number in chunk_numbers:  # each chunk its own data: no two dedupe into one upload
        noise.write_bytes(os.urandom(CHUNK_SIZE))
        write = f"write -s {noise} {number * CHUNK_SIZE} {CHUNK_SIZE}"
        subprocess.run(
            ["qemu-io", "-f", "qcow2", "-c", write, str(image)], check=True, capture_output=True
        )


def kill_when(
    command: list[str], ready: Callable[[], bool], *, timeout: float = 60, poll: float = 0.002
) -> None:
    """Start `command` and SIGKILL its whole process group, as a node crash would, once
    `ready()` holds (checked every `poll` seconds). Fails if the command ends first."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + timeout
    while not ready() and time.monotonic() < deadline:
        assert process.poll() is None, "the agent finished before it could be killed"
        time.sleep(poll)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
