"""End to end: the API, the agent's own routes, a real HAProxy and a real PowerDNS.

The agent reads the desired state through the API's admin routes (here through the ASGI test
client rather than TCP; the route code is the same) and the address map sends each instance's
fixed IP to a local stand-in server (see `backends.py`).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.edns
import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest

from sws.commands.dns import zone_data
from sws.dns import remote
from sws.loadbalancer.model import DesiredState
from sws.loadbalancer.renderer import RenderOptions
from sws_agent.lb import LBAgent
from tests.api.conftest import Cloud
from tests.integration.loadbalancer.backends import (
    Backend,
    free_port,
    free_range,
    http_get,
    tcp_read,
    wait_until,
)


class ApiSource:
    """The agent's source, through the API's admin routes."""

    def __init__(self, cloud: Cloud, node: str = "lb-1") -> None:
        self.cloud, self.node = cloud, node

    def fetch(self, after: int, wait: float) -> DesiredState:
        reply = self.cloud.client.get(
            f"/v1/admin/lb-nodes/{self.node}/desired-state",
            params={"after": after, "wait": wait}, headers=self.cloud.admin,
        )
        assert reply.status_code == 200, reply.text
        return DesiredState.from_json(reply.json())

    def report(
        self, version: int, members: dict[str, str], traffic: dict[str, int] | None = None
    ) -> None:
        reply = self.cloud.client.post(
            f"/v1/admin/lb-nodes/{self.node}/report",
            json={"version": version, "members": members, "traffic": traffic or {}},
            headers=self.cloud.admin,
        )
        assert reply.status_code == 204, reply.text


@pytest.fixture
def wired(cloud: Cloud, haproxy_bin: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    low, high = free_range(6)
    settings = cloud.container.settings
    settings.lb_port_min, settings.lb_port_max = low, high
    servers = [cloud.boot(cloud.acme, name=f"web-{i}") for i in range(2)]
    stand_ins = [Backend(f"web-{i}").start() for i in range(2)]
    ssh = Backend("ssh", kind="tcp").start()
    address_map = {f"{s['fixed_ips'][0]}:80": b.target for s, b in zip(servers, stand_ins,
                                                                       strict=True)}
    address_map[f"{servers[0]['fixed_ips'][0]}:22"] = ssh.target
    http_port = free_port()
    opts = RenderOptions(run_dir=tmp_path / "lb", bind=("127.0.0.1",), http_port=http_port,
                         maxconn=2000)
    agent = LBAgent.create(opts, address_map, haproxy_bin)
    source = ApiSource(cloud)
    agent.start(source.fetch(after=-1, wait=0))
    yield {"agent": agent, "source": source, "servers": servers, "http_port": http_port,
           "stand_ins": stand_ins}
    agent.haproxy.stop()
    for backend in [*stand_ins, ssh]:
        backend.kill()


def test_an_lb_and_a_member_added_through_the_api_serve_without_a_reload(
    cloud: Cloud, wired: dict[str, Any]
) -> None:
    agent, source, servers = wired["agent"], wired["source"], wired["servers"]
    reloads = agent.haproxy.proc().reloads
    started = time.perf_counter()
    created = cloud.client.post("/v1/loadbalancers", headers=cloud.acme.headers, json={
        "name": "web", "type": "http",
        "members": [{"server_id": servers[0]["id"], "port": 80}],
    })
    assert created.status_code == 201, created.text
    lb = created.json()
    assert agent.apply(source.fetch(after=agent.live.version, wait=5)) == "runtime"
    host = lb["hosts"][0]
    wait_until(lambda: http_get(wired["http_port"], host)[1] == "web-0")
    live_after = time.perf_counter() - started
    member = cloud.client.post(f"/v1/loadbalancers/{lb['id']}/members",
                               headers=cloud.acme.headers,
                               json={"server_id": servers[1]["id"], "port": 80})
    assert member.status_code == 201, member.text
    assert agent.apply(source.fetch(after=agent.live.version, wait=5)) == "runtime"
    seen = {http_get(wired["http_port"], host)[1] for _ in range(10)}
    assert seen == {"web-0", "web-1"}
    assert agent.haproxy.proc().reloads == reloads  # the master never reloaded
    assert live_after < 1.0
    # Health goes back to the API.
    wait_until(lambda: set(agent.member_health().values()) == {"up"})
    source.report(agent.live.version, agent.member_health())
    health = cloud.client.get(f"/v1/loadbalancers/{lb['id']}/health",
                              headers=cloud.acme.headers).json()["items"]
    assert {m["health"] for m in health} == {"up"}
    # And a deleted LB stops serving, again without a reload.
    cloud.client.delete(f"/v1/loadbalancers/{lb['id']}", headers=cloud.acme.headers)
    assert agent.apply(source.fetch(after=agent.live.version, wait=5)) == "runtime"
    assert http_get(wired["http_port"], host)[0] == 404
    assert agent.haproxy.proc().reloads == reloads


def test_public_domain_forwards_a_shared_port_to_the_instance(
    cloud: Cloud, wired: dict[str, Any]
) -> None:
    agent, source, server = wired["agent"], wired["source"], wired["servers"][0]
    domain = cloud.client.post(f"/v1/servers/{server['id']}/public-domain",
                               headers=cloud.acme.headers, json={"port": 22}).json()
    assert agent.apply(source.fetch(after=agent.live.version, wait=5)) == "runtime"
    assert tcp_read(domain["port"]) == "ssh"


def test_refused_input_never_reaches_haproxy(cloud: Cloud, wired: dict[str, Any]) -> None:
    agent, source = wired["agent"], wired["source"]
    version = agent.live.version
    bad = cloud.client.post("/v1/loadbalancers", headers=cloud.acme.headers, json={
        "name": "web", "type": "http", "custom_hosts": ["ok.example.org", "bad host"],
    })
    assert bad.status_code == 422
    assert source.fetch(after=version, wait=0.3).version == version
    assert (wired["agent"].opts.run_dir / "hosts.map").read_text() == ""


# ---- DNS by ISP ---------------------------------------------------------------------------

VIEWS = {"telecom": ["10.1.0.0/16"], "unicom": ["10.2.0.0/16"]}
TELECOM, UNICOM = "192.0.2.1", "198.51.100.1"


@pytest.fixture
def pdns(cloud: Cloud, pdns_bin: str, tmp_path: Path) -> Iterator[int]:
    from sws.config import LBNodeConfig

    settings = cloud.container.settings
    settings.lb_nodes = [LBNodeConfig(name="lb-tel", address=TELECOM, isp="telecom"),
                         LBNodeConfig(name="lb-uni", address=UNICOM, isp="unicom")]
    settings.lb_isp_views = VIEWS
    data = zone_data(cloud.container)
    data.node_cache_seconds = 0
    backend = remote.make_server(data, "127.0.0.1", free_port())
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    port = free_port()
    conf = tmp_path / "pdns"
    conf.mkdir()
    (conf / "pdns.conf").write_text(remote.pdns_config(
        backend_url=f"http://127.0.0.1:{backend.server_address[1]}/dns", port=port,
        socket_dir=str(conf),
    ))
    process = subprocess.Popen([pdns_bin, f"--config-dir={conf}", "--daemon=no",
                                "--guardian=no", "--disable-syslog", "--write-pid=no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: _ready(port), timeout=10)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        backend.shutdown()
        backend.server_close()


def _ready(port: int) -> bool:
    try:
        return bool(_query("lb.example.com", port, "SOA").answer)
    except dns.exception.DNSException:
        return False


def _query(name: str, port: int, qtype: str = "A", subnet: str | None = None) -> Any:
    options = []
    if subnet:
        address, prefix = subnet.split("/")
        options.append(dns.edns.ECSOption(address, int(prefix)))
    query = dns.message.make_query(name, qtype, use_edns=0, options=options)
    # PowerDNS asks SWS's remote backend over HTTP; on a loaded CI machine that can take a
    # moment, so a lost or slow UDP answer is asked again rather than failing the test.
    for _ in range(2):
        try:
            return dns.query.udp(query, "127.0.0.1", port=port, timeout=5)
        except dns.exception.Timeout:
            continue
    return dns.query.udp(query, "127.0.0.1", port=port, timeout=5)


def _addresses(reply: Any) -> set[str]:
    return {item.address for rrset in reply.answer for item in rrset}


def test_dns_answers_by_client_subnet_and_leaves_out_nodes_marked_down(
    cloud: Cloud, pdns: int
) -> None:
    for node in ("lb-tel", "lb-uni"):
        cloud.client.post(f"/v1/admin/lb-nodes/{node}/report", json={"members": {}},
                          headers=cloud.admin)
    lb = cloud.client.post("/v1/loadbalancers", headers=cloud.acme.headers,
                           json={"name": "web", "type": "http"}).json()
    name = lb["hosts"][0]
    assert _addresses(_query(name, pdns, subnet="10.1.7.0/24")) == {TELECOM}
    assert _addresses(_query(name, pdns, subnet="10.2.7.0/24")) == {UNICOM}
    assert _addresses(_query(name, pdns, subnet="172.16.0.0/24")) == {TELECOM, UNICOM}
    assert _addresses(_query(name, pdns)) == {TELECOM, UNICOM}  # resolver 127.0.0.1: no view
    assert _query(f"nope.{name}", pdns).rcode() == dns.rcode.NXDOMAIN
    down = cloud.client.put("/v1/admin/lb-nodes/lb-tel/state", json={"state": "down"},
                            headers=cloud.admin)
    assert down.status_code == 204
    assert _addresses(_query(name, pdns, subnet="10.1.7.0/24")) == {UNICOM}
    assert _addresses(_query(name, pdns, subnet="172.16.0.0/24")) == {UNICOM}
