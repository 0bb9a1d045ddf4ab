"""Real HAProxy (and PowerDNS) on 127.0.0.1 for the load-balancer tests.

`scripts/install-lb-tools` installs them when missing. Outside CI a missing daemon skips the
tests with the reason; with CI=true it fails them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sws.loadbalancer.model import DesiredState
from sws.loadbalancer.renderer import RenderOptions
from sws_agent.lb import LBAgent
from tests.integration.loadbalancer.backends import free_port, free_range

ROOT = Path(__file__).resolve().parents[3]


def _need(binary: str) -> str:
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if found is None:
        subprocess.run([str(ROOT / "scripts" / "install-lb-tools")], check=False)
        found = shutil.which(binary, path="/usr/sbin:/sbin:/usr/bin")
    if found is None:
        message = f"{binary} is not installed (run scripts/install-lb-tools as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def haproxy_bin() -> str:
    return _need("haproxy")


@pytest.fixture(scope="session")
def pdns_bin() -> str:
    return _need("pdns_server")


class Node:
    """An LB node on 127.0.0.1: the agent and its HAProxy, with free ports."""

    def __init__(self, agent: LBAgent, http_port: int, port_min: int, port_max: int) -> None:
        self.agent = agent
        self.http_port = http_port
        self.port_min = port_min
        self.port_max = port_max
        self.version = 0

    def state(self, *lbs: object) -> DesiredState:
        self.version += 1
        return DesiredState(self.version, 80, self.port_min, self.port_max, tuple(lbs))  # type: ignore[arg-type]

    def reloads(self) -> int:
        return self.agent.haproxy.proc().reloads


@pytest.fixture
def node(haproxy_bin: str, tmp_path: Path) -> Iterator[Node]:
    low, high = free_range(8)
    http_port = free_port()
    opts = RenderOptions(run_dir=tmp_path / "lb", bind=("127.0.0.1",), http_port=http_port,
                         maxconn=2000)
    agent = LBAgent.create(opts, binary=haproxy_bin)
    found = Node(agent, http_port, low, high)
    agent.start(found.state())
    yield found
    agent.haproxy.stop()


from tests.api.conftest import cloud, database_url  # noqa: E402  (the API fixtures)

__all__ = ["Node", "cloud", "database_url"]
