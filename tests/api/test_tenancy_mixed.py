"""Mixed ownership: the caller's own parent with another tenant's child, or another tenant's
id inside a request body.

The plain tenancy matrix (test_tenancy.py) calls every route with ids that all belong to
someone else. An attacker who owns a load balancer or a security group can instead put a
victim's member, rule or server id beside their own parent. Each such call must answer as
a missing id does, and leave the victim's resource exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from httpx import Response

from tests.api.conftest import Cloud, Tenant

MISSING = "00000000-0000-4000-8000-000000000000"


def _acme(cloud: Cloud) -> dict[str, Any]:
    """The victim's resources: a server behind a load balancer, a rule, a floating IP."""
    client, headers = cloud.client, cloud.acme.headers
    server = cloud.boot(cloud.acme)
    lb = client.post(
        "/v1/loadbalancers",
        headers=headers,
        json={"name": "shop", "type": "http", "members": [{"server_id": server["id"], "port": 80}]},
    ).json()
    group = client.post("/v1/security-groups", json={"name": "web"}, headers=headers).json()
    rule = client.post(
        f"/v1/security-groups/{group['id']}/rules",
        json={"protocol": "tcp", "port_range_min": 443, "port_range_max": 443},
        headers=headers,
    ).json()
    fip = client.post("/v1/floating-ips", headers=headers).json()
    return {"server": server, "lb": lb, "group": group, "rule": rule, "fip": fip}


def _globex(cloud: Cloud) -> dict[str, Any]:
    """The attacker's own parents: a server, a load balancer and a floating IP."""
    client, headers = cloud.client, cloud.globex.headers
    server = cloud.boot(cloud.globex, name="probe")
    lb = client.post(
        "/v1/loadbalancers",
        headers=headers,
        json={
            "name": "probe",
            "type": "http",
            "members": [{"server_id": server["id"], "port": 80}],
        },
    ).json()
    fip = client.post("/v1/floating-ips", headers=headers).json()
    return {"server": server, "lb": lb, "fip": fip}


def _get(cloud: Cloud, path: str, tenant: Tenant) -> Any:
    response = cloud.client.get(path, headers=tenant.headers)
    assert response.status_code == 200, (path, response.text)
    return response.json()


def test_a_victims_member_under_the_attackers_own_load_balancer_is_not_found(
    cloud: Cloud,
) -> None:
    victim, attacker = _acme(cloud), _globex(cloud)
    member_id = victim["lb"]["members"][0]["id"]
    path = f"/v1/loadbalancers/{attacker['lb']['id']}/members/{member_id}"
    headers = cloud.globex.headers

    assert cloud.client.patch(path, json={"weight": 7}, headers=headers).status_code == 404
    assert cloud.client.delete(path, headers=headers).status_code == 404

    after = _get(cloud, f"/v1/loadbalancers/{victim['lb']['id']}", cloud.acme)
    assert after["members"] == victim["lb"]["members"]


def test_a_victims_server_cannot_be_added_to_the_attackers_load_balancer(cloud: Cloud) -> None:
    victim, attacker = _acme(cloud), _globex(cloud)
    path = f"/v1/loadbalancers/{attacker['lb']['id']}/members"

    foreign, missing = _answers_for_foreign_and_missing(
        cloud,
        "POST",
        path,
        lambda server_id: {"server_id": server_id, "port": 80},
        victim["server"]["id"],
    )

    assert foreign.status_code in (404, 422), foreign.text
    assert (foreign.status_code, _title(foreign)) == (missing.status_code, _title(missing))
    after = _get(cloud, f"/v1/loadbalancers/{attacker['lb']['id']}", cloud.globex)
    assert [m["server_id"] for m in after["members"]] == [attacker["server"]["id"]]


def test_a_new_load_balancer_cannot_name_a_victims_server(cloud: Cloud) -> None:
    victim = _acme(cloud)

    foreign, missing = _answers_for_foreign_and_missing(
        cloud,
        "POST",
        "/v1/loadbalancers",
        lambda server_id: {
            "name": "steal",
            "type": "http",
            "members": [{"server_id": server_id, "port": 80}],
        },
        victim["server"]["id"],
    )

    assert foreign.status_code in (404, 422), foreign.text
    assert (foreign.status_code, _title(foreign)) == (missing.status_code, _title(missing))
    assert not _items(_get(cloud, "/v1/loadbalancers", cloud.globex))


def test_a_victims_rule_cannot_be_deleted_by_the_attacker(cloud: Cloud) -> None:
    victim = _acme(cloud)
    rule_id = victim["rule"]["id"]

    response = cloud.client.delete(
        f"/v1/security-group-rules/{rule_id}", headers=cloud.globex.headers
    )

    assert response.status_code == 404
    group = _get(cloud, f"/v1/security-groups/{victim['group']['id']}", cloud.acme)
    assert rule_id in [rule["id"] for rule in group["rules"]]


def test_the_attackers_floating_ip_cannot_be_pointed_at_a_victims_server(cloud: Cloud) -> None:
    victim, attacker = _acme(cloud), _globex(cloud)

    response = cloud.client.post(
        f"/v1/floating-ips/{attacker['fip']['id']}/associate",
        json={"server_id": victim["server"]["id"]},
        headers=cloud.globex.headers,
    )

    assert response.status_code == 404, response.text
    fips = _items(_get(cloud, "/v1/floating-ips", cloud.globex))
    assert [fip.get("server_id") for fip in fips] == [None]


def test_an_alarm_cannot_watch_a_victims_server(cloud: Cloud) -> None:
    victim = _acme(cloud)

    response = cloud.client.post(
        "/v1/alarms",
        headers=cloud.globex.headers,
        json={
            "name": "spy",
            "rule": {
                "type": "threshold",
                "resource_id": victim["server"]["id"],
                "meter": "cpu_util",
                "comparison": "gt",
                "threshold": 1,
            },
        },
    )

    assert response.status_code == 404, response.text
    assert not _items(_get(cloud, "/v1/alarms", cloud.globex))


def test_a_victims_server_cannot_get_the_attackers_bridge_grant(cloud: Cloud) -> None:
    victim = _acme(cloud)

    response = cloud.client.put(
        f"/v1/netfilter/bridge-grants/{victim['server']['id']}",
        json={"port": 8080, "enabled": True},
        headers=cloud.globex.headers,
    )

    assert response.status_code == 404
    grants = _items(_get(cloud, "/v1/netfilter/bridge-grants", cloud.acme))
    assert not [g for g in grants if g.get("enabled")], grants


def _answers_for_foreign_and_missing(
    cloud: Cloud, method: str, path: str, body: Callable[[str], dict[str, Any]], foreign_id: str
) -> tuple[Response, Response]:
    """The attacker's answers for the victim's id and for an id nobody has, in the same body."""
    headers = cloud.globex.headers
    foreign = cloud.client.request(method, path, json=body(foreign_id), headers=headers)
    missing = cloud.client.request(method, path, json=body(MISSING), headers=headers)
    return foreign, missing


def _title(response: Response) -> str:
    title: str = response.json()["title"]
    return title


def _items(body: Any) -> list[Any]:
    """A list route's items: the paging envelope's `items`."""
    if isinstance(body, dict):
        items: list[Any] = body["items"]
        return items
    assert isinstance(body, list)
    return body
