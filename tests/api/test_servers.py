"""A server's life through the API: boot, stop, start, resize, shelve, snapshot, delete."""

from __future__ import annotations

from typing import Any

from sws.events import service as events
from tests.api.conftest import Cloud


def _server(cloud: Cloud, server_id: str) -> Any:
    response = cloud.client.get(f"/v1/servers/{server_id}", headers=cloud.acme.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _act(cloud: Cloud, server_id: str, **body: str) -> Any:
    response = cloud.client.post(
        f"/v1/servers/{server_id}/action", json=body, headers=cloud.acme.headers
    )
    assert response.status_code == 202, response.text
    cloud.settle()
    return response.json()


def test_boot_goes_from_build_to_active(cloud: Cloud) -> None:
    body = {"name": "web-1", "flavor_id": cloud.flavor_id("m1.small"), "image_id": cloud.image_id()}
    created = cloud.client.post("/v1/servers", json=body, headers=cloud.acme.headers)
    assert created.status_code == 202
    server = created.json()[0]
    assert server["status"] == "BUILD"
    cloud.settle()
    active = _server(cloud, server["id"])
    assert active["status"] == "ACTIVE"
    assert active["power_state"] == "running"
    assert active["host"] and active["fixed_ips"]


def test_full_lifecycle(cloud: Cloud) -> None:
    server_id = cloud.boot(cloud.acme)["id"]
    _act(cloud, server_id, action="stop")
    assert _server(cloud, server_id)["status"] == "SHUTOFF"
    _act(cloud, server_id, action="start")
    assert _server(cloud, server_id)["status"] == "ACTIVE"
    _act(cloud, server_id, action="resize", flavor_id=cloud.flavor_id("m1.medium"))
    resized = _server(cloud, server_id)
    assert resized["status"] == "VERIFY_RESIZE" and resized["flavor"]["name"] == "m1.medium"
    _act(cloud, server_id, action="confirm_resize")
    assert _server(cloud, server_id)["status"] == "ACTIVE"
    _act(cloud, server_id, action="shelve")
    assert _server(cloud, server_id)["status"] == "SHELVED"
    cloud.settle()  # Nova offloads a shelved server in a second task
    assert _server(cloud, server_id)["status"] == "SHELVED_OFFLOADED"
    _act(cloud, server_id, action="unshelve")
    assert _server(cloud, server_id)["status"] == "ACTIVE"
    snapshot = _act(cloud, server_id, action="snapshot", name="before-delete")
    image = cloud.client.get(f"/v1/images/{snapshot['id']}", headers=cloud.acme.headers).json()
    assert image["image_type"] == "snapshot" and image["status"] == "active"
    deleted = cloud.client.delete(f"/v1/servers/{server_id}", headers=cloud.acme.headers)
    assert deleted.status_code == 204
    cloud.settle()
    gone = cloud.client.get(f"/v1/servers/{server_id}", headers=cloud.acme.headers)
    assert gone.status_code == 404


def test_resize_revert_keeps_the_old_flavor(cloud: Cloud) -> None:
    server_id = cloud.boot(cloud.acme)["id"]
    _act(cloud, server_id, action="resize", flavor_id=cloud.flavor_id("m1.large"))
    _act(cloud, server_id, action="revert_resize")
    server = _server(cloud, server_id)
    assert server["status"] == "ACTIVE" and server["flavor"]["name"] == "m1.small"


def test_list_pages_with_limit_and_marker_and_filters(cloud: Cloud) -> None:
    ids = {cloud.boot(cloud.acme, name=f"node-{n}")["id"] for n in range(5)}
    seen: list[str] = []
    marker = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if marker:
            params["marker"] = marker
        page = cloud.client.get("/v1/servers", params=params, headers=cloud.acme.headers).json()
        seen += [s["id"] for s in page["items"]]
        marker = page["next_marker"]
        if marker is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    named = cloud.client.get(
        "/v1/servers", params={"name": "node-3"}, headers=cloud.acme.headers
    ).json()["items"]
    assert [s["name"] for s in named] == ["node-3"]


def test_servers_feed_the_event_inventory(cloud: Cloud) -> None:
    server_id = cloud.boot(cloud.acme)["id"]
    resource = events.get_resource(db=cloud.container.db, resource_id=server_id)
    assert resource.project_id == cloud.acme.id
    assert resource.created_at is not None


def test_admin_sees_hypervisors_and_every_tenants_servers(cloud: Cloud) -> None:
    mine = cloud.boot(cloud.acme)["id"]
    theirs = cloud.boot(cloud.globex, name="db-1")["id"]
    hypervisors = cloud.client.get("/v1/admin/hypervisors", headers=cloud.admin).json()["items"]
    assert sum(h["running_vms"] for h in hypervisors) == 2
    assert sum(h["vcpus_used"] for h in hypervisors) == 2
    everything = cloud.client.get("/v1/admin/servers", headers=cloud.admin).json()["items"]
    assert {mine, theirs} <= {s["id"] for s in everything}
