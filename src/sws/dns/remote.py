"""A PowerDNS remote backend (HTTP connector) that answers the LB zone from SWS's database.

pdns.conf (see `sws dns pdns-config`):

    launch=remote
    remote-connection-string=http:url=http://127.0.0.1:8053/dns
    edns-subnet-processing=yes

PowerDNS asks `GET /dns/lookup/<qname>/<qtype>` with the headers `X-RemoteBackend-remote`
(the resolver), `X-RemoteBackend-real-remote` (the ECS subnet, when sent) and
`X-RemoteBackend-local`; we answer `{"result": [records]}` with a `scopeMask`, so resolvers
cache each answer for the client subnet it was made for. Other methods answer
`{"result": false}` (not supported), which PowerDNS treats as "nothing here".
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sws.dns.model import Answer, Record, answer, soa
from sws.loadbalancer.model import Node

Exists = Callable[[str], bool]
Nodes = Callable[[], list[Node]]


@dataclass
class ZoneData:
    """What answers need: which names exist, the nodes (cached briefly) and the views."""

    zone: str
    exists: Exists
    nodes: Nodes
    views: dict[str, list[str]]
    ttl: int = 30
    nameservers: tuple[str, ...] = ("ns1.example.com",)
    node_cache_seconds: float = 0.5
    _cached: tuple[float, list[Node]] = field(default=(0.0, []))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current_nodes(self) -> list[Node]:
        with self._lock:
            at, found = self._cached
            if time.monotonic() - at > self.node_cache_seconds:
                found = self.nodes()
                self._cached = (time.monotonic(), found)
            return found


def lookup_with_scope(
    data: ZoneData, qname: str, qtype: str, headers: dict[str, str]
) -> tuple[list[Record], int]:
    name = qname.lower().rstrip(".")
    zone = data.zone
    if name != zone and not name.endswith("." + zone):
        return [], 0
    if name == zone:
        return _apex(data, qtype), 0
    client = headers.get("real-remote") or headers.get("remote") or "0.0.0.0"
    result: Answer = answer(
        qname=f"{name}.",
        qtype=qtype,
        client=client,
        exists=data.exists(name),
        nodes=data.current_nodes(),
        views=data.views,
        ttl=data.ttl,
    )
    return list(result.records), result.scope


def _apex(data: ZoneData, qtype: str) -> list[Record]:
    out = []
    if qtype in ("SOA", "ANY"):
        out.append(soa(data.zone, data.nameservers[0], 1, data.ttl))
    if qtype in ("NS", "ANY"):
        out += [Record(f"{data.zone}.", "NS", f"{ns}.", data.ttl) for ns in data.nameservers]
    return out


def _record_json(record: Record, scope: int) -> dict[str, Any]:
    return {
        "qname": record.qname,
        "qtype": record.qtype,
        "content": record.content,
        "ttl": record.ttl,
        "auth": True,
        "scopeMask": scope,
    }


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: PowerDNS reuses its connection to the backend, and an answer
    followed by a close (HTTP/1.0) made its next query on that connection read EOF and answer
    SERVFAIL. Every answer carries its Content-Length; an idle connection closes after
    `timeout` seconds. Nagle is off: headers and body leave in two writes, and on a kept-open
    connection Nagle with delayed ACKs would hold each answer's body back ~40 ms."""

    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 60
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._skip_body()
        parts = [urllib.parse.unquote(p) for p in self.path.split("?")[0].split("/") if p]
        result: Any = False
        if len(parts) >= 4 and parts[1] == "lookup":
            headers = {
                k.lower().removeprefix("x-remotebackend-"): v for k, v in self.headers.items()
            }
            records, scope = lookup_in(self.server.zones, parts[2], parts[3], headers)
            result = [_record_json(r, scope) for r in records]
        elif len(parts) >= 2 and parts[1] == "getAllDomainMetadata":
            result = {}
        self._reply({"result": result})

    do_POST = do_GET  # noqa: N815 (the http.server naming)

    def _skip_body(self) -> None:
        """Read a request's body (a POST's parameters, unused), so the next request on the
        connection starts where PowerDNS sent it."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > 0:
            self.rfile.read(length)

    def _reply(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    data: ZoneData
    zones: tuple[ZoneData, ...]


def make_server(
    data: ZoneData, host: str = "127.0.0.1", port: int = 8053, also: Sequence[ZoneData] = ()
) -> _Server:
    """The backend for `data`'s zone and the zones `also` lists (the CDN's)."""
    server = _Server((host, port), _Handler)
    server.data = data
    server.zones = (data, *also)
    return server


def lookup_in(
    zones: Sequence[ZoneData], qname: str, qtype: str, headers: dict[str, str]
) -> tuple[list[Record], int]:
    """The most specific zone that holds `qname` answers; no zone, no records."""
    name = qname.lower().rstrip(".")
    for data in sorted(zones, key=lambda z: len(z.zone), reverse=True):
        if name == data.zone or name.endswith("." + data.zone):
            return lookup_with_scope(data, qname, qtype, headers)
    return [], 0


def pdns_config(
    *, backend_url: str, address: str = "127.0.0.1", port: int = 53, socket_dir: str = "/run/pdns"
) -> str:
    """A pdns.conf for a node of the LB zone (caches off: answers depend on the client)."""
    return "\n".join(
        [
            "launch=remote",
            f"remote-connection-string=http:url={backend_url.rstrip('/')}",
            "edns-subnet-processing=yes",
            f"local-address={address}",
            f"local-port={port}",
            f"socket-dir={socket_dir}",
            "cache-ttl=0",
            "query-cache-ttl=0",
            "negquery-cache-ttl=0",
            "zone-cache-refresh-interval=0",
            "consistent-backends=yes",
            "security-poll-suffix=",
            "",
        ]
    )
