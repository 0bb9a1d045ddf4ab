"""SimulatedBlockStorage: local volumes on the simulated hypervisors, snapshotted by Island.

Each volume is a real sparse file under the region's data directory, on a chosen host; it
attaches only to an instance on that host (Island's trade-off). The region does every write
itself, so it records which 4 MiB chunks changed since the last snapshot (`dirty_chunks`) and
gives Island that set instead of a qemu dirty bitmap. Snapshots are Island indexes and chunks in
a `DirectoryStore` under SWS_HOME (a service area, never a tenant's container). State lives in
`sim_volumes` and `sim_volume_snapshots`; notifications are Cinder's, published after commit.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update

from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.nova_payloads import oslo_timestamp
from sws.drivers.simulated import repository as repo
from sws.drivers.simulated.notifications import context, envelope, iso_z
from sws.drivers.simulated.repository import Txn
from sws.drivers.simulated.states import ACTIVE, STOPPED
from sws.drivers.simulated.volume_tables import sim_volume_snapshots, sim_volumes
from sws.drivers.volumes import Volume, VolumeCreate, VolumeSnapshot
from sws.errors import Conflict, Invalid, NotFound, QuotaExceeded
from sws.events.bus import EventBus
from sws_island import index as indexes
from sws_island.chunks import CHUNK_SIZE, chunk_hash, decompress, object_name, zero_hash
from sws_island.errors import CorruptChunk, IslandError, SnapshotNotFound
from sws_island.index import chunk_lengths
from sws_island.snapshot import SnapshotSpec, take_snapshot
from sws_island.source import RawFileSource
from sws_island.store import ChunkStore, DirectoryStore

GIB = 1024**3
MIB = 1024**2
MAX_WRITE_MIB = 1024
_ATTACHABLE = frozenset({ACTIVE, STOPPED})
_DEVICES = tuple(f"/dev/vd{letter}" for letter in "bcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class VolumeQuota:
    """How many volumes, and how many GB of them, a project may have."""

    volumes: int = 10
    volume_gb: int = 1000


@dataclass(frozen=True, slots=True)
class VolumeUsage:
    volumes: int
    volume_gb: int


class SparseFileSource(RawFileSource):
    """A raw sparse file whose data extents come from SEEK_DATA/SEEK_HOLE: holes are not read."""

    def allocated(self) -> list[tuple[int, int]] | None:
        try:
            return [(start, end - start) for start, end in _data_extents(self._fd, self.size)]
        except OSError:  # no SEEK_DATA here: Island reads every chunk
            return None


class SimulatedBlockStorage:
    """The `BlockStorage` port of one simulated region; every public method is one transaction."""

    def __init__(
        self,
        *,
        region: str,
        db: Database,
        clock: Clock,
        bus: EventBus,
        data_dir: Path,
        store: ChunkStore | None = None,
        limits: Callable[[str], VolumeQuota] = lambda _project: VolumeQuota(),
        hosts_ready: Callable[[], None] = lambda: None,
    ) -> None:
        self.region = region
        self._db = db
        self._clock = clock
        self._bus = bus
        self._dir = Path(data_dir)
        self._dir.mkdir(parents=True, exist_ok=True)
        self.store = store if store is not None else DirectoryStore(self._dir / "island")
        self._limits = limits
        self._hosts_ready = hosts_ready  # the region seeds its hypervisors on first use
        self._lock = threading.RLock()

    # ---- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Txn]:
        self._hosts_ready()
        with self._lock:
            with self._db.begin() as conn:
                txn = Txn(conn=conn, region=self.region, now=self._clock.now())
                yield txn
            for message in txn.outbox:
                self._bus.publish(envelope(message))

    @contextmanager
    def _read(self) -> Iterator[Txn]:
        with self._db.read() as conn:
            yield Txn(conn=conn, region=self.region, now=self._clock.now())

    def path_of(self, volume_id: str) -> Path:
        """The sparse file that holds a volume's bytes."""
        return self._dir / f"{volume_id}.img"

    def _row(self, txn: Txn, project_id: str, volume_id: str) -> Row[Any]:
        row = txn.conn.execute(select(sim_volumes).where(
            sim_volumes.c.region == txn.region, sim_volumes.c.project_id == project_id,
            sim_volumes.c.id == volume_id)).first()
        if row is None:
            raise NotFound(f"Volume {volume_id} could not be found.", field="volume_id")
        return row

    def _live_row(self, txn: Txn, project_id: str, volume_id: str) -> Row[Any]:
        """The row, first detached from an instance that was deleted while it was attached."""
        row = self._row(txn, project_id, volume_id)
        if row.server_id is not None and not _server_exists(txn, row.server_id, project_id):
            self._set(txn, row.id, status="available", server_id=None, device=None)
            row = self._row(txn, project_id, volume_id)
            txn.outbox.append(_volume_message("volume.detach.end", row, txn.now))
        return row

    def _set(self, txn: Txn, volume_id: str, **values: Any) -> None:
        txn.conn.execute(update(sim_volumes).where(sim_volumes.c.id == volume_id)
                         .values(updated_at=txn.now, **values))

    def _snapshot_row(self, txn: Txn, project_id: str, snapshot_id: str) -> Row[Any]:
        row = txn.conn.execute(select(sim_volume_snapshots).where(
            sim_volume_snapshots.c.region == txn.region,
            sim_volume_snapshots.c.project_id == project_id,
            sim_volume_snapshots.c.id == snapshot_id)).first()
        if row is None:
            raise NotFound(f"Snapshot {snapshot_id} could not be found.", field="snapshot_id")
        return row

    # ---- volumes -----------------------------------------------------------------------------

    def list_volumes(self, project_id: str) -> Sequence[Volume]:
        with self._read() as txn:
            rows = txn.conn.execute(select(sim_volumes).where(
                sim_volumes.c.region == txn.region, sim_volumes.c.project_id == project_id,
            ).order_by(sim_volumes.c.id))
            return [_volume(row) for row in rows]

    def get_volume(self, project_id: str, volume_id: str) -> Volume:
        with self._read() as txn:
            return _volume(self._row(txn, project_id, volume_id))

    def usage(self, project_id: str) -> VolumeUsage:
        """The project's volumes and their GB, as its quota counts them."""
        with self._read() as txn:
            return _usage(txn, project_id)

    def quota(self, project_id: str) -> VolumeQuota:
        return self._limits(project_id)

    def create_volume(self, project_id: str, spec: VolumeCreate, user_id: str = "") -> Volume:
        """An empty sparse file of `size_gb`, or a verified restore of `spec.snapshot_id`."""
        volume_id = str(uuid.uuid4())
        path = self.path_of(volume_id)
        with self._write() as txn:
            self._check_quota(txn, project_id, count=1, gb=spec.size_gb)
            host = self._choose_host(txn, spec)
            source = None if spec.snapshot_id is None else self._source(txn, project_id, spec)
            try:
                self._make_file(path, spec.size_gb, source)
                txn.conn.execute(insert(sim_volumes).values(
                    id=volume_id, region=txn.region, project_id=project_id, user_id=user_id,
                    name=spec.name, size_gb=spec.size_gb, volume_type=spec.volume_type,
                    status="available", host=host, server_id=None, device=None,
                    snapshot_id=spec.snapshot_id, dirty_chunks=None, last_snapshot_id=None,
                    created_at=txn.now, updated_at=txn.now))
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            row = self._row(txn, project_id, volume_id)
            txn.outbox.append(_volume_message("volume.create.end", row, txn.now))
            return _volume(row)

    def _source(self, txn: Txn, project_id: str, spec: VolumeCreate) -> indexes.SnapshotIndex:
        snap = self._snapshot_row(txn, project_id, spec.snapshot_id or "")
        if snap.status != "available":
            raise Conflict(f"Snapshot {snap.id} is {snap.status}, not available.")
        if spec.size_gb < snap.size_gb:
            raise Invalid(f"size_gb must be at least the snapshot's {snap.size_gb}",
                          field="size_gb")
        return indexes.load(self.store, snap.volume_id, snap.id)

    def _make_file(self, path: Path, size_gb: int, source: indexes.SnapshotIndex | None) -> None:
        if source is not None:
            try:
                restore_sparse(source, self.store, path)
            except IslandError as error:
                raise Conflict(f"snapshot {source.snapshot} cannot be restored: {error}",
                               field="snapshot_id") from error
        else:
            path.touch(mode=0o600, exist_ok=False)
        os.truncate(path, size_gb * GIB)

    def _choose_host(self, txn: Txn, spec: VolumeCreate) -> str:
        hosts = {row.hostname: row.disk_gb for row in repo.hypervisor_rows(txn)}
        if spec.host is not None and spec.host not in hosts:
            raise Invalid(f"host {spec.host!r} is not a compute host of {txn.region}",
                          field="host")
        used = dict(txn.conn.execute(
            select(sim_volumes.c.host, func.sum(sim_volumes.c.size_gb))
            .where(sim_volumes.c.region == txn.region).group_by(sim_volumes.c.host)).all())
        free = {host: disk - int(used.get(host) or 0) for host, disk in hosts.items()}
        chosen = spec.host or max(sorted(free), key=lambda host: free[host], default=None)
        if chosen is None or free[chosen] < spec.size_gb:
            raise Conflict(f"no room for {spec.size_gb} GB on {chosen or 'any host'}",
                           field="host")
        return chosen

    def _check_quota(self, txn: Txn, project_id: str, *, count: int, gb: int) -> None:
        limit, used = self._limits(project_id), _usage(txn, project_id)
        if used.volumes + count > limit.volumes:
            raise QuotaExceeded(f"Quota exceeded, too many volumes (limit {limit.volumes}).")
        if used.volume_gb + gb > limit.volume_gb:
            raise QuotaExceeded(
                f"Quota exceeded for volume_gb: {used.volume_gb} GB used, {gb} asked, "
                f"limit {limit.volume_gb}.")

    def delete_volume(self, project_id: str, volume_id: str) -> None:
        """Conflict while attached; its snapshots stay (each is independent of the volume)."""
        with self._write() as txn:
            row = self._live_row(txn, project_id, volume_id)
            if row.status == "in-use":
                raise Conflict(f"Volume {volume_id} is attached to instance {row.server_id}; "
                               "detach it first.")
            txn.conn.execute(delete(sim_volumes).where(sim_volumes.c.id == volume_id))
            txn.outbox.append(_volume_message("volume.delete.end", row, txn.now, "deleted"))
        self.path_of(volume_id).unlink(missing_ok=True)

    def attach_volume(self, project_id: str, volume_id: str, server_id: str) -> Volume:
        with self._write() as txn:
            row = self._live_row(txn, project_id, volume_id)
            server = repo.server_row(txn, server_id, project_id)
            _check_attachable(row, server)
            device = _free_device(txn, server_id)
            self._set(txn, volume_id, status="in-use", server_id=server_id, device=device)
            row = self._row(txn, project_id, volume_id)
            txn.outbox.append(_volume_message("volume.attach.end", row, txn.now))
            return _volume(row)

    def detach_volume(self, project_id: str, volume_id: str) -> Volume:
        with self._write() as txn:
            row = self._live_row(txn, project_id, volume_id)
            if row.status != "in-use":
                raise Conflict(f"Volume {volume_id} is {row.status}, not attached.")
            self._set(txn, volume_id, status="available", server_id=None, device=None)
            row = self._row(txn, project_id, volume_id)
            txn.outbox.append(_volume_message("volume.detach.end", row, txn.now))
            return _volume(row)

    def extend_volume(self, project_id: str, volume_id: str, size_gb: int) -> Volume:
        """Grow the file; a smaller or equal size is Invalid (a volume never shrinks)."""
        with self._write() as txn:
            row = self._live_row(txn, project_id, volume_id)
            if size_gb <= row.size_gb:
                raise Invalid(f"size_gb must be larger than the volume's {row.size_gb}",
                              field="size_gb")
            VolumeCreate(name=row.name, size_gb=size_gb)  # the port's bounds
            if row.status not in ("available", "in-use"):
                raise Conflict(f"Volume {volume_id} is {row.status}; it cannot be extended.")
            self._check_quota(txn, project_id, count=0, gb=size_gb - row.size_gb)
            self._set(txn, volume_id, size_gb=size_gb)
            os.truncate(self.path_of(volume_id), size_gb * GIB)
            row = self._row(txn, project_id, volume_id)
            txn.outbox.append(_volume_message("volume.resize.end", row, txn.now))
            return _volume(row)

    # ---- data --------------------------------------------------------------------------------

    def write_volume(self, project_id: str, volume_id: str, offset_mib: int, length_mib: int,
                     data: bytes | None = None) -> int:
        """What the instance writes to an attached volume: `length_mib` MiB at `offset_mib`
        (random bytes, or `data` repeated); records the chunks it touched. Returns the bytes."""
        if not 1 <= length_mib <= MAX_WRITE_MIB or offset_mib < 0:
            raise Invalid(f"write between 1 and {MAX_WRITE_MIB} MiB at a positive offset",
                          field="length_mib")
        with self._write() as txn:
            row = self._live_row(txn, project_id, volume_id)
            if row.status != "in-use":
                raise Conflict(f"Volume {volume_id} is not attached; only an instance writes it.")
            start, length = offset_mib * MIB, length_mib * MIB
            if start + length > row.size_gb * GIB:
                raise Invalid(f"the write ends past the volume's {row.size_gb} GB",
                              field="offset_mib")
            _write_file(self.path_of(volume_id), start, length, data)
            self._set(txn, volume_id, dirty_chunks=_dirtier(row.dirty_chunks, start, length))
            return length

    def volume_sha256(self, project_id: str, volume_id: str) -> str:
        """The volume hash (Island's: SHA-256 over each 4 MiB chunk's digest) of its bytes now."""
        with self._read() as txn:
            self._row(txn, project_id, volume_id)
        with self._lock:
            return sparse_volume_hash(self.path_of(volume_id))

    # ---- snapshots ---------------------------------------------------------------------------

    def list_volume_snapshots(
        self, project_id: str, volume_id: str | None = None
    ) -> Sequence[VolumeSnapshot]:
        with self._read() as txn:
            query = select(sim_volume_snapshots).where(
                sim_volume_snapshots.c.region == txn.region,
                sim_volume_snapshots.c.project_id == project_id)
            if volume_id is not None:
                query = query.where(sim_volume_snapshots.c.volume_id == volume_id)
            rows = txn.conn.execute(query.order_by(sim_volume_snapshots.c.id))
            return [_snapshot(row) for row in rows]

    def get_volume_snapshot(self, project_id: str, snapshot_id: str) -> VolumeSnapshot:
        with self._read() as txn:
            return _snapshot(self._snapshot_row(txn, project_id, snapshot_id))

    def create_volume_snapshot(
        self, project_id: str, volume_id: str, name: str, user_id: str = ""
    ) -> VolumeSnapshot:
        """An Island snapshot: reads only the chunks written since the last one when it can."""
        with self._write() as txn:
            row = self._live_row(txn, project_id, volume_id)
            if row.status not in ("available", "in-use"):
                raise Conflict(f"Volume {volume_id} is {row.status}; it cannot be snapshotted.")
            snapshot_id = str(uuid.uuid4())
            taken = self._take(row, snapshot_id, txn.now)
            try:
                txn.conn.execute(insert(sim_volume_snapshots).values(
                    id=snapshot_id, region=txn.region, project_id=project_id, user_id=user_id,
                    volume_id=volume_id, name=name, size_gb=row.size_gb, status="available",
                    stored_bytes=taken.bytes_uploaded, content_sha256=taken.sha256,
                    created_at=txn.now))
                self._set(txn, volume_id, dirty_chunks="[]", last_snapshot_id=snapshot_id)
            except BaseException:
                self.store.delete(taken.object_name)
                raise
            snap = self._snapshot_row(txn, project_id, snapshot_id)
            txn.outbox.append(_snapshot_message("snapshot.create.end", snap, row, txn.now))
            return _snapshot(snap)

    def _take(self, row: Row[Any], snapshot_id: str, now: datetime) -> indexes.SnapshotIndex:
        parent = None
        if row.last_snapshot_id is not None:
            with suppress(SnapshotNotFound):
                parent = indexes.load(self.store, row.id, row.last_snapshot_id)
        dirty = None if row.dirty_chunks is None else frozenset(json.loads(row.dirty_chunks))
        reason = "first snapshot" if parent is None else "written chunks unknown"
        source = SparseFileSource(self.path_of(row.id))
        try:
            return take_snapshot(SnapshotSpec(
                volume=row.id, source=source, store=self.store, parent=parent, dirty=dirty,
                full_read_reason=reason, snapshot=snapshot_id, workers=2,
                clock=now.timestamp))
        finally:
            source.close()

    def delete_volume_snapshot(self, project_id: str, snapshot_id: str) -> None:
        """Deletes the snapshot's index only: no other snapshot depends on it."""
        with self._write() as txn:
            snap = self._snapshot_row(txn, project_id, snapshot_id)
            txn.conn.execute(delete(sim_volume_snapshots)
                             .where(sim_volume_snapshots.c.id == snapshot_id))
            with suppress(SnapshotNotFound):
                indexes.delete(self.store, snap.volume_id, snapshot_id)
            txn.outbox.append(_snapshot_message("snapshot.delete.end", snap, None, txn.now))


# ---- sparse files ----------------------------------------------------------------------------


def _data_extents(fd: int, size: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of file data before `size` (SEEK_DATA/SEEK_HOLE)."""
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as error:
            if error.errno == errno.ENXIO:  # only a hole after offset
                return
            raise
        end = os.lseek(fd, start, os.SEEK_HOLE)
        yield start, end
        offset = end


def _data_chunks(fd: int, size: int) -> set[int]:
    """The chunk numbers that hold file data; holes read as zeros."""
    found: set[int] = set()
    for start, end in _data_extents(fd, size):
        found.update(range(start // CHUNK_SIZE, (end - 1) // CHUNK_SIZE + 1))
    return found


def sparse_volume_hash(path: Path, size: int | None = None) -> str:
    """Island's volume hash of a file, reading only its data extents (a hole hashes as zeros).
    `size` limits it to the first bytes (a restore checked before it is grown)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size if size is None else size
        data = _data_chunks(fd, size)
        whole = hashlib.sha256()
        for number, length in enumerate(chunk_lengths(size)):
            if number in data:
                whole.update(hashlib.sha256(os.pread(fd, length, number * CHUNK_SIZE)).digest())
            else:
                whole.update(bytes.fromhex(zero_hash(length)))
        return whole.hexdigest()
    finally:
        os.close(fd)


def _chunk(store: ChunkStore, name: str, offset: int) -> bytes:
    try:
        return decompress(store.get(object_name(name)))
    except FileNotFoundError:
        raise IslandError(f"chunk {name} at offset {offset} is missing from the store") from None
    except Exception:  # zstd raises its own error type for a damaged frame
        raise CorruptChunk(name, offset, "an undecodable frame") from None


def restore_sparse(index: indexes.SnapshotIndex, store: ChunkStore, path: Path) -> None:
    """Write a snapshot to a new sparse file: each chunk checked against its name before it is
    written (`CorruptChunk` otherwise), then the file's volume hash against the index's."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, index.size)
        lengths = list(chunk_lengths(index.size, index.chunk_size))
        for number, name in enumerate(index.chunks):
            if name is None:
                continue
            data = _chunk(store, name, number * index.chunk_size)
            if chunk_hash(data) != name or len(data) != lengths[number]:
                raise CorruptChunk(name, number * index.chunk_size, chunk_hash(data))
            os.pwrite(fd, data, number * index.chunk_size)
        os.fsync(fd)
    finally:
        os.close(fd)
    actual = sparse_volume_hash(path, index.size)
    if actual != index.sha256:
        raise IslandError(f"restored volume hashes to {actual}; snapshot says {index.sha256}")


# ---- rules and rows --------------------------------------------------------------------------


def _server_exists(txn: Txn, server_id: str, project_id: str) -> bool:
    try:
        repo.server_row(txn, server_id, project_id)
    except NotFound:
        return False
    return True


def _check_attachable(row: Row[Any], server: Row[Any]) -> None:
    if row.status != "available":
        raise Conflict(f"Volume {row.id} is {row.status}, not available.")
    if server.vm_state not in _ATTACHABLE:
        raise Conflict(f"Instance {server.id} is {server.vm_state}; attach to an active or "
                       "stopped instance.")
    if server.host != row.host:
        raise Conflict(
            f"Volume {row.id} is a local volume on host {row.host}; instance {server.id} runs "
            f"on host {server.host}. A local volume attaches only to an instance on its host.",
            field="server_id")


def _free_device(txn: Txn, server_id: str) -> str:
    taken = set(txn.conn.execute(select(sim_volumes.c.device)
                                 .where(sim_volumes.c.server_id == server_id)).scalars())
    for device in _DEVICES:
        if device not in taken:
            return device
    raise Conflict(f"Instance {server_id} has no free device for another volume.")


def _usage(txn: Txn, project_id: str) -> VolumeUsage:
    count, gb = txn.conn.execute(
        select(func.count(), func.coalesce(func.sum(sim_volumes.c.size_gb), 0)).where(
            sim_volumes.c.region == txn.region, sim_volumes.c.project_id == project_id)).one()
    return VolumeUsage(volumes=int(count), volume_gb=int(gb))


def _write_file(path: Path, start: int, length: int, data: bytes | None) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        written = 0
        while written < length:
            size = min(MIB, length - written)
            block = os.urandom(size) if data is None else (data * (size // max(1, len(data)) + 1))[
                :size]
            os.pwrite(fd, block, start + written)
            written += size
        os.fsync(fd)
    finally:
        os.close(fd)


def _dirtier(dirty_json: str | None, start: int, length: int) -> str | None:
    """The dirty chunk set after a write; unknown stays unknown (the next snapshot reads all)."""
    if dirty_json is None:
        return None
    chunks = set(json.loads(dirty_json))
    chunks.update(range(start // CHUNK_SIZE, (start + length - 1) // CHUNK_SIZE + 1))
    return json.dumps(sorted(chunks))


def _volume(row: Row[Any]) -> Volume:
    return Volume(
        id=row.id, name=row.name, project_id=row.project_id, size_gb=row.size_gb,
        volume_type=row.volume_type, status=row.status, host=row.host, server_id=row.server_id,
        device=row.device, snapshot_id=row.snapshot_id, created_at=row.created_at,
        updated_at=row.updated_at)


def _snapshot(row: Row[Any]) -> VolumeSnapshot:
    return VolumeSnapshot(
        id=row.id, name=row.name, project_id=row.project_id, volume_id=row.volume_id,
        size_gb=row.size_gb, status=row.status, created_at=row.created_at,
        stored_bytes=row.stored_bytes, content_sha256=row.content_sha256)


# ---- Cinder's notifications ------------------------------------------------------------------


def _volume_message(event_type: str, row: Row[Any], at: datetime,
                    status: str | None = None) -> dict[str, Any]:
    attachments = [] if row.server_id is None else [
        {"instance_uuid": row.server_id, "mountpoint": row.device, "attach_status": "attached"}]
    payload = {
        "tenant_id": row.project_id, "user_id": row.user_id, "volume_id": row.id,
        "display_name": row.name, "size": row.size_gb, "volume_type": row.volume_type,
        "status": status or row.status, "created_at": iso_z(row.created_at),
        "launched_at": iso_z(row.created_at), "host": f"{row.host}@island#{row.volume_type}",
        "availability_zone": "nova", "snapshot_id": row.snapshot_id, "replication_status": None,
        "volume_attachment": attachments, "metadata": [],
    }
    return cinder_message(event_type, payload, row.project_id, row.user_id, row.host, at)


def _snapshot_message(event_type: str, snap: Row[Any], volume: Row[Any] | None,
                      at: datetime) -> dict[str, Any]:
    payload = {
        "tenant_id": snap.project_id, "user_id": snap.user_id, "snapshot_id": snap.id,
        "display_name": snap.name, "volume_id": snap.volume_id, "volume_size": snap.size_gb,
        "status": "deleted" if event_type.endswith("delete.end") else snap.status,
        "created_at": iso_z(snap.created_at), "deleted": "", "metadata": "",
        "availability_zone": "nova", "stored_bytes": snap.stored_bytes,
    }
    host = volume.host if volume is not None else "controller"
    return cinder_message(event_type, payload, snap.project_id, snap.user_id, host, at)


def cinder_message(event_type: str, payload: dict[str, Any], project_id: str, user_id: str,
                   host: str, at: datetime) -> dict[str, Any]:
    """One legacy Cinder notification, as cinder-volume publishes it on `notifications.info`."""
    message = context(project_id, user_id, f"req-{uuid.uuid4()}", at)
    message["_context_tenant"] = project_id
    message.update({
        "_exchange": "cinder", "_routing_key": "notifications.info", "event_type": event_type,
        "message_id": str(uuid.uuid4()), "payload": payload, "priority": "INFO",
        "publisher_id": f"volume.{host}@island", "timestamp": oslo_timestamp(at),
    })
    return message
