"""The SWS filter's API: admin policy, bad input, the tenant view, grants, the agent feed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sws.netfilter.compiler import Ruleset
from tests.api.conftest import Cloud

BASE = "/v1/admin/netfilter"


def post(cloud: Cloud, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
         ) -> Any:
    return cloud.client.post(BASE + path, json=body, headers=headers or cloud.admin)


def internal(cloud: Cloud) -> None:
    for cidr in ("10.20.0.0/16", "fd00:5a5:1::/64"):
        assert post(cloud, "/internal-networks", {"cidr": cidr}).status_code == 201
    assert post(cloud, "/bridge-sources", {"cidr": "10.20.250.0/29"}).status_code == 201


def rule(**overrides: Any) -> dict[str, Any]:
    body = {"scope": "all", "destination": "10.20.1.0/24", "protocol": "tcp",
            "port_min": 5432, "reason": "orders database"}
    body.update(overrides)
    return body


@pytest.mark.parametrize(("body", "field"), [
    (rule(destination="10.20.1.0/33"), "destination"),
    (rule(destination="10.20.1.1/24"), "destination"),
    (rule(destination="nonsense"), "destination"),
    (rule(destination="192.168.0.0/24"), "destination"),
    (rule(port_min=900, port_max=80), "port_max"),
    (rule(port_min=0), "port_min"),
    (rule(port_min=70000), "port_min"),
    (rule(protocol="icmp", port_min=1), "port_min"),
    (rule(protocol="gre"), "protocol"),
    (rule(scope="tenant", tenant_id="00000000000000000000000000000000"), "tenant_id"),
    (rule(scope="tenant"), "tenant_id"),
    (rule(scope="instance", instance_id="no-such-server"), "instance_id"),
    (rule(expires_at="2020-01-01T00:00:00Z"), "expires_at"),
    (rule(expires_at="2030-01-01T00:00:00"), "expires_at"),
    (rule(reason="  "), "reason"),
    (rule(destination="10.20.0.0/16"), "confirm"),
    (rule(destination="10.0.0.0/8"), "confirm"),
    (rule(colour="red"), "colour"),
])
def test_bad_rules_get_a_4xx_naming_the_field(cloud: Cloud, body: dict[str, Any], field: str
                                              ) -> None:
    internal(cloud)
    response = post(cloud, "/rules", body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field, response.json()
    assert cloud.client.get(BASE + "/rules", headers=cloud.admin).json()["items"] == []


@pytest.mark.parametrize(("path", "cidr"), [
    ("/internal-networks", "10.20.5.0/24"),   # inside 10.20.0.0/16
    ("/internal-networks", "10.0.0.0/8"),     # around it
    ("/internal-networks", "10.20.0.0/16"),   # the same
    ("/internal-networks", "10.30.0.1/16"),   # host bits set
    ("/internal-networks", "300.1.1.0/24"),
    ("/bridge-sources", "10.20.250.4/30"),
])
def test_bad_or_overlapping_cidrs_are_refused(cloud: Cloud, path: str, cidr: str) -> None:
    internal(cloud)
    response = post(cloud, path, {"cidr": cidr})
    assert response.status_code in (409, 422), response.text
    assert response.json()["field"] == "cidr"


def test_opening_all_internal_space_needs_confirm(cloud: Cloud) -> None:
    internal(cloud)
    response = post(cloud, "/rules", rule(destination="10.20.0.0/16", confirm=True))
    assert response.status_code == 201, response.text


def test_rules_reach_the_tenant_view_and_the_host_ruleset(cloud: Cloud) -> None:
    internal(cloud)
    server = cloud.boot(cloud.acme)
    expiry = (cloud.clock.now() + timedelta(days=7)).isoformat()
    for body in (rule(), rule(scope="instance", instance_id=server["id"], port_min=6379,
                              expires_at=expiry),
                 rule(scope="tenant", tenant_id=cloud.globex.id, port_min=9000)):
        assert post(cloud, "/rules", body).status_code == 201
    acme = cloud.client.get("/v1/netfilter/reachable", headers=cloud.acme.headers).json()
    globex = cloud.client.get("/v1/netfilter/reachable", headers=cloud.globex.headers).json()
    acme, globex = acme["items"], globex["items"]
    assert sorted(r["port_min"] for r in acme) == [5432, 6379]
    assert sorted(r["port_min"] for r in globex) == [5432, 9000]
    assert "reason" not in acme[0]
    host = server["host"]
    data = cloud.client.get(f"{BASE}/hosts/{host}/ruleset", headers=cloud.admin).json()
    ruleset = Ruleset.from_json(data)
    assert ruleset.digest() == data["digest"] and len(ruleset.elements("allow4")) >= 1
    text = cloud.client.get(f"{BASE}/hosts/{host}/ruleset?format=nft", headers=cloud.admin).text
    assert "table inet sws_filter {" in text and "6379" in text


def test_tenants_toggle_bridge_grants_on_their_own_servers_only(cloud: Cloud) -> None:
    internal(cloud)
    server = cloud.boot(cloud.acme)
    path = f"/v1/netfilter/bridge-grants/{server['id']}"
    on = cloud.client.put(path, json={"port": 8443}, headers=cloud.acme.headers)
    assert on.status_code == 200 and [g["port"] for g in on.json()] == [8443]
    again = cloud.client.put(path, json={"port": 8443}, headers=cloud.acme.headers)
    assert len(again.json()) == 1
    assert cloud.client.put(path, json={"port": 8443}, headers=cloud.globex.headers
                            ).status_code == 404
    bad = cloud.client.put(path, json={"port": 0}, headers=cloud.acme.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "port"
    ruleset = Ruleset.from_json(cloud.client.get(
        f"{BASE}/hosts/{server['host']}/ruleset", headers=cloud.admin).json())
    assert len(ruleset.elements("bridge4")) == 1
    off = cloud.client.put(path, json={"port": 8443, "enabled": False}, headers=cloud.acme.headers)
    assert off.json() == []
    audit = cloud.client.get(BASE + "/bridge-grants", headers=cloud.admin).json()["items"]
    assert audit == []


def test_every_change_is_audited(cloud: Cloud) -> None:
    internal(cloud)
    created = post(cloud, "/rules", rule()).json()
    assert cloud.client.delete(f"{BASE}/rules/{created['id']}", headers=cloud.admin
                               ).status_code == 204
    assert cloud.client.delete(f"{BASE}/rules/{created['id']}", headers=cloud.admin
                               ).status_code == 404
    from sws.audit import service as audit

    actions = [e.action for e in audit.list_entries(db=cloud.container.db)]
    assert actions[:2] == ["netfilter.rule_delete", "netfilter.rule_add"]
    assert actions.count("netfilter.internal_network_add") == 2


def test_agents_report_status_and_drift(cloud: Cloud) -> None:
    internal(cloud)
    server = cloud.boot(cloud.acme)
    host = server["host"]
    digest = cloud.client.get(f"{BASE}/hosts/{host}/ruleset", headers=cloud.admin).json()["digest"]
    body = {"target": "nft", "digest": digest, "in_sync": True, "elements": 3, "mode": "full",
            "drift": {}, "apply_seconds": 0.01}
    assert post(cloud, f"/hosts/{host}/reports", body).status_code == 201
    hosts = cloud.client.get(BASE + "/hosts", headers=cloud.admin).json()["items"]
    assert hosts[0]["host"] == host and hosts[0]["expected_digest"] == digest
