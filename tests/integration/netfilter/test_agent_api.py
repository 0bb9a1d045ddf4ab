"""The agent against the API: fetch the host's ruleset, apply it in a namespace, report back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sws.netfilter.compiler import Ruleset
from sws_agent.netfilter import NftTarget, Shell, sync_once
from tests.api.conftest import Cloud
from tests.integration.netfilter.topology import Topology

BASE = "/v1/admin/netfilter"


class ClientApi:
    """The agent's Api, over the test client instead of HTTP."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def ruleset(self, host: str) -> Ruleset:
        response = self.cloud.client.get(f"{BASE}/hosts/{host}/ruleset", headers=self.cloud.admin)
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
    first = sync_once(api, server["host"], target, shell)  # type: ignore[arg-type]
    second = sync_once(api, server["host"], target, shell)  # type: ignore[arg-type]
    assert (first["mode"], second["mode"]) == ("full", "unchanged")
    hosts = cloud.client.get(f"{BASE}/hosts", headers=cloud.admin).json()
    assert hosts[0]["in_sync"] and hosts[0]["digest"] == hosts[0]["expected_digest"]
