"""SWS's Swift adapter (`sws.drivers.openstack.objectstore`) against the real Swift rig.

Management goes through the InternalClient; objects through proxy B, which trusts
X-Forwarded-For from 127.0.0.1, so the adapter's `client_ip` is what the firewall judges.
Each test uses a fresh project, i.e. a fresh account `AUTH_<project>`.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sws.drivers.base import ContainerUsage, RateLimited
from sws.drivers.openstack.objectstore import SwiftObjectStore, tempauth_token
from sws.drivers.openstack.swift_usage import SwiftUsage
from sws.errors import Conflict, Forbidden, NotFound
from sws.storagefw.service import StorageBilling
from sws_swift.resp import Redis
from sws_swift.rules import FirewallRules, Limit
from sws_swift.writer import internal_client


@pytest.fixture
def store(swift_env: dict[str, str]) -> SwiftObjectStore:
    token = tempauth_token(
        f"{swift_env['SWIFT_DEV_PROXY_B']}/auth/v1.0",
        swift_env["SWIFT_DEV_RESELLER_USER"],
        swift_env["SWIFT_DEV_RESELLER_KEY"],
    )
    return SwiftObjectStore(
        region="RegionOne",
        proxy_url=swift_env["SWIFT_DEV_PROXY_B"],
        token=token,
        internal=lambda: internal_client(swift_env["SWIFT_DEV_INTERNAL_CLIENT_CONF"], retries=1),
    )


def project() -> str:
    return uuid.uuid4().hex


def test_containers_and_objects(store: SwiftObjectStore) -> None:
    p = project()
    assert store.create_container(p, "files").name == "files"
    with pytest.raises(Conflict):
        store.create_container(p, "files")
    info = store.put_object(
        p, "files", "docs/a.txt", b"hello", content_type="text/plain", client_ip="198.51.100.1"
    )
    assert info.etag == "5d41402abc4b2a76b9719d911017c592"
    got = store.get_object(p, "files", "docs/a.txt", client_ip="198.51.100.1")
    assert (got.data, got.info.content_type) == (b"hello", "text/plain")
    listed = store.list_objects(p, "files", client_ip="198.51.100.1", prefix="docs/")
    assert [o.name for o in listed] == ["docs/a.txt"]
    assert store.get_container(p, "files").object_count == 1
    # The account listing's counts lag (Swift's container-updater refreshes them; the rig does
    # not run it); a container's own HEAD is exact.
    assert [c.name for c in store.list_containers(p)] == ["files"]
    assert store.get_container(p, "files").bytes_used == 5
    with pytest.raises(Conflict):
        store.delete_container(p, "files")
    store.delete_object(p, "files", "docs/a.txt", client_ip="198.51.100.1")
    store.delete_container(p, "files")
    with pytest.raises(NotFound):
        store.get_container(p, "files")


def test_another_projects_container_is_not_found(store: SwiftObjectStore) -> None:
    mine, theirs = project(), project()
    store.create_container(mine, "private")
    with pytest.raises(NotFound):
        store.get_container(theirs, "private")
    with pytest.raises(NotFound):
        store.get_object(theirs, "private", "o", client_ip="198.51.100.1")
    with pytest.raises(NotFound):
        store.set_firewall(theirs, "private", FirewallRules(deny=("0.0.0.0/0",)))


def test_firewall_written_by_sws_is_enforced_by_the_proxy(store: SwiftObjectStore) -> None:
    p = project()
    store.create_container(p, "c")
    store.put_object(p, "c", "o", b"x", content_type="text/plain", client_ip="198.51.100.1")
    rules = FirewallRules(allow=("203.0.113.9",), deny=("203.0.113.0/24",))
    store.set_firewall(p, "c", rules)
    assert store.get_firewall(p, "c") == rules
    with pytest.raises(Forbidden, match=r"blacklist entry 203\.0\.113\.0/24"):
        store.get_object(p, "c", "o", client_ip="203.0.113.7")
    assert store.get_object(p, "c", "o", client_ip="203.0.113.9").data == b"x"  # whitelisted
    store.set_firewall(p, "c", FirewallRules(limits=(Limit("requests", 300, 2),)))
    assert store.get_container(p, "c").object_count == 1  # management: not counted
    for _ in range(2):
        store.get_object(p, "c", "o", client_ip="192.0.2.5")
    with pytest.raises(RateLimited) as limited:
        store.get_object(p, "c", "o", client_ip="192.0.2.5")
    assert 1 <= limited.value.retry_after <= 300
    store.set_firewall(p, "c", FirewallRules())
    assert store.get_firewall(p, "c") == FirewallRules()
    assert store.get_object(p, "c", "o", client_ip="192.0.2.5").data == b"x"


def test_usage_for_billing_comes_from_the_proxies_and_size_samples(
    swift_env: dict[str, str], store: SwiftObjectStore
) -> None:
    """Requests and egress counted by proxy B's sws_usage, sizes sampled by SWS, billed."""
    reader = SwiftUsage(
        redis=Redis.from_url(swift_env["SWIFT_DEV_USAGE_REDIS_URL"], timeout=1),
        region="RegionOne",
        now=lambda: datetime.now(UTC),
        prefix=swift_env["SWIFT_DEV_USAGE_PREFIX"],
    )
    store._usage = reader
    p = project()
    store.create_container(p, "media")  # management goes through the InternalClient: not counted
    store.put_object(
        p, "media", "clip", b"v" * 3000, content_type="video/mp4", client_ip="198.51.100.1"
    )
    for _ in range(2):
        store.get_object(p, "media", "clip", client_ip="198.51.100.1")
    assert store.sample_storage([p]) == 1
    sampled = store.list_containers(p)[0].bytes_used  # the account listing may lag (no updater)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    reader.now = lambda: hour + timedelta(hours=2)
    deadline = time.monotonic() + 5
    while True:  # a proxy flushes after it has answered
        rows = [
            u for u in store.usage(start=hour, end=hour + timedelta(hours=1)) if u.project_id == p
        ]
        if (rows and rows[0].requests == 3) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert rows == [
        ContainerUsage(
            project_id=p,
            container="media",
            hour_start=hour,
            byte_seconds=sampled * 3600,
            requests=3,
            bytes_out=6000,
            bytes_in=3000,
            region="RegionOne",
        )
    ]
    billed = StorageBilling(lambda: {"RegionOne": store}).storage(
        start=hour, end=hour + timedelta(hours=1)
    )
    assert [(u.requests, u.bytes_out) for u in billed if u.project_id == p] == [(3, 6000)]
