"""Two real Varnish edges and an origin in network namespaces, for the CDN tests.

The hub namespace `net` holds the origin (a small HTTP server whose objects the test sets) and
stands for the clients; each edge is a spoke with its own address and its own varnishd. Outside
CI a missing Varnish skips the tests with the reason; with CI=true it fails them.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sws.cdn.model import Backend, CacheSettings, EdgeDistribution, EdgeState
from sws.cdn.renderer import render
from sws_agent.cdn import CDNAgent, Terminator, TerminatorOptions, Varnish, VarnishOptions
from sws_agent.netfilter import _in_netns
from tests.integration.netns import Hub, wait_for

ORIGIN_PORT = 8080
EDGE_PORT = 8081
FRONT_HTTP_PORT = 8082  # the edges' TLS terminator (HAProxy), in front of Varnish
FRONT_HTTPS_PORT = 8443
HOST = "a1b2c3d4e5f6.cdn.example.com"
DIST = "a1b2c3d4e5f6"

# The origin: answers GET <path> with objects.json's entry for the path (body, headers) and
# appends the path to fetches.log, so a test counts what reached the origin; other methods are
# logged as "<METHOD> <path>" and answered "<METHOD>:<body>". A GET with If-None-Match is
# also logged in conditional.log ("<path> <etag>") and answered 304 when the object's ETag
# header is that tag.
ORIGIN = r"""
import http.server, json, sys, pathlib, time
root, port = pathlib.Path(sys.argv[1]), int(sys.argv[2])
class Origin(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        with open(root / "fetches.log", "a") as log:
            log.write(self.path + "\n")
        objects = json.loads((root / "objects.json").read_text())
        found = objects.get(self.path.split("?")[0])
        time.sleep((found or {}).get("delay", 0))
        if found is None:
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
            return
        asked = self.headers.get("If-None-Match")
        if asked is not None:  # a revalidation: logged, and 304 while the ETag still matches
            with open(root / "conditional.log", "a") as log:
                log.write(self.path + " " + asked + "\n")
            if asked == found.get("headers", {}).get("ETag"):
                self.send_response(304)
                for name, value in found["headers"].items():
                    self.send_header(name, value)
                self.end_headers()
                return
        body = found["body"].encode()
        self.send_response(200)
        for name, value in found.get("headers", {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def do_POST(self):  # also OPTIONS, PUT, DELETE: logged as "<METHOD> <path>", echoed
        size = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(size)
        with open(root / "fetches.log", "a") as log:
            log.write(self.command + " " + self.path + "\n")
        answer = (self.command + ":").encode() + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer))); self.end_headers()
        self.wfile.write(answer)
    do_OPTIONS = do_PUT = do_DELETE = do_POST
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("0.0.0.0", port), Origin).serve_forever()
"""


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]

    @property
    def hit(self) -> bool:
        return self.headers.get("x-cache") == "HIT"


@dataclass
class Origin:
    root: Path
    address: str
    objects: dict[str, Any] = field(default_factory=dict)

    def put(self, path: str, body: str, delay: float = 0, **headers: str) -> None:
        """`path` answers `body` with `headers`, after `delay` seconds (a slow origin)."""
        self.objects[path] = {"body": body, "headers": headers, "delay": delay}
        staged = self.root / "objects.json.tmp"
        staged.write_text(json.dumps(self.objects))
        staged.replace(self.root / "objects.json")

    def revalidations(self, path: str) -> list[str]:
        """The If-None-Match tags the edges sent when they revalidated `path`, in order."""
        log = self.root / "conditional.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [line.split(" ", 1)[1] for line in lines if line.split(" ", 1)[0] == path]

    def fetches(self, path: str | None = None) -> int:
        log = self.root / "fetches.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return len(lines) if path is None else sum(line == path for line in lines)


@dataclass
class Edge:
    name: str
    address: str
    agent: CDNAgent

    @property
    def varnish(self) -> Varnish:
        return self.agent.varnish

    @property
    def terminator(self) -> Terminator:
        assert self.agent.terminator is not None
        return self.agent.terminator


@dataclass
class Rig:
    hub: Hub
    origin: Origin
    edges: list[Edge]

    def get(self, edge: Edge, path: str, host: str = HOST, port: int = EDGE_PORT) -> Answer:
        """A client's GET, from the hub namespace to the edge's address (to its Varnish, or
        to its terminator's HTTP port)."""
        def call() -> Answer:
            connection = http.client.HTTPConnection(edge.address, port, timeout=30)
            try:
                connection.request("GET", path, headers={"Host": host})
                reply = connection.getresponse()
                body = reply.read().decode()
                headers = {k.lower(): v for k, v in reply.getheaders()}
                return Answer(reply.status, body, headers)
            finally:
                connection.close()

        return _in_netns(self.hub.name("net"), call)  # type: ignore[no-any-return]

    def apply(self, state: EdgeState) -> None:
        for edge in self.edges:
            edge.agent.apply(state)


def distribution(ttl: int = 300, honour: bool = True, query: bool = False,
                 origin: str = "10.77.1.1") -> EdgeDistribution:
    return EdgeDistribution(DIST, (HOST, "static.acme.test"),
                            Backend(origin, ORIGIN_PORT, "origin.acme.test"),
                            CacheSettings(ttl, honour, query, True))


def state_of(*distributions: EdgeDistribution) -> EdgeState:
    return EdgeState(render(list(distributions)))


def _need_varnish() -> None:
    missing = [b for b in ("varnishd", "varnishadm", "haproxy", "ip") if shutil.which(b) is None
               and shutil.which(b, path="/usr/sbin:/sbin") is None]
    xkey = list(Path("/usr/lib").glob("*/varnish/vmods/libvmod_xkey.so"))
    if missing or not xkey or os.geteuid() != 0:
        message = (f"needs root, Varnish and varnish-modules (missing: {missing or 'xkey'}); "
                   "run scripts/install-system-packages as root")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    _need_varnish()
    hub = Hub("cdn", "net", ("e1", "e2")).build()
    edges: list[Edge] = []
    short = tempfile.TemporaryDirectory(prefix="cdn-")
    try:
        for index, role in enumerate(("e1", "e2"), start=1):
            hub.link(role, f"10.77.{index}.2/24", f"10.77.{index}.1/24")
            hub.run(role, f"ip route add default via 10.77.{index}.1")
        root = tmp_path / "origin"
        root.mkdir()
        origin = Origin(root, "10.77.1.1")
        origin.put("/", "home")
        hub.start("net", [sys.executable, "-c", ORIGIN, str(root), str(ORIGIN_PORT)], {},
                  tmp_path / "origin.log")
        wait_for(lambda: hub.attempt("net", f"curl -sf http://10.77.1.1:{ORIGIN_PORT}/")
                 .returncode == 0, 10, "the origin")
        origin.root.joinpath("fetches.log").unlink(missing_ok=True)
        for index, role in enumerate(("e1", "e2"), start=1):
            options = VarnishOptions(
                run_dir=tmp_path / role, listen=(f"10.77.{index}.2:{EDGE_PORT}",),
                storage="malloc,32m", prefix=("ip", "netns", "exec", hub.name(role)),
                identity=f"edge-{index}",
            )
            terminator = TerminatorOptions(
                # short: HAProxy binds a Unix socket at "<path>.<pid>.tmp" first, and a pytest
                # path under xdist leaves that past the 107 bytes a socket's path may have
                run_dir=Path(short.name) / role,
                http_listen=f"10.77.{index}.2:{FRONT_HTTP_PORT}",
                https_listen=f"10.77.{index}.2:{FRONT_HTTPS_PORT}",
                front_socket=options.front_socket, prefix=options.prefix,
            )
            agent = CDNAgent(Varnish(options), Terminator(terminator))
            agent.start()
            edges.append(Edge(f"edge-{index}", f"10.77.{index}.2", agent))
        yield Rig(hub, origin, edges)
    finally:
        for edge in edges:
            edge.terminator.stop()
            edge.varnish.stop()
        hub.close()
        short.cleanup()
