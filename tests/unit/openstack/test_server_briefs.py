"""Instances in brief and counted by status over Nova: its detailed list, mapped (no count API)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openstack.compute.v2.server import Server as SdkServer

from sws.drivers.base import ServerBrief, ServerFilter
from sws.drivers.openstack.driver import OpenStackDriver

MINE, THEIRS = "project-mine", "project-theirs"


def _sdk_server(server_id: str, status: str = "ACTIVE", project_id: str = MINE) -> SdkServer:
    return SdkServer(
        id=server_id, name=f"vm-{server_id}", project_id=project_id, status=status,
        addresses={"private": [{"addr": f"10.0.0.{len(server_id)}", "OS-EXT-IPS:type": "fixed"},
                               {"addr": "203.0.113.9", "OS-EXT-IPS:type": "floating"}]},
    )


class _Compute:
    """Nova's detailed server list as the SDK's generator gives it: every page, in order."""

    def __init__(self, held: list[SdkServer]) -> None:
        self.held = held
        self.asked: list[dict[str, Any]] = []

    def servers(self, details: bool, **query: Any) -> Iterator[SdkServer]:
        self.asked.append({"details": details, **query})
        yield from self.held


class _Connections:
    region = "RegionOne"

    def __init__(self, compute: _Compute) -> None:
        self.compute = compute

    def project(self, project_id: str) -> _Connections:
        return self


def _driver(servers: list[SdkServer]) -> tuple[OpenStackDriver, _Compute]:
    compute = _Compute(servers)
    return OpenStackDriver(connections=_Connections(compute)), compute  # type: ignore[arg-type]


def test_briefs_map_the_detailed_list_and_leave_out_deleted_ones() -> None:
    driver, compute = _driver([_sdk_server("a"), _sdk_server("bb", "DELETED"),
                               _sdk_server("ccc", "SHUTOFF"), _sdk_server("x", project_id=THEIRS)])
    assert driver.list_server_briefs(MINE, 10) == [
        ServerBrief("a", "vm-a", "ACTIVE", ("10.0.0.1",)),
        ServerBrief("ccc", "vm-ccc", "SHUTOFF", ("10.0.0.3",)),
    ]
    assert compute.asked == [{"details": True, "limit": 10}]
    assert [b.id for b in driver.list_server_briefs(MINE, 1)] == ["a"]


def test_counts_read_every_page_of_the_projects_servers() -> None:
    found = [_sdk_server(str(n), "SHUTOFF" if n % 3 == 0 else "ACTIVE") for n in range(150)]
    driver, compute = _driver([*found, _sdk_server("gone", "DELETED"),
                               _sdk_server("theirs", project_id=THEIRS)])
    assert driver.count_servers(MINE) == {"ACTIVE": 100, "SHUTOFF": 50}
    assert compute.asked == [{"details": True}]  # no limit: the SDK follows every page


def test_filtered_briefs_ask_nova_for_the_filtered_list() -> None:
    driver, compute = _driver([_sdk_server("a")])
    driver.list_server_briefs(MINE, 1000, ServerFilter(name="web", status="SHUTOFF"))
    assert compute.asked == [{"details": True, "limit": 1000, "name": "web",
                              "status": "SHUTOFF"}]
