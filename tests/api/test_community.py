"""StackLab mode through the API, on the injected clock: a free instance's lease is warned,
shelved at expiry and deleted after the grace (each step once, mailed in en or zh); renewals;
the free tier's quota; the launch rate (429 with Retry-After); the kill switch; the idle and
possible-mining flags from metering."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from sws.clock import SimulatedClock
from sws.community import service as community
from sws.community.model import Terms
from sws.community.tables import community_instances, community_quotas
from sws.config import Settings
from sws.drivers.base import ServerCreate
from sws.errors import Unavailable
from sws.identity.tables import users
from tests.api.conftest import TASK_SECONDS, Cloud, open_cloud
from tests.api.test_quota_requests import mails_to

START = datetime(2026, 3, 2, 10, 27, tzinfo=UTC)
PASS = 60  # seconds between lease passes


@pytest.fixture
def free(tmp_path: Path, database_url: str) -> Iterator[Cloud]:
    """A cloud in community mode: 7-day leases, warned a day before, 3 days of grace."""
    settings = Settings(
        home=tmp_path,
        database_url=database_url,
        sim_task_seconds=TASK_SECONDS,
        demo_data=False,
        mode="community",
        community_lease_days=7,
        community_lease_warn_hours=24,
        community_grace_days=3,
        community_pass_seconds=PASS,
        community_launch_limit=3,
        community_launch_window_seconds=600,
        token_ttl_seconds=60 * 86400,  # the tokens outlive the leases the tests jump over
    )
    with open_cloud(settings, SimulatedClock(START)) as cloud:
        with cloud.container.db.begin() as conn:
            conn.execute(
                update(users).where(users.c.name == "alice").values(email="alice@example.com")
            )
            conn.execute(
                update(users)
                .where(users.c.name == "bob")
                .values(email="bob@example.com", language="zh")
            )
        yield cloud


def jump(cloud: Cloud, to: datetime) -> None:
    """Move the clock to `to`, let a lease pass run and the region finish its tasks."""
    cloud.clock.advance(to - cloud.clock.now())
    cloud.container.tick()
    cloud.settle(TASK_SECONDS + 1)
    cloud.settle(PASS)


def lease(cloud: Cloud, server_id: str, headers: dict[str, str] | None = None) -> Any:
    answer = cloud.client.get(
        f"/v1/community/leases/{server_id}", headers=headers or cloud.acme.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def server(cloud: Cloud, server_id: str) -> Any:
    return cloud.client.get(f"/v1/servers/{server_id}", headers=cloud.acme.headers)


def subjects(cloud: Cloud, address: str) -> list[str]:
    return [m["subject"] for m in mails_to(cloud, address)]


def test_a_lease_is_warned_then_shelved_then_deleted_on_the_clock(free: Cloud) -> None:
    booted = free.boot(free.acme, "lab-1", "m1.tiny")
    free.settle(PASS)
    found = lease(free, booted["id"])
    expires = datetime.fromisoformat(found["expires_at"])
    assert expires - datetime.fromisoformat(booted["created_at"]) == timedelta(days=7)
    assert not found["warned"] and not found["shelved"]
    assert subjects(free, "alice@example.com") == []

    jump(free, expires - timedelta(hours=23))  # inside the warning window
    assert lease(free, booted["id"])["warned"]
    (warning,) = subjects(free, "alice@example.com")
    assert "lab-1" in warning and "lease" in warning
    assert server(free, booted["id"]).json()["status"] == "ACTIVE"
    jump(free, expires - timedelta(hours=1))  # a second pass: warned once only
    assert len(subjects(free, "alice@example.com")) == 1

    jump(free, expires + timedelta(minutes=1))
    assert lease(free, booted["id"])["shelved"]
    assert server(free, booted["id"]).json()["status"].startswith("SHELVED")
    assert any("shelved" in s for s in subjects(free, "alice@example.com"))

    jump(free, expires + timedelta(days=3, minutes=1))
    assert server(free, booted["id"]).status_code == 404
    assert any("deleted" in s for s in subjects(free, "alice@example.com"))
    assert len(subjects(free, "alice@example.com")) == 3  # warned, shelved, deleted: once each
    gone = free.client.get(f"/v1/community/leases/{booted['id']}", headers=free.acme.headers)
    assert gone.status_code == 200 and gone.json()["id"] == booted["id"]
    listed = free.client.get("/v1/community/leases", headers=free.acme.headers).json()
    assert listed["items"] == []  # a deleted instance's lease is over


def test_the_mails_are_in_each_recipients_language(free: Cloud) -> None:
    booted = free.boot(free.globex, "lab-zh", "m1.tiny")
    free.settle(PASS)
    expires = datetime.fromisoformat(lease(free, booted["id"], free.globex.headers)["expires_at"])
    jump(free, expires - timedelta(hours=2))
    (warning,) = subjects(free, "bob@example.com")
    assert "租期" in warning


def test_renewing_gives_a_full_lease_from_now_and_unshelves(free: Cloud) -> None:
    booted = free.boot(free.acme, "lab-2", "m1.tiny")
    free.settle(PASS)
    expires = datetime.fromisoformat(lease(free, booted["id"])["expires_at"])
    jump(free, expires + timedelta(minutes=1))
    assert lease(free, booted["id"])["shelved"]

    renewed = free.client.post(
        f"/v1/community/leases/{booted['id']}/renew", headers=free.acme.headers
    )
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    assert datetime.fromisoformat(body["expires_at"]) == free.clock.now() + timedelta(days=7)
    assert not body["shelved"] and not body["warned"] and body["renewals"] == 1
    free.settle(TASK_SECONDS * 3)
    assert server(free, booted["id"]).json()["status"] == "ACTIVE"
    # Past the old deadline (expiry + grace), nothing is deleted: the lease is the new one.
    jump(free, expires + timedelta(days=3, minutes=2))
    assert server(free, booted["id"]).status_code == 200


def test_renewing_twice_never_stacks_leases(free: Cloud) -> None:
    booted = free.boot(free.acme, "lab-3", "m1.tiny")
    free.settle(PASS)
    for _ in range(3):
        answer = free.client.post(
            f"/v1/community/leases/{booted['id']}/renew", headers=free.acme.headers
        )
        assert answer.status_code == 200, answer.text
    expires = datetime.fromisoformat(lease(free, booted["id"])["expires_at"])
    assert expires <= free.clock.now() + timedelta(days=7)


def test_a_deleted_instance_cannot_be_renewed(free: Cloud) -> None:
    booted = free.boot(free.acme, "lab-4", "m1.tiny")
    free.settle(PASS)
    expires = datetime.fromisoformat(lease(free, booted["id"])["expires_at"])
    jump(free, expires + timedelta(minutes=1))
    jump(free, expires + timedelta(days=3, minutes=2))
    answer = free.client.post(
        f"/v1/community/leases/{booted['id']}/renew", headers=free.acme.headers
    )
    assert answer.status_code == 409, answer.text


def test_another_tenants_lease_is_404(free: Cloud) -> None:
    booted = free.boot(free.acme, "lab-5", "m1.tiny")
    free.settle(PASS)
    for path in (f"/v1/community/leases/{booted['id']}",):
        assert free.client.get(path, headers=free.globex.headers).status_code == 404
    renew = free.client.post(
        f"/v1/community/leases/{booted['id']}/renew", headers=free.globex.headers
    )
    assert renew.status_code == 404


def test_the_operators_instances_have_no_lease(free: Cloud) -> None:
    booted = free.boot(free.acme, "lab-6", "m1.tiny")
    body = {"name": "ops", "flavor_id": free.flavor_id("m1.tiny"), "image_id": free.image_id()}
    ops = free.client.post("/v1/servers", json=body, headers=free.admin)
    assert ops.status_code == 202, ops.text
    free.settle(PASS)
    with free.container.db.read() as conn:
        leased = set(conn.execute(select(community_instances.c.server_id)).scalars())
    assert leased == {booted["id"]}


def test_the_free_tier_has_a_small_quota(free: Cloud) -> None:
    limits = free.client.get("/v1/quotas", headers=free.acme.headers).json()["limits"]
    assert limits["instances"] == 2 and limits["cores"] == 2 and limits["ram_mb"] == 4096


def test_launches_over_the_rate_are_429_with_retry_after(free: Cloud) -> None:
    body = {"name": "burst", "flavor_id": free.flavor_id("m1.tiny"), "image_id": free.image_id()}
    for _ in range(3):  # launches count even when the quota refuses them later
        answer = free.client.post("/v1/servers", json=body, headers=free.acme.headers)
        assert answer.status_code in (202, 403, 409, 413), answer.text
    refused = free.client.post("/v1/servers", json=body, headers=free.acme.headers)
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    other = free.client.post("/v1/servers", json=body, headers=free.globex.headers)
    assert other.status_code == 202  # the rate is per tenant
    free.clock.advance(timedelta(seconds=601))
    again = free.client.post("/v1/servers", json=body, headers=free.acme.headers)
    assert again.status_code != 429


def test_the_kill_switch_disables_the_tenant_and_stops_its_instances(free: Cloud) -> None:
    booted = free.boot(free.acme, "lab-7", "m1.tiny")
    answer = free.client.post(
        f"/v1/admin/community/tenants/{free.acme.id}/suspend",
        json={"reason": "mining"},
        headers=free.admin,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"tenant_id": free.acme.id, "enabled": False, "stopped": 1}
    free.settle()
    assert free.client.get("/v1/servers", headers=free.acme.headers).status_code == 401
    found = free.client.get(f"/v1/admin/servers/{booted['id']}", headers=free.admin)
    if found.status_code == 200:
        assert found.json()["status"] == "SHUTOFF"
    back = free.client.post(
        f"/v1/admin/community/tenants/{free.acme.id}/resume", headers=free.admin
    )
    assert back.status_code == 200 and back.json()["enabled"] is True
    members = free.client.post(
        f"/v1/admin/community/tenants/{free.acme.id}/suspend",
        json={"reason": "x"},
        headers=free.globex.headers,
    )
    assert members.status_code == 403


class FakeCpu:
    """Metering's answer, fixed per instance: CPU % per window, oldest first."""

    def __init__(self) -> None:
        self.daily: dict[str, list[float | None]] = {}
        self.hourly: dict[str, list[float | None]] = {}

    def averages(
        self, server_ids: Any, *, end: datetime, seconds: int, windows: int
    ) -> dict[str, list[float | None]]:
        source = self.daily if seconds == 86400 else self.hourly
        return {k: v[-windows:] for k, v in source.items() if k in server_ids}


def cpu_check(free: Cloud, cpu: FakeCpu) -> community.PassReport:
    """One idle-and-mining pass over `cpu`'s figures."""
    terms = free.container.community.terms if free.container.community else Terms()
    return community.cpu_pass(
        db=free.container.db,
        clock=free.clock,
        drivers=free.container.drivers(),
        terms=terms,
        cpu=cpu,
    )


def test_sustained_high_cpu_is_flagged_for_the_operator_and_nothing_is_done(free: Cloud) -> None:
    booted = free.boot(free.acme, "miner", "m1.tiny")
    free.settle(PASS)
    cpu = FakeCpu()
    cpu.hourly[booted["id"]] = [99.0] * 12
    report = cpu_check(free, cpu)
    assert report.mining_flagged == 1
    (flag,) = free.client.get("/v1/admin/community/flags", headers=free.admin).json()["items"]
    assert flag["id"] == booted["id"] and flag["mining_cpu"] == 99.0
    assert server(free, booted["id"]).json()["status"] == "ACTIVE"  # never acted on alone
    cpu.hourly[booted["id"]] = [99.0] * 11 + [40.0]
    cpu_check(free, cpu)
    assert free.client.get("/v1/admin/community/flags", headers=free.admin).json()["items"] == []


def test_an_idle_instance_is_flagged_then_shelved_a_day_later_with_a_mail(free: Cloud) -> None:
    booted = free.boot(free.acme, "sleepy", "m1.tiny")
    free.settle(PASS)
    cpu = FakeCpu()
    cpu.daily[booted["id"]] = [0.5, 0.4, 0.3]

    assert cpu_check(free, cpu).idle_flagged == 1
    assert lease(free, booted["id"])["idle_since"] is not None
    assert cpu_check(free, cpu).idle_shelved == 0  # flagged, not yet shelved
    free.clock.advance(timedelta(days=1))
    assert cpu_check(free, cpu).idle_shelved == 1
    free.settle(TASK_SECONDS * 2)
    assert server(free, booted["id"]).json()["status"].startswith("SHELVED")
    assert any("idle" in s for s in subjects(free, "alice@example.com"))


def test_an_instance_in_use_again_loses_its_idle_flag(free: Cloud) -> None:
    booted = free.boot(free.acme, "woke", "m1.tiny")
    free.settle(PASS)
    cpu = FakeCpu()
    cpu.daily[booted["id"]] = [0.5, 0.4, 0.3]
    cpu_check(free, cpu)
    cpu.daily[booted["id"]] = [0.5, 0.4, 35.0]
    free.clock.advance(timedelta(days=1))
    report = cpu_check(free, cpu)
    assert report.idle_shelved == 0 and lease(free, booted["id"])["idle_since"] is None


class DownRegion:
    """A free region whose cloud does not answer."""

    region = "Down"

    def list_all_servers(self, *_args: Any) -> list[Any]:
        raise Unavailable("the region's Nova does not answer")


def test_a_free_region_down_does_not_stop_the_others(free: Cloud) -> None:
    driver, flavor = free.container.driver(), free.flavor_id("m1.tiny")
    (booted,) = driver.create_servers(
        free.acme.id, "u", ServerCreate("up", flavor, free.image_id())
    )
    assert free.container.community is not None
    terms = replace(free.container.community.terms, regions=frozenset({"RegionOne", "Down"}))
    drivers: dict[str, Any] = {**free.container.drivers(), "Down": DownRegion()}
    report = community.lease_pass(
        db=free.container.db, clock=free.clock, drivers=drivers, terms=terms
    )
    assert report.started == 1 and lease(free, booted.id)["region"] == "RegionOne"


class RefusingQuota:
    """A free region whose cloud refuses quota changes for now."""

    region = "RegionOne"

    def set_quota(self, *_args: Any) -> None:
        raise Unavailable("the region's Nova does not answer")


def globex_gets_4_instances(cloud: Cloud) -> None:
    """Globex asks for 4 instances; the rules or else the admin approve it."""
    asked = cloud.client.post(
        "/v1/quota-requests",
        json={"reason": "a course", "limits": {"instances": 4}},
        headers=cloud.globex.headers,
    ).json()
    if asked["state"] == "pending":
        decided = cloud.client.post(
            f"/v1/admin/quota-requests/{asked['id']}/approve", json={"note": "ok"},
            headers=cloud.admin,
        )
        assert decided.status_code == 200, decided.text
    assert asked["wanted"]["instances"] == 4, asked


def _quotas_set(cloud: Cloud) -> dict[str, str]:
    with cloud.container.db.read() as conn:
        rows = conn.execute(select(community_quotas.c.project_id, community_quotas.c.quota))
        return {project: quota for project, quota in rows}


def test_every_tenant_gets_the_free_quota_set_and_a_new_one_again(free: Cloud) -> None:
    """The pass sets the free tier's quota through the region's driver on each project but the
    operator's: the simulated region's own default is not what the tenants see once the free
    quota changes. A project with an approved request keeps the request's quota."""
    jump(free, START + timedelta(seconds=PASS))
    text = "instances=2,cores=2,ram_mb=4096,floating_ips=1,security_groups=5,key_pairs=10"
    assert _quotas_set(free) == {free.acme.id: text, free.globex.id: text}

    globex_gets_4_instances(free)
    assert free.container.community is not None
    terms = replace(
        free.container.community.terms, quota={**free.container.community.terms.quota, "cores": 3}
    )
    done = community.quota_pass(
        db=free.container.db, clock=free.clock, drivers=free.container.drivers(), terms=terms
    )
    assert done == 1  # acme only: globex's quota is its request's
    acme = free.client.get("/v1/quotas", headers=free.acme.headers).json()["limits"]
    globex = free.client.get("/v1/quotas", headers=free.globex.headers).json()["limits"]
    assert (acme["cores"], acme["instances"]) == (3, 2)
    assert (globex["cores"], globex["instances"]) == (2, 4)
    assert community.quota_pass(
        db=free.container.db, clock=free.clock, drivers=free.container.drivers(), terms=terms
    ) == 0  # set once


def test_a_region_that_refuses_the_free_quota_is_asked_again_next_pass(free: Cloud) -> None:
    assert free.container.community is not None
    terms = free.container.community.terms
    refused = community.quota_pass(
        db=free.container.db, clock=free.clock, drivers={"RegionOne": RefusingQuota()},
        terms=terms,
    )
    assert refused == 0 and _quotas_set(free) == {}
    assert community.quota_pass(
        db=free.container.db, clock=free.clock, drivers=free.container.drivers(), terms=terms
    ) == 2


class ApprovedMeanwhile:
    """The region's driver, where a quota request of `project` is approved (its quota set)
    just before the pass's own call sets the free quota on that project."""

    def __init__(self, real: Any, project: str, approve: Any) -> None:
        self.region, self.real, self.project, self.approve = real.region, real, project, approve

    def set_quota(self, project_id: str, quota: Any) -> None:
        if project_id == self.project and self.approve is not None:
            approve, self.approve = self.approve, None
            approve()
        self.real.set_quota(project_id, quota)


def test_a_request_approved_while_the_pass_runs_keeps_its_quota(free: Cloud) -> None:
    assert free.container.community is not None
    driver = ApprovedMeanwhile(
        free.container.driver(), free.globex.id, lambda: globex_gets_4_instances(free)
    )
    community.quota_pass(
        db=free.container.db, clock=free.clock, drivers={"RegionOne": driver},
        terms=free.container.community.terms,
    )
    assert driver.approve is None  # it ran
    globex = free.client.get("/v1/quotas", headers=free.globex.headers).json()["limits"]
    assert globex["instances"] == 4
