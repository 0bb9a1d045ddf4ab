"""Who may claim a custom host name: a name under the LB zone, first come; any other name
only with the tenant's own TXT proof, so nobody can squat www.google.com."""

from __future__ import annotations

from typing import Any

from sws.errors import Unavailable
from sws.loadbalancer import service
from tests.api.conftest import Cloud


def _claim(cloud: Cloud, host: str, headers: dict[str, str]) -> Any:
    body = {"name": "web", "type": "http", "custom_hosts": [host]}
    return cloud.client.post("/v1/loadbalancers", json=body, headers=headers)


def test_nobody_squats_a_name_they_cannot_prove(cloud: Cloud) -> None:
    refused = _claim(cloud, "www.google.com", cloud.acme.headers)
    assert refused.status_code == 403 and refused.json()["field"] == "custom_hosts.0"
    assert "_sws-challenge.www.google.com" in refused.json()["detail"]
    assert f"sws-project={cloud.acme.id}" in refused.json()["detail"]


def test_a_proof_is_for_one_tenant_only(cloud: Cloud) -> None:
    cloud.txt.prove("shop.globex.example", cloud.globex.id)
    assert _claim(cloud, "shop.globex.example", cloud.acme.headers).status_code == 403
    assert _claim(cloud, "shop.globex.example", cloud.globex.headers).status_code == 201


def test_adding_a_host_later_needs_the_same_proof(cloud: Cloud) -> None:
    lb = cloud.client.post("/v1/loadbalancers", json={"name": "w", "type": "http"},
                           headers=cloud.acme.headers).json()
    url = f"/v1/loadbalancers/{lb['id']}/hosts"
    host = {"host": "www.google.com"}
    assert cloud.client.post(url, json=host, headers=cloud.acme.headers).status_code == 403
    cloud.txt.prove("www.google.com", cloud.acme.id)  # acme does own it, here
    assert cloud.client.post(url, json=host, headers=cloud.acme.headers).status_code == 201


def test_names_under_the_lb_zone_are_first_come_and_answered_by_its_dns(cloud: Cloud) -> None:
    mine = _claim(cloud, "shop.lb.example.com", cloud.acme.headers)
    assert mine.status_code == 201, mine.text
    assert _claim(cloud, "shop.lb.example.com", cloud.globex.headers).status_code == 409
    assert cloud.txt.asked == []  # no DNS question for a name in the zone
    assert service.auto_host_exists(db=cloud.container.db, host="shop.lb.example.com")


class _DownDns:
    def txt(self, name: str) -> list[str]:
        raise Unavailable(f"DNS could not be asked for {name}")


def test_dns_that_cannot_answer_is_a_503_not_a_claim(cloud: Cloud) -> None:
    cloud.container.txt_resolver = _DownDns()
    assert _claim(cloud, "www.acme.example", cloud.acme.headers).status_code == 503


def test_a_trailing_dot_is_stored_without_it_and_is_the_same_name(cloud: Cloud) -> None:
    cloud.txt.prove("www.acme.example", cloud.acme.id)
    created = _claim(cloud, "WWW.acme.example.", cloud.acme.headers)
    assert created.status_code == 201, created.text
    assert "www.acme.example" in created.json()["hosts"]
    assert not any(host.endswith(".") for host in created.json()["hosts"])
    cloud.txt.prove("www.acme.example", cloud.globex.id)
    again = _claim(cloud, "www.acme.example", cloud.globex.headers)
    assert again.status_code == 409, "the dotted and undotted names are one name"
