"""The edge's TLS terminator: a master-worker HAProxy in front of Varnish, its certificates
and its configuration (`sws.cdn.terminator`), reloaded without dropping connections.

Certificates (chain and key) and the configuration (it holds the signing keys) are written
0600, each to a staged name renamed into place; a configuration HAProxy refuses (`haproxy -c`)
never replaces the running one.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sws.cdn.model import EdgeState
from sws.cdn.terminator import CRT_LIST, crt_list
from sws_agent.lb._haproxy import HAPROXY, AgentError, HAProxy


@dataclass(frozen=True, slots=True)
class TerminatorOptions:
    """Where the edge's HAProxy runs and what it listens on."""

    run_dir: Path  # its own directory: configuration, sockets, tls/
    http_listen: str
    https_listen: str
    front_socket: Path  # Varnish's `front` listener
    binary: str = HAPROXY
    prefix: tuple[str, ...] = ()  # `ip netns exec NS` for the tests' edges

    @property
    def environment(self) -> dict[str, str]:
        return {"SWS_EDGE_HTTP": self.http_listen, "SWS_EDGE_HTTPS": self.https_listen,
                "SWS_EDGE_RUN": str(self.run_dir), "SWS_EDGE_FRONT": str(self.front_socket)}


@dataclass
class EdgeHAProxy(HAProxy):
    """`HAProxy` started and checked with the edge's environment (and namespace)."""

    prefix: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)

    def check(self, path: Path) -> None:
        done = self._run(["-c", "-f", str(path)])
        if done.returncode != 0:
            alerts = [line for line in done.stderr.splitlines() if "ALERT" in line]
            raise AgentError("haproxy -c refused the terminator's configuration: "
                             + (" / ".join(alerts[:3]) or done.stderr.strip()))

    def start(self) -> None:
        done = self._run(["-W", "-D", "-S", f"{self.master_socket},mode,600",
                          "-f", str(self.config)])
        if done.returncode != 0:
            raise AgentError(f"haproxy did not start: {done.stderr.strip()}")
        self._wait_ready(lambda: self.running() and bool(self.proc().workers)
                         and "Pid:" in self.runtime("show info"))

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.prefix, self.binary, *args], capture_output=True,
                              text=True, timeout=60, check=False,
                              env={**os.environ, **self.environment})


class Terminator:
    """One edge's HAProxy: `apply` writes what changed and reloads (or starts) it."""

    def __init__(self, options: TerminatorOptions) -> None:
        self.options = options
        self.haproxy = EdgeHAProxy(options.run_dir, options.binary, prefix=options.prefix,
                                   environment=options.environment)

    def apply(self, state: EdgeState) -> bool:
        """True when HAProxy was started or reloaded."""
        files = self._files(state)
        changed = {p: t for p, t in files.items() if _read(p) != t}
        running = self.haproxy.running()
        if not changed and running:
            return False
        (self.options.run_dir / "tls").mkdir(parents=True, mode=0o700, exist_ok=True)
        staged = self.options.run_dir / "haproxy.cfg.new"
        _write(staged, files[self.haproxy.config])
        for path, text in changed.items():
            if path != self.haproxy.config:
                _write(path, text)
        self.haproxy.check(staged)
        staged.replace(self.haproxy.config)
        if running:
            self.haproxy.reload()
        else:
            self.haproxy.start()
        self._remove_stale_keys(set(files))
        return True

    def _remove_stale_keys(self, keep: set[Path]) -> None:
        """A certificate no longer served (its tenant removed it) leaves no key on the edge."""
        for pem in (self.options.run_dir / "tls").glob("*.pem"):
            if pem not in keep:
                pem.unlink(missing_ok=True)

    def _files(self, state: EdgeState) -> dict[Path, str]:
        run = self.options.run_dir
        files = {run / "tls" / f"{c.name}.pem": c.pem for c in state.certificates}
        files[run / CRT_LIST] = crt_list(str(run), state.certificates)
        files[self.haproxy.config] = state.terminator
        return files

    def stop(self) -> None:
        self.haproxy.stop()


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _write(path: Path, text: str) -> None:
    staged = path.with_name(path.name + ".tmp")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    staged.replace(path)
