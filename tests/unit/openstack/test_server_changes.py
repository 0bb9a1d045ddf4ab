"""Rename and rebuild over Nova through openstacksdk: the calls made, and another project's
server refused before any is (a fake compute proxy holding SDK Server resources)."""

from __future__ import annotations

from typing import Any

import pytest
from openstack.compute.v2.server import Server as SdkServer

from sws.drivers.openstack.driver import OpenStackDriver
from sws.errors import NotFound

MINE, THEIRS = "project-mine", "project-theirs"


def _sdk_server(**changes: Any) -> SdkServer:
    body = {
        "id": "srv-1", "name": "web", "project_id": MINE, "user_id": "u", "status": "ACTIVE",
        "vm_state": "active", "power_state": 1, "image": {"id": "img-cirros"},
        "flavor": {"original_name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20},
        "addresses": {"private": [{"addr": "10.0.0.5", "OS-EXT-IPS:type": "fixed"}]},
        "security_groups": [{"name": "default"}], "created_at": "2026-12-07T09:00:00Z",
    }
    return SdkServer(**(body | changes))


class _Compute:
    """Nova as the SDK's compute proxy answers: a server, and a record of the calls."""

    def __init__(self, server: SdkServer) -> None:
        self.server = server
        self.calls: list[tuple[str, Any]] = []

    def get_server(self, server_id: str) -> SdkServer:
        return self.server

    def update_server(self, server_id: str, **attrs: Any) -> SdkServer:
        self.calls.append(("update_server", (server_id, attrs)))
        self.server = _sdk_server(**attrs)
        return self.server

    def rebuild_server(self, server_id: str, image: str, **attrs: Any) -> SdkServer:
        self.calls.append(("rebuild_server", (server_id, image)))
        self.server = _sdk_server(status="REBUILD", task_state="rebuilding", image={"id": image})
        return self.server


class _Conn:
    def __init__(self, compute: _Compute) -> None:
        self.compute = compute


class _Connections:
    region = "RegionOne"

    def __init__(self, compute: _Compute) -> None:
        self._conn = _Conn(compute)

    def project(self, project_id: str) -> _Conn:
        return self._conn

    def admin(self) -> _Conn:
        return self._conn


def _driver(compute: _Compute) -> OpenStackDriver:
    return OpenStackDriver(connections=_Connections(compute))  # type: ignore[arg-type]


def test_rename_is_novas_update_with_the_new_name() -> None:
    compute = _Compute(_sdk_server())
    renamed = _driver(compute).rename_server(MINE, "srv-1", "web-prod")
    assert compute.calls == [("update_server", ("srv-1", {"name": "web-prod"}))]
    assert (renamed.name, renamed.fixed_ips) == ("web-prod", ("10.0.0.5",))


def test_rebuild_is_novas_rebuild_action_with_the_image() -> None:
    compute = _Compute(_sdk_server())
    rebuilt = _driver(compute).rebuild_server(MINE, "srv-1", "img-debian")
    assert compute.calls == [("rebuild_server", ("srv-1", "img-debian"))]
    assert (rebuilt.status, rebuilt.image_id, rebuilt.flavor.name) == (
        "REBUILD", "img-debian", "m1.small"
    )


def test_another_projects_server_is_not_found_and_nova_is_not_asked() -> None:
    compute = _Compute(_sdk_server(project_id=THEIRS))
    with pytest.raises(NotFound):
        _driver(compute).rename_server(MINE, "srv-1", "mine-now")
    with pytest.raises(NotFound):
        _driver(compute).rebuild_server(MINE, "srv-1", "img-debian")
    assert compute.calls == []
