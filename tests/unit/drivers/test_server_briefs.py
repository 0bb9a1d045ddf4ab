"""Worked examples of the simulated region's cheap reads: instances in brief, counts by status."""

from __future__ import annotations

from collections import Counter

import pytest

from sws.clock import SimulatedClock
from sws.drivers.base import ServerBrief, ServerCreate, ServerFilter
from sws.drivers.simulated import SimulatedRegion
from sws.errors import Invalid

from .conftest import OTHER, PROJECT, USER, boot, cirros, settle


def launch(region: SimulatedRegion, project_id: str, name: str, count: int = 1) -> list[str]:
    spec = ServerCreate(name=name, flavor_id="1", image_id=cirros(), count=count)
    return [server.id for server in region.create_servers(project_id, USER, spec)]


def test_counts_by_status_as_the_api_shows_each_instance(
    region: SimulatedRegion, clock: SimulatedClock
) -> None:
    web, db, _cache, old = (boot(region, clock, name=n) for n in ("web", "db", "cache", "old"))
    region.server_action(PROJECT, db.id, "stop")
    region.delete_server(PROJECT, old.id)
    settle(region, clock)  # db: SHUTOFF; old: gone; cache: still ACTIVE
    region.server_action(PROJECT, web.id, "reboot")  # web: REBOOT while the task runs
    launch(region, PROJECT, "new")  # BUILD until its task is done

    assert region.count_servers(PROJECT) == {"ACTIVE": 1, "REBOOT": 1, "SHUTOFF": 1, "BUILD": 1}
    listed = region.list_servers(PROJECT, ServerFilter(), 100, None)
    assert region.count_servers(PROJECT) == Counter(s.status for s in listed)


def test_briefs_name_the_live_instances_newest_first_as_the_list_does(
    region: SimulatedRegion, clock: SimulatedClock
) -> None:
    first, second, gone = (boot(region, clock, name=n) for n in ("first", "second", "gone"))
    region.delete_server(PROJECT, gone.id)
    settle(region, clock)
    region.server_action(PROJECT, first.id, "stop")
    settle(region, clock)

    briefs = region.list_server_briefs(PROJECT, 100)
    assert [(b.name, b.status) for b in briefs] == [("second", "ACTIVE"), ("first", "SHUTOFF")]
    assert briefs[0] == ServerBrief(second.id, "second", "ACTIVE", second.fixed_ips)
    listed = region.list_servers(PROJECT, ServerFilter(), 100, None)
    assert [(b.id, b.fixed_ips) for b in briefs] == [(s.id, s.fixed_ips) for s in listed]
    assert [b.name for b in region.list_server_briefs(PROJECT, 1)] == ["second"]
    assert region.list_server_briefs(PROJECT, 0) == []


def test_another_projects_instances_never_appear(
    region: SimulatedRegion, clock: SimulatedClock
) -> None:
    ours = launch(region, PROJECT, "ours", count=2)
    theirs = launch(region, OTHER, "theirs", count=3)
    settle(region, clock)

    assert {b.id for b in region.list_server_briefs(PROJECT, 100)} == set(ours)
    assert {b.id for b in region.list_server_briefs(OTHER, 100)} == set(theirs)
    assert region.count_servers(PROJECT) == {"ACTIVE": 2}
    assert region.count_servers(OTHER) == {"ACTIVE": 3}
    assert region.count_servers("p-nobody") == {}
    assert region.list_server_briefs("p-nobody", 100) == []


def test_a_negative_limit_is_refused(region: SimulatedRegion) -> None:
    with pytest.raises(Invalid):
        region.list_server_briefs(PROJECT, -1)


@pytest.mark.parametrize("filters", [
    ServerFilter(name="WEB"), ServerFilter(status="active"), ServerFilter(status="SHUTOFF"),
    ServerFilter(name="web", status="REBOOT"), ServerFilter(name="%"),
], ids=str)
def test_filtered_briefs_are_the_instances_the_filtered_list_shows(
    region: SimulatedRegion, clock: SimulatedClock, filters: ServerFilter
) -> None:
    """The console places a filtered list's previous page by these ids."""
    web = launch(region, PROJECT, "web", count=4)
    launch(region, PROJECT, "db-1", count=2)
    settle(region, clock)
    region.server_action(PROJECT, web[0], "stop")
    settle(region, clock)
    region.server_action(PROJECT, web[1], "reboot")  # REBOOT while its task runs
    listed = region.list_servers(PROJECT, filters, 100, None)
    assert [b.id for b in region.list_server_briefs(PROJECT, 100, filters)] == [
        s.id for s in listed]
    assert [b.id for b in region.list_server_briefs(PROJECT, 1, filters)] == [
        s.id for s in listed[:1]]
