"""A running SWS whose region has real Swift (`SWS_SWIFT`): API, firewall, sampling and the bill.

SWS is composed by `bootstrap.build` from settings that name the rig's proxy B, its
InternalClient config, its tempauth reseller admin and the Redis its `sws_usage` filter fills.
Compute stays simulated. The clock starts at the real time, because the proxies count usage by
the real hour; it is then moved on so that the farmer rates that hour.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from sws.billing import service as billing
from sws.clock import SimulatedClock
from sws.config import Settings, SwiftConfig
from sws.drivers.openstack.objectstore import SwiftObjectStore
from sws_swift.usage_keys import hour_of
from tests.api.conftest import Cloud, open_cloud
from tests.api.test_storage import CATALOG, C, client_at, fetch, make_container, put, set_firewall
from tests.integration.swift.conftest import usage_hash


@pytest.fixture
def swift_cloud(tmp_path: Path, swift_env: dict[str, str]) -> Iterator[Cloud]:
    _not_in_the_last_seconds_of_an_hour(30)
    swift = SwiftConfig(
        proxy_url=swift_env["SWIFT_DEV_PROXY_B"],
        internal_client_conf=Path(swift_env["SWIFT_DEV_INTERNAL_CLIENT_CONF"]),
        auth="tempauth",
        tempauth_user=swift_env["SWIFT_DEV_RESELLER_USER"],
        tempauth_key=swift_env["SWIFT_DEV_RESELLER_KEY"],
        usage_redis_url=swift_env["SWIFT_DEV_USAGE_REDIS_URL"],
        usage_prefix=swift_env["SWIFT_DEV_USAGE_PREFIX"],
    )
    settings = Settings(
        home=tmp_path, database_url=f"sqlite:///{tmp_path / 'sws.db'}", demo_data=False,
        swift={"RegionOne": swift},
    )
    with open_cloud(settings, SimulatedClock(datetime.now(UTC))) as cloud:
        yield cloud


def _not_in_the_last_seconds_of_an_hour(seconds: int) -> None:
    """The test's requests must fall in one clock hour, as the proxies count them."""
    left = 3600 - time.time() % 3600
    if left < seconds:
        time.sleep(left + 1)


def test_the_region_serves_tenants_from_real_swift(swift_cloud: Cloud) -> None:
    cloud = swift_cloud
    assert isinstance(cloud.container.object_store(), SwiftObjectStore)
    make_container(cloud, "site")
    page = b"<h1>hi</h1>"
    assert put(cloud.client, cloud, "index.html", page, container="site").status_code == 201
    got = fetch(cloud, "198.51.100.1", "site/objects/index.html")
    assert (got.status_code, got.content) == (200, page)
    listed = cloud.client.get(C, headers=cloud.acme.headers).json()["items"]
    assert [c["name"] for c in listed] == ["site"]
    theirs = cloud.client.get(f"{C}/site", headers=cloud.globex.headers)
    assert theirs.status_code == 404  # another tenant's account: the container is not there


def test_a_firewall_set_through_the_api_is_enforced_by_the_proxy(swift_cloud: Cloud) -> None:
    cloud = swift_cloud
    make_container(cloud)
    assert put(cloud.client, cloud, "cat.jpg", b"meow").status_code == 201
    stored = set_firewall(cloud, {"allow": ["203.0.113.9"], "deny": ["203.0.113.0/24"]})
    assert stored.status_code == 200, stored.text
    refused = fetch(cloud, "203.0.113.7", "photos/objects/cat.jpg")
    assert refused.status_code == 403
    assert "blacklist entry 203.0.113.0/24" in refused.json()["detail"]
    assert fetch(cloud, "203.0.113.9", "photos/objects/cat.jpg").content == b"meow"
    shown = cloud.client.get(f"{C}/photos/firewall", headers=cloud.acme.headers)
    assert shown.json() == stored.json()  # read back from the container's sysmeta


def test_requests_and_egress_reach_the_bill_and_sizes_are_sampled(
    swift_cloud: Cloud, swift_env: dict[str, str]
) -> None:
    cloud = swift_cloud
    billing.load_catalog_text(db=cloud.container.db, clock=cloud.clock, text=CATALOG.read_text())
    hour = cloud.clock.now().replace(minute=0, second=0, microsecond=0)
    make_container(cloud, "media")  # management: not a request the tenant pays for
    assert put(cloud.client, cloud, "clip", b"v" * 3000, container="media").status_code == 201
    reader = client_at(cloud, "198.51.100.1")
    for _ in range(2):
        assert reader.get(f"{C}/media/objects/clip", headers=cloud.acme.headers).content
    cloud.container.tick()  # the first tick samples every tenant's containers
    listed = cloud.client.get(C, headers=cloud.acme.headers).json()["items"]
    slot = (hour_of(hour.timestamp()), f"AUTH_{cloud.acme.id}/media")
    samples = usage_hash(swift_env, *slot)
    # One sample, of the size the account listing shows (Swift's container-updater, which the
    # rig does not run, refreshes it: 0 or 3,000 bytes).
    assert (samples["samples"], samples["byte_samples"]) == (1, listed[0]["bytes"])
    _wait_for_flush(swift_env, *slot, requests=3)
    for _ in range(3):  # the hour settles, then the farmer's usage lag passes
        cloud.settle(3600)
    month = hour.strftime("%Y-%m")
    bill = cloud.client.get(f"/v1/billing/bills/{month}", headers=cloud.acme.headers).json()
    media = {x["item_type"]: Decimal(x["quantity"]) for x in bill["lines"]
             if x["resource_name"] == "media"}
    assert media["gb_out"] == Decimal("0.000006")  # two 3,000-byte GETs
    assert media["requests_10k"] == Decimal("0.0003")  # the PUT and two GETs


def _wait_for_flush(env: dict[str, str], hour: int, member: str, *, requests: int) -> None:
    """A proxy flushes its counts after it has answered; give it a moment."""
    deadline = time.monotonic() + 5
    while usage_hash(env, hour, member).get("requests", 0) < requests:
        assert time.monotonic() < deadline, usage_hash(env, hour, member)
        time.sleep(0.05)
