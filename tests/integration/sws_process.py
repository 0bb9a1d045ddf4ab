"""Real processes a test starts: a free port for them, `sws up` and waiting until it answers,
and stopping them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SWS = Path(sys.executable).with_name("sws")
STARTUP_SECONDS = 180  # 3 s on a quiet machine; CI's integration tier runs beside OpenStack


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    """Terminate a process a test started; kill it if it outlives `grace` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_sws_up(port: int, log: Path, cwd: Path, **sws_env: str) -> subprocess.Popen[bytes]:
    """`sws up` on 127.0.0.1:`port` with only the given SWS_ settings, its output in `log`
    unbuffered, so a slow start shows how far it got."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWS_")}
    env |= sws_env | {"PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(SWS), "up", "--host", "127.0.0.1", "--port", str(port)],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
        )


def wait_until_healthy(api: str, process: subprocess.Popen[bytes], log: Path) -> float:
    """Seconds until `api`/healthz answered 200; fails with the log's tail if the process
    exits or never answers."""
    started = time.monotonic()
    while time.monotonic() < started + STARTUP_SECONDS:
        assert process.poll() is None, f"sws up exited: {log.read_text()[-2000:]}"
        try:
            if httpx.get(f"{api}/healthz", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(
        f"sws up did not answer within {STARTUP_SECONDS} s: {log.read_text()[-2000:]}")
