"""`sws-agent cdn` as a real process against a real SWS API: a distribution made through the API
is served by the edge, a purge job goes accepted -> done, and a kill -9 of the agent at any
moment of a configuration change leaves the edge serving a whole configuration."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sws.cdn.model import vcl_digest
from sws.clock import SimulatedClock
from sws.config import LBNodeConfig, Settings
from sws.web.app import create_app
from sws_agent.cdn import vcl_name
from sws_agent.cdn._traffic import AccessLog
from tests.api.conftest import Cloud, open_cloud
from tests.budget import repeats
from tests.integration.cdn.conftest import EDGE_PORT, Rig
from tests.integration.netns import serve, wait_for

AGENT = Path(subprocess.sys.executable).with_name("sws-agent")  # type: ignore[attr-defined]
API_PORT = 8000
D = "/v1/cdn/distributions"


class Api:
    def __init__(self, cloud: Cloud, rig: Rig, tmp_path: Path) -> None:
        self.cloud, self.rig, self.tmp_path = cloud, rig, tmp_path
        self.agent: subprocess.Popen[str] | None = None

    def start_agent(self) -> None:
        """The agent of edge e1, on the run directory of the rig's varnishd (which it adopts:
        Varnish outlives agents)."""
        token = self.cloud.admin["Authorization"].removeprefix("Bearer ")
        hub = self.rig.hub
        argv = ["ip", "netns", "exec", hub.name("e1"), str(AGENT), "cdn",
                "--api", f"http://10.77.1.1:{API_PORT}", "--edge", "edge-1",
                "--run-dir", str(self.rig.edges[0].varnish.options.run_dir), "--listen",
                f"10.77.1.2:{EDGE_PORT}", "--storage", "malloc,32m", "--report-interval", "0.2"]
        log = (self.tmp_path / "agent.log").open("a")
        self.agent = subprocess.Popen(argv, env={"SWS_AGENT_TOKEN": token}, stdout=log,
                                      stderr=subprocess.STDOUT, text=True)

    def kill_agent(self) -> None:
        assert self.agent is not None
        self.agent.send_signal(signal.SIGKILL)
        self.agent.wait(timeout=10)

    def edge(self) -> dict[str, Any]:
        found = self.cloud.client.get("/v1/admin/cdn-edges", headers=self.cloud.admin).json()
        return dict(found["items"][0])


@pytest.fixture
def api(rig: Rig, tmp_path: Path) -> Iterator[Api]:
    settings = Settings(
        home=tmp_path, database_url=f"sqlite:///{tmp_path / 'sws.db'}", demo_data=False,
        lb_nodes=[LBNodeConfig(name="lb-1", address="10.77.1.1")], lb_http_port=8080,
        cdn_edges=[LBNodeConfig(name="edge-1", address="10.77.1.2")],
    )
    clock = SimulatedClock(datetime(2026, 12, 6, 10, 0, tzinfo=UTC))
    with open_cloud(settings, clock) as cloud:
        server = serve(create_app(cloud.container), rig.hub.name("net"), "10.77.1.1", API_PORT)
        found = Api(cloud, rig, tmp_path)
        try:
            yield found
        finally:
            if found.agent is not None and found.agent.poll() is None:
                found.kill_agent()
            AccessLog(rig.edges[0].varnish.options).stop()  # the killed agent's varnishncsa
            server.should_exit = True


def _distribution(api: Api) -> dict[str, Any]:
    client, acme = api.cloud.client, api.cloud.acme
    lb = client.post("/v1/loadbalancers", json={"name": "web", "type": "http"},
                     headers=acme.headers).json()
    made = client.post(D, json={"name": "site", "origin": {"kind": "loadbalancer",
                                                           "ref": lb["id"]}},
                       headers=acme.headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_an_api_distribution_is_served_and_purged_through_the_agent(api: Api) -> None:
    rig, client, acme = api.rig, api.cloud.client, api.cloud.acme
    rig.origin.put("/news", "news v1")
    made = _distribution(api)
    api.start_agent()
    edge = rig.edges[0]
    wait_for(lambda: _serves(rig, made["host"], "/news"), 30, "the edge")
    assert rig.get(edge, "/news", host=made["host"]).hit
    rig.origin.put("/news", "news v2")

    job = client.post(f"{D}/{made['id']}/purges", json={"kind": "url", "value": "/news"},
                      headers=acme.headers).json()
    url = f"{D}/{made['id']}/purges/{job['id']}"
    wait_for(lambda: client.get(url, headers=acme.headers).json()["state"] == "done", 10,
             "the purge")

    assert client.get(url, headers=acme.headers).json()["edges"] == {"edge-1": "done"}
    # a soft purge: the stale copy may answer while one background fetch revalidates it
    wait_for(lambda: rig.get(edge, "/news", host=made["host"]).body == "news v2", 5,
             "the new version")
    assert api.edge()["current"] and api.edge()["alive"]


@pytest.mark.chaos
def test_a_kill_9_mid_configuration_leaves_a_whole_configuration_serving(api: Api) -> None:
    rig, client, acme = api.rig, api.cloud.client, api.cloud.acme
    rig.origin.put("/", "home")
    made = _distribution(api)
    api.start_agent()
    edge = rig.edges[0]
    wait_for(lambda: _serves(rig, made["host"], "/"), 30, "the edge")
    seen: set[str] = set()
    for ttl in range(61, 61 + repeats(4)):
        before = _rendered(api)
        client.patch(f"{D}/{made['id']}", json={"default_ttl": ttl}, headers=acme.headers)
        after = _rendered(api)
        time.sleep(random.uniform(0, 0.3))
        api.kill_agent()

        active = edge.varnish.active()
        assert active in (vcl_name(before), vcl_name(after)), active
        seen.add("new" if active == vcl_name(after) else "old")
        assert rig.get(edge, "/", host=made["host"]).status == 200
        api.start_agent()
        wait_for(lambda after=after: edge.varnish.active() == vcl_name(after), 30, "convergence")
    assert rig.get(edge, "/", host=made["host"]).body == "home"


def _serves(rig: Rig, host: str, path: str) -> bool:
    """Whether the edge answers 200 (not yet, while varnishd waits for its first VCL)."""
    try:
        return rig.get(rig.edges[0], path, host=host).status == 200
    except OSError:
        return False


def _rendered(api: Api) -> str:
    state = api.cloud.client.get("/v1/admin/cdn-edges/edge-1/desired-state",
                                 headers=api.cloud.admin).json()
    assert state["digest"] == vcl_digest(state["vcl"])
    return str(state["digest"])
