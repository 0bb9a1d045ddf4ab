"""`sws-agent lb` as a real process (the installed CLI entry) against a real HTTP API server.

The API is the test cloud's app served by uvicorn on 127.0.0.1 (in a thread of this process,
so the test can drive the simulated region); the agent is `sws-agent lb` in a subprocess, as an
operator runs it, with its own HAProxy. An LB created through the API serves traffic, the
agent's reports carry each LB's bytes out, and those bytes are the bandwidth usage billing
rates for the LB's project.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from sws.loadbalancer import service as lb_service
from sws_agent.lb import HAProxy, parse_backend_bytes
from tests.api.conftest import Cloud
from tests.integration.loadbalancer.backends import Backend, free_port, free_range, wait_until
from tests.integration.netns import terminate

AGENT = Path(sys.executable).with_name("sws-agent")


@pytest.fixture
def api_server(cloud: Cloud) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(cloud.client.app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=10)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def agent_process(
    cloud: Cloud, api_server: str, haproxy_bin: str, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    low, high = free_range(6)
    settings = cloud.container.settings
    settings.lb_port_min, settings.lb_port_max = low, high
    server = cloud.boot(cloud.acme, name="web-0")
    stand_in = Backend("web-0").start()
    address_map = tmp_path / "address-map.json"
    address_map.write_text(json.dumps({f"{server['fixed_ips'][0]}:80": stand_in.target}))
    http_port, run_dir = free_port(), tmp_path / "lb"
    token = cloud.admin["Authorization"].removeprefix("Bearer ")
    process = subprocess.Popen(
        [str(AGENT), "lb", "--api", api_server, "--node", "lb-1", "--run-dir", str(run_dir),
         "--bind", "127.0.0.1", "--http-port", str(http_port), "--address-map",
         str(address_map), "--haproxy", haproxy_bin],
        env={**os.environ, "SWS_AGENT_TOKEN": token},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    haproxy = HAProxy(run_dir, haproxy_bin)
    try:
        wait_until(lambda: haproxy.running() and bool(haproxy.proc().workers), timeout=20)
        yield {"server": server, "http_port": http_port, "haproxy": haproxy,
               "process": process}
    finally:
        terminate(process, timeout=30)
        haproxy.stop()  # HAProxy is a daemon that outlives its agent by design
        stand_in.kill()
        assert process.stdout is not None
        print(process.stdout.read())  # the agent's log (what is left), shown when a test fails


def raw_get(port: int, host: str) -> tuple[int, bytes]:
    """One request on a new connection; the status and every byte the client received."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    data = b"".join(chunks)
    return int(data.split(b" ", 2)[1]), data


def test_the_real_agent_serves_an_lb_created_through_the_api_and_reports_its_bytes(
    cloud: Cloud, agent_process: dict[str, Any]
) -> None:
    port, haproxy = agent_process["http_port"], agent_process["haproxy"]
    reloads = haproxy.proc().reloads
    created = cloud.client.post("/v1/loadbalancers", headers=cloud.acme.headers, json={
        "name": "web", "type": "http",
        "members": [{"server_id": agent_process["server"]["id"], "port": 80}],
    })
    assert created.status_code == 201, created.text
    lb = created.json()
    host = lb["hosts"][0]
    # The agent long-polls the API over HTTP and adds the LB through the runtime API.
    wait_until(lambda: raw_get(port, host)[0] == 200, timeout=10)
    assert raw_get(port, "nobody.example.org")[0] == 404
    assert haproxy.proc().reloads == reloads, "no reload for a new LB"
    received = sum(len(raw_get(port, host)[1]) for _ in range(20))
    # The agent's heartbeat reports member health and the LB's bytes out.
    health_ok = lambda: {m["health"] for m in cloud.client.get(  # noqa: E731
        f"/v1/loadbalancers/{lb['id']}/health", headers=cloud.acme.headers).json()["items"]
        } == {"up"}
    wait_until(health_ok, timeout=10)
    start = cloud.clock.now().replace(minute=0, second=0, microsecond=0)

    def counted() -> int:
        rows = lb_service.traffic_usage(db=cloud.container.db, start=start,
                                        end=start + timedelta(hours=1))
        return sum(r.bytes_out for r in rows if r.lb_id == lb["id"])

    # The LB's bytes are HAProxy's `bout` of its backend: what the worker counted, exactly
    # (HTTP: headers and body as HAProxy forwards them, a little under the wire bytes).
    def bout() -> int:
        stats = parse_backend_bytes(haproxy.runtime("show stat"))
        return sum(n for name, n in stats.items() if not name.startswith("be_unknown"))

    served = bout()
    assert 0 < served <= received
    wait_until(lambda: counted() == served, timeout=10)
    time.sleep(1.5)  # a few more reports: nothing is counted twice
    assert counted() == served == bout()
    rows = lb_service.traffic_usage(db=cloud.container.db, start=start,
                                    end=start + timedelta(hours=1))
    assert {(r.project_id, r.lb_id) for r in rows} == {(cloud.acme.id, lb["id"])}
    assert agent_process["process"].poll() is None, "the agent is still running"


def test_the_agent_logs_its_start_and_each_change_and_exits_at_once_on_sigterm(
    cloud: Cloud, agent_process: dict[str, Any]
) -> None:
    process, port = agent_process["process"], agent_process["http_port"]
    created = cloud.client.post("/v1/loadbalancers", headers=cloud.acme.headers, json={
        "name": "web", "type": "http",
        "members": [{"server_id": agent_process["server"]["id"], "port": 80}],
    })
    assert created.status_code == 201, created.text
    wait_until(lambda: raw_get(port, created.json()["hosts"][0])[0] == 200, timeout=10)
    # The agent now waits in a long poll (20 s) for the next version: SIGTERM cuts it short.
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    # The agent's own bound is 1 s (0.5 s for an apply in progress); the test allows 5 s so a
    # loaded CI machine cannot fail it, which still tells it from the old 20 s wait.
    assert time.monotonic() - signalled < 5.0, "the agent exits at once on SIGTERM"
    assert agent_process["haproxy"].running(), "HAProxy outlives its agent"
    assert process.stdout is not None
    log = process.stdout.read()
    assert "started: version" in log
    assert "applied version" in log and "by runtime: 1 load balancers" in log
    assert "stopping" in log
