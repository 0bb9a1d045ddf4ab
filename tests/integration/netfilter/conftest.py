"""Fixtures for the SWS filter's kernel tests: the tools, a topology, and a target.

The namespaces are built once per module and handed to each test reset (no ruleset, no
conntrack entries, no connections but the servers'): built per test, each build took 18-21 s
inside the full integration tier, against 0.4 s alone.

The tests need root (network namespaces) and nft/conntrack/iptables, which
`scripts/install-netfilter-tools` installs when missing. Outside CI a machine without root
skips them with the reason; in CI a skip is a failure (tests/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sws_agent.netfilter import IptablesTarget, LibNft, NftTarget, Shell, Target
from tests.integration.netfilter.topology import Topology

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def netfilter_tools() -> None:
    if os.geteuid() != 0:
        pytest.skip("the SWS filter's kernel tests need root for network namespaces")
    subprocess.run([str(ROOT / "scripts" / "install-netfilter-tools")], check=True)
    for tool in ("nft", "conntrack", "iptables-restore", "ip6tables-restore"):
        assert shutil.which(tool), f"{tool} is missing after scripts/install-netfilter-tools"


@pytest.fixture(scope="module")
def built_topology(netfilter_tools: None) -> Iterator[Topology]:
    topo = Topology()
    try:
        yield topo.build()
    finally:
        topo.close()


@pytest.fixture
def topology(built_topology: Topology) -> Topology:
    return built_topology.reset()


@pytest.fixture(params=["nft", "nft-cli", "iptables"])
def target(request: pytest.FixtureRequest, topology: Topology, tmp_path: Path) -> Target:
    """The agent's nftables target as it runs (libnftables in-process, its context opened
    inside the compute namespace), the same through the `nft` command, and iptables."""
    shell = Shell(netns=topology.compute)
    if request.param == "iptables":
        return IptablesTarget(shell=shell, state_dir=tmp_path / "agent")
    if request.param == "nft-cli":
        return NftTarget(shell=shell)
    return NftTarget(shell=shell, nft=LibNft(topology.compute))


from tests.api.conftest import cloud, database_url  # noqa: E402

__all__ = ["cloud", "database_url"]
