"""Sponsor region rules as worked examples: the settings seed and stored rows win, the regions
tenants may pick, sponsors' logo text, the footprint totals, and a region that does not answer
in time shown as such."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sws.drivers.base import Flavor, Quota, QuotaUsage, Server, ServerBrief
from sws.errors import Invalid, NotFound
from sws.regions import service
from sws.regions.model import (
    RegionServers,
    Sponsor,
    SponsorRegion,
    check_region_name,
    check_sponsor,
    initials,
    merge,
    open_to_tenants,
    totals,
    with_enabled,
)

LAB = Sponsor(name="Open Source Lab", logo_text="OSL", contact="noc@osl.example")


def region(name: str, *, enabled: bool = True, stored: bool = False) -> SponsorRegion:
    return SponsorRegion(
        name=name, sponsor=None, driver="simulated", enabled=enabled, stored=stored
    )


def test_stored_rows_replace_their_seed_and_additions_follow_by_name() -> None:
    configured = [region("RegionOne"), region("SponsorLab")]
    stored = {
        "SponsorLab": with_enabled(region("SponsorLab"), False),
        "Zeta": region("Zeta", stored=True),
        "Alpha": region("Alpha", stored=True),
    }
    found = merge(configured, stored)
    assert [r.name for r in found] == ["RegionOne", "SponsorLab", "Alpha", "Zeta"]
    assert found[1].enabled is False and found[1].stored is True
    assert [r.name for r in open_to_tenants(found)] == ["RegionOne", "Alpha", "Zeta"]


@given(
    st.lists(st.sampled_from(["A1", "B2", "C3", "D4"]), unique=True),
    st.dictionaries(st.sampled_from(["A1", "B2", "E5", "F6"]), st.booleans()),
)
def test_every_region_appears_once_whatever_is_stored(
    names: list[str], rows: dict[str, bool]
) -> None:
    stored = {n: region(n, enabled=e, stored=True) for n, e in rows.items()}
    found = merge([region(n) for n in names], stored)
    assert sorted(r.name for r in found) == sorted(set(names) | set(rows))
    assert [r.name for r in found][: len(names)] == names  # the configured order, first


def test_a_sponsor_without_logo_text_gets_its_initials() -> None:
    assert initials("Open Source Lab") == "OSL"
    assert initials("campus_cloud") == "CC"
    assert initials("Acme") == "AC"
    sponsor = check_sponsor(name="  Second Campus ", logo_text="", contact=" a@b.example ")
    assert sponsor == Sponsor(name="Second Campus", logo_text="SC", contact="a@b.example")


@pytest.mark.parametrize(
    ("name", "logo", "field"), [("", "", "sponsor_name"), ("X", "x" * 33, "logo_text")]
)
def test_a_bad_sponsor_names_its_field(name: str, logo: str, field: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_sponsor(name=name, logo_text=logo, contact="")
    assert refused.value.field == field


@pytest.mark.parametrize("name", ["9lives", "a", "has space", "x" * 65, "Région"])
def test_region_names_are_plain(name: str) -> None:
    with pytest.raises(Invalid):
        check_region_name(name)


def _server(name: str) -> Server:
    flavor = Flavor(id="f", name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20)
    at = datetime(2026, 3, 2, tzinfo=UTC)
    return Server(
        id=name,
        name=name,
        project_id="p",
        user_id="u",
        flavor=flavor,
        image_id="i",
        status="ACTIVE",
        vm_state="active",
        task_state=None,
        power_state="running",
        host=None,
        fixed_ips=(),
        floating_ips=(),
        key_name=None,
        security_groups=(),
        created_at=at,
        updated_at=at,
    )


def _usage(instances: int, cores: int, ram_mb: int) -> QuotaUsage:
    return QuotaUsage(
        limits=Quota(),
        instances=instances,
        cores=cores,
        ram_mb=ram_mb,
        floating_ips=0,
        security_groups=1,
        key_pairs=0,
    )


def test_totals_add_up_the_regions_that_answered() -> None:
    views = [
        RegionServers(
            region=region("RegionOne"),
            state="ok",
            servers=(_server("a"),),
            usage=_usage(1, 1, 2048),
        ),
        RegionServers(
            region=region("SponsorLab"),
            state="ok",
            servers=(_server("b"), _server("c")),
            usage=_usage(2, 2, 4096),
        ),
        RegionServers(region=region("Campus"), state="unreachable", problem="refused"),
    ]
    found = totals(views)
    assert (found.instances, found.cores, found.ram_mb) == (3, 3, 6144)
    assert (found.regions_answered, found.regions_unreachable) == (2, 1)


class _Region:
    """A region's driver that answers, fails, or hangs until released."""

    def __init__(self, behaviour: str, release: threading.Event) -> None:
        self.behaviour = behaviour
        self.release = release

    def list_servers(self, *_: object) -> list[Server]:
        if self.behaviour == "fails":
            raise NotFound("no such endpoint")
        if self.behaviour == "hangs":
            self.release.wait(10)
        return [_server("web-1")]

    def list_server_briefs(self, *_: object) -> list[ServerBrief]:
        return [ServerBrief(s.id, s.name, s.status, s.fixed_ips) for s in self.list_servers()]

    def count_servers(self, _project_id: str) -> dict[str, int]:
        return {"ACTIVE": len(self.list_servers())}

    def quota_usage(self, _project_id: str) -> QuotaUsage:
        return _usage(1, 1, 2048)


def test_a_region_that_fails_or_hangs_is_unreachable_and_the_others_still_show() -> None:
    release = threading.Event()
    drivers = {name: _Region(name, release) for name in ("answers", "fails", "hangs")}
    regions = [region(name) for name in drivers]
    try:
        views = service.all_regions(
            regions=regions,
            driver=drivers.__getitem__,  # type: ignore[arg-type]
            project_id="p",
            timeout=0.5,
        )
    finally:
        release.set()
    by_name = {v.region.name: v for v in views}
    assert by_name["answers"].state == "ok" and [s.name for s in by_name["answers"].servers] == [
        "web-1"
    ]
    assert (
        by_name["fails"].state == "unreachable" and by_name["fails"].problem == "no such endpoint"
    )
    assert by_name["hangs"].state == "unreachable"
    assert by_name["hangs"].problem == "no answer within 0.5 s"
