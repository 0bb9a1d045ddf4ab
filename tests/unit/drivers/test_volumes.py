"""Simulated volumes: the same-host rule, Cinder's refusals, real files and Island snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest

from sws.clock import SimulatedClock
from sws.drivers.base import Server
from sws.drivers.simulated import SimulatedRegion
from sws.drivers.simulated.volumes import SimulatedBlockStorage, VolumeQuota
from sws.drivers.volumes import VolumeCreate
from sws.errors import Conflict, Invalid, NotFound, QuotaExceeded
from sws_island.chunks import CHUNK_SIZE
from sws_island.store import MemoryStore

from .conftest import OTHER, PROJECT, USER, ListBus, boot


@pytest.fixture
def volumes(region: SimulatedRegion, tmp_path: Path, clock: SimulatedClock,
            bus: ListBus) -> SimulatedBlockStorage:
    region.ensure_seeded()
    return SimulatedBlockStorage(region="sim-1", db=region._db, clock=clock, bus=bus,
                                 data_dir=tmp_path / "volumes", store=MemoryStore())


@pytest.fixture
def server(region: SimulatedRegion, clock: SimulatedClock) -> Server:
    return boot(region, clock)


def other_host(server: Server) -> str:
    return "compute-01" if server.host != "compute-01" else "compute-02"


def test_a_volume_is_a_sparse_file_of_its_size_on_a_host(volumes: SimulatedBlockStorage) -> None:
    volume = volumes.create_volume(PROJECT, VolumeCreate(name="db", size_gb=2), user_id=USER)
    assert volume.status == "available" and volume.host is not None
    path = volumes.path_of(volume.id)
    assert path.stat().st_size == 2 * 1024**3
    assert path.stat().st_blocks * 512 < 1024**2  # nothing written: the file holds no data


def test_attach_only_to_an_instance_on_the_same_host(
    volumes: SimulatedBlockStorage, server: Server
) -> None:
    far = volumes.create_volume(PROJECT, VolumeCreate("far", 1, host=other_host(server)))
    with pytest.raises(Conflict) as refused:
        volumes.attach_volume(PROJECT, far.id, server.id)
    assert other_host(server) in refused.value.detail and str(server.host) in refused.value.detail
    near = volumes.create_volume(PROJECT, VolumeCreate("near", 1, host=server.host))
    attached = volumes.attach_volume(PROJECT, near.id, server.id)
    assert (attached.status, attached.server_id, attached.device) == (
        "in-use", server.id, "/dev/vdb")


def test_delete_while_attached_is_a_conflict_and_detach_frees_it(
    volumes: SimulatedBlockStorage, server: Server
) -> None:
    volume = volumes.create_volume(PROJECT, VolumeCreate("data", 1, host=server.host))
    volumes.attach_volume(PROJECT, volume.id, server.id)
    with pytest.raises(Conflict):
        volumes.delete_volume(PROJECT, volume.id)
    volumes.detach_volume(PROJECT, volume.id)
    volumes.delete_volume(PROJECT, volume.id)
    assert not volumes.path_of(volume.id).exists()
    with pytest.raises(NotFound):
        volumes.get_volume(PROJECT, volume.id)


def test_extend_grows_and_never_shrinks(volumes: SimulatedBlockStorage) -> None:
    volume = volumes.create_volume(PROJECT, VolumeCreate("data", 2))
    for size in (1, 2):
        with pytest.raises(Invalid) as refused:
            volumes.extend_volume(PROJECT, volume.id, size)
        assert refused.value.field == "size_gb"
    assert volumes.extend_volume(PROJECT, volume.id, 3).size_gb == 3
    assert volumes.path_of(volume.id).stat().st_size == 3 * 1024**3


def test_another_projects_volume_and_snapshot_are_missing(
    volumes: SimulatedBlockStorage, server: Server
) -> None:
    volume = volumes.create_volume(PROJECT, VolumeCreate("mine", 1, host=server.host))
    snap = volumes.create_volume_snapshot(PROJECT, volume.id, "s1")
    for call in (lambda: volumes.get_volume(OTHER, volume.id),
                 lambda: volumes.delete_volume(OTHER, volume.id),
                 lambda: volumes.extend_volume(OTHER, volume.id, 5),
                 lambda: volumes.create_volume_snapshot(OTHER, volume.id, "x"),
                 lambda: volumes.get_volume_snapshot(OTHER, snap.id),
                 lambda: volumes.delete_volume_snapshot(OTHER, snap.id),
                 lambda: volumes.create_volume(OTHER, VolumeCreate("c", 1, snapshot_id=snap.id))):
        with pytest.raises(NotFound):
            call()
    assert volumes.list_volumes(OTHER) == [] and volumes.list_volume_snapshots(OTHER) == []
    with pytest.raises(NotFound):  # nor can my volume go to another project's server
        volumes.attach_volume(OTHER, volume.id, server.id)


def test_snapshots_are_incremental_and_restore_bit_for_bit(
    volumes: SimulatedBlockStorage, server: Server
) -> None:
    volume = volumes.create_volume(PROJECT, VolumeCreate("db", 1, host=server.host))
    volumes.attach_volume(PROJECT, volume.id, server.id)
    volumes.write_volume(PROJECT, volume.id, 0, 16)
    first = volumes.create_volume_snapshot(PROJECT, volume.id, "first")
    assert first.content_sha256 == volumes.volume_sha256(PROJECT, volume.id)
    assert first.stored_bytes is not None and first.stored_bytes > 15 * 1024**2  # random data
    volumes.write_volume(PROJECT, volume.id, 100, 4)  # one 4 MiB chunk more
    second = volumes.create_volume_snapshot(PROJECT, volume.id, "second")
    assert second.stored_bytes is not None and second.stored_bytes <= CHUNK_SIZE * 1.01
    volumes.delete_volume_snapshot(PROJECT, first.id)  # the second does not depend on it
    copy = volumes.create_volume(PROJECT, VolumeCreate("copy", 1, snapshot_id=second.id))
    assert copy.snapshot_id == second.id
    assert volumes.volume_sha256(PROJECT, copy.id) == second.content_sha256


def test_a_restore_is_at_least_the_snapshots_size(
    volumes: SimulatedBlockStorage, server: Server
) -> None:
    volume = volumes.create_volume(PROJECT, VolumeCreate("db", 2, host=server.host))
    snap = volumes.create_volume_snapshot(PROJECT, volume.id, "s")
    with pytest.raises(Invalid):
        volumes.create_volume(PROJECT, VolumeCreate("small", 1, snapshot_id=snap.id))
    bigger = volumes.create_volume(PROJECT, VolumeCreate("big", 3, snapshot_id=snap.id))
    assert volumes.path_of(bigger.id).stat().st_size == 3 * 1024**3


def test_a_volume_of_a_deleted_instance_is_detached(
    region: SimulatedRegion, volumes: SimulatedBlockStorage, server: Server
) -> None:
    volume = volumes.create_volume(PROJECT, VolumeCreate("data", 1, host=server.host))
    volumes.attach_volume(PROJECT, volume.id, server.id)
    region.delete_server(PROJECT, server.id)
    from .conftest import settle
    settle(region, volumes._clock)  # type: ignore[arg-type]
    volumes.delete_volume(PROJECT, volume.id)  # no longer in use


def test_quota_counts_volumes_and_gigabytes(
    region: SimulatedRegion, tmp_path: Path, clock: SimulatedClock, bus: ListBus
) -> None:
    region.ensure_seeded()
    volumes = SimulatedBlockStorage(
        region="sim-1", db=region._db, clock=clock, bus=bus, data_dir=tmp_path,
        limits=lambda _project: VolumeQuota(volumes=2, volume_gb=10))
    first = volumes.create_volume(PROJECT, VolumeCreate("a", 6))
    with pytest.raises(QuotaExceeded):
        volumes.create_volume(PROJECT, VolumeCreate("b", 5))
    with pytest.raises(QuotaExceeded):
        volumes.extend_volume(PROJECT, first.id, 11)
    volumes.create_volume(PROJECT, VolumeCreate("b", 4))
    with pytest.raises(QuotaExceeded):
        volumes.create_volume(PROJECT, VolumeCreate("c", 1))
    assert volumes.usage(PROJECT).volume_gb == 10


def test_cinder_shaped_notifications(
    volumes: SimulatedBlockStorage, server: Server, bus: ListBus
) -> None:
    bus.clear()
    volume = volumes.create_volume(PROJECT, VolumeCreate("db", 1, host=server.host), user_id=USER)
    volumes.attach_volume(PROJECT, volume.id, server.id)
    snap = volumes.create_volume_snapshot(PROJECT, volume.id, "s", user_id=USER)
    volumes.extend_volume(PROJECT, volume.id, 2)
    volumes.detach_volume(PROJECT, volume.id)
    volumes.delete_volume_snapshot(PROJECT, snap.id)
    volumes.delete_volume(PROJECT, volume.id)
    assert bus.event_types() == [
        "volume.create.end", "volume.attach.end", "snapshot.create.end", "volume.resize.end",
        "volume.detach.end", "snapshot.delete.end", "volume.delete.end"]
    created = bus.messages()[0]
    assert created["publisher_id"].startswith("volume.")
    payload = created["payload"]
    assert {k: payload[k] for k in ("volume_id", "tenant_id", "user_id", "size", "volume_type",
                                    "status", "display_name")} == {
        "volume_id": volume.id, "tenant_id": PROJECT, "user_id": USER, "size": 1,
        "volume_type": "local-ssd", "status": "available", "display_name": "db"}
    assert bus.messages()[3]["payload"]["size"] == 2
    assert bus.messages()[2]["payload"]["snapshot_id"] == snap.id


def test_a_corrupt_chunk_is_named_and_no_volume_is_made(
    volumes: SimulatedBlockStorage, server: Server
) -> None:
    volume = volumes.create_volume(PROJECT, VolumeCreate("db", 1, host=server.host))
    volumes.attach_volume(PROJECT, volume.id, server.id)
    volumes.write_volume(PROJECT, volume.id, 8, 4, data=b"island")
    snap = volumes.create_volume_snapshot(PROJECT, volume.id, "s")
    store = volumes.store
    assert isinstance(store, MemoryStore)
    (chunk,) = [name for name in store.objects if name.startswith("chunks/")]
    store.objects[chunk] = store.objects[chunk][:-8] + b"garbage!"
    with pytest.raises(Conflict) as refused:
        volumes.create_volume(PROJECT, VolumeCreate("copy", 1, snapshot_id=snap.id))
    assert chunk.removeprefix("chunks/") in refused.value.detail
    assert [v.name for v in volumes.list_volumes(PROJECT)] == ["db"]
    assert sorted(p.name for p in volumes.path_of(volume.id).parent.glob("*.img")) == [
        f"{volume.id}.img"]
