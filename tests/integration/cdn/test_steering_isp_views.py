"""DNS steering by ISP view for the CDN, end to end in network namespaces: two clients in two
ISP views ask the real PowerDNS (backed by the real `sws dns serve`) for a distribution's name
and each gets its own ISP's edge; an edge whose cache dies stops passing its health check (its
agent's heartbeat) and leaves the answers, and comes back once it is healthy again.

    c1 10.90.11.2 (telecom) ─┐              ┌─ e1 10.90.1.2: sws-agent cdn, Varnish (telecom)
    c2 10.90.12.2 (unicom)  ─┼─ dns (hub) ──┼─ e2 10.90.2.2: sws-agent cdn, Varnish (unicom)
                             │  10.90.0.53: pdns_server -> sws dns serve -> SWS's database
                             │  the API on :8000, the origin (an http LB node) on 10.90.0.80

The queries are made from inside c1 and c2 with `dig`, so PowerDNS sees each client's own
source address. The API is the test cloud on SQLite, on a clock that runs with the real one
(`sws dns serve` judges heartbeats by the system clock).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sws.dns.remote import pdns_config
from sws_agent.cdn import Varnish, VarnishOptions
from tests.api.conftest import Cloud
from tests.integration.cdn.conftest import _need_varnish
from tests.integration.docblocks import cloud_with
from tests.integration.netns import Hub, serve, wait_for

BIN = Path(sys.executable).parent
DNS = "10.90.0.53"
ORIGIN = "10.90.0.80"
EDGE_PORT = 8081
PAGE = "the origin's page"
EDGES = {"e1": ("edge-1", "10.90.1.2", "telecom"), "e2": ("edge-2", "10.90.2.2", "unicom")}
CLIENTS = {"c1": "10.90.11.2", "c2": "10.90.12.2"}
SETTINGS = {
    "SWS_CDN_ZONE": "example.com",
    "SWS_CDN_EDGES": json.dumps(
        [{"name": n, "address": a, "isp": isp} for n, a, isp in EDGES.values()]
    ),
    "SWS_LB_ISP_VIEWS": json.dumps({"telecom": ["10.90.11.0/24"], "unicom": ["10.90.12.0/24"]}),
    "SWS_CDN_EDGE_TIMEOUT_SECONDS": "3",
    "SWS_LB_NODES": json.dumps([{"name": "lb-1", "address": ORIGIN}]),
    "SWS_LB_HTTP_PORT": "8080",
}


def _network() -> Hub:
    net = Hub("swsst", "dns", (*EDGES, *CLIENTS)).build()
    for role, address in [(r, e[1]) for r, e in EDGES.items()] + list(CLIENTS.items()):
        gateway = address.rsplit(".", 1)[0] + ".1"
        net.link(role, f"{address}/24", f"{gateway}/24")
        net.run(role, f"ip route add default via {gateway}")
    net.run("dns", f"ip addr add {DNS}/32 dev lo && ip addr add {ORIGIN}/32 dev lo")
    net.run("dns", "sysctl -qw net.ipv4.ip_forward=1")
    return net


@dataclass
class Steering:
    net: Hub
    cloud: Cloud
    root: Path
    agents: dict[str, subprocess.Popen[str]]

    def ask(self, client: str, host: str) -> set[str]:
        """The A records PowerDNS answers `client` (a namespace) for `host`; asked again after
        a SERVFAIL or no answer at all (a lost datagram on a loaded machine)."""
        command = f"dig +noall +comments +answer +tries=1 +time=3 @{DNS} {host} A"
        for _ in range(3):
            done = self.net.attempt(client, command)
            if done.returncode == 0 and "status: SERVFAIL" not in done.stdout:
                break
        lines = [line.split() for line in done.stdout.splitlines() if not line.startswith(";")]
        return {words[-1] for words in lines if len(words) == 5 and words[3] == "A"}

    def start_agent(self, role: str) -> None:
        """`sws-agent cdn` of the edge in `role`, reporting every 0.2 s to the API."""
        name, address, _ = EDGES[role]
        gateway = address.rsplit(".", 1)[0] + ".1"
        argv = [
            str(BIN / "sws-agent"),
            "cdn",
            "--api",
            f"http://{gateway}:8000",
            "--edge",
            name,
            "--run-dir",
            str(self.root / role),
            "--listen",
            f"{address}:{EDGE_PORT}",
            "--storage",
            "malloc,16m",
            "--report-interval",
            "0.2",
        ]
        token = self.cloud.admin["Authorization"].removeprefix("Bearer ")
        log = self.root / f"agent-{role}.log"
        self.net.start(role, argv, {"SWS_AGENT_TOKEN": token}, log)
        self.agents[role] = self.net.processes[-1]

    def stop_agent(self, role: str) -> None:
        agent = self.agents.pop(role)
        agent.terminate()
        agent.wait(timeout=30)

    def varnish(self, role: str) -> Varnish:
        return Varnish(VarnishOptions(run_dir=self.root / role, listen=()))

    def alive(self) -> dict[str, bool]:
        found = self.cloud.client.get("/v1/admin/cdn-edges", headers=self.cloud.admin).json()
        return {e["name"]: e["alive"] for e in found["items"]}

    def fetch(self, client: str, edge: str, host: str) -> str:
        """What `client` gets for `/` from the edge at `edge`, by the distribution's name."""
        command = f"curl -s --max-time 10 -H 'Host: {host}' http://{edge}:{EDGE_PORT}/"
        return self.net.attempt(client, command).stdout


def _need_pdns() -> str:
    found = shutil.which("pdns_server", path="/usr/sbin:/usr/bin")
    if found is None:
        message = "PowerDNS is not installed (scripts/install-system-packages)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture
def steering(tmp_path: Path) -> Iterator[Steering]:
    _need_varnish()
    pdns = _need_pdns()
    # Varnish's sockets live in the run directories: short paths, whatever pytest's are.
    root = Path(tempfile.mkdtemp(prefix="swsst-", dir="/tmp"))
    net = _network()
    api = None
    try:
        with cloud_with(SETTINGS, tmp_path) as cloud:
            api = serve(cloud.client.app, net.name("dns"), "0.0.0.0", 8000)
            net.web("dns", ORIGIN, 8080, PAGE, root / "origin.log")
            _start_dns(
                net,
                pdns,
                root,
                {
                    **SETTINGS,
                    "SWS_HOME": str(tmp_path),
                    "SWS_DATABASE_URL": f"sqlite:///{tmp_path / 'sws.db'}",
                },
            )
            yield Steering(net, cloud, root, {})
    finally:
        if api is not None:
            api.should_exit = True
        net.close()  # the agents, sws dns serve, PowerDNS and the origin
        for role in EDGES:
            subprocess.run(
                [str(BIN / "sws-agent"), "cdn", "--run-dir", str(root / role), "--stop"],
                check=False,
                capture_output=True,
                timeout=60,
            )
        for log in sorted(root.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()}")
        shutil.rmtree(root, ignore_errors=True)


def _start_dns(net: Hub, pdns: str, root: Path, env: dict[str, str]) -> None:
    """`sws dns serve` and PowerDNS in the hub, before any agent: `sws dns serve` upgrades the
    schema as it starts, which on the test's SQLite must not meet the agents' reports."""
    net.start(
        "dns",
        [str(BIN / "sws"), "dns", "serve", "--host", "127.0.0.1", "--port", "8053"],
        env,
        root / "sws-dns.log",
    )
    conf = root / "pdns"
    conf.mkdir()
    (conf / "pdns.conf").write_text(
        pdns_config(
            backend_url="http://127.0.0.1:8053/dns", address=DNS, port=53, socket_dir=str(conf)
        )
    )
    net.start(
        "dns",
        [
            pdns,
            f"--config-dir={conf}",
            "--daemon=no",
            "--guardian=no",
            "--write-pid=no",
            "--disable-syslog",
        ],
        {},
        root / "pdns.log",
    )
    ready = f"dig +short +tries=1 +time=2 @{DNS} cdn.example.com SOA"
    wait_for(
        lambda: "hostmaster" in net.attempt("c1", ready).stdout,
        60,
        "PowerDNS answering from sws dns serve",
    )


def _distribution(cloud: Cloud) -> dict[str, Any]:
    lb = cloud.client.post(
        "/v1/loadbalancers", headers=cloud.acme.headers, json={"name": "web", "type": "http"}
    ).json()
    made = cloud.client.post(
        "/v1/cdn/distributions",
        headers=cloud.acme.headers,
        json={"name": "site", "origin": {"kind": "loadbalancer", "ref": lb["id"]}},
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_each_isp_view_gets_its_own_edge_and_a_failed_edge_leaves_the_answers(
    steering: Steering,
) -> None:
    s = steering
    host = _distribution(s.cloud)["host"]
    telecom, unicom = EDGES["e1"][1], EDGES["e2"][1]
    for role in EDGES:
        s.start_agent(role)
    wait_for(lambda: s.alive() == {"edge-1": True, "edge-2": True}, 60, "both edges' reports")

    wait_for(lambda: s.ask("c1", host) == {telecom}, 30, "c1's answer: its view's edge")
    assert s.ask("c2", host) == {unicom}
    # each client fetches through the edge it was given
    wait_for(lambda: s.fetch("c1", telecom, host) == f"{PAGE}\n", 60, "c1 through edge-1")
    wait_for(lambda: s.fetch("c2", unicom, host) == f"{PAGE}\n", 60, "c2 through edge-2")
    assert s.ask("c1", f"nothing.{host}") == set()

    # edge-2 dies whole, agent and cache (a cache that dies alone, its agent starts again:
    # tests/integration/cdn/test_varnish_restart.py); its reports stop
    s.stop_agent("e2")
    s.varnish("e2").stop()

    wait_for(lambda: s.ask("c2", host) == {telecom}, 30, "c2 answered by the edge left")
    assert s.ask("c1", host) == {telecom}
    assert s.alive() == {"edge-1": True, "edge-2": False}

    s.start_agent("e2")  # a restarted agent starts Varnish again

    wait_for(lambda: s.ask("c2", host) == {unicom}, 60, "edge-2 back in c2's answers")
    assert s.ask("c1", host) == {telecom}
    wait_for(lambda: s.fetch("c2", unicom, host) == f"{PAGE}\n", 60, "c2 through edge-2 again")
