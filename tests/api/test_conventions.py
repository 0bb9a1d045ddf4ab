"""The conventions every route shares (docs/api.md): one paging envelope, unknown query
parameters refused, problem+json errors naming the field, exact URLs, the spec and its docs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Cloud


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def _keypair(cloud: Cloud, name: str) -> None:
    created = cloud.client.post("/v1/keypairs", json={"name": name}, headers=cloud.acme.headers)
    assert created.status_code == 201, created.text


def test_a_driver_list_pages_by_key_with_a_link_to_the_next_page(cloud: Cloud) -> None:
    for name in ("kp-c", "kp-a", "kp-b"):
        _keypair(cloud, name)
    first = cloud.client.get("/v1/keypairs?limit=2", headers=cloud.acme.headers)
    assert [k["name"] for k in first.json()["items"]] == ["kp-a", "kp-b"]
    assert first.json()["next_marker"] == "kp-b"
    assert first.headers["link"].endswith('marker=kp-b>; rel="next"')
    second = cloud.client.get("/v1/keypairs?limit=2&marker=kp-b", headers=cloud.acme.headers)
    assert second.json() == {"items": [second.json()["items"][0]], "next_marker": None}
    assert second.json()["items"][0]["name"] == "kp-c"
    assert "link" not in second.headers


def test_a_database_list_pages_by_keyset_and_refuses_a_marker_it_does_not_hold(
    cloud: Cloud,
) -> None:
    for n in range(3):
        body = {"name": f"web-{n}", "type": "tcp"}
        assert cloud.client.post("/v1/loadbalancers", json=body,
                                 headers=cloud.acme.headers).status_code == 201
    whole = cloud.client.get("/v1/loadbalancers", headers=cloud.acme.headers).json()["items"]
    seen: list[str] = []
    marker = ""
    while True:
        page = cloud.client.get(f"/v1/loadbalancers?limit=2{marker}",
                                headers=cloud.acme.headers).json()
        seen += [lb["id"] for lb in page["items"]]
        if page["next_marker"] is None:
            break
        marker = f"&marker={page['next_marker']}"
    assert seen == [lb["id"] for lb in whole] and len(set(seen)) == 3
    stranger = cloud.client.get("/v1/loadbalancers?marker=nope", headers=cloud.acme.headers)
    assert _problem(stranger, 400)["field"] == "marker"


def test_audit_pages_newest_first_by_id(cloud: Cloud) -> None:
    for name in ("t1", "t2", "t3"):
        cloud.client.post("/v1/admin/tenants", json={"name": name}, headers=cloud.admin)
    first = cloud.client.get("/v1/admin/audit?limit=2&action=tenant.create",
                             headers=cloud.admin).json()
    rest = cloud.client.get(f"/v1/admin/audit?action=tenant.create&marker={first['next_marker']}",
                            headers=cloud.admin).json()
    details = [e["detail"] for e in first["items"] + rest["items"]]
    assert details == ["name=t3", "name=t2", "name=t1"]
    bad = cloud.client.get("/v1/admin/audit?marker=²", headers=cloud.admin)
    assert _problem(bad, 400)["field"] == "marker"


@pytest.mark.parametrize("url", ["/v1/admin/servers?tenant=x", "/v1/flavors?limt=5"])
def test_an_unknown_query_parameter_is_400_naming_it(cloud: Cloud, url: str) -> None:
    name = url.split("?")[1].split("=")[0]
    assert _problem(cloud.client.get(url, headers=cloud.admin), 400)["field"] == name


def test_admin_servers_filter_by_tenant(cloud: Cloud) -> None:
    mine = cloud.boot(cloud.acme)["id"]
    cloud.boot(cloud.globex, name="db-1")
    found = cloud.client.get(f"/v1/admin/servers?tenant_id={cloud.acme.id}", headers=cloud.admin)
    assert [s["id"] for s in found.json()["items"]] == [mine]


def test_a_body_that_is_not_json_is_named_by_line_and_column(cloud: Cloud) -> None:
    body = b'{\n  "name": "x",\n  "type": tcp\n}'
    response = cloud.client.post("/v1/loadbalancers", content=body, headers={
        **cloud.acme.headers, "content-type": "application/json"})
    detail = _problem(response, 422)["detail"]
    assert detail.startswith("body: body is not valid JSON at line 3 column 11"), detail


def test_an_error_inside_a_list_names_its_dotted_path(cloud: Cloud) -> None:
    body = {"name": "web", "type": "http", "members": [{"server_id": "s", "port": 0}]}
    response = cloud.client.post("/v1/loadbalancers", json=body, headers=cloud.acme.headers)
    assert _problem(response, 422)["field"] == "members.0.port"
    body = {"name": "web", "type": "http", "custom_hosts": ["ok.example.com", "bad host"]}
    response = cloud.client.post("/v1/loadbalancers", json=body, headers=cloud.acme.headers)
    assert _problem(response, 422)["field"] == "custom_hosts.1"


def test_a_trailing_slash_is_404_not_a_redirect(cloud: Cloud) -> None:
    response = cloud.client.delete("/v1/admin/netfilter/rules/", headers=cloud.admin,
                                   follow_redirects=False)
    assert response.status_code in (404, 405)
    assert response.headers["content-type"] == "application/problem+json"


def test_the_spec_has_security_schemes_and_problem_responses(cloud: Cloud) -> None:
    spec = cloud.client.get("/v1/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "x-auth-token"}
    servers = spec["paths"]["/v1/servers"]["post"]
    assert servers["security"] == [{"bearer": []}, {"x-auth-token": []}]
    assert not any(p["name"].lower() == "authorization" for p in servers.get("parameters", []))
    for status in ("400", "401", "403", "409", "413", "422"):
        content = servers["responses"][status]["content"]
        assert content == {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"}}}
    listed = spec["paths"]["/v1/images"]["get"]["responses"]["200"]["content"]
    assert "next_marker" in str(spec["components"]["schemas"]) and listed


def test_swagger_ui_is_served_from_the_package(cloud: Cloud) -> None:
    page = cloud.client.get("/v1/docs")
    assert page.status_code == 200 and "/v1/docs/static/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    script = cloud.client.get("/v1/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
