"""The CDN in a real browser, on a real edge: a tenant puts its http load balancer behind the
CDN, fetches an object through the edge by the distribution's name, sees the hits in the graph,
purges the object, gets the new version, and finds the CDN traffic on its bill.

The edge is Varnish run by the real `sws-agent cdn` (a process, against the test's SWS server)
on 127.0.0.1. The origin is the load balancer's HTTP endpoint: a small HTTP server on
127.0.0.1 stands for the LB node (`SWS_LB_NODES`, `SWS_LB_HTTP_PORT`). A container cannot be
the origin here: the e2e region's object store is simulated and nothing serves it over HTTP,
so SWS refuses it as an origin (tests/integration/cdn covers a real Swift container origin).
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from sws.billing import service as billing
from sws.seed import SAMPLE_CATALOG
from tests.e2e.conftest import PASSWORD, Site
from tests.e2e.test_console import log_in

OBJECT = "/big.bin"
SIZE = 10_000_000  # 10 MB: a few fetches make CDN egress that shows on the bill in fen


@dataclass
class Origin:
    """The load balancer's HTTP endpoint: serves `versions[-1]` of `OBJECT`, counts fetches."""

    versions: list[bytes] = field(default_factory=lambda: [b"1" * SIZE])
    fetches: int = 0

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                origin.fetches += 1
                body = origin.versions[-1] if self.path == OBJECT else b""
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=3600")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        return Handler


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:  # the edge is not listening yet
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Edge:
    port: int
    run_dir: Path
    agent: subprocess.Popen[bytes] | None = None

    def counted(self) -> bool:
        """Whether the agent has reported the whole access log."""
        state = json.loads((self.run_dir / "traffic.json").read_text())
        size = (self.run_dir / "access.log").stat().st_size
        return bool(state["offset"] == size and state["pending"] is None)

    def stop_agent(self) -> None:
        """SIGTERM to the agent; Varnish keeps serving."""
        if self.agent is not None and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            self.agent.wait(timeout=30)

    def get(self, host: str, path: str = OBJECT) -> tuple[int, bytes, dict[str, str]]:
        """A client's GET to the edge, by the distribution's name in the Host header."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path, headers={"Host": host})
            reply = connection.getresponse()
            return reply.status, reply.read(), {k.lower(): v for k, v in reply.getheaders()}
        finally:
            connection.close()


def _need_varnish() -> None:
    if shutil.which("varnishd", path="/usr/sbin:/usr/bin") is None or os.geteuid() != 0:
        message = "needs root and Varnish: run scripts/install-system-packages as root"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def origin(site: Site) -> Iterator[Origin]:
    served = Origin()
    port = _free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), served.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = site.container.settings
    site.container.settings = settings.model_copy(update={"lb_http_port": port})
    yield served
    site.container.settings = settings
    server.shutdown()


@pytest.fixture
def edge(site: Site, tmp_path: Path) -> Iterator[Edge]:
    """`sws-agent cdn` as a process: it starts Varnish and varnishncsa and follows SWS."""
    _need_varnish()
    made = Edge(_free_port(), tmp_path / "edge")
    agent = [str(Path(sys.executable).with_name("sws-agent")), "cdn", "--run-dir",
             str(made.run_dir)]
    environment = {**os.environ, "SWS_AGENT_USER": "root-admin", "SWS_AGENT_PASSWORD": PASSWORD}
    with (tmp_path / "agent.log").open("w") as log:
        made.agent = subprocess.Popen(
            [*agent, "--api", site.url, "--edge", "edge-1", "--listen",
             f"127.0.0.1:{made.port}", "--storage", "malloc,64m", "--report-interval", "0.5",
             "--traffic-interval", "0.5"],
            env=environment, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        yield made
    finally:
        made.stop_agent()
        subprocess.run([*agent, "--stop"], timeout=60, check=False)


def test_a_tenant_serves_purges_and_pays_for_an_object_through_the_cdn(
    page: Any, site: Site, origin: Origin, edge: Edge
) -> None:
    billing.load_catalog_text(db=site.container.db, clock=site.clock,
                              text=SAMPLE_CATALOG.read_text())
    log_in(page, "alice")
    page.goto("/console/loadbalancers")
    page.fill("#create-lb input[name=name]", "static")
    page.click("#create-lb-submit")
    expect(page.locator(".flash.ok")).to_contain_text("Load balancer static created.")

    page.click("nav.menu a[href='/console/cdn']")
    page.fill("#create-distribution input[name=name]", "assets")
    page.select_option("#create-distribution select[name=origin]", label="static")
    page.click("#create-distribution-submit")
    expect(page.locator(".flash.ok")).to_contain_text("Distribution assets created.")
    host = page.locator("#auto-host").inner_text()
    assert host.endswith(".cdn.example.com")

    # The agent applies the new VCL, then varnishncsa logs (it starts at the log's tail).
    _wait(lambda: edge.get(host)[0] == 200, 60, "the edge to serve the distribution")
    _wait(lambda: edge.get("probe.invalid")[0] == 404
          and (edge.run_dir / "access.log").stat().st_size > 0, 30, "varnishncsa")
    answers = [edge.get(host) for _ in range(4)]
    assert [a[2]["x-cache"] for a in answers] == ["HIT"] * 4  # the first fetch above missed
    assert answers[0][1] == origin.versions[0] and origin.fetches == 1

    def graphed() -> bool:
        page.reload()
        ratio = re.search(r"latest (\d+) %", page.locator("#graph-2").inner_text())
        return ratio is not None and int(ratio.group(1)) >= 75  # 4 hits, 1 or 0 miss

    _wait(graphed, 30, "the hits in the hit-ratio graph")
    requests = re.search(r"latest (\d+)", page.locator("#graph-1").inner_text())
    assert requests is not None and int(requests.group(1)) >= 4
    site.shot(page, "cdn")

    origin.versions.append(b"2" * SIZE)
    page.fill("#purge input[name=value]", OBJECT)
    page.click("#purge button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("Purge accepted")

    def purged() -> bool:
        page.reload()
        return page.locator("#purges tbody tr[data-state=done]").count() == 1

    _wait(purged, 30, "the edge to report the purge done")
    expect(page.locator("#purges [data-edge=edge-1]")).to_contain_text("done")
    # A soft purge: the next request may get the stale copy while one fetch revalidates.
    _wait(lambda: edge.get(host)[1] == origin.versions[1], 30, "the new version")

    _wait(edge.counted, 30, "the last fetches' traffic report")
    edge.stop_agent()  # the region's tick below writes; SQLite takes one writer at a time
    site.clock.advance(timedelta(hours=2))
    site.container.tick()
    page.goto("/console/billing/bills")
    line = page.locator("#bill-lines tr[data-type=cdn]")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("gb_out")
    cdn_total = page.locator("tr.selected td[data-field=cdn]").inner_text()
    assert any(c in "123456789" for c in cdn_total), cdn_total
