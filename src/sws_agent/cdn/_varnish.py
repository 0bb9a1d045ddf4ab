"""One edge's Varnish: the daemon, its management CLI (`varnishadm`) and its purge socket.

varnishd runs as a daemon in its own working directory (`-n`), so it outlives the agent. It
listens for clients on the edge's address and, for purges, on a Unix socket named `purge` that
only root (the agent) can open. A configuration change is `vcl.load` then `vcl.use`: Varnish
switches new requests to the new VCL while requests in flight finish on the old one, and no
connection is dropped. A VCL is named after its digest, so the active name tells which
configuration the edge runs, even to an agent that has just restarted.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

VARNISHD = "varnishd"
VARNISHADM = "varnishadm"
PREFIX = "sws_"
END = "SWS_VCL_END"
NAME_DIGITS = 64  # the whole digest: the active name says exactly what runs


class EdgeError(Exception):
    """Varnish refused a command, or could not be started."""


def vcl_name(digest: str) -> str:
    return PREFIX + digest[:NAME_DIGITS]


@dataclass(frozen=True, slots=True)
class VarnishOptions:
    """Where and how one edge's varnishd runs."""

    run_dir: Path
    listen: tuple[str, ...] = ("0.0.0.0:80",)
    storage: str = "malloc,256m"
    varnishd: str = VARNISHD
    varnishadm: str = VARNISHADM
    # Put before every varnishd/varnishadm/varnishstat command: `ip netns exec NS` runs an
    # edge inside a network namespace (the tests' edges); empty on a real edge.
    prefix: tuple[str, ...] = ()
    # server.identity in the VCL (`-i`): the edge's name, by which it finds its shielding role
    identity: str = ""

    @property
    def workdir(self) -> Path:
        return self.run_dir / "varnish"

    @property
    def purge_socket(self) -> Path:
        return self.run_dir / "purge.sock"

    @property
    def front_socket(self) -> Path:
        """The listener the TLS terminator forwards to (signed URLs are trusted only here)."""
        return self.run_dir / "front.sock"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "varnishd.pid"

    @property
    def vcl_dir(self) -> Path:
        return self.run_dir / "vcl"


class Varnish:
    """The daemon of one edge, driven through `varnishadm -n <workdir>`."""

    def __init__(self, options: VarnishOptions) -> None:
        self.options = options

    def running(self) -> bool:
        return self.alive() and self._answers()

    def alive(self) -> bool:
        """Whether the pidfile's varnishd exists and is no zombie (no management command: cheap
        enough for every report)."""
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return not _zombie(pid)

    def pid(self) -> int | None:
        try:
            return int(self.options.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self) -> None:
        """A new varnishd with no VCL yet: its child starts at the first `use`."""
        o = self.options
        o.run_dir.mkdir(parents=True, exist_ok=True)
        o.vcl_dir.mkdir(exist_ok=True)
        listen = [a for i, address in enumerate(o.listen) for a in ("-a", f"http{i}={address}")]
        command = [
            *o.prefix,
            o.varnishd,
            "-n",
            str(o.workdir),
            *listen,
            "-a",
            f"purge={o.purge_socket},mode=0600",
            "-a",
            f"front={o.front_socket},PROXY,mode=0600",  # client.ip from the terminator
            *(("-i", o.identity) if o.identity else ()),
            "-f",
            "",
            "-s",
            o.storage,
            "-P",
            str(o.pidfile),
            "-T",
            "127.0.0.1:0",
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise EdgeError(f"varnishd did not start: {done.stderr.strip() or done.stdout}")
        self._wait_until_answering()

    def _wait_until_answering(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._answers():
            if time.monotonic() > deadline:
                raise EdgeError("varnishd does not answer its management CLI")
            time.sleep(0.1)

    def _answers(self) -> bool:
        try:
            self.admin("ping")
        except EdgeError:
            return False
        return True

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            _wait_gone(pid)

    def admin(self, *args: str) -> str:
        """One management command; its output, or `EdgeError` with Varnish's reason."""
        o = self.options
        command = [*o.prefix, o.varnishadm, "-n", str(o.workdir), "-t", "10", *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        except subprocess.TimeoutExpired as exc:
            raise EdgeError(f"varnishadm {args[0]} timed out") from exc
        if done.returncode != 0:
            said = (done.stdout + done.stderr)[-800:]
            raise EdgeError(f"varnishadm {args[0] if args else ''}: {said}")
        return done.stdout

    def active(self) -> str | None:
        """The name of the VCL that serves requests now, if any."""
        for name, status in self.vcls():
            if status == "active":
                return name
        return None

    def vcls(self) -> list[tuple[str, str]]:
        """(name, status) of every loaded VCL (status: active, available, or discarded while it
        cools down)."""
        found = []
        for line in self.admin("vcl.list").splitlines():
            words = line.split()
            if len(words) >= 5:
                found.append((words[4], words[0]))
        return found

    def switch_to(self, name: str, vcl: str) -> None:
        """Load `vcl` as `name` (compiled and checked by Varnish), make it active, start the
        child if it is not running, and discard the VCLs no longer in use."""
        path = self.options.vcl_dir / f"{name}.vcl"
        staged = path.with_suffix(".tmp")
        staged.write_text(vcl)
        staged.replace(path)
        if dict(self.vcls()).get(name) == "discarded":
            self._wait_discarded(name)  # the same text again, before Varnish let the old go
        if name not in {n for n, _ in self.vcls()}:
            self._load_inline(name, vcl)
        self.admin("vcl.use", name)
        if "running" not in self.admin("status"):
            self.admin("start")
        self.discard_others(name)

    def _wait_discarded(self, name: str, timeout: float = 10.0) -> None:
        """Wait until a discarded VCL is gone (it stays listed while it cools down), so one of
        the same name can be loaded again."""
        deadline = time.monotonic() + timeout
        while dict(self.vcls()).get(name) == "discarded":
            if time.monotonic() > deadline:
                raise EdgeError(f"VCL {name} is still being discarded; the next change retries")
            time.sleep(0.05)

    def _load_inline(self, name: str, vcl: str) -> None:
        """`vcl.inline` with the text as a CLI here-document: Varnish's compiler runs as an
        unprivileged user that may not read the agent's files."""
        if END in vcl:
            raise EdgeError("the VCL holds the here-document's end marker")
        o = self.options
        command = [*o.prefix, o.varnishadm, "-n", str(o.workdir), "-t", "30"]
        script = f"vcl.inline {name} << {END}\n{vcl}\n{END}\n"
        done = subprocess.run(
            command, input=script, capture_output=True, text=True, timeout=60, check=False
        )
        if name not in {n for n, _ in self.vcls()}:  # piped varnishadm exits 0 regardless
            raise EdgeError(f"Varnish refused the VCL: {(done.stdout + done.stderr)[-800:]}")

    def discard_others(self, keep: str) -> None:
        for name, status in self.vcls():
            if name != keep and status != "active":
                try:
                    self.admin("vcl.discard", name)
                except EdgeError:
                    continue  # still busy with requests in flight; the next change discards it
                (self.options.vcl_dir / f"{name}.vcl").unlink(missing_ok=True)

    def purge(self, *, host: str, url: str = "/", headers: Mapping[str, str] | None = None) -> int:
        """A `PURGE` on the private socket; the number of objects purged (0 or more)."""
        connection = _UnixHTTPConnection(str(self.options.purge_socket))
        try:
            connection.request("PURGE", url, headers={"Host": host, **(headers or {})})
            answer = connection.getresponse()
            answer.read()
        finally:
            connection.close()
        if answer.status != 200:
            raise EdgeError(f"purge of {host}{url}: {answer.status} {answer.reason}")
        return int(answer.getheader("X-SWS-Purged") or 0)

    def counters(self) -> dict[str, int]:
        """`varnishstat` counters (cache hits, misses, backend fetches...)."""
        command = [*self.options.prefix, "varnishstat", "-n", str(self.options.workdir), "-1"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
        found = {}
        for line in done.stdout.splitlines():
            words = line.split()
            if len(words) >= 2 and words[1].isdigit():
                found[words[0]] = int(words[1])
        return found


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(self._path)
        self.sock = sock


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
