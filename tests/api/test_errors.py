"""Bad input gets a clear 4xx problem naming the field; never a 500, never a half-write."""

from __future__ import annotations

from typing import Any

from sws.drivers.base import ServerCreate
from sws.errors import Conflict
from tests.api.conftest import Cloud


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    return body


def _servers(cloud: Cloud) -> list[Any]:
    return list(cloud.client.get("/v1/servers", headers=cloud.acme.headers).json()["items"])


def test_unknown_flavor_names_the_field_and_writes_nothing(cloud: Cloud) -> None:
    body = {"name": "web", "flavor_id": "no-such-flavor", "image_id": cloud.image_id()}
    response = cloud.client.post("/v1/servers", json=body, headers=cloud.acme.headers)
    assert _problem(response, 422)["field"] == "flavor_id"
    assert _servers(cloud) == []


def test_bodies_with_unknown_or_missing_fields_name_them(cloud: Cloud) -> None:
    extra = cloud.client.post(
        "/v1/servers", json={"name": "x", "flavour": "m1"}, headers=cloud.acme.headers
    )
    fields = {e["field"] for e in _problem(extra, 422)["errors"]}
    assert {"flavour", "flavor_id", "image_id"} <= fields
    not_json = cloud.client.post(
        "/v1/servers", content=b"{not json", headers={**cloud.acme.headers,
                                                      "content-type": "application/json"}
    )
    _problem(not_json, 422)


def test_illegal_transition_is_409_naming_the_state(cloud: Cloud) -> None:
    server_id = cloud.boot(cloud.acme)["id"]
    response = cloud.client.post(
        f"/v1/servers/{server_id}/action", json={"action": "start"}, headers=cloud.acme.headers
    )
    assert "active" in _problem(response, 409)["detail"]


def test_resize_of_a_deleted_server_is_404(cloud: Cloud) -> None:
    server_id = cloud.boot(cloud.acme)["id"]
    cloud.client.delete(f"/v1/servers/{server_id}", headers=cloud.acme.headers)
    cloud.settle()
    response = cloud.client.post(
        f"/v1/servers/{server_id}/action",
        json={"action": "resize", "flavor_id": cloud.flavor_id("m1.large")},
        headers=cloud.acme.headers,
    )
    _problem(response, 404)


def test_quota_exhausted_is_403_and_nothing_is_written(cloud: Cloud) -> None:
    body = {
        "name": "farm", "flavor_id": cloud.flavor_id("m1.tiny"),
        "image_id": cloud.image_id(), "count": 11,
    }
    response = cloud.client.post("/v1/servers", json=body, headers=cloud.acme.headers)
    assert "instances" in _problem(response, 403)["detail"].lower()
    assert _servers(cloud) == []


def test_no_valid_host_is_409_and_nothing_is_written(cloud: Cloud) -> None:
    """Other tenants fill every hypervisor with m1.xlarge; acme's next boot finds no host."""
    driver = cloud.container.driver()
    spec = ServerCreate(name="hog", flavor_id=cloud.flavor_id("m1.xlarge"),
                        image_id=cloud.image_id())
    for n in range(200):
        try:
            driver.create_servers(f"filler-{n // 2}", "filler", spec)
        except Conflict:
            break
    else:
        raise AssertionError("the region never filled up")
    body = {"name": "one-more", "flavor_id": cloud.flavor_id("m1.xlarge"),
            "image_id": cloud.image_id()}
    response = cloud.client.post("/v1/servers", json=body, headers=cloud.acme.headers)
    assert "No valid host" in _problem(response, 409)["detail"]
    assert _servers(cloud) == []


def test_bad_paging_and_region_are_4xx(cloud: Cloud) -> None:
    _problem(cloud.client.get("/v1/servers?limit=0", headers=cloud.acme.headers), 422)
    _problem(cloud.client.get("/v1/servers?limit=abc", headers=cloud.acme.headers), 422)
    wrong_region = {**cloud.acme.headers, "X-SWS-Region": "atlantis"}
    assert _problem(cloud.client.get("/v1/flavors", headers=wrong_region), 422)["field"] == (
        "X-SWS-Region"
    )


def test_security_group_rule_with_bad_ports_or_cidr(cloud: Cloud) -> None:
    group = cloud.client.post(
        "/v1/security-groups", json={"name": "web"}, headers=cloud.acme.headers
    ).json()
    url = f"/v1/security-groups/{group['id']}/rules"
    reversed_ports = {"protocol": "tcp", "port_range_min": 80, "port_range_max": 22}
    bad_cidr = {"protocol": "tcp", "remote_ip_prefix": "10.0.0.0/33"}
    for body in (reversed_ports, bad_cidr):
        _problem(cloud.client.post(url, json=body, headers=cloud.acme.headers), 422)
    rules = cloud.client.get(
        f"/v1/security-groups/{group['id']}", headers=cloud.acme.headers
    ).json()["rules"]
    assert all(r["port_range_min"] != 80 for r in rules)


def test_bad_keypair_is_refused(cloud: Cloud) -> None:
    response = cloud.client.post(
        "/v1/keypairs", json={"name": "k", "public_key": "ssh-rsa not-base64!"},
        headers=cloud.acme.headers,
    )
    assert _problem(response, 422)["field"] == "public_key"


def test_unknown_route_and_method_are_problems(cloud: Cloud) -> None:
    _problem(cloud.client.get("/v1/nothing-here", headers=cloud.acme.headers), 404)
    _problem(cloud.client.put("/v1/servers", headers=cloud.acme.headers), 405)
