"""Images from real Glance, as openstacksdk hands them over: a snapshot's `image_type` is a
free-form property, not an attribute of the SDK's Image (issue 22, defect 1)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from openstack.image.v2.image import Image as SdkImage

from sws.drivers.openstack.driver import OpenStackDriver

PROJECT = "5e1c0c3a1d3b4bb7a0f0e3b7c9d1a001"

#: Image bodies as Glance v2 answers `GET /v2/images` (trimmed to the fields SWS reads).
CIRROS = {
    "id": "9f1a3c4e-0000-4000-8000-000000000001", "name": "cirros-0.6.2", "status": "active",
    "min_disk": 1, "min_ram": 64, "size": 21430272, "visibility": "public",
    "owner": "admin-project", "created_at": "2026-11-21T06:42:44Z",
}
SNAPSHOT = {
    "id": "9f1a3c4e-0000-4000-8000-000000000002", "name": "web-before-upgrade",
    "status": "active", "min_disk": 1, "min_ram": 0, "size": None, "visibility": "private",
    "owner": PROJECT, "created_at": "2026-11-21T07:01:02Z",
    # what Nova writes on a server snapshot: Glance keeps them as extra properties
    "image_type": "snapshot", "instance_uuid": "b7c1d2e3-0000-4000-8000-0000000000aa",
    "base_image_ref": "9f1a3c4e-0000-4000-8000-000000000001",
}


class _ImageProxy:
    def __init__(self, images: list[Any]) -> None:
        self._images = images

    def images(self) -> list[Any]:
        return list(self._images)

    def get_image(self, image_id: str) -> Any:
        return next(i for i in self._images if i.id == image_id)


class _Conn:
    def __init__(self, images: list[Any]) -> None:
        self.image = _ImageProxy(images)


class _Connections:
    """The driver's connection source, answering every project with the same Glance."""

    region = "RegionOne"

    def __init__(self, images: list[Any]) -> None:
        self._conn = _Conn(images)

    def project(self, project_id: str) -> _Conn:
        return self._conn

    def admin(self) -> _Conn:
        return self._conn


class _BareImage:
    """Shaped like openstacksdk's Image: unknown keys only under `properties`."""

    __slots__ = ("created_at", "id", "instance_uuid", "min_disk", "min_ram", "name", "owner_id",
                 "properties", "size", "status", "visibility")

    def __init__(self, body: dict[str, Any]) -> None:
        known = {k: body.get(k) for k in self.__slots__ if k not in ("owner_id", "properties")}
        for key, value in known.items():
            setattr(self, key, value)
        self.owner_id = body.get("owner")
        extra = {k: v for k, v in body.items() if k not in known and k != "owner"}
        self.properties = extra or None


def _driver(images: list[Any]) -> OpenStackDriver:
    return OpenStackDriver(connections=_Connections(images))  # type: ignore[arg-type]


def _sdk(body: dict[str, Any]) -> Any:
    return SdkImage.existing(**body)


@pytest.mark.parametrize("build", [_sdk, _BareImage], ids=["openstacksdk", "bare"])
def test_images_and_snapshots_list_from_glance_bodies(build: Any) -> None:
    images = [build(CIRROS), build(SNAPSHOT)]
    with pytest.raises(AttributeError):
        images[1].image_type  # noqa: B018 - the attribute the driver used to read
    listed = {i.name: i for i in _driver(images).list_images(PROJECT)}

    base, snap = listed["cirros-0.6.2"], listed["web-before-upgrade"]
    assert (base.image_type, base.source_server_id) == ("image", None)
    assert base.min_disk_gb == 1 and base.size_bytes == 21430272
    assert base.created_at == datetime(2026, 11, 21, 6, 42, 44, tzinfo=UTC)
    assert snap.image_type == "snapshot"
    assert snap.source_server_id == "b7c1d2e3-0000-4000-8000-0000000000aa"
    assert snap.owner_project_id == PROJECT and snap.size_bytes == 0


def test_a_snapshot_is_read_one_by_one_too() -> None:
    snapshot = _sdk(SNAPSHOT)
    found = _driver([snapshot]).get_image(PROJECT, SNAPSHOT["id"])
    assert found.image_type == "snapshot" and found.visibility == "private"
