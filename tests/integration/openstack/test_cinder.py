"""The block-storage port on real Cinder (scripts/openstack-dev): volumes, snapshots, attach."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sws.drivers.openstack.connections import Connections
from sws.drivers.openstack.volumes import OpenStackBlockStorage
from sws.drivers.volumes import VolumeCreate
from sws.errors import Conflict, Invalid, NotFound
from sws.events.model import ResourceEvent
from sws.events.translate import translate

from .conftest import Project, wait_for

AMQP = "amqp://guest:guest@127.0.0.1:5672/sws-openstack"


@pytest.fixture(scope="module")
def storage(openstack_cloud: Path) -> OpenStackBlockStorage:
    connections = Connections(cloud="sws", clouds_yaml=openstack_cloud, region="RegionOne",
                              member_role="member")
    return OpenStackBlockStorage(connections=connections, wait=60)


@pytest.fixture(scope="module")
def cinder_events() -> Iterator[Any]:
    """A queue bound to Cinder's notifications before any test acts."""
    import kombu

    name = f"sws-cinder-test-{uuid.uuid4().hex[:6]}"
    connection = kombu.Connection(AMQP)
    exchange = kombu.Exchange("cinder", type="topic", durable=False)
    kombu.Queue(name, exchange=exchange, routing_key="notifications.#",
                durable=False)(connection.default_channel).declare()
    yield connection, name
    connection.default_channel.queue_delete(name)
    connection.release()


def _gone(storage: OpenStackBlockStorage, project: str, volume_id: str) -> bool:
    try:
        storage.get_volume(project, volume_id)
    except NotFound:
        return True
    return False


def test_a_volume_is_created_extended_snapshotted_restored_and_deleted(
    storage: OpenStackBlockStorage, projects: dict[str, Project]
) -> None:
    tenant = projects["a"].id
    volume = storage.create_volume(tenant, VolumeCreate(name="db", size_gb=1))
    assert (volume.status, volume.size_gb, volume.volume_type, volume.project_id) == (
        "available", 1, "local-ssd", tenant)
    assert volume.id in [v.id for v in storage.list_volumes(tenant)]

    volume = storage.extend_volume(tenant, volume.id, 3)
    assert (volume.status, volume.size_gb) == ("available", 3)

    snapshot = storage.create_volume_snapshot(tenant, volume.id, "nightly")
    assert (snapshot.status, snapshot.size_gb, snapshot.volume_id) == ("available", 3, volume.id)
    assert [s.id for s in storage.list_volume_snapshots(tenant, volume.id)] == [snapshot.id]

    restored = storage.create_volume(
        tenant, VolumeCreate(name="db-copy", size_gb=3, volume_type="local-hdd",
                             snapshot_id=snapshot.id))
    assert (restored.status, restored.snapshot_id, restored.volume_type) == (
        "available", snapshot.id, "local-hdd")

    storage.delete_volume(tenant, restored.id)
    storage.delete_volume_snapshot(tenant, snapshot.id)
    wait_for(lambda: not storage.list_volume_snapshots(tenant, volume.id), what="snapshot gone")
    storage.delete_volume(tenant, volume.id)
    wait_for(lambda: _gone(storage, tenant, volume.id), what="volume gone")


def test_the_port_rules_answer_before_cinder_does(
    storage: OpenStackBlockStorage, projects: dict[str, Project]
) -> None:
    tenant = projects["a"].id
    volume = storage.create_volume(tenant, VolumeCreate(name="small", size_gb=2))
    with pytest.raises(Invalid, match="larger than the volume's 2 GB"):
        storage.extend_volume(tenant, volume.id, 2)
    with pytest.raises(Conflict, match="not attached"):
        storage.detach_volume(tenant, volume.id)
    storage.delete_volume(tenant, volume.id)


def test_another_projects_volume_is_not_found(
    storage: OpenStackBlockStorage, projects: dict[str, Project]
) -> None:
    volume = storage.create_volume(projects["a"].id, VolumeCreate(name="private", size_gb=1))
    other = projects["b"].id
    with pytest.raises(NotFound):
        storage.get_volume(other, volume.id)
    with pytest.raises(NotFound):
        storage.delete_volume(other, volume.id)
    assert volume.id not in [v.id for v in storage.list_volumes(other)]
    storage.delete_volume(projects["a"].id, volume.id)


def test_a_volume_attaches_through_nova_and_cannot_be_deleted_until_detached(
    storage: OpenStackBlockStorage, projects: dict[str, Project], admin: Any, openstack_cloud: Path
) -> None:
    tenant = projects["a"].id
    nova = Connections(cloud="sws", clouds_yaml=openstack_cloud, region="RegionOne",
                       member_role="member").project(tenant).compute
    image = admin.image.find_image("cirros-fake")
    server = nova.create_server(name="app", image_id=image.id, flavor_id="m1.tiny",
                                networks="none")
    nova.wait_for_server(server, wait=90, interval=0.5)
    volume = storage.create_volume(tenant, VolumeCreate(name="data", size_gb=1))

    attached = storage.attach_volume(tenant, volume.id, server.id)
    assert (attached.status, attached.server_id) == ("in-use", server.id)
    assert attached.device is not None and attached.device.startswith("/dev/")
    with pytest.raises(Conflict, match=f"attached to server {server.id}"):
        storage.delete_volume(tenant, volume.id)
    with pytest.raises(Conflict, match="only an available volume"):
        storage.attach_volume(tenant, volume.id, server.id)
    snapshot = storage.create_volume_snapshot(tenant, volume.id, "while-attached")
    assert snapshot.status == "available"

    detached = storage.detach_volume(tenant, volume.id)
    assert (detached.status, detached.server_id, detached.device) == ("available", None, None)
    storage.delete_volume_snapshot(tenant, snapshot.id)
    wait_for(lambda: not storage.list_volume_snapshots(tenant, volume.id), what="snapshot gone")
    storage.delete_volume(tenant, volume.id)
    nova.delete_server(server)
    nova.wait_for_delete(server, wait=90, interval=0.5)


def test_cinders_notifications_become_volume_events(
    cinder_events: Any, storage: OpenStackBlockStorage, projects: dict[str, Project]
) -> None:
    tenant = projects["b"].id
    volume = storage.create_volume(tenant, VolumeCreate(name="logs", size_gb=1))
    storage.extend_volume(tenant, volume.id, 2)
    storage.delete_volume(tenant, volume.id)
    connection, queue = cinder_events
    wanted = {"create", "resize", "delete"}
    seen: dict[str, ResourceEvent] = {}

    def drained() -> bool:
        while (message := connection.default_channel.basic_get(queue, no_ack=True)) is not None:
            event = translate(json.loads(message.body))
            if isinstance(event, ResourceEvent) and event.resource_id == volume.id:
                seen[event.action] = event
        return wanted <= seen.keys()

    deadline = time.monotonic() + 60
    while not drained() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert wanted <= seen.keys(), seen
    assert (seen["create"].project_id, seen["create"].root_gb, seen["create"].name) == (
        tenant, 1, "logs")
    assert (seen["resize"].root_gb, seen["delete"].state) == (2, "deleted")


def test_the_events_worker_records_cinders_volume_events(
    listener: Any, container: Any, storage: OpenStackBlockStorage, projects: dict[str, Project]
) -> None:
    from sws.events import service as events

    tenant = projects["a"].id
    volume = storage.create_volume(tenant, VolumeCreate(name="journaled", size_gb=1))
    storage.delete_volume(tenant, volume.id)

    def journal() -> list[Any]:
        found = events.resource_history(db=container.db, resource_id=volume.id,
                                        resource_type="volume")
        return found if {"create", "delete"} <= {e.action for e in found} else []

    recorded = wait_for(journal, timeout=90, what="the volume's create and delete in the journal")
    assert {e.project_id for e in recorded} == {tenant}
