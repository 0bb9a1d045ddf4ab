"""The agent against the API: fetch the host's ruleset, apply it in a namespace, report back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sws.netfilter.compiler import Ruleset
from sws_agent.netfilter import LastApplied, NftTarget, Shell, UnknownHost, sync_once
from tests.api.conftest import Cloud
from tests.integration.netfilter.topology import Topology

BASE = "/v1/admin/netfilter"


class ClientApi:
    """The agent's Api, over the test client instead of HTTP."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def ruleset(self, host: str) -> Ruleset:
        response = self.cloud.client.get(f"{BASE}/hosts/{host}/ruleset", headers=self.cloud.admin)
        if response.status_code == 404:
            raise UnknownHost(response.json()["detail"])
        assert response.status_code == 200, response.text
        return Ruleset.from_json(response.json())

    def report(self, host: str, body: Mapping[str, Any]) -> None:
        response = self.cloud.client.post(
            f"{BASE}/hosts/{host}/reports", json=body, headers=self.cloud.admin
        )
        assert response.status_code == 201, response.text


def test_the_agent_applies_what_the_api_compiles_and_reports_in_sync(
    cloud: Cloud, topology: Topology
) -> None:
    cloud.client.post(f"{BASE}/internal-networks", json={"cidr": "10.0.0.0/8"}, headers=cloud.admin)
    server = cloud.boot(cloud.acme)
    cloud.client.post(f"{BASE}/rules", headers=cloud.admin, json={
        "scope": "instance", "instance_id": server["id"], "destination": "10.251.1.10/32",
        "protocol": "tcp", "port_min": 8080, "reason": "orders"})
    shell = Shell(netns=topology.compute)
    api, target = ClientApi(cloud), NftTarget(shell=shell)
    first = sync_once(api, server["host"], target, shell)
    second = sync_once(api, server["host"], target, shell)
    assert (first["mode"], second["mode"]) == ("full", "unchanged")
    hosts = cloud.client.get(f"{BASE}/hosts", headers=cloud.admin).json()["items"]
    assert hosts[0]["in_sync"] and hosts[0]["digest"] == hosts[0]["expected_digest"]


def _intranet_with_one_vm(cloud: Cloud) -> Any:
    cloud.client.post(f"{BASE}/internal-networks", json={"cidr": "10.0.0.0/8"}, headers=cloud.admin)
    server_id = cloud.boot(cloud.acme)["id"]
    server = cloud.client.get(f"/v1/servers/{server_id}", headers=cloud.acme.headers).json()
    assert server["status"] == "ACTIVE" and server["fixed_ips"], server
    return server


def _table(topology: Topology) -> str:
    return topology.inside("compute", "nft", "list", "table", "inet", "sws_filter").stdout


@dataclass
class _Agent:
    """The agent of the one VM's host, remembering what it applied, after a first sync."""

    cloud: Cloud
    server: Any
    shell: Shell
    memory: LastApplied

    def sync(self, *, allow_empty: bool = False) -> dict[str, Any]:
        return sync_once(ClientApi(self.cloud), self.server["host"], NftTarget(shell=self.shell),
                         self.shell, memory=self.memory, allow_empty=allow_empty)

    def listed(self) -> Any:
        return self.cloud.client.get(f"{BASE}/hosts", headers=self.cloud.admin).json()["items"][0]


def _synced_agent(cloud: Cloud, topology: Topology, tmp_path: Path) -> _Agent:
    agent = _Agent(cloud, _intranet_with_one_vm(cloud), Shell(netns=topology.compute),
                   LastApplied(tmp_path))
    agent.sync()
    return agent


def test_a_mistyped_host_leaves_the_working_table_and_is_listed_as_unknown(
    cloud: Cloud, topology: Topology
) -> None:
    server = _intranet_with_one_vm(cloud)
    shell = Shell(netns=topology.compute)
    api, target = ClientApi(cloud), NftTarget(shell=shell)
    sync_once(api, server["host"], target, shell)
    before = _table(topology)
    assert server["fixed_ips"][0] in before
    with pytest.raises(UnknownHost):
        sync_once(api, "compute-O1", target, shell)
    assert _table(topology) == before, "the VM is still guarded"
    hosts = {h["host"]: h for h in
             cloud.client.get(f"{BASE}/hosts", headers=cloud.admin).json()["items"]}
    assert hosts["compute-O1"]["state"] == "unknown_host"
    assert "does not know this host" in hosts["compute-O1"]["error"]


def test_a_ruleset_that_lost_every_vm_is_refused_until_allowed(
    cloud: Cloud, topology: Topology, tmp_path: Path
) -> None:
    agent = _synced_agent(cloud, topology, tmp_path)
    server, before = agent.server, _table(topology)
    assert cloud.client.delete(f"/v1/servers/{server['id']}", headers=cloud.acme.headers
                               ).status_code == 204
    cloud.settle()
    refused = agent.sync()
    assert refused["mode"] == "refused" and _table(topology) == before
    listed = agent.listed()
    assert (listed["mode"], listed["behind"]) == ("refused", True)
    applied = agent.sync(allow_empty=True)
    assert applied["mode"] == "delta" and server["fixed_ips"][0] not in _table(topology)


def test_a_hand_edit_is_named_in_the_report(
    cloud: Cloud, topology: Topology, tmp_path: Path
) -> None:
    agent = _synced_agent(cloud, topology, tmp_path)
    vm = agent.server["fixed_ips"][0]
    topology.inside("compute", "nft", "add", "element", "inet", "sws_filter", "exact4",
                    f"{{ {vm} . 10.9.9.9 . tcp . 22 }}")
    report = agent.sync()
    assert report["drift"] == {
        "repaired": {"exact4": {"unexpected": [f"{vm} . 10.9.9.9 . tcp . 22"]}}}
    listed = agent.listed()
    assert listed["drift"] == report["drift"] and listed["state"] == "current"
