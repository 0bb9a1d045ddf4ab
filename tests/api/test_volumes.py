"""Volumes through the API: the simulated region end to end, Island snapshots, the refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sws.events import repository as events_repo
from tests.api.conftest import Cloud, Tenant


def _post(cloud: Cloud, path: str, body: dict[str, Any] | None = None,
          tenant: Tenant | None = None) -> Any:
    return cloud.client.post(path, json=body, headers=(tenant or cloud.acme).headers)


def _volume(cloud: Cloud, host: str | None = None, size_gb: int = 1, **extra: Any) -> Any:
    body = {"name": "db", "size_gb": size_gb, **({"host": host} if host else {}), **extra}
    response = _post(cloud, "/v1/volumes", body)
    assert response.status_code == 201, response.text
    return response.json()


def _other_host(cloud: Cloud, host: str) -> str:
    hosts = cloud.client.get("/v1/admin/hypervisors", headers=cloud.admin).json()["items"]
    return next(h["hostname"] for h in hosts if h["hostname"] != host)


def test_a_tenant_keeps_a_database_volume_through_snapshots_and_a_restore(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    volume = _volume(cloud, host=server["host"], size_gb=2)
    assert (volume["status"], volume["host"]) == ("available", server["host"])
    attached = _post(cloud, f"/v1/volumes/{volume['id']}/attach", {"server_id": server["id"]})
    assert attached.status_code == 200, attached.text
    assert (attached.json()["status"], attached.json()["device"]) == ("in-use", "/dev/vdb")
    storage = cloud.container.block_storage()
    storage.write_volume(cloud.acme.id, volume["id"], 0, 12)
    first = _post(cloud, "/v1/volume-snapshots", {"volume_id": volume["id"], "name": "first"})
    assert first.status_code == 201, first.text
    storage.write_volume(cloud.acme.id, volume["id"], 64, 4)
    second = _post(cloud, "/v1/volume-snapshots", {"volume_id": volume["id"]}).json()
    assert second["stored_bytes"] < first.json()["stored_bytes"]  # only the new chunk
    assert cloud.client.delete(f"/v1/volume-snapshots/{first.json()['id']}",
                               headers=cloud.acme.headers).status_code == 204
    copy = _volume(cloud, size_gb=2, snapshot_id=second["id"])
    assert storage.volume_sha256(cloud.acme.id, copy["id"]) == second["content_sha256"]
    listed = cloud.client.get("/v1/volume-snapshots", headers=cloud.acme.headers).json()
    assert [s["id"] for s in listed["items"]] == [second["id"]]


def test_the_refusals_say_why(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    far = _volume(cloud, host=_other_host(cloud, server["host"]))
    refused = _post(cloud, f"/v1/volumes/{far['id']}/attach", {"server_id": server["id"]})
    assert refused.status_code == 409
    assert server["host"] in refused.json()["detail"] and far["host"] in refused.json()["detail"]
    near = _volume(cloud, host=server["host"], size_gb=2)
    smaller = _post(cloud, f"/v1/volumes/{near['id']}/extend", {"size_gb": 2})
    assert (smaller.status_code, smaller.json()["field"]) == (422, "size_gb")
    assert _post(cloud, f"/v1/volumes/{near['id']}/extend", {"size_gb": 5}).json()[
        "size_gb"] == 5
    _post(cloud, f"/v1/volumes/{near['id']}/attach", {"server_id": server["id"]})
    busy = cloud.client.delete(f"/v1/volumes/{near['id']}", headers=cloud.acme.headers)
    assert busy.status_code == 409 and busy.headers["content-type"].startswith(
        "application/problem+json")
    assert _post(cloud, f"/v1/volumes/{near['id']}/detach").json()["status"] == "available"
    assert cloud.client.delete(f"/v1/volumes/{near['id']}",
                               headers=cloud.acme.headers).status_code == 204


def test_volume_lists_page_like_every_list(cloud: Cloud) -> None:
    made = sorted(_volume(cloud)["id"] for _ in range(3))
    first = cloud.client.get("/v1/volumes?limit=2", headers=cloud.acme.headers).json()
    assert [v["id"] for v in first["items"]] == made[:2] and first["next_marker"] == made[1]
    rest = cloud.client.get(f"/v1/volumes?limit=2&marker={first['next_marker']}",
                            headers=cloud.acme.headers).json()
    assert [v["id"] for v in rest["items"]] == made[2:] and rest["next_marker"] is None


def test_volume_notifications_become_resource_events(cloud: Cloud) -> None:
    volume = _volume(cloud)
    cloud.clock.advance(timedelta(seconds=1))  # the same instant would order them by message id
    _post(cloud, f"/v1/volumes/{volume['id']}/extend", {"size_gb": 3})
    cloud.settle()
    with cloud.container.db.read() as conn:
        events = events_repo.events_of(conn, ("volume", volume["id"]))
    assert [(e.action, e.root_gb) for e in events] == [("create", 1), ("resize", 3)]


def test_a_schedule_snapshots_daily_and_keeps_what_it_says(cloud: Cloud) -> None:
    volume = _volume(cloud)
    path = f"/v1/volumes/{volume['id']}/snapshot-schedule"
    none = cloud.client.put(path, headers=cloud.acme.headers,
                            json={"daily_keep": 0, "weekly_keep": 0})
    assert none.status_code == 422
    set_ = cloud.client.put(path, headers=cloud.acme.headers, json={"daily_keep": 2})
    assert set_.status_code == 200, set_.text
    assert cloud.client.get(path, headers=cloud.acme.headers).json()["daily_keep"] == 2
    assert cloud.client.delete(path, headers=cloud.acme.headers).status_code == 204
    assert cloud.client.get(path, headers=cloud.acme.headers).status_code == 404
    cloud.client.put(path, headers=cloud.acme.headers, json={"daily_keep": 2})
    schedules = cloud.container.volume_schedules
    assert schedules is not None
    for _day in range(4):  # the ticker, over four days (tokens would expire meanwhile)
        cloud.clock.advance(timedelta(days=1))
        schedules.tick()
    snaps = cloud.container.block_storage().list_volume_snapshots(cloud.acme.id, volume["id"])
    assert sorted(s.name for s in snaps) == ["daily-2026-03-05", "daily-2026-03-06"]
    shown = schedules.get(tenant_id=cloud.acme.id, volume_id=volume["id"])
    assert shown.last_run_at is not None and shown.last_run_at.day == 6


def test_quotas_count_volumes_and_their_gigabytes(cloud: Cloud) -> None:
    _volume(cloud, size_gb=3)
    _volume(cloud, size_gb=4)
    quotas = cloud.client.get("/v1/quotas", headers=cloud.acme.headers).json()
    assert (quotas["in_use"]["volumes"], quotas["in_use"]["volume_gb"]) == (2, 7)
    assert quotas["limits"]["volume_gb"] == 1000
    too_big = _post(cloud, "/v1/volumes", {"name": "huge", "size_gb": 994})
    assert too_big.status_code == 403 and "volume_gb" in too_big.json()["detail"]

