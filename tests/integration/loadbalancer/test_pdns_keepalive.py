"""The remote backend keeps PowerDNS's HTTP connection open: many queries, no SERVFAIL."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest

from sws.dns import remote
from sws.loadbalancer.model import Node
from tests.integration.loadbalancer.backends import free_port, wait_until

ZONE = "lb.example.com"
NODES = [
    Node("lb-tel", "192.0.2.1", "telecom", alive=True),
    Node("lb-uni", "198.51.100.1", "unicom", alive=True),
]
QUERIES = 200


class Rig:
    def __init__(self, port: int, server: Any) -> None:
        self.port = port
        self.connections = 0
        self._count_connections(server)

    def _count_connections(self, server: Any) -> None:
        accept = server.process_request

        def counted(request: Any, address: Any) -> None:
            self.connections += 1
            accept(request, address)

        server.process_request = counted


@pytest.fixture
def rig(pdns_bin: str, tmp_path: Path) -> Iterator[Rig]:
    data = remote.ZoneData(
        zone=ZONE,
        exists=lambda name: name.startswith("web."),
        nodes=lambda: NODES,
        views={"telecom": ["10.1.0.0/16"]},
        node_cache_seconds=0,
    )
    backend = remote.make_server(data, "127.0.0.1", free_port())
    port = free_port()
    found = Rig(port, backend)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    conf = tmp_path / "pdns"
    conf.mkdir()
    (conf / "pdns.conf").write_text(
        remote.pdns_config(
            backend_url=f"http://127.0.0.1:{backend.server_address[1]}/dns",
            port=port,
            socket_dir=str(conf),
        )
    )
    process = subprocess.Popen(
        [
            pdns_bin,
            f"--config-dir={conf}",
            "--daemon=no",
            "--guardian=no",
            "--disable-syslog",
            "--write-pid=no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _ready(port), timeout=10)
        yield found
    finally:
        process.terminate()
        process.wait(timeout=10)
        backend.shutdown()
        backend.server_close()


def _ready(port: int) -> bool:
    try:
        return bool(_ask(f"web.{ZONE}", port).rcode() == dns.rcode.NOERROR)
    except dns.exception.DNSException:
        return False


def _ask(name: str, port: int) -> Any:
    return dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=port, timeout=5)


def test_many_queries_reuse_the_backend_connection_and_none_fails(rig: Rig) -> None:
    before = rig.connections
    codes = [
        _ask(f"web.{ZONE}" if i % 2 else f"nope{i}.{ZONE}", rig.port).rcode()
        for i in range(QUERIES)
    ]
    assert codes.count(dns.rcode.SERVFAIL) == 0
    assert codes[1::2] == [dns.rcode.NOERROR] * (QUERIES // 2)
    assert codes[0::2] == [dns.rcode.NXDOMAIN] * (QUERIES // 2)
    # PowerDNS asks several times per query; one open connection per backend thread serves all
    assert rig.connections - before < QUERIES // 10
