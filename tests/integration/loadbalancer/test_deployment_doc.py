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
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from sws.clock import SimulatedClock
from sws.config import Settings
from sws.drivers.base import Server, ServerCreate
from sws_agent.netfilter import _in_netns
from tests.api.conftest import TASK_SECONDS, Cloud, open_cloud
from tests.integration import docblocks

BIN = Path(sys.executable).parent
API = "10.99.0.1"
WEB = r"""
import http.server, sys
class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"web-0 behind the shared IP\n"
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
server = http.server.ThreadingHTTPServer((sys.argv[1], 80), Page)
print("ready", flush=True)
server.serve_forever()
"""


def sh(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(args)}: {done.stderr.strip()}"
    return done.stdout


class Namespaces:
    """client, node, sws and vm, wired as the module docstring draws them."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.processes: list[subprocess.Popen[str]] = []

    def name(self, role: str) -> str:
        return f"swslb-{self.tag}-{role}"

    def run(self, role: str, command: str) -> str:
        return sh("ip", "netns", "exec", self.name(role), "sh", "-c", command)

    def build(self, vm_address: str) -> Namespaces:
        for role in ("client", "node", "sws", "vm"):
            sh("ip", "netns", "add", self.name(role))
            self.run(role, "ip link set lo up")
        self._link("c", "client", "192.0.2.2/24", "192.0.2.1/24")
        self._link("s", "sws", f"{API}/24", "10.99.0.2/24")
        self._link("v", "vm", f"{vm_address}/32", None)
        self.run("client", "ip route add default via 192.0.2.1")
        self.run("sws", "ip addr add 203.0.113.53/32 dev lo && ip route add default via 10.99.0.2")
        self.run("vm", f"ip route add default dev lb{self.tag}v")
        self.run(
            "node",
            f"ip route add {vm_address}/32 dev lb{self.tag}vn && "
            "ip route add 203.0.113.53/32 via 10.99.0.1 && "
            "sysctl -qw net.ipv4.ip_forward=1",
        )
        return self

    def _link(self, short: str, role: str, address: str, node_address: str | None) -> None:
        mine, peer = f"lb{self.tag}{short}", f"lb{self.tag}{short}n"
        sh(
            "ip",
            "link",
            "add",
            mine,
            "netns",
            self.name(role),
            "type",
            "veth",
            "peer",
            "name",
            peer,
            "netns",
            self.name("node"),
        )
        self.run(role, f"ip addr add {address} dev {mine} && ip link set {mine} up")
        if node_address:
            self.run("node", f"ip addr add {node_address} dev {peer}")
        self.run("node", f"ip link set {peer} up")

    def start(self, role: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.name(role), *argv],
            env={**os.environ, **env},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
            cwd=log.parent,
        )
        self.processes.append(process)

    def close(self) -> None:
        for process in reversed(self.processes):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for role in ("client", "node", "sws", "vm"):
            subprocess.run(["ip", "netns", "del", self.name(role)], check=False)


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def doc_cloud(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Cloud, dict[str, str]]]:
    """The cloud with the doc's settings (all but the database, which is the test's)."""
    settings_env = docblocks.env_file(docblocks.blocks("loadbalancer.md")["settings"])
    assert settings_env.pop("SWS_DATABASE_URL").startswith("postgresql://")
    database_url = f"sqlite:///{tmp_path / 'sws.db'}"
    for key, value in settings_env.items():
        monkeypatch.setenv(key, value)
    settings = Settings(
        home=tmp_path, database_url=database_url, sim_task_seconds=TASK_SECONDS, demo_data=False
    )
    with open_cloud(settings, SimulatedClock(datetime.now(UTC))) as cloud:
        yield cloud, {**settings_env, "SWS_DATABASE_URL": database_url}


def boot(cloud: Cloud) -> Server:
    """One ACTIVE instance of acme's in the simulated region (the LB's member)."""
    driver = cloud.container.driver("RegionOne")
    flavor = next(f for f in driver.list_flavors() if f.name == "m1.small")
    image = next(i for i in driver.list_images(cloud.acme.id) if i.status == "active")
    (server,) = driver.create_servers(
        cloud.acme.id, "u", ServerCreate(name="web-0", flavor_id=flavor.id, image_id=image.id)
    )
    cloud.settle()
    return driver.get_server(cloud.acme.id, server.id)


def serve_api(cloud: Cloud, namespace: str) -> uvicorn.Server:
    """The cloud's app on 10.99.0.1:8000 inside `namespace` (the socket is opened there)."""
    sock = _in_netns(namespace, lambda: socket.create_server((API, 8000)))
    config = uvicorn.Config(cloud.client.app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    wait_for(lambda: server.started, 10, "the API")
    return server


def test_the_deployment_in_docs_loadbalancer_md_serves_an_lb_and_answers_its_name(
    doc_cloud: tuple[Cloud, dict[str, str]], haproxy_bin: str, pdns_bin: str, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("the deployment test needs root for network namespaces")
    cloud, settings_env = doc_cloud
    doc = docblocks.blocks("loadbalancer.md")
    units = {name: docblocks.unit(text) for name, text in docblocks.unit_blocks(doc).items()}
    # HAProxy's socket paths must stay under 97 characters: a short root for the doc's paths.
    fake_root = Path(tempfile.mkdtemp(prefix="swslb-", dir="/tmp"))
    subs = docblocks.Substitutions(
        {
            "/opt/sws/bin/": f"{BIN}/",
            "https://sws.example.com": f"http://{API}:8000",
            "/etc/sws": f"{fake_root}/etc/sws",
            "/var/lib/sws-agent": f"{fake_root}/var/lib/sws-agent",
            "/run/sws-pdns": f"{fake_root}/run/sws-pdns",
            "/usr/sbin/pdns_server": pdns_bin,
        }
    )
    (fake_root / "etc/sws").mkdir(parents=True)
    (fake_root / "run/sws-pdns").mkdir(parents=True)
    token = cloud.admin["Authorization"].removeprefix("Bearer ")
    env_files = {
        "/etc/sws/agent.env": {"SWS_AGENT_TOKEN": token, "SWS_HAPROXY": haproxy_bin},
        "/etc/sws/sws.env": settings_env,
    }

    server = boot(cloud)
    vm_address = server.fixed_ips[0]
    lb = cloud.client.post(
        "/v1/loadbalancers",
        headers=cloud.acme.headers,
        json={"name": "web", "type": "http", "members": [{"server_id": server.id, "port": 80}]},
    )
    assert lb.status_code == 201, lb.text
    name = lb.json()["hosts"][0]
    subs.values["k3v9x2m7qa.lb.example.com"] = name

    net = Namespaces()
    api = None
    try:
        net.build(vm_address)
        api = serve_api(cloud, net.name("sws"))
        net.start("vm", [sys.executable, "-c", WEB, vm_address], {}, tmp_path / "web.log")
        for command in docblocks.lines(doc["shared-ip"]):
            net.run("node", subs.apply(command))

        def start_unit(role: str, unit_name: str) -> None:
            found = units[unit_name]
            env: dict[str, str] = {}
            for path in found.environment_files:
                env.update(env_files[path])
                subs.apply(path)
            argv = [subs.apply(arg) for arg in found.exec_start]
            net.start(role, argv, env, tmp_path / f"{unit_name}.log")

        start_unit("node", "sws-agent-lb.service")
        for command in docblocks.lines(doc["pdns-config"]):
            net.run("sws", subs.apply(command))
        start_unit("sws", "sws-dns.service")
        start_unit("sws", "sws-pdns.service")

        curl, dig = (subs.apply(c) for c in docblocks.lines(doc["check"]))
        page = wait_for(
            lambda: "web-0" in (out := _quiet(net, "client", curl)) and out,
            40,
            "the LB through the shared IP",
        )
        assert page == "web-0 behind the shared IP\n"
        answer = wait_for(lambda: _quiet(net, "client", dig), 20, "PowerDNS's answer")
        assert "203.0.113.10" in answer.split(), answer
        listening = net.run("node", "ss -Hltn")
        assert "203.0.113.10:80 " in listening and "0.0.0.0:80 " not in listening, listening
        subs.all_used()
    finally:
        if api is not None:
            api.should_exit = True
        net.close()
        stop = [subs.apply(a) for a in units["sws-agent-lb.service"].exec_start[:2]]
        subprocess.run(
            [*stop, "--stop", "--run-dir", f"{fake_root}/var/lib/sws-agent/lb"],
            check=False,
            env={**os.environ, "SWS_HAPROXY": haproxy_bin},
        )
        shutil.rmtree(fake_root, ignore_errors=True)
        for log in sorted(tmp_path.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()}")


def _quiet(net: Namespaces, role: str, command: str) -> str:
    done = subprocess.run(
        ["ip", "netns", "exec", net.name(role), "sh", "-c", command],
        capture_output=True,
        text=True,
        check=False,
        timeout=15,
    )
    return done.stdout if done.returncode == 0 and done.stdout.strip() else ""
