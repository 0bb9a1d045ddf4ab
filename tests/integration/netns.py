"""Network namespaces for the deployment-doc tests: a hub namespace (the node a doc deploys on)
with spokes linked to it by veth pairs, the processes started in them, and an ASGI app served
on a socket opened inside one of them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from sws_agent.netfilter import _in_netns

# A tiny web server: `python -c WEB ADDRESS PORT TEXT` answers every GET with TEXT.
WEB = r"""
import http.server, sys
address, port, text = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode() + b"\n"
class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", str(len(text)))
        self.end_headers(); self.wfile.write(text)
    def log_message(self, *args): pass
server = http.server.ThreadingHTTPServer((address, port), Page)
print("ready", flush=True)
server.serve_forever()
"""


def sh(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(args)}: {done.stderr.strip()}"
    return done.stdout


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def terminate(process: subprocess.Popen[str], timeout: float = 5.0) -> None:
    """SIGTERM, and SIGKILL if it is still there after `timeout` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class Hub:
    """`hub` and its `spokes`, each a namespace named `<prefix>-<tag>-<role>`."""

    def __init__(self, prefix: str, hub: str, spokes: tuple[str, ...]) -> None:
        self.prefix, self.hub, self.spokes = prefix, hub, spokes
        self.tag = uuid.uuid4().hex[:6]
        self.processes: list[subprocess.Popen[str]] = []

    def name(self, role: str) -> str:
        return f"{self.prefix}-{self.tag}-{role}"

    def build(self) -> Hub:
        for role in (self.hub, *self.spokes):
            sh("ip", "netns", "add", self.name(role))
            self.run(role, "ip link set lo up")
        return self

    def device(self, spoke: str, hub_side: bool = False) -> str:
        return f"{self.prefix[:2]}{self.tag}{self.spokes.index(spoke)}{'h' if hub_side else ''}"

    def link(self, spoke: str, address: str, hub_address: str | None = None) -> None:
        """A veth pair between `spoke` (with `address`) and the hub (with `hub_address`)."""
        mine, peer = self.device(spoke), self.device(spoke, hub_side=True)
        sh("ip", "link", "add", mine, "netns", self.name(spoke), "type", "veth",
           "peer", "name", peer, "netns", self.name(self.hub))
        self.run(spoke, f"ip addr add {address} dev {mine} && ip link set {mine} up")
        if hub_address:
            self.run(self.hub, f"ip addr add {hub_address} dev {peer}")
        self.run(self.hub, f"ip link set {peer} up")

    def run(self, role: str, command: str, env: dict[str, str] | None = None) -> str:
        done = self.attempt(role, command, env)
        assert done.returncode == 0, f"{role}: {command}: {done.stderr.strip()}"
        return done.stdout

    def attempt(
        self, role: str, command: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", self.name(role), "sh", "-c", command],
                              capture_output=True, text=True, check=False, timeout=60,
                              env={**os.environ, **(env or {})})

    def start(self, role: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.name(role), *argv], env={**os.environ, **env},
            stdout=log.open("w"), stderr=subprocess.STDOUT, text=True, cwd=log.parent,
        )
        self.processes.append(process)

    def web(self, role: str, address: str, port: int, text: str, log: Path) -> None:
        self.start(role, [sys.executable, "-c", WEB, address, str(port), text], {}, log)

    def close(self) -> None:
        for process in reversed(self.processes):
            terminate(process)
        for role in (self.hub, *self.spokes):
            subprocess.run(["ip", "netns", "del", self.name(role)], check=False)


def serve(app: Any, namespace: str, address: str, port: int) -> uvicorn.Server:
    """`app` on address:port inside `namespace` (the socket is opened there, served here)."""
    sock = _in_netns(namespace, lambda: socket.create_server((address, port)))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    wait_for(lambda: server.started, 10, "the API")
    return server
