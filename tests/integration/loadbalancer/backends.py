"""Stand-ins for instances: tiny HTTP and TCP servers on 127.0.0.1 that answer with their name.

The simulated region gives instances fixed IPs (10.0.0.x) that nothing listens on; the agent's
address map sends each `fixed_ip:port` to one of these servers instead. Everything else (the
HAProxy configuration, the runtime commands, the health checks) is what a real node runs.
"""

from __future__ import annotations

import http.client
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.integration.sws_process import free_port


def free_range(size: int) -> tuple[int, int]:
    """`size` consecutive free ports on 127.0.0.1."""
    for base in range(31000, 60000, size + 7):
        socks = []
        try:
            for port in range(base, base + size):
                sock = socket.socket()
                sock.bind(("127.0.0.1", port))
                socks.append(sock)
            return base, base + size - 1
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free port range")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = self.server.name.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # health checks connect and reset; that is not an error here


class _TCPHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(self.server.name.encode() + b"\n")  # type: ignore[attr-defined]


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@dataclass
class Backend:
    """One stand-in instance; `kill` closes its port, `restore` opens it again."""

    name: str
    kind: str = "http"
    port: int = field(default_factory=free_port)
    server: Any = None

    def start(self) -> Backend:
        cls, handler = (_HTTPServer, _Handler) if self.kind == "http" else (_TCPServer,
                                                                            _TCPHandler)
        self.server = cls(("127.0.0.1", self.port), handler)
        self.server.name = self.name
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def kill(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    restore = start

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def http_get(port: int, host: str, path: str = "/", timeout: float = 5.0,
             source: str | None = None) -> tuple[int, str]:
    """One request on a new connection (through HAProxy at 127.0.0.1:port)."""
    source_address = (source, 0) if source else None
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=source_address)
    try:
        conn.request("GET", path, headers={"Host": host, "Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def tcp_read(port: int, timeout: float = 5.0) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        return sock.makefile().readline().strip()


def wait_until(predicate: Any, timeout: float = 5.0, step: float = 0.01) -> float:
    """Seconds until `predicate()` held; fails after `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if predicate():
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(step)
    raise AssertionError(f"not true within {timeout}s")
