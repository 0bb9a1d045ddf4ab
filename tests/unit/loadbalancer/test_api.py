"""The load-balancer API: endpoints, members, host names, public domains and bad input."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sws.events.tables import resource_events
from sws.loadbalancer import service
from sws.loadbalancer.service import LBConfig
from tests.api.conftest import Cloud


def _lb(cloud: Cloud, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    response = cloud.client.post(
        "/v1/loadbalancers", json=body, headers=headers or cloud.acme.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def _problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    if field is not None:
        assert field in (body.get("field") or "") or any(
            field in (e.get("field") or "") for e in body.get("errors", [])
        ), body
    return body


def _version(cloud: Cloud) -> int:
    return service.current_version(db=cloud.container.db)


def test_http_lb_gets_an_automatic_host_and_custom_hosts(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    cloud.txt.prove("www.acme.example.org", cloud.acme.id)
    lb = _lb(cloud, {
        "name": "web", "type": "http", "algorithm": "leastconn",
        "custom_hosts": ["WWW.Acme.example.org."],
        "members": [{"server_id": server["id"], "port": 8080, "weight": 3}],
    })
    auto = lb["hosts"][0]
    assert auto.endswith(".lb.example.com") and len(auto.split(".")[0]) == 10
    assert lb["hosts"][1] == "www.acme.example.org"
    assert lb["port"] is None
    assert lb["endpoints"][0] == f"http://{auto}/"
    member = lb["members"][0]
    assert (member["address"], member["port"], member["weight"]) == (
        server["fixed_ips"][0], 8080, 3,
    )
    assert member["health"] == "unknown"


def test_tcp_lbs_get_ports_from_the_range_until_it_is_full(cloud: Cloud) -> None:
    cloud.container.settings.lb_port_min = 11000
    cloud.container.settings.lb_port_max = 11001
    first = _lb(cloud, {"name": "a", "type": "tcp"})
    second = _lb(cloud, {"name": "b", "type": "tcp"}, cloud.globex.headers)
    assert (first["port"], second["port"]) == (11000, 11001)
    assert first["endpoints"] == [f"{first['hosts'][0]}:11000"]
    before = _version(cloud)
    full = cloud.client.post(
        "/v1/loadbalancers", json={"name": "c", "type": "tcp"}, headers=cloud.acme.headers
    )
    _problem(full, 409)
    assert "no free port" in full.json()["detail"]
    assert _version(cloud) == before
    cloud.client.delete(f"/v1/loadbalancers/{first['id']}", headers=cloud.acme.headers)
    assert _lb(cloud, {"name": "c", "type": "tcp"})["port"] == 11000


def test_bad_input_is_refused_and_nothing_is_written(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    foreign = cloud.boot(cloud.globex, name="theirs")
    cloud.txt.prove("shop.example.org", cloud.acme.id)
    taken = _lb(cloud, {"name": "w", "type": "http", "custom_hosts": ["shop.example.org"]})
    before = _version(cloud)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"members": [{"server_id": server["id"], "port": 0}]}, 422, "port"),
        ({"members": [{"server_id": server["id"], "port": 65536}]}, 422, "port"),
        ({"members": [{"server_id": foreign["id"], "port": 80}]}, 422, "server_id"),
        ({"custom_hosts": ["not a host"]}, 422, "host"),
        ({"custom_hosts": ["-bad-.example.org"]}, 422, "host"),
        ({"custom_hosts": ["lb.example.com"]}, 422, "host"),
        ({"custom_hosts": ["abcde12345.lb.example.com"]}, 422, "host"),  # automatic's shape
        ({"custom_hosts": ["www.google.com"]}, 403, "host"),  # no TXT proof
        ({"custom_hosts": ["shop.example.org"]}, 409, "host"),
        ({"monitor": {"type": "http", "http_path": "health"}}, 422, "http_path"),
        ({"monitor": {"type": "http", "expected_codes": "2xx"}}, 422, "expected_codes"),
        ({"monitor": {"interval_ms": 100, "timeout_ms": 500}}, 422, "timeout_ms"),
        ({"algorithm": "random"}, 422, "algorithm"),
    ]
    for extra, status, field in cases:
        body = {"name": "bad", "type": "http", **extra}
        response = cloud.client.post("/v1/loadbalancers", json=body, headers=cloud.acme.headers)
        _problem(response, status, field)
    assert _version(cloud) == before
    listed = cloud.client.get("/v1/loadbalancers", headers=cloud.acme.headers).json()["items"]
    assert [lb["id"] for lb in listed] == [taken["id"]]


def test_members_are_only_instances_of_the_same_tenant(cloud: Cloud) -> None:
    mine = cloud.boot(cloud.acme)
    theirs = cloud.boot(cloud.globex, name="theirs")
    lb = _lb(cloud, {"name": "w", "type": "http"})
    url = f"/v1/loadbalancers/{lb['id']}/members"
    foreign = cloud.client.post(url, json={"server_id": theirs["id"], "port": 80},
                                headers=cloud.acme.headers)
    missing = cloud.client.post(url, json={"server_id": "nope", "port": 80},
                                headers=cloud.acme.headers)
    assert foreign.status_code == missing.status_code == 422
    assert foreign.json()["detail"].replace(theirs["id"], "X") == missing.json()[
        "detail"].replace("nope", "X")
    ok = cloud.client.post(url, json={"server_id": mine["id"], "port": 80},
                           headers=cloud.acme.headers)
    assert ok.status_code == 201, ok.text
    again = cloud.client.post(url, json={"server_id": mine["id"], "port": 80},
                              headers=cloud.acme.headers)
    _problem(again, 409)
    # globex cannot see, change or add to acme's load balancer.
    assert cloud.client.get(f"/v1/loadbalancers/{lb['id']}",
                            headers=cloud.globex.headers).status_code == 404
    assert cloud.client.post(url, json={"server_id": theirs["id"], "port": 80},
                             headers=cloud.globex.headers).status_code == 404


def test_member_update_remove_and_hosts(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    lb = _lb(cloud, {"name": "w", "type": "http",
                     "members": [{"server_id": server["id"], "port": 80}]})
    member = lb["members"][0]
    url = f"/v1/loadbalancers/{lb['id']}/members/{member['id']}"
    changed = cloud.client.patch(url, json={"admin_state": "maint", "weight": 5},
                                 headers=cloud.acme.headers)
    assert changed.json()["health"] == "maint" and changed.json()["weight"] == 5
    cloud.txt.prove("api.acme.example", cloud.acme.id)
    host = cloud.client.post(f"/v1/loadbalancers/{lb['id']}/hosts",
                             json={"host": "api.acme.example"}, headers=cloud.acme.headers)
    assert "api.acme.example" in host.json()["hosts"]
    dup = cloud.client.post(f"/v1/loadbalancers/{lb['id']}/hosts",
                            json={"host": "API.acme.example"}, headers=cloud.acme.headers)
    _problem(dup, 409, "host")
    gone = cloud.client.delete(f"/v1/loadbalancers/{lb['id']}/hosts/api.acme.example",
                               headers=cloud.acme.headers)
    assert gone.status_code == 204
    assert cloud.client.delete(url, headers=cloud.acme.headers).status_code == 204
    assert cloud.client.get(f"/v1/loadbalancers/{lb['id']}/health",
                            headers=cloud.acme.headers).json()["items"] == []


def test_instance_public_domain_is_a_one_member_tcp_lb(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    url = f"/v1/servers/{server['id']}/public-domain"
    created = cloud.client.post(url, json={"port": 22}, headers=cloud.acme.headers)
    assert created.status_code == 201, created.text
    domain = created.json()
    assert domain["type"] == "tcp" and 11000 <= domain["port"] <= 19999
    assert domain["endpoints"][0].endswith(f".lb.example.com:{domain['port']}")
    assert [m["port"] for m in domain["members"]] == [22]
    _problem(cloud.client.post(url, json={}, headers=cloud.acme.headers), 409)
    assert cloud.client.get(url, headers=cloud.globex.headers).status_code == 404
    assert cloud.client.post(url, json={}, headers=cloud.globex.headers).status_code == 404
    _problem(cloud.client.delete(f"/v1/loadbalancers/{domain['id']}",
                                 headers=cloud.acme.headers), 409)
    assert cloud.client.get(url, headers=cloud.acme.headers).json()["id"] == domain["id"]
    assert cloud.client.delete(url, headers=cloud.acme.headers).status_code == 204
    assert cloud.client.get(url, headers=cloud.acme.headers).status_code == 404


def test_lifecycle_goes_into_the_events_journal_for_billing(cloud: Cloud) -> None:
    lb = _lb(cloud, {"name": "billed", "type": "http"})
    cloud.client.delete(f"/v1/loadbalancers/{lb['id']}", headers=cloud.acme.headers)
    with cloud.container.db.read() as conn:
        rows = conn.execute(
            select(resource_events.c.event_type, resource_events.c.project_id).where(
                resource_events.c.resource_id == lb["id"]
            )
        ).all()
    assert sorted(rows) == [
        ("octavia.loadbalancer.create.end", cloud.acme.id),
        ("octavia.loadbalancer.delete.end", cloud.acme.id),
    ]


def test_agent_endpoints_need_the_admin_role_and_long_poll(cloud: Cloud) -> None:
    url = "/v1/admin/lb-nodes/lb-1/desired-state"
    assert cloud.client.get(url, headers=cloud.acme.headers).status_code == 403
    state = cloud.client.get(url, headers=cloud.admin).json()
    assert state["loadbalancers"] == [] and state["port_min"] == 11000
    _lb(cloud, {"name": "w", "type": "http"})
    after = cloud.client.get(url, params={"after": state["version"], "wait": 5},
                             headers=cloud.admin).json()
    assert after["version"] > state["version"] and len(after["loadbalancers"]) == 1
    assert cloud.client.get("/v1/admin/lb-nodes/nope/desired-state",
                            headers=cloud.admin).status_code == 404


def test_health_reports_show_up_in_the_api_and_nodes_go_stale(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    lb = _lb(cloud, {"name": "w", "type": "http",
                     "members": [{"server_id": server["id"], "port": 80}]})
    member_id = lb["members"][0]["id"]
    report = cloud.client.post("/v1/admin/lb-nodes/lb-1/report",
                               json={"version": 1, "members": {member_id: "down"}},
                               headers=cloud.admin)
    assert report.status_code == 204, report.text
    health = cloud.client.get(f"/v1/loadbalancers/{lb['id']}/health",
                              headers=cloud.acme.headers).json()["items"]
    assert health[0]["health"] == "down" and health[0]["nodes"] == {"lb-1": "down"}
    nodes = cloud.client.get("/v1/admin/lb-nodes", headers=cloud.admin).json()["items"]
    assert nodes[0]["alive"] is True
    cloud.settle(seconds=11)
    nodes = cloud.client.get("/v1/admin/lb-nodes", headers=cloud.admin).json()["items"]
    assert nodes[0]["alive"] is False
    assert LBConfig.from_settings(cloud.container.settings).zone == "lb.example.com"
