"""Rename, rebuild and resize through the API, and what billing sees of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sws.billing.segments import spans_from_json
from sws.billing.tables import billing_subscriptions
from sws.events import service as events
from tests.api.conftest import Cloud

ABSENT = "00000000-0000-4000-8000-000000000000"


def _server(cloud: Cloud, server_id: str) -> Any:
    response = cloud.client.get(f"/v1/servers/{server_id}", headers=cloud.acme.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _act(cloud: Cloud, server_id: str, headers: dict[str, str] | None = None,
         **body: str) -> Any:
    return cloud.client.post(f"/v1/servers/{server_id}/action", json=body,
                             headers=headers or cloud.acme.headers)


def _image(cloud: Cloud, name: str) -> str:
    images = cloud.client.get("/v1/images", headers=cloud.acme.headers).json()["items"]
    return str(next(i["id"] for i in images if i["name"] == name))


def test_rename_keeps_the_id_and_addresses(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme, name="web-1")
    renamed = cloud.client.patch(f"/v1/servers/{server['id']}", json={"name": "web-prod"},
                                 headers=cloud.acme.headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "web-prod"
    shown = _server(cloud, server["id"])
    assert (shown["name"], shown["fixed_ips"]) == ("web-prod", server["fixed_ips"])


def test_rename_refuses_bad_names_naming_the_field(cloud: Cloud) -> None:
    server_id = cloud.boot(cloud.acme)["id"]
    for body in ({"name": ""}, {"name": "-dash-first"}, {"name": "x" * 65}, {"name": " web"}, {},
                 {"name": "ok", "flavor_id": "1"}):
        answer = cloud.client.patch(f"/v1/servers/{server_id}", json=body,
                                    headers=cloud.acme.headers)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert _server(cloud, server_id)["name"] == "web-1"


def test_another_tenants_server_cannot_be_renamed_rebuilt_or_resized(cloud: Cloud) -> None:
    server_id = cloud.boot(cloud.acme)["id"]
    theirs = cloud.globex.headers
    for path in (server_id, ABSENT):
        assert cloud.client.patch(f"/v1/servers/{path}", json={"name": "mine"},
                                  headers=theirs).status_code == 404
        rebuild = _act(cloud, path, theirs, action="rebuild", image_id=cloud.image_id())
        assert rebuild.status_code == 404, rebuild.text
        resize = _act(cloud, path, theirs, action="resize", flavor_id=cloud.flavor_id("m1.large"))
        assert resize.status_code == 404, resize.text
    assert _server(cloud, server_id)["name"] == "web-1"


def test_rebuild_from_an_os_image_keeps_id_ips_and_flavor(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    answer = _act(cloud, server["id"], action="rebuild", image_id=_image(cloud, "debian-12"))
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "REBUILD"
    cloud.settle()
    rebuilt = _server(cloud, server["id"])
    assert rebuilt["status"] == "ACTIVE" and rebuilt["image_id"] == _image(cloud, "debian-12")
    assert (rebuilt["fixed_ips"], rebuilt["flavor"]) == (server["fixed_ips"], server["flavor"])


def test_rebuild_refuses_snapshots_missing_images_and_their_private_ones(cloud: Cloud) -> None:
    server_id = cloud.boot(cloud.acme)["id"]
    snapshot = _act(cloud, server_id, action="snapshot", name="mine")
    assert snapshot.status_code == 202, snapshot.text
    cloud.settle()
    theirs_id = cloud.boot(cloud.globex, name="db-1")["id"]
    their_snapshot = _act(cloud, theirs_id, cloud.globex.headers, action="snapshot", name="x")
    cloud.settle()
    for image_id in (snapshot.json()["id"], their_snapshot.json()["id"], ABSENT, None):
        body = {"action": "rebuild"} | ({"image_id": image_id} if image_id else {})
        refused = _act(cloud, server_id, **body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "image_id"
    assert _server(cloud, server_id)["status"] == "ACTIVE"


def test_resize_is_refused_while_rebuilding_and_to_a_smaller_disk(cloud: Cloud) -> None:
    server_id = cloud.boot(cloud.acme)["id"]  # m1.small: 20 GB
    smaller = _act(cloud, server_id, action="resize", flavor_id=cloud.flavor_id("ssd.tiny"))
    assert smaller.status_code == 422 and smaller.json()["field"] == "flavor_id"
    assert _act(cloud, server_id, action="rebuild", image_id=cloud.image_id()).status_code == 202
    busy = _act(cloud, server_id, action="resize", flavor_id=cloud.flavor_id("m1.medium"))
    assert busy.status_code == 409
    assert "task_state rebuilding" in busy.json()["detail"]
    confirm = _act(cloud, server_id, action="confirm_resize")
    assert confirm.status_code == 409, confirm.text


def test_billing_charges_the_new_flavor_after_a_resize_and_nothing_new_for_a_rebuild(
    cloud: Cloud,
) -> None:
    """m1.small from launch; m1.medium from the moment the resize finished (before the confirm,
    as Nova's resize_finish.end says); the rebuild neither ends that charge nor starts one."""
    server_id = cloud.boot(cloud.acme)["id"]
    assert _act(cloud, server_id, action="resize",
                flavor_id=cloud.flavor_id("m1.medium")).status_code == 202
    cloud.settle(60)  # the tenant looks at it for a minute before confirming
    assert _act(cloud, server_id, action="confirm_resize").status_code == 202
    assert _act(cloud, server_id, action="rebuild", image_id=cloud.image_id()).status_code == 202
    cloud.settle(60)
    history = events.resource_history(db=cloud.container.db, resource_id=server_id,
                                      resource_type="instance")
    actions = {e.action: e for e in history}
    assert [
        e.action for e in history if e.action != "exists"
    ] == ["create", "resize_finish", "resize_confirm", "rebuild"]
    with cloud.container.db.read() as conn:
        text = conn.execute(select(billing_subscriptions.c.spans).where(
            billing_subscriptions.c.resource_id == server_id)).scalar_one()
    spans = spans_from_json(text)
    assert [(s.item_type, s.start, s.end) for s in spans] == [
        ("m1.small", actions["create"].occurred_at, actions["resize_finish"].occurred_at),
        ("m1.medium", actions["resize_finish"].occurred_at, None),
    ]
