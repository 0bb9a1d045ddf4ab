"""docs/netfilter.md's *Deploying the filter*, followed as written: settings, policy, unit, checks.

The blocks the doc marks `doc-test` are read out of the markdown and run in network namespaces,
so that when the doc changes this test runs the new text:

    vm (the instance's fixed IP) ── compute (the API on 127.0.0.1:8000, sws-agent netfilter)
                                       ├── intranet 10.251.1.10, 10.251.1.20 (web on 8080)
                                       └── internet 203.0.113.80 (web on 80)

The API is the test cloud (with the doc's settings) served on a socket opened inside `compute`;
the doc's `curl` calls set the policy there, the agent runs as its unit's ExecStart says (with
`%H` the instance's host), and the doc's checks run in `vm`, each expected to be `reached` or
`blocked` as its comment says. Only paths, the API's URL and `%H` change.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import PASSWORD, Cloud
from tests.integration import docblocks
from tests.integration.netns import Hub, serve, wait_for

BIN = Path(sys.executable).parent
GATEWAY = "10.254.254.1"  # the compute side of the VM's link (an on-link gateway)


def topology(vm_address: str) -> Hub:
    net = Hub("swsnd", "compute", ("vm", "intranet", "internet")).build()
    net.link("vm", f"{vm_address}/32", f"{GATEWAY}/32")
    net.link("intranet", "10.251.1.10/24", "10.251.1.1/24")
    net.run("intranet", f"ip addr add 10.251.1.20/24 dev {net.device('intranet')}")
    net.link("internet", "203.0.113.80/24", "203.0.113.1/24")
    net.run("vm", f"ip route add {GATEWAY} dev {net.device('vm')}")
    net.run("vm", f"ip route add default via {GATEWAY}")
    net.run("intranet", "ip route add default via 10.251.1.1")
    net.run("internet", "ip route add default via 203.0.113.1")
    net.run("compute", f"ip route add {vm_address}/32 dev {net.device('vm', hub_side=True)}")
    net.run("compute", "sysctl -qw net.ipv4.ip_forward=1")
    return net


@pytest.fixture
def doc(netfilter_tools: None) -> dict[str, str]:
    return docblocks.blocks("netfilter.md")


@pytest.fixture
def doc_cloud(doc: dict[str, str], tmp_path: Path) -> Iterator[Cloud]:
    with docblocks.cloud_with(docblocks.env_file(doc["settings"]), tmp_path) as cloud:
        yield cloud


def test_the_deployment_in_docs_netfilter_md_blocks_the_intranet_but_not_the_internet(
    doc: dict[str, str], doc_cloud: Cloud, tmp_path: Path
) -> None:
    cloud = doc_cloud
    (unit,) = (docblocks.unit(text) for text in docblocks.unit_blocks(doc).values())
    server = docblocks.boot(cloud)
    vm_address = next(ip for ip in server.fixed_ips if "." in ip)
    assert server.host
    subs = docblocks.Substitutions(
        {
            "/opt/sws/bin/": f"{BIN}/",
            "https://sws.example.com": "http://127.0.0.1:8000",
            "/etc/sws": f"{tmp_path}/etc/sws",
            "/var/lib/sws-agent": f"{tmp_path}/var/lib/sws-agent",
            "%H": server.host,
        }
    )
    net = topology(vm_address)
    api = None
    try:
        api = serve(cloud.client.app, net.name("compute"), "127.0.0.1", 8000)
        net.web("intranet", "0.0.0.0", 8080, "intranet", tmp_path / "intranet.log")
        net.web("internet", "203.0.113.80", 80, "internet", tmp_path / "internet.log")
        # One shell for the block, as an operator pastes it: its first line sets TOKEN.
        policy = "set -e\n" + "\n".join(docblocks.lines(doc["policy"]))
        net.run("compute", subs.apply(policy),
                env={"SWS_ADMIN": "root-admin", "SWS_ADMIN_PASSWORD": PASSWORD})
        agent_env = docblocks.agent_user(cloud, docblocks.env_file(doc["agent-env"]))
        env_files = {"/etc/sws/agent.env": agent_env}
        docblocks.run_unit(net, "compute", unit, subs, env_files, tmp_path / "agent.log")
        table = lambda: net.attempt("compute", "nft list table inet sws_filter").stdout  # noqa: E731
        wait_for(lambda: vm_address in table(), 20, "the agent's table guarding the VM")
        checks = docblocks.lines(doc["check"])
        assert len(checks) == 3
        for check in checks:
            expected = check.split("#", 1)[1].split()[0].rstrip(":")
            reached = net.attempt("vm", subs.apply(check)).returncode == 0
            assert ("reached" if reached else "blocked") == expected, check
        hosts = cloud.client.get("/v1/admin/netfilter/hosts", headers=cloud.admin).json()["items"]
        assert [(h["host"], h["state"]) for h in hosts] == [(server.host, "current")]
        subs.all_used()
    finally:
        if api is not None:
            api.should_exit = True
        net.close()
        for log in sorted(tmp_path.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()}")
