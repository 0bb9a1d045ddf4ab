"""What the CDN browser tests share: a real edge (`sws-agent cdn` as a process, running Varnish
on 127.0.0.1) and the tenant's steps in the console (create a distribution, see the hits in the
graph, purge, find the CDN traffic on the bill). The SWS server is any `Served`: the in-process
`conftest.Site`, or `swift_rig.SiteProcess` for a region on a real Swift."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, free_port


class Served(Protocol):
    """The test's SWS server: where it answers, and its region's time."""

    url: str

    def settle(self, seconds: int = ...) -> None:
        """Simulated time passes and the region ticks."""


def wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Until `check()` holds; an OSError (the edge not listening yet) counts as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
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

    def get(self, host: str, path: str) -> tuple[int, bytes, dict[str, str]]:
        """A client's GET to the edge, by the distribution's name in the Host header."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path, headers={"Host": host})
            reply = connection.getresponse()
            return reply.status, reply.read(), {k.lower(): v for k, v in reply.getheaders()}
        finally:
            connection.close()

    def logging(self) -> bool:
        """Whether varnishncsa writes the access log (it starts at the log's tail)."""
        return (
            self.get("probe.invalid", "/")[0] == 404
            and (self.run_dir / "access.log").stat().st_size > 0
        )


def need_varnish() -> None:
    if shutil.which("varnishd", path="/usr/sbin:/usr/bin") is None or os.geteuid() != 0:
        message = "needs root and Varnish: run scripts/install-system-packages as root"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def edge(site: Served, tmp_path: Path) -> Iterator[Edge]:
    """`sws-agent cdn` as a process: it starts Varnish and varnishncsa and follows SWS."""
    need_varnish()
    made = Edge(free_port(), tmp_path / "edge")
    agent = [
        str(Path(sys.executable).with_name("sws-agent")),
        "cdn",
        "--run-dir",
        str(made.run_dir),
    ]
    environment = {**os.environ, "SWS_AGENT_USER": "root-admin", "SWS_AGENT_PASSWORD": PASSWORD}
    with (tmp_path / "agent.log").open("w") as log:
        made.agent = subprocess.Popen(
            [
                *agent,
                "--api",
                site.url,
                "--edge",
                "edge-1",
                "--listen",
                f"127.0.0.1:{made.port}",
                "--storage",
                "malloc,64m",
                "--report-interval",
                "0.5",
                "--traffic-interval",
                "0.5",
            ],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield made
    finally:
        made.stop_agent()
        subprocess.run([*agent, "--stop"], timeout=60, check=False)


# ---- the tenant's steps in the console ------------------------------------------------------


def create_distribution(page: Any, name: str, origin: str) -> str:
    """On the CDN page, a distribution on `origin` (`container:<name>` or an LB's label);
    its automatic host name."""
    page.click("nav.menu a[href='/console/cdn']")
    page.fill("#create-distribution input[name=name]", name)
    select = "#create-distribution select[name=origin]"
    if origin.startswith("container:"):
        page.select_option(select, value=origin)
    else:
        page.select_option(select, label=origin)
    page.click("#create-distribution-submit")
    expect(page.locator(".flash.ok")).to_contain_text(f"Distribution {name} created.")
    host = str(page.locator("#auto-host").inner_text())
    assert host.endswith(".cdn.example.com")
    return host


def see_hits_in_graph(page: Any, hits: int) -> None:
    """The distribution's page graphs at least `hits` requests, at least 75 % of them hits."""

    def graphed() -> bool:
        page.reload()
        ratio = re.search(r"latest (\d+) %", page.locator("#graph-2").inner_text())
        return ratio is not None and int(ratio.group(1)) >= 75

    wait(graphed, 30, "the hits in the hit-ratio graph")
    requests = re.search(r"latest (\d+)", page.locator("#graph-1").inner_text())
    assert requests is not None and int(requests.group(1)) >= hits


def purge_url(page: Any, path: str) -> None:
    """A (soft) purge of `path` from the distribution's page, until the edge reports it done."""
    page.fill("#purge input[name=value]", path)
    page.click("#purge button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("Purge accepted")

    def purged() -> bool:
        page.reload()
        return bool(page.locator("#purges tbody tr[data-state=done]").count() == 1)

    wait(purged, 30, "the edge to report the purge done")
    expect(page.locator("#purges [data-edge=edge-1]")).to_contain_text("done")


def find_cdn_on_bill(page: Any, site: Served, edge: Edge) -> None:
    """Once the edge reported its last fetches, two hours later the bill has a CDN line and a
    CDN total above zero."""
    wait(edge.counted, 30, "the last fetches' traffic report")
    edge.stop_agent()  # the region's tick below writes; SQLite takes one writer at a time
    site.settle(int(timedelta(hours=2).total_seconds()))
    page.goto("/console/billing/bills")
    line = page.locator("#bill-lines tr[data-type=cdn]")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("gb_out")
    cdn_total = page.locator("tr.selected td[data-field=cdn]").inner_text()
    assert any(c in "123456789" for c in cdn_total), cdn_total
