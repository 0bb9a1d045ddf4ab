"""A real Swift for a browser test, every part of it out of the pytest worker's process.

Swift's Python is eventlet's: a worker that imported it beside Playwright sat in eventlet's hub
after the session and never exited, which hung CI's browser stage. So the worker only starts
processes and talks HTTP or pipes: `scripts/swift-dev` for the cluster, the rig's
`swift-proxy-server` for a proxy of the test's own, and `tests.e2e.swift_site_server` for the
SWS server, whose region manages that Swift through an InternalClient in its own process.
`WORKER_FORBIDDEN` names what must never be in `sys.modules` here.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import TASK_SECONDS, free_port

ROOT = Path(__file__).resolve().parents[2]
SWIFT_DEV = ROOT / "scripts" / "swift-dev"
WORKER_FORBIDDEN = ("eventlet", "swift", "swiftclient")
STARTUP_SECONDS = 180  # a few seconds alone; CI's browser stage shares two cores
COMMAND_SECONDS = 120

# An operator's proxy for private container origins: tempauth for SWS's reseller admin, and
# tempurl for the edges' signed fetches (docs/cdn.md, "Private container origins").
PIPELINE = """[pipeline:main]
pipeline = catch_errors proxy-logging cache tempauth tempurl proxy-logging proxy-server

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
user_sws_storage = {reseller_key} .reseller_admin
"""


def imported_swift() -> list[str]:
    """The modules of `WORKER_FORBIDDEN` this process has imported."""
    return sorted(
        name for name in sys.modules
        if any(name == top or name.startswith(f"{top}.") for top in WORKER_FORBIDDEN)
    )


def swift_dev(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SWIFT_DEV), *args], capture_output=True, text=True, timeout=900)


@contextmanager
def swift_cluster() -> Iterator[dict[str, str]]:
    """scripts/swift-dev's cluster (its `env`), brought up unless it runs, and down again if
    this brought it up. Required in CI: there a cluster that cannot start fails the test."""
    was_up = swift_dev("status").returncode == 0
    up = swift_dev("up")
    if up.returncode != 0:
        message = f"scripts/swift-dev up failed:\n{up.stderr[-3000:]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield dict(line.split("=", 1) for line in swift_dev("env").stdout.splitlines()
                   if "=" in line)
    finally:
        if not was_up:
            swift_dev("down")


def proxy_conf(env: dict[str, str], port: int) -> str:
    """A proxy-server.conf on the rig's rings and memcache, with `PIPELINE`."""
    pipeline = PIPELINE.format(reseller_key=env["SWIFT_DEV_RESELLER_KEY"])
    stock = ("catch_errors", "proxy-logging", "tempurl")
    return "\n".join([
        f"[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = {port}\nworkers = 0\n"
        f"swift_dir = {env['SWIFT_DEV_DIR']}/etc\nlog_name = proxy-e2e\n"
        f"log_address = {env['SWIFT_DEV_DIR']}/no-syslog\n",
        pipeline,
        "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n",
        f"[filter:cache]\nuse = egg:swift#memcache\n"
        f"memcache_servers = {env['SWIFT_DEV_MEMCACHED']}\n",
        *(f"[filter:{name}]\nuse = egg:swift#{name.replace('-', '_')}\n" for name in stock),
    ])


@contextmanager
def swift_proxy(env: dict[str, str], work: Path) -> Iterator[str]:
    """The rig's `swift-proxy-server` with `PIPELINE` on a free port: its URL."""
    port = free_port()
    conf = work / "proxy-server.conf"
    conf.write_text(proxy_conf(env, port))
    venv = Path(env["SWIFT_DEV_VENV"]) / "bin"
    log = work / "proxy.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(venv / "python"), str(venv / "swift-proxy-server"), str(conf), "-v"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the Swift proxy exited:\n{log.read_text()[-3000:]}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the Swift proxy did not listen:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    """Terminate a process this started; kill it if it outlives `grace` seconds."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class SiteProcess:
    """The SWS server of `tests.e2e.swift_site_server`, driven over its stdin and stdout: one
    JSON command a line, one JSON reply a line. It stands for `conftest.Site` (`url`,
    `settle`) in the browser fixtures and steps."""

    def __init__(self, config: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.swift_site_server", json.dumps(config)],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=out, bufsize=0,
            )
        self.url = str(self._reply(STARTUP_SECONDS)["url"])

    def settle(self, seconds: int = TASK_SECONDS) -> None:
        """Simulated time passes (on top of the real one) and the region ticks."""
        self._do("settle", seconds=seconds)

    def load_catalog(self) -> None:
        """The sample price catalog, as the operator loads it."""
        self._do("load_catalog")

    def tenant_id(self, name: str) -> str:
        return str(self._do("tenant_id", name=name))

    def close(self) -> None:
        """End of input: the server stops serving and its process exits."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        stop(self._process, grace=30)

    def _do(self, command: str, **args: Any) -> Any:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"do": command, "args": args}).encode() + b"\n")
        return self._reply(COMMAND_SECONDS)["ok"]

    def _reply(self, timeout: float) -> dict[str, Any]:
        """The next reply line; a failure with the server's log if none comes in time."""
        assert self._process.stdout is not None
        line = b""
        deadline = time.monotonic() + timeout
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._process.stdout], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"the SWS server did not answer in {timeout} s:\n"
                                     f"{self._tail()}")
            chunk = self._process.stdout.read(1)
            if not chunk:
                raise AssertionError(f"the SWS server exited:\n{self._tail()}")
            line += chunk
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise AssertionError(f"the SWS server failed:\n{reply['error']}")
        return reply

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]
