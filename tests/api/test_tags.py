"""Tags through the API: a tenant labels its instances and volumes, finds them by tag, and
can never see or touch another tenant's resources through tags."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Cloud, Tenant


def _tags(cloud: Cloud, path: str, tenant: Tenant | None = None) -> Any:
    return cloud.client.get(f"/v1/tags/{path}", headers=(tenant or cloud.acme).headers)


def _put(cloud: Cloud, path: str, tags: list[str], tenant: Tenant | None = None) -> Any:
    return cloud.client.put(f"/v1/tags/{path}", json={"tags": tags},
                            headers=(tenant or cloud.acme).headers)


def _ids(cloud: Cloud, url: str, tenant: Tenant | None = None) -> list[str]:
    response = cloud.client.get(url, headers=(tenant or cloud.acme).headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_a_tenant_tags_its_instances_and_lists_them_by_tag(cloud: Cloud) -> None:
    web, db = cloud.boot(cloud.acme, "web-1"), cloud.boot(cloud.acme, "db-1")
    put = _put(cloud, f"servers/{web['id']}", ["Env=prod", "web", "web"])
    assert put.status_code == 200, put.text
    assert put.json() == {"kind": "servers", "resource_id": web["id"],
                          "tags": ["env=prod", "web"]}
    assert _put(cloud, f"servers/{db['id']}", ["env=dev"]).status_code == 200
    assert _ids(cloud, "/v1/servers?tag=env=prod") == [web["id"]]
    assert sorted(_ids(cloud, "/v1/servers?tag=env")) == sorted([web["id"], db["id"]])
    assert _ids(cloud, "/v1/servers?tag=env&name=db") == [db["id"]]
    assert _ids(cloud, "/v1/servers?tag=nothing") == []
    assert _tags(cloud, f"servers/{web['id']}").json()["tags"] == ["env=prod", "web"]


def test_add_one_tag_replace_a_value_and_remove_by_key(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    path = f"/v1/tags/servers/{server['id']}"
    added = cloud.client.post(path, json={"tag": "env=dev"}, headers=cloud.acme.headers)
    assert (added.status_code, added.json()["tags"]) == (200, ["env=dev"])
    again = cloud.client.post(path, json={"tag": "env=prod"}, headers=cloud.acme.headers)
    assert again.json()["tags"] == ["env=prod"]  # one value per key
    wrong_value = cloud.client.delete(f"{path}/env=dev", headers=cloud.acme.headers)
    assert wrong_value.status_code == 404
    assert cloud.client.delete(f"{path}/env", headers=cloud.acme.headers).status_code == 204
    assert _tags(cloud, f"servers/{server['id']}").json()["tags"] == []


def test_volumes_take_tags_and_filter_by_them(cloud: Cloud) -> None:
    made = [cloud.client.post("/v1/volumes", json={"name": name, "size_gb": 1},
                              headers=cloud.acme.headers).json() for name in ("a", "b")]
    assert _put(cloud, f"volumes/{made[0]['id']}", ["backup=daily"]).status_code == 200
    assert _ids(cloud, "/v1/volumes?tag=backup") == [made[0]["id"]]
    assert _ids(cloud, "/v1/volumes?tag=backup=weekly") == []


def test_floating_ips_and_load_balancers_take_tags(cloud: Cloud) -> None:
    fip = cloud.client.post("/v1/floating-ips", headers=cloud.acme.headers).json()
    lb = cloud.client.post("/v1/loadbalancers", json={"name": "lb", "type": "tcp"},
                           headers=cloud.acme.headers).json()
    assert _put(cloud, f"floating-ips/{fip['id']}", ["role=ingress"]).status_code == 200
    assert _put(cloud, f"loadbalancers/{lb['id']}", ["role=ingress"]).status_code == 200
    assert _tags(cloud, f"loadbalancers/{lb['id']}").json()["tags"] == ["role=ingress"]
    assert _tags(cloud, f"floating-ips/{fip['id']}", cloud.globex).status_code == 404
    assert _tags(cloud, f"loadbalancers/{lb['id']}", cloud.globex).status_code == 404


def test_bad_tags_are_422_naming_the_field_and_change_nothing(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    assert _put(cloud, f"servers/{server['id']}", ["web"]).status_code == 200
    for tags in (["my tag"], ["env=a", "env=b"], ["env="], [f"t{n}" for n in range(51)],
                 ["ok", "bad!"]):
        refused = _put(cloud, f"servers/{server['id']}", tags)
        assert refused.status_code == 422, tags
        assert refused.json()["field"] in ("tags", "body.tags"), refused.json()
    assert _tags(cloud, f"servers/{server['id']}").json()["tags"] == ["web"]
    post = cloud.client.post(f"/v1/tags/servers/{server['id']}", json={"tag": "=x"},
                             headers=cloud.acme.headers)
    assert (post.status_code, post.json()["field"]) == (422, "tag")
    assert _tags(cloud, f"users/{server['id']}").status_code == 404  # no such kind
    assert cloud.client.get("/v1/servers?tag=a%20b", headers=cloud.acme.headers).status_code == 422


def test_another_tenant_s_ids_are_404_and_never_taggable(cloud: Cloud) -> None:
    theirs = cloud.boot(cloud.acme)
    path = f"servers/{theirs['id']}"
    assert _put(cloud, path, ["env=prod"]).status_code == 200
    assert _tags(cloud, path, cloud.globex).status_code == 404
    assert _put(cloud, path, ["mine"], cloud.globex).status_code == 404
    post = cloud.client.post(f"/v1/tags/{path}", json={"tag": "mine"},
                             headers=cloud.globex.headers)
    delete = cloud.client.delete(f"/v1/tags/{path}/env", headers=cloud.globex.headers)
    assert (post.status_code, delete.status_code) == (404, 404)
    assert _ids(cloud, "/v1/servers?tag=env", cloud.globex) == []
    assert _tags(cloud, path).json()["tags"] == ["env=prod"]  # untouched
    assert _tags(cloud, "servers/no-such-server").status_code == 404
    assert _tags(cloud, "volumes/no-such-volume").status_code == 404


def test_a_deleted_instance_s_tags_show_nowhere(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    assert _put(cloud, f"servers/{server['id']}", ["env=prod"]).status_code == 200
    deleted = cloud.client.delete(f"/v1/servers/{server['id']}", headers=cloud.acme.headers)
    assert deleted.status_code == 204
    cloud.settle()
    assert _ids(cloud, "/v1/servers?tag=env") == []
    assert _tags(cloud, f"servers/{server['id']}").status_code == 404


def test_tag_changes_are_audited(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    assert _put(cloud, f"servers/{server['id']}", ["env=dev", "web"]).status_code == 200
    assert _put(cloud, f"servers/{server['id']}", ["env=prod", "web"]).status_code == 200
    assert _put(cloud, f"servers/{server['id']}", ["env=prod", "web"]).status_code == 200
    log = cloud.client.get("/v1/admin/audit?action=tags.change", headers=cloud.admin).json()
    assert [(e["actor_name"], e["target_type"], e["target_id"], e["detail"], e["source"])
            for e in log["items"]] == [
        ("alice", "servers", server["id"], "added=env=prod removed=env=dev", "api"),
        ("alice", "servers", server["id"], "added=env=dev,web removed=", "api"),
    ]  # newest first; the unchanged third PUT wrote nothing
