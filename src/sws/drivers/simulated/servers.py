"""Server use cases of the simulated region: create, actions, and the tasks that finish later."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select

from sws.drivers.base import Flavor, KeyPair, Quota, ServerCreate
from sws.drivers.simulated import quotas
from sws.drivers.simulated import repository as repo
from sws.drivers.simulated.catalog import FLAVORS_BY_ID
from sws.drivers.simulated.network import release_server_ports
from sws.drivers.simulated.notifications import (
    Fault,
    InstanceFacts,
    action_payload,
    create_payload,
    nova_message,
    rebuild_payload,
    resize_prep_payload,
    snapshot_payload,
)
from sws.drivers.simulated.repository import Txn
from sws.drivers.simulated.scheduler import AllocationRatios, place_many, select_host
from sws.drivers.simulated.states import (
    ACTIVE,
    BUILDING,
    DELETED,
    ERROR,
    PENDING,
    RESIZED,
    RUNNING,
    SHELVED,
    SHELVED_OFFLOADED,
    SHUTDOWN,
    STOPPED,
    TASK_OF_ACTION,
    ensure_allowed,
)
from sws.drivers.simulated.tables import sim_images, sim_servers
from sws.errors import Conflict, Invalid, QuotaExceeded

PayloadBuilder = Callable[[InstanceFacts], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ComputeSettings:
    """How the region's compute behaves: task length, overcommit, quotas, build failures."""

    task_seconds: float
    ratios: AllocationRatios
    quota: Quota
    build_failure_rate: float
    rng: random.Random

    def due(self, start: datetime) -> datetime:
        return start + timedelta(seconds=self.task_seconds)


# ---- notifications ---------------------------------------------------------------------------


def emit(
    txn: Txn,
    event_type: str,
    row: Row[Any],
    build: PayloadBuilder = action_payload,
    **overrides: Any,
) -> None:
    """Queue a Nova notification about `row` (optionally as it looked a moment earlier)."""
    instance = replace(repo.facts(row), **overrides)
    txn.outbox.append(nova_message(event_type, build(instance), instance, txn.now))


def set_and_emit(
    txn: Txn,
    row: Row[Any],
    event_type: str,
    *,
    build: PayloadBuilder = action_payload,
    keypair: KeyPair | None = None,
    **values: Any,
) -> Row[Any]:
    """Write the new state, then announce it: the order Nova's compute manager follows."""
    repo.update_server(txn, row.id, **values)
    fresh = repo.reload_server(txn, row.id)
    emit(txn, event_type, fresh, build, keypair=keypair)
    return fresh


def snapshot_builder(image_id: str) -> PayloadBuilder:
    return lambda instance: snapshot_payload(instance, image_id)


# ---- create ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BuildRequest:
    flavor: Flavor
    image_id: str
    keypair: KeyPair | None
    security_groups: tuple[str, ...]


def check_quota(
    txn: Txn, quota: Quota, project_id: str, instances: int, cores: int, ram_mb: int
) -> None:
    """Raise QuotaExceeded, worded like Nova, if the request would pass a compute limit."""
    usage = repo.compute_usage(txn, project_id)
    wanted = (
        ("instances", instances, usage.instances, quota.instances),
        ("cores", cores, usage.cores, quota.cores),
        ("ram", ram_mb, usage.ram_mb, quota.ram_mb),
    )
    for name, requested, used, limit in wanted:
        if requested > 0 and used + requested > limit:
            raise QuotaExceeded(
                f"Quota exceeded for {name}: Requested {requested}, but already used "
                f"{used} of {limit} {name}"
            )


def validate_image_fits(txn: Txn, project_id: str, image_id: str, chosen: Flavor) -> None:
    image = repo.image_row(txn, project_id, image_id)
    if image is None:
        raise Invalid(f"Image {image_id} could not be found.", field="image_id")
    if image.status != "active":
        raise Invalid(f"Image {image_id} is not active.", field="image_id")
    if chosen.disk_gb < image.min_disk_gb:
        raise Invalid(
            f"Flavor's disk is too small for requested image. Flavor disk is "
            f"{chosen.disk_gb} GB, minimum disk is {image.min_disk_gb} GB.",
            field="flavor_id",
        )
    if chosen.ram_mb < image.min_ram_mb:
        raise Invalid("Flavor's memory is too small for requested image.", field="flavor_id")


def lookup_flavor(flavor_id: str | None) -> Flavor:
    chosen = FLAVORS_BY_ID.get(flavor_id or "")
    if chosen is None:
        raise Invalid(f"Flavor {flavor_id} could not be found.", field="flavor_id")
    return chosen


def validate_spec(spec: ServerCreate) -> None:
    if not spec.name.strip() or len(spec.name) > 255:
        raise Invalid("Server name must be 1 to 255 characters, not blank.", field="name")


def create(
    txn: Txn,
    settings: ComputeSettings,
    project_id: str,
    user_id: str,
    spec: ServerCreate,
    request: BuildRequest,
) -> list[str]:
    """Place and insert `spec.count` servers, or raise before writing anything."""
    chosen = request.flavor
    check_quota(
        txn,
        quotas.project_quota(txn, project_id, settings.quota),
        project_id,
        spec.count,
        chosen.vcpus * spec.count,
        chosen.ram_mb * spec.count,
    )
    hosts = place_many(repo.host_states(txn), chosen, spec.count, settings.ratios)
    first = repo.next_number(txn)
    request_id = f"req-{uuid.uuid4()}"
    reservation = f"r-{uuid.uuid4().hex[:8]}"
    ids = []
    for index, host in enumerate(hosts):
        name = spec.name if spec.count == 1 else f"{spec.name}-{index + 1}"
        values = _new_server(txn, settings, project_id, user_id, name, first + index, host)
        values.update(
            flavor_id=chosen.id,
            image_id=request.image_id,
            key_name=request.keypair.name if request.keypair else None,
            security_groups=json.dumps(list(request.security_groups)),
            request_id=request_id,
            reservation_id=reservation,
        )
        txn.conn.execute(sim_servers.insert().values(**values))
        txn.note_due(values["task_due_at"])
        fresh = repo.reload_server(txn, values["id"])
        emit(txn, "instance.create.start", fresh, create_payload, keypair=request.keypair)
        ids.append(values["id"])
    return ids


def _new_server(
    txn: Txn,
    settings: ComputeSettings,
    project_id: str,
    user_id: str,
    name: str,
    number: int,
    host: str,
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "region": txn.region,
        "number": number,
        "project_id": project_id,
        "user_id": user_id,
        "name": name,
        "vm_state": BUILDING,
        "task_state": "spawning",
        "power_state": PENDING,
        "host": host,
        "fixed_ip": f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}",
        "mac": f"fa:16:3e:{(number >> 16) & 255:02x}:{(number >> 8) & 255:02x}:{number & 255:02x}",
        "task_due_at": settings.due(txn.now),
        "created_at": txn.now,
        "updated_at": txn.now,
    }


# ---- actions ---------------------------------------------------------------------------------


def begin_task(txn: Txn, settings: ComputeSettings, row: Row[Any], action: str) -> Row[Any]:
    """Put the server in the action's task_state and announce `<action>.start`."""
    task = TASK_OF_ACTION[action]
    event = _START_EVENTS[action]
    return set_and_emit(txn, row, event, task_state=task, task_due_at=settings.due(txn.now))


_START_EVENTS = {
    "stop": "instance.power_off.start",
    "start": "instance.power_on.start",
    "reboot": "instance.reboot.start",
    "revert_resize": "instance.resize_revert.start",
    "shelve": "instance.shelve.start",
}


def resize(txn: Txn, settings: ComputeSettings, row: Row[Any], flavor_id: str | None) -> Row[Any]:
    """Claim the new flavor on a destination now; the migration finishes when the task is due."""
    ensure_allowed("resize", row.id, row.vm_state, row.task_state)
    new, old = lookup_flavor(flavor_id), repo.flavor(row.flavor_id)
    _check_resize(txn, settings, row, new, old)
    destination = select_host(repo.host_states(txn), new, settings.ratios)
    for event in ("instance.resize_prep.start", "instance.resize_prep.end"):
        emit(txn, event, row, lambda f: resize_prep_payload(f, new), task_state="resize_prep")
    return set_and_emit(
        txn,
        row,
        "instance.resize.start",
        flavor_id=new.id,
        old_flavor_id=old.id,
        host=destination,
        source_host=row.host,
        task_state="resize_migrating",
        task_due_at=settings.due(txn.now),
    )


def _check_resize(
    txn: Txn, settings: ComputeSettings, row: Row[Any], new: Flavor, old: Flavor
) -> None:
    if new.id == old.id:
        raise Invalid("When resizing, instances must change flavor!", field="flavor_id")
    if new.disk_gb < old.disk_gb:
        raise Invalid("Resize to a flavor with a smaller disk is not allowed.", field="flavor_id")
    validate_image_fits_resize(txn, row, new)
    check_quota(
        txn,
        quotas.project_quota(txn, row.project_id, settings.quota),
        row.project_id,
        0,
        new.vcpus - old.vcpus,
        new.ram_mb - old.ram_mb,
    )


def validate_image_fits_resize(txn: Txn, row: Row[Any], new: Flavor) -> None:
    query = select(sim_images.c.min_disk_gb).where(sim_images.c.id == row.image_id)
    min_disk = txn.conn.execute(query).scalar()
    if min_disk is not None and new.disk_gb < min_disk:
        raise Invalid("Flavor's disk is too small for requested image.", field="flavor_id")


def confirm_resize(txn: Txn, row: Row[Any]) -> Row[Any]:
    """Release the source host at once, as Nova's confirm does."""
    ensure_allowed("confirm_resize", row.id, row.vm_state, row.task_state)
    emit(txn, "instance.resize_confirm.start", row)
    return set_and_emit(
        txn,
        row,
        "instance.resize_confirm.end",
        vm_state=_settled_state(row),
        old_flavor_id=None,
        source_host=None,
    )


def _settled_state(row: Row[Any]) -> str:
    return STOPPED if row.power_state == SHUTDOWN else ACTIVE


def unshelve(txn: Txn, settings: ComputeSettings, row: Row[Any]) -> Row[Any]:
    ensure_allowed("unshelve", row.id, row.vm_state, row.task_state)
    host = row.host or select_host(
        repo.host_states(txn), repo.flavor(row.flavor_id), settings.ratios
    )
    return set_and_emit(
        txn,
        row,
        "instance.unshelve.start",
        host=host,
        task_state="unshelving",
        task_due_at=settings.due(txn.now),
    )


def snapshot(txn: Txn, settings: ComputeSettings, row: Row[Any], name: str) -> str:
    """Insert a private snapshot image in `saving`; it turns `active` when the task is due."""
    ensure_allowed("createImage", row.id, row.vm_state, row.task_state)
    if not name.strip() or len(name) > 255:
        raise Invalid("Snapshot name must be 1 to 255 characters, not blank.", field="name")
    image_id = str(uuid.uuid4())
    txn.conn.execute(sim_images.insert().values(**_snapshot_image(txn, row, image_id, name)))
    set_and_emit(
        txn,
        row,
        "instance.snapshot.start",
        build=snapshot_builder(image_id),
        task_state="image_snapshot",
        task_due_at=settings.due(txn.now),
    )
    return image_id


def rename(txn: Txn, row: Row[Any], name: str) -> None:
    """Nova's `PUT /servers/{id}`: any state but deleting. (Nova also sends an
    `instance.update`, which SWS's events ignore; the region does not simulate it.)"""
    if row.task_state == "deleting":
        raise Conflict(f"Cannot 'update' instance {row.id} while it is in task_state deleting")
    if not name.strip() or len(name) > 255:
        raise Invalid("Server name must be 1 to 255 characters, not blank.", field="name")
    repo.update_server(txn, row.id, name=name)


def rebuild(txn: Txn, settings: ComputeSettings, row: Row[Any], image_id: str) -> Row[Any]:
    """Take the new image now and announce `rebuild.start`; the guest is reinstalled when the
    task is due. The id, the host, the fixed IP and the flavor stay."""
    ensure_allowed("rebuild", row.id, row.vm_state, row.task_state)
    if row.host is None:  # never placed: Nova has no compute host to rebuild it on
        raise Conflict(f"Cannot 'rebuild' instance {row.id} while it is in vm_state {row.vm_state}")
    try:
        validate_image_fits(txn, row.project_id, image_id, repo.flavor(row.flavor_id))
    except Invalid as error:
        raise Invalid(error.detail, field="image_id") from None
    return set_and_emit(
        txn,
        row,
        "instance.rebuild.start",
        build=rebuild_payload,
        image_id=image_id,
        task_state=TASK_OF_ACTION["rebuild"],
        task_due_at=settings.due(txn.now),
    )


def _snapshot_image(txn: Txn, row: Row[Any], image_id: str, name: str) -> dict[str, Any]:
    query = select(sim_images.c.size_bytes, sim_images.c.min_ram_mb).where(
        sim_images.c.id == row.image_id
    )
    source = txn.conn.execute(query).first()
    return {
        "id": image_id,
        "region": txn.region,
        "name": name,
        "status": "saving",
        "min_disk_gb": repo.flavor(row.flavor_id).disk_gb,
        "min_ram_mb": source.min_ram_mb if source else 0,
        "size_bytes": int(source.size_bytes * 1.2) if source else 1024**3,
        "visibility": "private",
        "owner_project_id": row.project_id,
        "image_type": "snapshot",
        "source_server_id": row.id,
        "created_at": txn.now,
        "updated_at": txn.now,
    }


def delete(txn: Txn, settings: ComputeSettings, row: Row[Any]) -> None:
    """Nova deletes whatever the instance is doing; with no host it deletes locally at once."""
    if row.task_state == "deleting":
        return
    fresh = set_and_emit(
        txn,
        row,
        "instance.delete.start",
        task_state="deleting",
        task_due_at=settings.due(txn.now),
    )
    if fresh.host is None:
        finish_delete(txn, settings, fresh)


# ---- task completion -------------------------------------------------------------------------


def complete(txn: Txn, settings: ComputeSettings, row: Row[Any]) -> None:
    """Finish the task that fell due on `row`; `txn.now` is the moment it fell due."""
    _FINISHERS[row.task_state](txn, settings, row)


def finish_build(txn: Txn, settings: ComputeSettings, row: Row[Any]) -> None:
    if settings.build_failure_rate > 0 and settings.rng.random() < settings.build_failure_rate:
        _fail_build(txn, row)
        return
    set_and_emit(
        txn,
        row,
        "instance.create.end",
        build=create_payload,
        keypair=_keypair_of(txn, row),
        vm_state=ACTIVE,
        task_state=None,
        power_state=RUNNING,
        launched_at=txn.now,
        task_due_at=None,
    )


def _keypair_of(txn: Txn, row: Row[Any]) -> KeyPair | None:
    if row.key_name is None:
        return None
    found = repo.keypair_row(txn, row.project_id, row.key_name)
    return repo.to_keypair(found) if found else None


def _fail_build(txn: Txn, row: Row[Any]) -> None:
    fault = Fault(
        exception="BuildAbortException",
        message=f"Build of instance {row.id} aborted: Failed to spawn on {row.host}.",
    )
    keypair = _keypair_of(txn, row)
    emit(
        txn,
        "instance.create.error",
        row,
        create_payload,
        keypair=keypair,
        task_state=None,
        fault=fault,
    )
    repo.update_server(
        txn,
        row.id,
        vm_state=ERROR,
        task_state=None,
        power_state=PENDING,
        host=None,
        fault=repo.dump_fault(fault),
        task_due_at=None,
    )


def _finish_simple(vm_state: str, power_state: str, event: str) -> Finisher:
    def finish(txn: Txn, settings: ComputeSettings, row: Row[Any]) -> None:
        set_and_emit(
            txn,
            row,
            event,
            vm_state=vm_state,
            power_state=power_state,
            task_state=None,
            task_due_at=None,
        )

    return finish


def finish_resize(txn: Txn, settings: ComputeSettings, row: Row[Any]) -> None:
    """resize.end, then resize_finish.start/.end carrying the new flavor and a new launched_at."""
    emit(txn, "instance.resize.end", row, task_state="resize_migrated")
    emit(
        txn,
        "instance.resize_finish.start",
        row,
        task_state="resize_finish",
        flavor=repo.flavor(row.flavor_id),
        host=row.host,
    )
    set_and_emit(
        txn,
        row,
        "instance.resize_finish.end",
        vm_state=RESIZED,
        task_state=None,
        launched_at=txn.now,
        task_due_at=None,
    )


def finish_revert(txn: Txn, settings: ComputeSettings, row: Row[Any]) -> None:
    set_and_emit(
        txn,
        row,
        "instance.resize_revert.end",
        vm_state=_settled_state(row),
        flavor_id=row.old_flavor_id,
        host=row.source_host,
        old_flavor_id=None,
        source_host=None,
        task_state=None,
        launched_at=txn.now,
        task_due_at=None,
    )


def finish_shelve(txn: Txn, settings: ComputeSettings, row: Row[Any]) -> None:
    """Shelved, then offloaded straight away (shelved_offload_time = 0), as a second task."""
    fresh = set_and_emit(
        txn,
        row,
        "instance.shelve.end",
        vm_state=SHELVED,
        power_state=SHUTDOWN,
        task_state="shelving_offloading",
        task_due_at=settings.due(txn.now),
    )
    emit(txn, "instance.shelve_offload.start", fresh)


def finish_offload(txn: Txn, settings: ComputeSettings, row: Row[Any]) -> None:
    set_and_emit(
        txn,
        row,
        "instance.shelve_offload.end",
        vm_state=SHELVED_OFFLOADED,
        host=None,
        task_state=None,
        task_due_at=None,
    )


def finish_unshelve(txn: Txn, settings: ComputeSettings, row: Row[Any]) -> None:
    set_and_emit(
        txn,
        row,
        "instance.unshelve.end",
        vm_state=ACTIVE,
        power_state=RUNNING,
        task_state=None,
        launched_at=txn.now,
        task_due_at=None,
    )


def finish_snapshot(txn: Txn, settings: ComputeSettings, row: Row[Any]) -> None:
    """The newest snapshot of the server turns active (unless deleted while saving)."""
    query = (
        select(sim_images.c.id)
        .where(sim_images.c.source_server_id == row.id)
        .order_by(sim_images.c.created_at.desc())
        .limit(1)
    )
    image_id = txn.conn.execute(query).scalar_one()
    txn.conn.execute(
        sim_images.update()
        .where(sim_images.c.id == image_id, sim_images.c.status == "saving")
        .values(status="active", updated_at=txn.now)
    )
    set_and_emit(
        txn,
        row,
        "instance.snapshot.end",
        build=snapshot_builder(image_id),
        task_state=None,
        task_due_at=None,
    )


def finish_rebuild(txn: Txn, settings: ComputeSettings, row: Row[Any]) -> None:
    """Running on the new image with a new launched_at; an instance that was stopped is
    stopped again (Nova's power_off, inside the rebuild), and `rebuild.end` comes last."""
    was_stopped = row.vm_state == STOPPED
    repo.update_server(
        txn,
        row.id,
        vm_state=ACTIVE,
        task_state=None,
        power_state=RUNNING,
        launched_at=txn.now,
        fault=None,
        task_due_at=None,
    )
    fresh = repo.reload_server(txn, row.id)
    if was_stopped:
        fresh = set_and_emit(txn, fresh, "instance.power_off.start", task_state="powering-off")
        fresh = set_and_emit(
            txn,
            fresh,
            "instance.power_off.end",
            vm_state=STOPPED,
            power_state=SHUTDOWN,
            task_state=None,
        )
    emit(txn, "instance.rebuild.end", fresh, rebuild_payload)


def finish_delete(txn: Txn, settings: ComputeSettings, row: Row[Any]) -> None:
    """Gone from the API, kept as history; its floating IPs come loose, as Neutron does."""
    release_server_ports(txn, row)
    set_and_emit(
        txn,
        row,
        "instance.delete.end",
        vm_state=DELETED,
        task_state=None,
        power_state=PENDING,
        terminated_at=txn.now,
        deleted_at=txn.now,
        task_due_at=None,
    )


Finisher = Callable[[Txn, ComputeSettings, Row[Any]], None]

_FINISHERS: dict[str, Finisher] = {
    "spawning": finish_build,
    "powering-off": _finish_simple(STOPPED, SHUTDOWN, "instance.power_off.end"),
    "powering-on": _finish_simple(ACTIVE, RUNNING, "instance.power_on.end"),
    "rebooting": _finish_simple(ACTIVE, RUNNING, "instance.reboot.end"),
    "resize_migrating": finish_resize,
    "resize_reverting": finish_revert,
    "shelving": finish_shelve,
    "shelving_offloading": finish_offload,
    "unshelving": finish_unshelve,
    "image_snapshot": finish_snapshot,
    "rebuilding": finish_rebuild,
    "deleting": finish_delete,
}
