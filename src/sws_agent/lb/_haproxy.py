"""HAProxy as the agent drives it: the CLI sockets, `show proc`/`show stat` parsing, and the
master-worker process (check, start, hitless reload, stop)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HAPROXY = os.environ.get("SWS_HAPROXY", "/usr/sbin/haproxy")


class AgentError(Exception):
    """HAProxy refused a configuration or a command."""


def unix_command(path: Path, command: str, timeout: float = 5.0) -> str:
    """One command on a HAProxy CLI socket (runtime API or master CLI); returns the reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


@dataclass(frozen=True, slots=True)
class Proc:
    """`show proc` on the master CLI: the master's reload counter and the workers' pids."""

    master_pid: int
    reloads: int
    failed: int
    workers: tuple[int, ...]


def parse_show_proc(text: str) -> Proc:
    master, reloads, failed, workers = 0, 0, 0, []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3 or not fields[0].isdigit():
            continue
        if fields[1] == "master":
            master, reloads = int(fields[0]), int(fields[2])
            if "[failed:" in line:
                failed = int(line.split("[failed:")[1].split("]")[0])
        elif fields[1] == "worker":
            workers.append(int(fields[0]))
    return Proc(master, reloads, failed, tuple(workers))


def parse_show_stat(text: str) -> dict[str, dict[str, str]]:
    """backend -> server -> status, from `show stat` CSV (servers only)."""
    out: dict[str, dict[str, str]] = {}
    lines = text.splitlines()
    if not lines:
        return out
    header = lines[0].lstrip("# ").split(",")
    ix_px, ix_sv, ix_st = header.index("pxname"), header.index("svname"), header.index("status")
    for line in lines[1:]:
        cells = line.split(",")
        if len(cells) <= ix_st or cells[ix_sv] in ("FRONTEND", "BACKEND"):
            continue
        out.setdefault(cells[ix_px], {})[cells[ix_sv]] = cells[ix_st]
    return out


def parse_backend_bytes(text: str) -> dict[str, int]:
    """backend -> bytes sent to clients (`bout` of its BACKEND row), from `show stat` CSV."""
    lines = text.splitlines()
    if not lines:
        return {}
    header = lines[0].lstrip("# ").split(",")
    ix_px, ix_sv, ix_out = header.index("pxname"), header.index("svname"), header.index("bout")
    out: dict[str, int] = {}
    for line in lines[1:]:
        cells = line.split(",")
        if len(cells) > ix_out and cells[ix_sv] == "BACKEND" and cells[ix_out].isdigit():
            out[cells[ix_px]] = int(cells[ix_out])
    return out


def health_of(status: str) -> str:
    """HAProxy's server status as SWS health: UP 1/2 (going down) is still up, and so on."""
    word = status.split()[0] if status else ""
    if word.startswith("MAINT") or word == "DRAIN":
        return "maint"
    if word in ("UP", "no", "NOLB"):
        return "up"
    return "down"


@dataclass
class HAProxy:
    """One master-worker HAProxy, its files and its two sockets."""

    run_dir: Path
    binary: str = HAPROXY
    before_reload: Callable[[], object] | None = None  # the agent's: files written first

    @property
    def config(self) -> Path:
        return self.run_dir / "haproxy.cfg"

    @property
    def master_socket(self) -> Path:
        return self.run_dir / "master.sock"

    @property
    def admin_socket(self) -> Path:
        return self.run_dir / "admin.sock"

    def runtime(self, command: str) -> str:
        return unix_command(self.admin_socket, command)

    def master(self, command: str) -> str:
        # The master CLI keeps a connection open until told to quit.
        return unix_command(self.master_socket, f"{command}\nquit")

    def proc(self) -> Proc:
        return parse_show_proc(self.master("show proc"))

    def running(self) -> bool:
        try:
            return self.proc().master_pid > 0
        except OSError:
            return False

    def check(self, path: Path) -> None:
        result = subprocess.run(
            [self.binary, "-c", "-f", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            alerts = [line for line in result.stderr.splitlines() if "ALERT" in line]
            reason = " / ".join(alerts[:3]) or result.stderr.strip()
            raise AgentError(f"haproxy -c refused the configuration: {reason}")

    def start(self) -> None:
        command = [
            self.binary,
            "-W",
            "-D",
            "-S",
            f"{self.master_socket},mode,600",
            "-f",
            str(self.config),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise AgentError(f"haproxy did not start: {result.stderr.strip()}")
        # Ready when the worker answers its runtime API, not only when the master lists it:
        # otherwise the first change pays for the worker's start (the bench's one outlier).
        self._wait_ready(
            lambda: (
                self.running() and bool(self.proc().workers) and "Pid:" in self.runtime("show info")
            )
        )

    def reload(self) -> None:
        """Hitless: the master re-executes; the new worker takes the listening sockets."""
        if self.before_reload is not None:
            self.before_reload()
        before = self.proc()
        with contextlib.suppress(OSError):  # the master closes its CLI as it re-executes
            self.master("reload")
        self._wait_ready(lambda: self._reloaded(before))

    def _reloaded(self, before: Proc) -> bool:
        try:
            now = self.proc()
        except OSError:
            return False
        if now.failed > before.failed:
            raise AgentError("haproxy failed to load the new configuration")
        if now.reloads <= before.reloads or not now.workers:
            return False
        newest = max(now.workers)
        info = self.runtime("show info")
        return f"Pid: {newest}" in info

    def _wait_ready(self, ready: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.01)
        raise AgentError("haproxy did not become ready in time")

    def stop(self) -> None:
        """Stops the master and its workers (tests and `--stop`); agents never call it."""
        try:
            pid = self.proc().master_pid
        except OSError:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    with contextlib.suppress(ChildProcessError):  # reap it if it is our zombie child
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(") ")[1][:1] != "Z"
