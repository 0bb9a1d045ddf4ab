"""The SWS filter fails closed and is seen when stale, through the API: an unknown host is
404, a dead agent is stale, a policy changed while the agent was down leaves it behind, a
network that rules use is not deleted behind their back, and doubtful CIDRs are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sws.audit import service as audit
from tests.api.conftest import Cloud

BASE = "/v1/admin/netfilter"


def post(cloud: Cloud, path: str, body: dict[str, Any]) -> Any:
    return cloud.client.post(BASE + path, json=body, headers=cloud.admin)


def intranet(cloud: Cloud) -> dict[str, Any]:
    created = post(cloud, "/internal-networks", {"cidr": "10.20.0.0/16"})
    assert created.status_code == 201, created.text
    return dict(created.json())


def allow(cloud: Cloud, destination: str = "10.20.1.0/24", port: int = 5432) -> dict[str, Any]:
    created = post(cloud, "/rules", {"scope": "all", "destination": destination,
                                     "protocol": "tcp", "port_min": port,
                                     "reason": "orders database"})
    assert created.status_code == 201, created.text
    return dict(created.json())


def ruleset(cloud: Cloud, host: str) -> Any:
    return cloud.client.get(f"{BASE}/hosts/{host}/ruleset", headers=cloud.admin)


def report_applied(cloud: Cloud, host: str, digest: str) -> Any:
    body = {"target": "nft", "digest": digest, "in_sync": True, "elements": 4, "mode": "full"}
    return post(cloud, f"/hosts/{host}/reports", body)


def agent(cloud: Cloud, host: str) -> dict[str, Any]:
    hosts = cloud.client.get(f"{BASE}/hosts", headers=cloud.admin).json()["items"]
    return dict(next(h for h in hosts if h["host"] == host))


# ---- an unknown --host ---------------------------------------------------------------------

def test_a_mistyped_host_gets_404_not_an_empty_ruleset(cloud: Cloud) -> None:
    intranet(cloud)
    server = cloud.boot(cloud.acme)
    assert server["host"] == "compute-01"
    typo = ruleset(cloud, "compute-O1")
    assert typo.status_code == 404, typo.text
    assert "compute-O1" in typo.json()["detail"] and "not known" in typo.json()["detail"]


def test_a_known_host_without_instances_still_gets_its_ruleset(cloud: Cloud) -> None:
    intranet(cloud)
    empty = ruleset(cloud, "compute-03")
    assert empty.status_code == 200
    assert empty.json()["sets"]["vm4"] == [] and empty.json()["sets"]["guarded4"] != []


def test_an_agent_reporting_for_an_unknown_host_is_listed_as_such(cloud: Cloud) -> None:
    intranet(cloud)
    stored = report_applied(cloud, "compute-O1", "")
    assert stored.status_code == 201
    assert stored.json()["known_host"] is False and stored.json()["state"] == "unknown_host"
    assert agent(cloud, "compute-O1")["state"] == "unknown_host"


# ---- a dead agent, a policy changed while it was down ---------------------------------------

def test_a_dead_agent_turns_stale_after_three_intervals(cloud: Cloud) -> None:
    intranet(cloud)
    host = cloud.boot(cloud.acme)["host"]
    assert report_applied(cloud, host, ruleset(cloud, host).json()["digest"]).status_code == 201
    fresh = agent(cloud, host)
    assert (fresh["state"], fresh["stale"], fresh["behind"]) == ("current", False, False)
    cloud.clock.advance(timedelta(seconds=90))  # 3 x 30 s: still within the window
    assert agent(cloud, host)["stale"] is False
    cloud.clock.advance(timedelta(seconds=1))
    dead = agent(cloud, host)
    assert (dead["state"], dead["stale"]) == ("stale", True)


def test_a_policy_changed_while_the_agent_is_down_leaves_it_behind(cloud: Cloud) -> None:
    intranet(cloud)
    host = cloud.boot(cloud.acme)["host"]
    applied = ruleset(cloud, host).json()["digest"]
    report_applied(cloud, host, applied)
    allow(cloud)  # the agent is down: it never fetches this
    now = agent(cloud, host)
    assert now["behind"] is True and now["state"] == "behind"
    assert now["digest"] == applied and now["expected_digest"] == ruleset(cloud, host
                                                                          ).json()["digest"]
    assert now["expected_digest"] != applied


def scrape(cloud: Cloud) -> str:
    """/metrics as the operator's local scraper sees it (metrics_allow: loopback)."""
    scraper = TestClient(cloud.client.app, client=("127.0.0.1", 40000))
    response = scraper.get("/metrics")
    assert response.status_code == 200, response.text
    return response.text


def test_stale_and_behind_agents_are_exported_to_prometheus(cloud: Cloud) -> None:
    intranet(cloud)
    host = cloud.boot(cloud.acme)["host"]
    report_applied(cloud, host, ruleset(cloud, host).json()["digest"])
    metrics = scrape(cloud)
    assert f'sws_agent_stale{{agent="netfilter",host="{host}"}} 0' in metrics
    allow(cloud)
    cloud.clock.advance(timedelta(minutes=5))
    metrics = scrape(cloud)
    assert f'sws_agent_stale{{agent="netfilter",host="{host}"}} 1' in metrics
    assert f'sws_agent_behind{{agent="netfilter",host="{host}"}} 1' in metrics
    assert 'sws_agents_needing_attention{agent="netfilter"} 1' in metrics


# ---- a network that rules use -----------------------------------------------------------

def test_deleting_a_network_that_rules_use_is_409_naming_them(cloud: Cloud) -> None:
    network = intranet(cloud)
    rule = allow(cloud)
    url = f"{BASE}/internal-networks/{network['id']}"
    refused = cloud.client.delete(url, headers=cloud.admin)
    assert refused.status_code == 409, refused.text
    assert rule["id"] in refused.json()["detail"] and "10.20.1.0/24" in refused.json()["detail"]
    assert refused.json()["field"] == "delete_rules"
    networks = cloud.client.get(f"{BASE}/internal-networks", headers=cloud.admin).json()
    assert len(networks["items"]) == 1
    assert len(cloud.client.get(f"{BASE}/rules", headers=cloud.admin).json()["items"]) == 1


def test_a_network_goes_with_its_rules_when_asked_audited(cloud: Cloud) -> None:
    network = intranet(cloud)
    rule = allow(cloud)
    url = f"{BASE}/internal-networks/{network['id']}?delete_rules=true"
    assert cloud.client.delete(url, headers=cloud.admin).status_code == 204
    assert cloud.client.get(f"{BASE}/rules", headers=cloud.admin).json()["items"] == []
    entries = audit.list_entries(db=cloud.container.db)
    assert [(e.action, e.target_id) for e in entries[:2]] == [
        ("netfilter.internal_network_delete", network["id"]), ("netfilter.rule_delete", rule["id"]),
    ]
    assert rule["id"] in entries[0].detail


def test_an_unused_network_is_deleted_without_the_flag(cloud: Cloud) -> None:
    network = intranet(cloud)
    post(cloud, "/internal-networks", {"cidr": "10.30.0.0/16"})
    allow(cloud)  # inside 10.20.0.0/16 only
    other = next(n for n in cloud.client.get(f"{BASE}/internal-networks", headers=cloud.admin
                                             ).json()["items"] if n["id"] != network["id"])
    assert cloud.client.delete(f"{BASE}/internal-networks/{other['id']}", headers=cloud.admin
                               ).status_code == 204


# ---- doubtful input ------------------------------------------------------------------------

@pytest.mark.parametrize(("cidr", "says"), [
    ("10.252.2.0", "no prefix length"),
    ("10.252.2.0/24 ", "spaces"),
    (" 10.252.2.0/24", "spaces"),
    ("fe80::/10", "link-local"),
    ("fe80::/64", "link-local"),
    ("169.254.0.0/16", "link-local"),
    ("::ffff:10.0.0.0/104", "IPv4-mapped"),
    ("224.0.0.0/4", "multicast"),
])
def test_doubtful_internal_networks_are_refused(cloud: Cloud, cidr: str, says: str) -> None:
    refused = post(cloud, "/internal-networks", {"cidr": cidr})
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "cidr" and says in refused.json()["detail"]
    assert cloud.client.get(f"{BASE}/internal-networks", headers=cloud.admin).json()["items"] == []


def test_a_rule_destination_without_prefix_is_refused(cloud: Cloud) -> None:
    intranet(cloud)
    refused = post(cloud, "/rules", {"scope": "all", "destination": "10.20.1.5",
                                     "protocol": "tcp", "port_min": 22, "reason": "ssh"})
    assert refused.status_code == 422 and refused.json()["field"] == "destination"
    assert "10.20.1.5/32" in refused.json()["detail"]


def test_the_answer_shows_the_network_as_stored(cloud: Cloud) -> None:
    created = post(cloud, "/internal-networks", {"cidr": "FD00:5A5:0:0::/64"})
    assert created.status_code == 201 and created.json()["cidr"] == "fd00:5a5::/64"
