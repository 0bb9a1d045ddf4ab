"""docs/cdn.md's "Deploying an edge", followed as written: its packages, settings, edge
address, unit and check.

The blocks the doc marks `doc-test` are read out of the markdown and run in network namespaces:

    client 192.0.2.2 ── edge (203.0.113.20 on lo: sws-agent cdn, Varnish, HAProxy)
                          └── sws 10.98.0.1 (the API, sws dns serve, pdns_server on
                                203.0.113.53; the origin: an http LB node's stand-in)

The API is the test cloud (with the doc's settings) served inside `sws`; the agent runs as the
unit's ExecStart says, PowerDNS and `sws dns serve` as docs/loadbalancer.md's units say; the
doc's `dig` and `curl` run in `client`, curl trusting the test's CA (the doc's wildcard is
issued by it). Only paths, the API's URL and the example names change.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.integration import docblocks
from tests.integration.cdn.tls import LocalCA
from tests.integration.netns import Hub, serve, wait_for

BIN = Path(sys.executable).parent
API = "10.98.0.1"
PAGE = "the origin's index"


def topology() -> Hub:
    net = Hub("swscdn", "edge", ("client", "sws")).build()
    net.link("client", "192.0.2.2/24", "192.0.2.1/24")
    net.link("sws", f"{API}/24", "10.98.0.2/24")
    net.run("client", "ip route add default via 192.0.2.1")
    net.run("sws", "ip addr add 203.0.113.53/32 dev lo && ip route add default via 10.98.0.2")
    net.run("edge", f"ip route add 203.0.113.53/32 via {API}")
    net.run("edge", "sysctl -qw net.ipv4.ip_forward=1")
    return net


def answered(net: Hub, command: str) -> str:
    """What a command run in `client` printed, if it succeeded (dig prints its errors too)."""
    done = net.attempt("client", command)
    return done.stdout if done.returncode == 0 else ""


@pytest.fixture
def doc() -> dict[str, str]:
    if os.geteuid() != 0:
        pytest.skip("the deployment test needs root for network namespaces")
    return docblocks.blocks("cdn.md")


def test_the_packages_the_doc_installs_are_the_ones_the_edges_run(doc: dict[str, str]) -> None:
    install = next(line for line in docblocks.lines(doc["packages"]) if "apt-get" in line)
    packages = [word for word in install.split()[2:] if not word.startswith("-")]

    assert packages == ["varnish", "varnish-modules", "haproxy"]
    for package in packages:
        status = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", package],
                                capture_output=True, text=True, check=False).stdout
        assert status == "install ok installed", f"{package}: {status}"


def test_the_edge_in_docs_cdn_md_serves_a_distribution_over_https(
    doc: dict[str, str], tmp_path: Path,
) -> None:
    pdns = shutil.which("pdns_server", path="/usr/sbin:/usr/bin")
    if pdns is None:
        pytest.skip("PowerDNS is not installed (scripts/install-system-packages)")
    lb_doc = docblocks.blocks("loadbalancer.md")  # the DNS servers are the LB zone's
    units = {name: docblocks.unit(text)
             for name, text in {**docblocks.unit_blocks(doc),
                                **docblocks.unit_blocks(lb_doc)}.items()}
    # HAProxy's and Varnish's socket paths must stay short: a short root for the doc's paths.
    root = Path(tempfile.mkdtemp(prefix="swscdn-", dir="/tmp"))
    subs = docblocks.Substitutions({
        "/opt/sws/bin/": f"{BIN}/",
        "https://sws.example.com": f"http://{API}:8000",
        "/etc/sws": f"{root}/etc/sws",
        "/var/lib/sws-agent": f"{root}/var/lib/sws-agent",
        "curl -sf": f"curl -sf --cacert {root}/ca.pem",
        "/etc/powerdns": f"{root}/etc/powerdns",
        "/run/sws-pdns": f"{root}/run/sws-pdns",
        "/usr/sbin/pdns_server": pdns,
    })
    (root / "run/sws-pdns").mkdir(parents=True)
    ca = LocalCA.create()
    (root / "etc/sws").mkdir(parents=True)
    (root / "ca.pem").write_text(ca.pem)
    chain, key = ca.issue("*.cdn.example.com")
    (root / "etc/sws/cdn-wildcard.pem").write_text(chain + key)
    settings = {k: subs.apply(v) for k, v in docblocks.env_file(doc["settings"]).items()}
    assert settings.pop("SWS_DATABASE_URL").startswith("postgresql://")
    # The origin: the LB node's address and port the edges fetch an LB origin from.
    test_only = {"SWS_LB_NODES": f'[{{"name": "lb-1", "address": "{API}"}}]',
                 "SWS_LB_HTTP_PORT": "8080"}
    net = topology()
    api = None
    with docblocks.cloud_with({**settings, **test_only}, tmp_path) as cloud:
        try:
            lb = cloud.client.post("/v1/loadbalancers", headers=cloud.acme.headers,
                                   json={"name": "web", "type": "http"}).json()
            made = cloud.client.post("/v1/cdn/distributions", headers=cloud.acme.headers, json={
                "name": "site", "origin": {"kind": "loadbalancer", "ref": lb["id"]}})
            assert made.status_code == 201, made.text
            subs.values["a1b2c3d4e5f6.cdn.example.com"] = made.json()["host"]
            env_files = {
                "/etc/sws/agent.env": docblocks.agent_user(
                    cloud, docblocks.env_file(doc["agent-env"])),
                "/etc/sws/sws.env": {**settings, **test_only,
                                     "SWS_DATABASE_URL": f"sqlite:///{tmp_path / 'sws.db'}"},
            }
            api = serve(cloud.client.app, net.name("sws"), API, 8000)
            net.web("sws", API, 8080, PAGE, tmp_path / "origin.log")
            # DNS before the agent: `sws dns serve` upgrades the schema as it starts, which on
            # the test's SQLite must not meet the agent's reports.
            for command in docblocks.lines(lb_doc["pdns-config"]):
                net.run("sws", subs.apply(command))
            for name in ("sws-dns.service", "sws-pdns.service"):
                docblocks.run_unit(net, "sws", units[name], subs, env_files,
                                   tmp_path / f"{name}.log")
            (dig,) = (subs.apply(c) for c in docblocks.lines(doc["dns-check"]))
            wait_for(lambda: answered(net, dig), 60, "PowerDNS's answer")
            for command in docblocks.lines(doc["edge-address"]):
                net.run("edge", subs.apply(command))
            docblocks.run_unit(net, "edge", units["sws-agent-cdn.service"], subs, env_files,
                               tmp_path / "agent.log")
            (curl,) = (subs.apply(c) for c in docblocks.lines(doc["check"]))

            page = wait_for(lambda: net.attempt("client", curl).stdout, 90,
                            "the object over HTTPS through the edge")

            assert page == f"{PAGE}\n"
            # edge-1 reports and edge-2 (never started) is silent: DNS answers edge-1 alone
            wait_for(lambda: answered(net, dig).split() == ["203.0.113.20"], 30,
                     "an answer with the reporting edge only")
            listening = net.run("edge", "ss -Hltn")
            for port in (80, 443, 6081):
                assert f"203.0.113.20:{port} " in listening, listening
            edges = cloud.client.get("/v1/admin/cdn-edges", headers=cloud.admin).json()
            assert {e["name"]: e["alive"] for e in edges["items"]}["edge-1"]
            subs.all_used()
        finally:
            if api is not None:
                api.should_exit = True
            stop = [subs.apply(a) for a in units["sws-agent-cdn.service"].exec_start]
            subprocess.run([*stop, "--stop"], check=False, capture_output=True)
            stop_by_pid_files(root)
            net.close()
            shutil.rmtree(root, ignore_errors=True)
            for log in sorted(tmp_path.glob("*.log")):
                print(f"--- {log.name}\n{log.read_text()}")


def stop_by_pid_files(root: Path) -> None:
    """Stop the daemons the edge left under `root` (Varnish's manager, by its pid file): `--stop`
    run outside the unit's environment may fail, and a varnishd would outlive the test."""
    for pid_file in root.rglob("*.pid"):
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
