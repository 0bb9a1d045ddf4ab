"""Connecting to qemu-nbd's socket between its bind and its listen (a race seen under load)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from sws_island.nbd import _connect


def test_a_socket_that_exists_but_listens_a_moment_later_is_connected_to(tmp_path: Path) -> None:
    path = tmp_path / "nbd.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))  # the file exists; a connect now is refused
    late = threading.Timer(0.3, server.listen)
    late.start()
    client = _connect(path, patience=5)
    accepted, _ = server.accept()
    assert client.getpeername() == str(path)
    for sock in (client, accepted, server):
        sock.close()
    late.join()
