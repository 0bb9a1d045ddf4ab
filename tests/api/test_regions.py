"""Sponsor regions through the API: one identity across a simulated region, a sponsor's
simulated region and a sponsor's own OpenStack that does not answer; the "All regions" view;
the admin's Regions (add, close, reopen, sponsor, health)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sws import bootstrap
from sws.clock import SimulatedClock
from sws.config import Settings
from sws.drivers.base import ServerFilter
from tests.api.conftest import TASK_SECONDS, Cloud, open_cloud

SPONSORS = {
    "SponsorLab": {"name": "Open Source Lab", "logo_text": "OSL", "contact": "noc@osl.example"},
    "Sponsor-OS": {"name": "Campus Cloud", "contact": "ops@campus.example"},
}


def _closed_port() -> int:
    """A port nothing listens on: the sponsor's Keystone is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sponsor_settings(home: Path, database_url: str) -> Settings:
    """RegionOne and SponsorLab simulated; Sponsor-OS a sponsor's own OpenStack (down)."""
    clouds = home / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  campus:\n    auth:\n"
        f"      auth_url: http://127.0.0.1:{_closed_port()}/v3\n"
        "      username: sws\n      password: secret\n      project_name: sws\n"
        "      user_domain_name: Default\n      project_domain_name: Default\n"
        "    region_name: CampusOne\n"
    )
    return Settings(
        home=home,
        database_url=database_url,
        sim_task_seconds=TASK_SECONDS,
        demo_data=False,
        regions=["RegionOne", "SponsorLab", "Sponsor-OS"],
        clouds_yaml=clouds,
        region_sponsors=SPONSORS,
        region_probe_seconds=5,
        region_drivers={
            "Sponsor-OS": {"driver": "openstack", "cloud": "campus", "catalog_region": "CampusOne"}
        },
    )


@pytest.fixture
def sponsored(tmp_path: Path, database_url: str) -> Iterator[Cloud]:
    settings = sponsor_settings(tmp_path, database_url)
    with open_cloud(settings, SimulatedClock(datetime(2026, 3, 2, 10, 27, tzinfo=UTC))) as cloud:
        yield cloud


def boot_in(cloud: Cloud, region: str, name: str, headers: dict[str, str] | None = None) -> Any:
    headers = {**(headers or cloud.acme.headers), "X-SWS-Region": region}
    flavors = cloud.client.get("/v1/flavors", headers=headers).json()["items"]
    images = cloud.client.get("/v1/images", headers=headers).json()["items"]
    body = {
        "name": name,
        "flavor_id": next(f["id"] for f in flavors if f["name"] == "m1.small"),
        "image_id": min(images, key=lambda i: (i["min_disk_gb"], i["name"]))["id"],
    }
    return cloud.client.post("/v1/servers", json=body, headers=headers)


def by_region(cloud: Cloud, headers: dict[str, str]) -> dict[str, Any]:
    answer = cloud.client.get("/v1/regions/all", headers=headers)
    assert answer.status_code == 200, answer.text
    return {item["region"]: item for item in answer.json()["items"]}


def test_one_login_sees_its_instances_in_every_region_and_a_down_one_as_unreachable(
    sponsored: Cloud,
) -> None:
    assert boot_in(sponsored, "RegionOne", "home-1").status_code == 202
    assert boot_in(sponsored, "SponsorLab", "lab-1").status_code == 202
    assert boot_in(sponsored, "SponsorLab", "lab-2").status_code == 202
    sponsored.settle()
    found = by_region(sponsored, sponsored.acme.headers)
    assert list(found) == ["RegionOne", "Sponsor-OS", "SponsorLab"]  # by name, one page
    assert [s["name"] for s in found["RegionOne"]["servers"]] == ["home-1"]
    assert sorted(s["name"] for s in found["SponsorLab"]["servers"]) == ["lab-1", "lab-2"]
    assert found["SponsorLab"]["usage"]["instances"] == 2
    assert found["SponsorLab"]["usage"]["cores"] == 2 * found["RegionOne"]["usage"]["cores"]
    assert found["SponsorLab"]["sponsor"] == SPONSORS["SponsorLab"]
    down = found["Sponsor-OS"]
    assert down["state"] == "unreachable" and down["problem"] and down["servers"] == []
    assert down["sponsor"] == {**SPONSORS["Sponsor-OS"], "logo_text": "CC"}  # initials


def test_the_all_regions_view_shows_only_the_callers_own_instances(sponsored: Cloud) -> None:
    mine = boot_in(sponsored, "SponsorLab", "acme-lab").json()[0]["id"]
    sponsored.settle()
    theirs = by_region(sponsored, sponsored.globex.headers)
    assert all(item["servers"] == [] for item in theirs.values())
    assert mine not in str(theirs)
    assert theirs["SponsorLab"]["usage"]["instances"] == 0


def test_a_closed_region_is_hidden_from_tenants_and_takes_no_new_instances(
    sponsored: Cloud,
) -> None:
    kept = boot_in(sponsored, "SponsorLab", "before").json()[0]["id"]
    sponsored.settle()
    closed = sponsored.client.patch(
        "/v1/admin/regions/SponsorLab", json={"enabled": False}, headers=sponsored.admin
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["enabled"] is False and closed.json()["stored"] is True
    names = [
        r["name"]
        for r in sponsored.client.get("/v1/regions", headers=sponsored.acme.headers).json()["items"]
    ]
    assert "SponsorLab" not in names and "RegionOne" in names
    refused = boot_in(sponsored, "SponsorLab", "after")
    assert refused.status_code == 409, refused.text
    assert refused.json()["field"] == "X-SWS-Region"
    # What runs there stays the tenant's: listed, and marked closed.
    view = by_region(sponsored, sponsored.acme.headers)["SponsorLab"]
    assert view["enabled"] is False and [s["id"] for s in view["servers"]] == [kept]
    assert "SponsorLab" not in by_region(sponsored, sponsored.globex.headers)  # nothing there
    reopened = sponsored.client.patch(
        "/v1/admin/regions/SponsorLab", json={"enabled": True}, headers=sponsored.admin
    )
    assert reopened.json()["enabled"] is True
    assert boot_in(sponsored, "SponsorLab", "after").status_code == 202


def test_an_added_sponsor_region_serves_at_once_and_in_every_process(
    sponsored: Cloud, tmp_path: Path, database_url: str
) -> None:
    body = {"name": "Campus-2", "sponsor": {"name": "Second Campus", "contact": "a@b.example"}}
    added = sponsored.client.post("/v1/admin/regions", json=body, headers=sponsored.admin)
    assert added.status_code == 201, added.text
    assert added.json()["reachable"] is True and added.json()["driver"] == "simulated"
    assert added.json()["sponsor"]["logo_text"] == "SC"
    assert boot_in(sponsored, "Campus-2", "new-1").status_code == 202
    sponsored.settle()
    assert [
        s["name"] for s in by_region(sponsored, sponsored.acme.headers)["Campus-2"]["servers"]
    ] == ["new-1"]
    # Another replica on the same database serves it from the stored row.
    (tmp_path / "other").mkdir()
    other = bootstrap.build(
        sponsor_settings(tmp_path / "other", database_url), clock=sponsored.clock
    )
    try:
        assert "Campus-2" not in other.drivers()
        other.serve_stored_regions()
        assert "Campus-2" in other.drivers()
        servers = other.driver("Campus-2").list_servers(sponsored.acme.id, ServerFilter(), 10, None)
        assert [s.name for s in servers] == ["new-1"]
    finally:
        other.db.engine.dispose()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "RegionOne"}, 409, "name"),  # a configured region
        ({"name": "9lives"}, 422, "name"),
        ({"name": "Lab-3", "driver": "vmware"}, 422, "driver"),
        ({"name": "Lab-3", "sponsor": {"name": "X", "logo_text": "x" * 33}}, 422, "logo_text"),
        ({"name": "Lab-3", "sponsor": {"name": "   "}}, 422, "sponsor_name"),
    ],
)
def test_a_bad_region_is_refused_naming_the_field(
    sponsored: Cloud, body: dict[str, Any], status: int, field: str
) -> None:
    answer = sponsored.client.post("/v1/admin/regions", json=body, headers=sponsored.admin)
    assert answer.status_code == status, answer.text
    assert field in answer.text


def test_adding_a_stored_region_twice_is_a_conflict(sponsored: Cloud) -> None:
    first = sponsored.client.post(
        "/v1/admin/regions", json={"name": "Twice"}, headers=sponsored.admin
    )
    assert first.status_code == 201
    again = sponsored.client.post(
        "/v1/admin/regions", json={"name": "Twice"}, headers=sponsored.admin
    )
    assert again.status_code == 409, again.text


def test_the_admin_sees_each_regions_health_and_last_event(sponsored: Cloud) -> None:
    boot_in(sponsored, "RegionOne", "seen")
    sponsored.settle()
    rows = sponsored.client.get("/v1/admin/regions", headers=sponsored.admin).json()["items"]
    health = {r["name"]: r for r in rows}
    assert health["RegionOne"]["reachable"] is True
    assert health["RegionOne"]["last_event_at"] is not None
    assert (
        health["SponsorLab"]["reachable"] is True and health["SponsorLab"]["last_event_at"] is None
    )
    assert health["Sponsor-OS"]["reachable"] is False and health["Sponsor-OS"]["problem"]
    assert health["Sponsor-OS"]["driver"] == "openstack"
    assert health["Sponsor-OS"]["cloud"] == "campus"


def test_the_admin_changes_and_removes_a_regions_sponsor(sponsored: Cloud) -> None:
    url = "/v1/admin/regions/RegionOne"
    changed = sponsored.client.patch(
        url, json={"sponsor": {"name": "Acme Hosting"}}, headers=sponsored.admin
    )
    assert changed.status_code == 200, changed.text
    seen = by_region(sponsored, sponsored.acme.headers)["RegionOne"]["sponsor"]
    assert seen == {"name": "Acme Hosting", "logo_text": "AH", "contact": ""}
    removed = sponsored.client.patch(url, json={"sponsor": None}, headers=sponsored.admin)
    assert removed.json()["sponsor"] is None and removed.json()["enabled"] is True
    missing = sponsored.client.patch(
        "/v1/admin/regions/Nowhere", json={"enabled": False}, headers=sponsored.admin
    )
    assert missing.status_code == 404
