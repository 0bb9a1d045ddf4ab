"""SwiftStore after the server closed its idle connections (Swift's proxy does after 60 s)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from sws_island.swift import SwiftAccount, SwiftStore


class FakeSwift(BaseHTTPRequestHandler):
    """Tempauth and HEAD of objects, over keep-alive connections the test can cut."""

    protocol_version = "HTTP/1.1"
    present: ClassVar[set[str]] = {"/v1/AUTH_t/c/chunks/kept"}
    open_sockets: ClassVar[list[socket.socket]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # tempauth v1
        host, port = self.server.server_address[:2]
        self.send_response(200)
        self.send_header("X-Storage-Url", f"http://{host!s}:{port}/v1/AUTH_t")
        self.send_header("X-Auth-Token", "token")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        FakeSwift.open_sockets.append(self.connection)
        self.send_response(200 if self.path in self.present else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def swift() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSwift)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def hang_up_idle_connections() -> None:
    """What the proxy does to a client that stayed idle past its client timeout."""
    for sock in FakeSwift.open_sockets:
        sock.shutdown(socket.SHUT_RDWR)
    FakeSwift.open_sockets.clear()


def test_a_request_after_the_server_hung_up_idle_connections_succeeds(
    swift: ThreadingHTTPServer,
) -> None:
    host, port = swift.server_address[:2]
    account = SwiftAccount(f"http://{host!s}:{port}/auth/v1.0", "u", "k", "c")
    store = SwiftStore(account, connections=4, attempts=1, backoff=0)
    assert store.has("chunks/kept")  # leaves one idle keep-alive connection in the pool
    hang_up_idle_connections()
    # one attempt only: the stale connection must not spend it
    assert store.has("chunks/kept")
    assert not store.has("chunks/missing")
