"""docs/loadbalancer.md, followed as written: its settings, shared IP, units and checks.

The blocks the doc marks `doc-test` are read out of the markdown and run in network namespaces,
so that when the doc changes this test runs the new text:

    client 192.0.2.2 ── node (LB node: sws-shared 203.0.113.10, sws-agent lb, HAProxy)
                          ├── sws 10.99.0.1 (the API, sws dns serve, pdns_server on 203.0.113.53)
                          └── vm (the member's fixed IP, a web server on port 80)

The API is the test cloud (with the doc's settings) served on a socket opened inside `sws`; the
agent, `sws dns serve` and `pdns_server` run as the units' ExecStart lines say; the doc's
`curl` and `dig` run in `client`. Only paths, the API's URL and the example host name change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Cloud
from tests.integration import docblocks
from tests.integration.netns import Hub, serve, wait_for

BIN = Path(sys.executable).parent
API = "10.99.0.1"
PAGE = "web-0 behind the shared IP"


def topology(vm_address: str) -> Hub:
    net = Hub("swslb", "node", ("client", "sws", "vm")).build()
    net.link("client", "192.0.2.2/24", "192.0.2.1/24")
    net.link("sws", f"{API}/24", "10.99.0.2/24")
    net.link("vm", f"{vm_address}/32")
    net.run("client", "ip route add default via 192.0.2.1")
    net.run("sws", "ip addr add 203.0.113.53/32 dev lo && ip route add default via 10.99.0.2")
    net.run("vm", f"ip route add default dev {net.device('vm')}")
    net.run("node", f"ip route add {vm_address}/32 dev {net.device('vm', hub_side=True)}")
    net.run("node", "ip route add 203.0.113.53/32 via 10.99.0.1")
    net.run("node", "sysctl -qw net.ipv4.ip_forward=1")
    return net


@pytest.fixture
def doc() -> dict[str, str]:
    if os.geteuid() != 0:
        pytest.skip("the deployment test needs root for network namespaces")
    return docblocks.blocks("loadbalancer.md")


@pytest.fixture
def doc_cloud(doc: dict[str, str], tmp_path: Path) -> Iterator[tuple[Cloud, dict[str, str]]]:
    """The cloud with the doc's settings, all but the database, which is the test's."""
    settings = docblocks.env_file(doc["settings"])
    assert settings.pop("SWS_DATABASE_URL").startswith("postgresql://")
    with docblocks.cloud_with(settings, tmp_path) as cloud:
        yield cloud, {**settings, "SWS_DATABASE_URL": f"sqlite:///{tmp_path / 'sws.db'}"}


def test_the_deployment_in_docs_loadbalancer_md_serves_an_lb_and_answers_its_name(
    doc: dict[str, str],
    doc_cloud: tuple[Cloud, dict[str, str]],
    haproxy_bin: str,
    pdns_bin: str,
    tmp_path: Path,
) -> None:
    cloud, settings = doc_cloud
    units = {name: docblocks.unit(text) for name, text in docblocks.unit_blocks(doc).items()}
    # HAProxy's socket paths must stay under 97 characters: a short root for the doc's paths.
    root = Path(tempfile.mkdtemp(prefix="swslb-", dir="/tmp"))
    subs = docblocks.Substitutions(
        {
            "/opt/sws/bin/": f"{BIN}/",
            "https://sws.example.com": f"http://{API}:8000",
            "/etc/sws": f"{root}/etc/sws",
            "/etc/powerdns": f"{root}/etc/powerdns",
            "/var/lib/sws-agent": f"{root}/var/lib/sws-agent",
            "/run/sws-pdns": f"{root}/run/sws-pdns",
            "/usr/sbin/pdns_server": pdns_bin,
        }
    )
    (root / "run/sws-pdns").mkdir(parents=True)
    agent_env = docblocks.agent_user(cloud, docblocks.env_file(doc["agent-env"]))
    env_files = {
        "/etc/sws/agent.env": {**agent_env, "SWS_HAPROXY": haproxy_bin},
        "/etc/sws/sws.env": settings,
    }
    server = docblocks.boot(cloud)
    lb = cloud.client.post(
        "/v1/loadbalancers",
        headers=cloud.acme.headers,
        json={"name": "web", "type": "http", "members": [{"server_id": server.id, "port": 80}]},
    )
    assert lb.status_code == 201, lb.text
    subs.values["k3v9x2m7qa.lb.example.com"] = lb.json()["hosts"][0]

    net = topology(server.fixed_ips[0])
    api = None
    try:
        api = serve(cloud.client.app, net.name("sws"), API, 8000)
        net.web("vm", server.fixed_ips[0], 80, PAGE, tmp_path / "web.log")
        start = lambda role, name: docblocks.run_unit(  # noqa: E731
            net, role, units[name], subs, env_files, tmp_path / f"{name}.log"
        )
        curl, dig = (subs.apply(command) for command in docblocks.lines(doc["check"]))
        # DNS first: `sws dns serve` upgrades the schema as it starts, which on the test's
        # SQLite must not meet the agent's reports (PostgreSQL, in production, does not care).
        for command in docblocks.lines(doc["pdns-config"]):
            net.run("sws", subs.apply(command))
        start("sws", "sws-dns.service")
        start("sws", "sws-pdns.service")
        # No node has reported yet: DNS fails open and answers with every node's address.
        answer = wait_for(lambda: answered(net, dig), 40, "PowerDNS's answer")
        assert "203.0.113.10" in answer.split(), answer
        for command in docblocks.lines(doc["shared-ip"]):
            net.run("node", subs.apply(command))
        start("node", "sws-agent-lb.service")
        page = wait_for(
            lambda: PAGE in (out := net.attempt("client", curl).stdout) and out,
            40,
            "the LB through the shared IP",
        )
        assert page == f"{PAGE}\n"
        # Now lb-1 reports and lb-2 (never started) is silent: DNS answers with lb-1 alone.
        wait_for(lambda: answered(net, dig).split() == ["203.0.113.10"], 20,
                 "an answer with the reporting node only")
        listening = net.run("node", "ss -Hltn")
        assert "203.0.113.10:80 " in listening and "0.0.0.0:80 " not in listening, listening
        subs.all_used()
    finally:
        if api is not None:
            api.should_exit = True
        net.close()
        stop = [subs.apply(arg) for arg in units["sws-agent-lb.service"].exec_start[:2]]
        subprocess.run(
            [*stop, "--stop", "--run-dir", f"{root}/var/lib/sws-agent/lb"],
            check=False,
            env={**os.environ, "SWS_HAPROXY": haproxy_bin},
        )
        shutil.rmtree(root, ignore_errors=True)
        for log in sorted(tmp_path.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()}")


def answered(net: Hub, command: str) -> str:
    """What a command run in `client` printed, if it succeeded (dig prints its errors too)."""
    done = net.attempt("client", command)
    return done.stdout if done.returncode == 0 else ""
