"""CDN distributions and purges through the API: validation, tenancy, idempotency, limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sws.cdn import steering
from sws.config import LBNodeConfig
from sws.dns.remote import lookup_in
from tests.api.conftest import Cloud, Tenant

D = "/v1/cdn/distributions"


def _lb(cloud: Cloud, tenant: Tenant, type: str = "http") -> str:
    made = cloud.client.post("/v1/loadbalancers", json={"name": "web", "type": type},
                             headers=tenant.headers)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _distribution(cloud: Cloud, tenant: Tenant, **settings: Any) -> dict[str, Any]:
    body = {"name": "site", "origin": {"kind": "loadbalancer", "ref": _lb(cloud, tenant)},
            **settings}
    made = cloud.client.post(D, json=body, headers=tenant.headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_a_load_balancer_becomes_a_distribution_under_the_cdn_zone(cloud: Cloud) -> None:
    made = _distribution(cloud, cloud.acme, default_ttl=600)

    assert made["host"] == f"{made['id']}.cdn.example.com"
    assert made["origin"]["kind"] == "loadbalancer"
    assert (made["default_ttl"], made["honour_origin"], made["query_in_key"]) == (600, True, False)
    listed = cloud.client.get(D, headers=cloud.acme.headers).json()
    assert [d["id"] for d in listed["items"]] == [made["id"]]
    assert listed["next_marker"] is None


def test_another_tenants_distribution_is_not_found(cloud: Cloud) -> None:
    made = _distribution(cloud, cloud.acme)
    url = f"{D}/{made['id']}"

    assert cloud.client.get(url, headers=cloud.globex.headers).status_code == 404
    assert cloud.client.patch(url, json={"enabled": False},
                              headers=cloud.globex.headers).status_code == 404
    assert cloud.client.post(f"{url}/purges", json={"kind": "all"},
                             headers=cloud.globex.headers).status_code == 404
    assert cloud.client.delete(url, headers=cloud.globex.headers).status_code == 404
    assert cloud.client.get(D, headers=cloud.globex.headers).json()["items"] == []
    assert cloud.client.get(url, headers=cloud.acme.headers).status_code == 200


def test_another_tenants_load_balancer_cannot_be_an_origin(cloud: Cloud) -> None:
    theirs = _lb(cloud, cloud.globex)
    body = {"name": "x", "origin": {"kind": "loadbalancer", "ref": theirs}}

    response = cloud.client.post(D, json=body, headers=cloud.acme.headers)

    assert response.status_code == 422
    assert response.json()["field"] == "origin.ref"


def test_a_tcp_load_balancer_or_a_missing_container_is_refused(cloud: Cloud) -> None:
    tcp = {"name": "x", "origin": {"kind": "loadbalancer", "ref": _lb(cloud, cloud.acme, "tcp")}}
    missing = {"name": "x", "origin": {"kind": "container", "ref": "nope"}}

    for body in (tcp, missing):
        response = cloud.client.post(D, json=body, headers=cloud.acme.headers)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "origin.ref"


@pytest.mark.parametrize("ttl", [-1, 31_536_001])
def test_a_ttl_out_of_range_is_a_422(cloud: Cloud, ttl: int) -> None:
    body = {"name": "x", "origin": {"kind": "loadbalancer", "ref": _lb(cloud, cloud.acme)},
            "default_ttl": ttl}

    assert cloud.client.post(D, json=body, headers=cloud.acme.headers).status_code == 422
    made = _distribution(cloud, cloud.acme)
    changed = cloud.client.patch(f"{D}/{made['id']}", json={"default_ttl": ttl},
                                 headers=cloud.acme.headers)
    assert changed.status_code == 422


def test_settings_change_one_at_a_time(cloud: Cloud) -> None:
    made = _distribution(cloud, cloud.acme)

    changed = cloud.client.patch(f"{D}/{made['id']}", json={"query_in_key": True},
                                 headers=cloud.acme.headers).json()

    assert (changed["query_in_key"], changed["default_ttl"], changed["enabled"]) == (
        True, 3600, True)


def test_a_custom_domain_needs_its_txt_record(cloud: Cloud) -> None:
    made = _distribution(cloud, cloud.acme)
    url = f"{D}/{made['id']}/domains"

    refused = cloud.client.post(url, json={"domain": "static.acme.test"},
                                headers=cloud.acme.headers)
    assert refused.status_code == 422
    assert "_sws-challenge.static.acme.test" in refused.json()["detail"]

    cloud.txt.prove("static.acme.test", cloud.acme.id)
    added = cloud.client.post(url, json={"domain": "static.acme.test"}, headers=cloud.acme.headers)
    assert added.status_code == 201, added.text
    assert [d["domain"] for d in added.json()["domains"]] == ["static.acme.test"]


def test_a_domain_another_distribution_serves_is_a_409(cloud: Cloud) -> None:
    first, second = _distribution(cloud, cloud.acme), _distribution(cloud, cloud.globex)
    cloud.txt.prove("cdn.shared.test", cloud.acme.id)
    cloud.txt.prove("cdn.shared.test", cloud.globex.id)
    body = {"domain": "cdn.shared.test"}
    assert cloud.client.post(f"{D}/{first['id']}/domains", json=body,
                             headers=cloud.acme.headers).status_code == 201

    taken = cloud.client.post(f"{D}/{second['id']}/domains", json=body,
                              headers=cloud.globex.headers)

    assert taken.status_code == 409
    assert "already served" in taken.json()["detail"]


def test_names_under_the_cdn_zone_are_not_custom_domains(cloud: Cloud) -> None:
    made = _distribution(cloud, cloud.acme)

    response = cloud.client.post(f"{D}/{made['id']}/domains",
                                 json={"domain": "mine.cdn.example.com"},
                                 headers=cloud.acme.headers)

    assert response.status_code == 422


def test_a_purge_is_a_job_on_every_edge(cloud: Cloud) -> None:
    made = _distribution(cloud, cloud.acme)
    url = f"{D}/{made['id']}/purges"

    job = cloud.client.post(url, json={"kind": "prefix", "value": "/img/"},
                            headers=cloud.acme.headers)

    assert job.status_code == 202, job.text
    assert job.json()["state"] == "accepted"
    assert job.json()["edges"] == {"edge-1": "pending"}
    assert job.json()["mode"] == "soft"
    shown = cloud.client.get(f"{url}/{job.json()['id']}", headers=cloud.acme.headers).json()
    assert shown["id"] == job.json()["id"]


@pytest.mark.parametrize("body", [
    {"kind": "url", "value": "img/a.png"},
    {"kind": "prefix", "value": "/a b"},
    {"kind": "url", "value": "http://elsewhere/x"},
    {"kind": "key", "value": "two words"},
    {"kind": "all", "value": "/x"},
    {"kind": "regex", "value": ".*"},
])
def test_a_purge_of_something_that_is_not_a_path_or_key_is_a_422(
    cloud: Cloud, body: dict[str, str]
) -> None:
    made = _distribution(cloud, cloud.acme)

    response = cloud.client.post(f"{D}/{made['id']}/purges", json=body,
                                 headers=cloud.acme.headers)

    assert response.status_code == 422, response.text


def test_an_idempotency_key_answers_the_same_job(cloud: Cloud) -> None:
    made = _distribution(cloud, cloud.acme)
    url = f"{D}/{made['id']}/purges"
    headers = {**cloud.acme.headers, "Idempotency-Key": "deploy-42"}

    first = cloud.client.post(url, json={"kind": "all"}, headers=headers)
    again = cloud.client.post(url, json={"kind": "all"}, headers=headers)
    other = cloud.client.post(url, json={"kind": "key", "value": "x"}, headers=headers)

    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"]
    assert other.status_code == 409
    assert len(cloud.client.get(url, headers=cloud.acme.headers).json()["items"]) == 1


def test_a_purge_flood_is_a_429_with_retry_after(cloud: Cloud) -> None:
    cloud.container.settings.cdn_purge_limit = 3
    cloud.container.cdn_limiter = None
    made = _distribution(cloud, cloud.acme)
    url = f"{D}/{made['id']}/purges"
    answers = [cloud.client.post(url, json={"kind": "url", "value": f"/{n}"},
                                 headers=cloud.acme.headers) for n in range(4)]

    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    other = _distribution(cloud, cloud.globex)
    assert cloud.client.post(f"{D}/{other['id']}/purges", json={"kind": "all"},
                             headers=cloud.globex.headers).status_code == 202


def test_an_edge_reports_its_purges_done(cloud: Cloud) -> None:
    made = _distribution(cloud, cloud.acme)
    job = cloud.client.post(f"{D}/{made['id']}/purges", json={"kind": "key", "value": "css"},
                            headers=cloud.acme.headers).json()
    edge = "/v1/admin/cdn-edges/edge-1"
    state = cloud.client.get(f"{edge}/desired-state", headers=cloud.admin).json()
    assert [p["id"] for p in state["purges"]] == [job["id"]]
    assert made["host"] in state["vcl"]

    reported = cloud.client.post(f"{edge}/report", headers=cloud.admin,
                                 json={"digest": state["digest"], "purges": {job["id"]: "done"}})

    assert reported.status_code == 204
    shown = cloud.client.get(f"{D}/{made['id']}/purges/{job['id']}",
                             headers=cloud.acme.headers).json()
    assert shown["state"] == "done"
    again = cloud.client.get(f"{edge}/desired-state", headers=cloud.admin).json()
    assert again["purges"] == []
    edges = cloud.client.get("/v1/admin/cdn-edges", headers=cloud.admin).json()["items"]
    assert edges[0]["alive"] and edges[0]["current"]


def test_tenants_cannot_reach_the_edges_side(cloud: Cloud) -> None:
    edge = "/v1/admin/cdn-edges/edge-1"
    assert cloud.client.get(f"{edge}/desired-state", headers=cloud.acme.headers).status_code == 403
    assert cloud.client.get("/v1/admin/cdn-edges/nope/desired-state",
                            headers=cloud.admin).status_code == 404


def test_deleting_a_distribution_removes_it_from_the_edges(cloud: Cloud) -> None:
    made = _distribution(cloud, cloud.acme)

    assert cloud.client.delete(f"{D}/{made['id']}", headers=cloud.acme.headers).status_code == 204

    state = cloud.client.get("/v1/admin/cdn-edges/edge-1/desired-state",
                             headers=cloud.admin).json()
    assert made["host"] not in state["vcl"]
    assert cloud.client.get(f"{D}/{made['id']}", headers=cloud.acme.headers).status_code == 404


def test_dns_answers_a_distribution_with_the_edges_of_the_clients_isp(cloud: Cloud) -> None:
    settings = cloud.container.settings
    settings.cdn_edges = [LBNodeConfig(name="edge-1", address="192.0.2.1", isp="telecom"),
                          LBNodeConfig(name="edge-2", address="198.51.100.1", isp="unicom")]
    settings.lb_isp_views = {"telecom": ["10.1.0.0/16"], "unicom": ["10.2.0.0/16"]}
    made = _distribution(cloud, cloud.acme)
    zone = steering.zone_data(db=cloud.container.db, clock=cloud.clock,
                              config=cloud.container.cdn_config)
    zone.node_cache_seconds = 0

    def answer(client: str, name: str = made["host"]) -> list[str]:
        records, _ = lookup_in([zone], f"{name}.", "A", {"real-remote": client})
        return [r.content for r in records]

    for edge in ("edge-1", "edge-2"):
        cloud.client.post(f"/v1/admin/cdn-edges/{edge}/report", json={}, headers=cloud.admin)
    assert answer("10.1.7.0/24") == ["192.0.2.1"]
    assert answer("10.2.7.0/24") == ["198.51.100.1"]
    assert answer("10.1.7.0/24", "nothing00000.cdn.example.com") == []

    cloud.clock.advance(timedelta(seconds=11))  # edge-1 falls silent
    cloud.client.post("/v1/admin/cdn-edges/edge-2/report", json={}, headers=cloud.admin)
    assert answer("10.1.7.0/24") == ["198.51.100.1"]


def test_a_distribution_whose_load_balancer_is_deleted_is_served_disabled(cloud: Cloud) -> None:
    made = _distribution(cloud, cloud.acme)
    assert made["origin_missing"] is False

    deleted = cloud.client.delete(f"/v1/loadbalancers/{made['origin']['ref']}",
                                  headers=cloud.acme.headers)

    assert deleted.status_code == 204
    shown = cloud.client.get(f"{D}/{made['id']}", headers=cloud.acme.headers).json()
    assert shown["origin_missing"] is True
    vcl = cloud.client.get("/v1/admin/cdn-edges/edge-1/desired-state",
                           headers=cloud.admin).json()["vcl"]
    route = vcl[vcl.index(f'"{made["host"]}"'):]
    assert route.index('synth(403, "Distribution disabled")') < route.index("}")
