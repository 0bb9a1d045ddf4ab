"""The CDN in a real browser, on a real edge: a tenant puts its http load balancer behind the
CDN, fetches an object through the edge by the distribution's name, sees the hits in the graph,
purges the object, gets the new version, and finds the CDN traffic on its bill.

The edge is Varnish run by the real `sws-agent cdn` (a process, against the test's SWS server)
on 127.0.0.1. The origin is the load balancer's HTTP endpoint: a small HTTP server on
127.0.0.1 stands for the LB node (`SWS_LB_NODES`, `SWS_LB_HTTP_PORT`).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import expect

from sws.billing import service as billing
from sws.seed import SAMPLE_CATALOG
from tests.e2e.cdn_steps import (
    Edge,
    create_distribution,
    edge,  # noqa: F401  (the fixture)
    find_cdn_on_bill,
    purge_url,
    see_hits_in_graph,
    wait,
)
from tests.e2e.conftest import Site, free_port
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


@pytest.fixture
def origin(site: Site) -> Iterator[Origin]:
    served = Origin()
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), served.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = site.container.settings
    site.container.settings = settings.model_copy(update={"lb_http_port": port})
    yield served
    site.container.settings = settings
    server.shutdown()


def test_a_tenant_serves_purges_and_pays_for_an_object_through_the_cdn(
    page: Any, site: Site, origin: Origin, edge: Edge  # noqa: F811
) -> None:
    billing.load_catalog_text(db=site.container.db, clock=site.clock,
                              text=SAMPLE_CATALOG.read_text())
    log_in(page, "alice")
    page.goto("/console/loadbalancers")
    page.fill("#create-lb input[name=name]", "static")
    page.click("#create-lb-submit")
    expect(page.locator(".flash.ok")).to_contain_text("Load balancer static created.")

    host = create_distribution(page, "assets", "static")

    # The agent applies the new VCL, then varnishncsa logs (it starts at the log's tail).
    wait(lambda: edge.get(host, OBJECT)[0] == 200, 60, "the edge to serve the distribution")
    wait(edge.logging, 30, "varnishncsa")
    answers = [edge.get(host, OBJECT) for _ in range(4)]
    assert [a[2]["x-cache"] for a in answers] == ["HIT"] * 4  # the first fetch above missed
    assert answers[0][1] == origin.versions[0] and origin.fetches == 1
    see_hits_in_graph(page, 4)
    site.shot(page, "cdn")

    origin.versions.append(b"2" * SIZE)
    purge_url(page, OBJECT)
    # A soft purge: the next request may get the stale copy while one fetch revalidates.
    wait(lambda: edge.get(host, OBJECT)[1] == origin.versions[1], 30, "the new version")

    find_cdn_on_bill(page, site, edge)
