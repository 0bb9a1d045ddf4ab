"""`exempt_sources` in a real Swift proxy: the CDN edges read a container origin that the
tenant's firewall closes to everyone else, and the tenant's rules still judge every visitor;
and a real Varnish edge serving such a container as a distribution.

The proxy is started for the test from the rig's venv with `sws_firewall` behind a trusted
balancer (127.0.0.1), so the judged address is the `X-Forwarded-For` hop, as behind the
operator's load balancers. It has no auth middleware: reads are open, the firewall alone
decides.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sws.cdn.model import Backend, CacheSettings, EdgeDistribution, EdgeState
from sws.cdn.renderer import render
from sws_agent.cdn import CDNAgent, Varnish, VarnishOptions
from sws_swift.rules import FirewallRules
from tests.integration.sws_process import free_port, stop

from .conftest import Swift
from .test_storage_firewall_doc import _wait_for, proxy_conf

EDGES = "203.0.113.20, 198.51.100.20"
PIPELINE = f"""[pipeline:main]
pipeline = catch_errors proxy-logging cache sws_firewall proxy-logging proxy-server

[filter:sws_firewall]
paste.filter_factory = sws_swift.middleware:filter_factory
trusted_proxies = 127.0.0.1
exempt_sources = {EDGES}
"""


@pytest.fixture
def proxy(swift_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    yield from _proxy(swift_env, tmp_path, PIPELINE)


def _proxy(swift_env: dict[str, str], tmp_path: Path, pipeline: str) -> Iterator[str]:
    port = free_port()
    conf = tmp_path / "proxy-server.conf"
    conf.write_text(proxy_conf(swift_env, port, pipeline))
    venv = Path(swift_env["SWIFT_DEV_VENV"]) / "bin"
    log = (tmp_path / "proxy.log").open("wb")
    process = subprocess.Popen([str(venv / "python"), str(venv / "swift-proxy-server"),
                                str(conf), "-v"], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(port, process, tmp_path / "proxy.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process, grace=10)
        log.close()


def status(proxy: str, swift: Swift, client: str) -> int:
    request = urllib.request.Request(
        f"{proxy}/v1/{swift.env['SWIFT_DEV_ACCOUNT']}/{swift.container}/o",
        headers={"X-Forwarded-For": client})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_the_edges_read_a_container_its_tenant_closed_to_everyone_else(
    swift: Swift, proxy: str,
) -> None:
    swift.set_rules(FirewallRules(allow=("192.0.2.0/24",), exclusive=True))

    assert status(proxy, swift, "203.0.113.20") == 200  # an edge
    assert status(proxy, swift, "198.51.100.20") == 200  # the other edge
    assert status(proxy, swift, "198.51.100.21") == 403  # a visitor outside the whitelist
    assert status(proxy, swift, "192.0.2.7") == 200  # the tenant's own whitelist


def test_a_blacklist_covering_an_edge_still_refuses_its_neighbours(
    swift: Swift, proxy: str,
) -> None:
    swift.set_rules(FirewallRules(deny=("203.0.113.0/24",)))

    assert status(proxy, swift, "203.0.113.20") == 200
    assert status(proxy, swift, "203.0.113.21") == 403


# The edge below runs on 127.0.0.1 and reaches the proxy directly (no balancer in between), so
# its own address is the one judged: that is the address this proxy exempts.
EDGE_PIPELINE = PIPELINE.replace("trusted_proxies = 127.0.0.1\n", "").replace(EDGES, "127.0.0.1")


@pytest.fixture
def edge(swift_env: dict[str, str], swift: Swift) -> Iterator[Varnish]:
    if shutil.which("varnishd", path="/usr/sbin:/usr/bin") is None:
        pytest.skip("Varnish is not installed (scripts/install-system-packages)")
    root = Path(tempfile.mkdtemp(prefix="swscdn-", dir="/tmp"))  # Unix socket paths are short
    varnish = Varnish(VarnishOptions(run_dir=root, listen=(f"127.0.0.1:{free_port()}",),
                                     storage="malloc,16m", identity="edge-1"))
    CDNAgent(varnish).start()
    try:
        yield varnish
    finally:
        varnish.stop()
        shutil.rmtree(root, ignore_errors=True)


def through(varnish: Varnish, host: str) -> tuple[int, bytes]:
    address, port = varnish.options.listen[0].rsplit(":", 1)
    connection = http.client.HTTPConnection(address, int(port), timeout=30)
    try:
        connection.request("GET", "/o", headers={"Host": host})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_a_varnish_edge_serves_a_container_its_tenant_closed_to_everyone_else(
    swift: Swift, swift_env: dict[str, str], edge: Varnish, tmp_path: Path,
) -> None:
    swift.set_rules(FirewallRules(allow=("192.0.2.0/24",), exclusive=True))
    exempting = _proxy(swift_env, tmp_path, EDGE_PIPELINE)
    url = next(exempting)
    try:
        account_path = f"/v1/{swift_env['SWIFT_DEV_ACCOUNT']}/{swift.container}"

        def origin(dist_id: str, proxy_url: str) -> EdgeDistribution:
            port = int(proxy_url.rsplit(":", 1)[1])
            return EdgeDistribution(dist_id, (f"{dist_id}.cdn.example.com",),
                                    Backend("127.0.0.1", port, f"127.0.0.1:{port}",
                                            account_path), CacheSettings())

        CDNAgent(edge).apply(EdgeState(render([
            origin("aaaaaaaaaaaa", url),  # through a proxy that exempts the edge
            origin("bbbbbbbbbbbb", swift.url("A").split("/v1/")[0]),  # the rig's: it does not
        ])))

        assert through(edge, "aaaaaaaaaaaa.cdn.example.com") == (200, b"hello")
        status, body = through(edge, "bbbbbbbbbbbb.cdn.example.com")
        assert status == 403 and b"storage firewall" in body
    finally:
        exempting.close()
