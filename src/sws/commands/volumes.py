"""`sws volume`: a tenant's volumes, snapshots and schedules, from the operator's shell."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer

from sws.bootstrap import Container
from sws.commands import common
from sws.drivers.volumes import BlockStorage, VolumeCreate

app = typer.Typer(help="Volumes (local block storage) and their snapshots.",
                  no_args_is_help=True)
Tenant = Annotated[str, typer.Option("--tenant", help="the tenant id the volume belongs to")]
Region = Annotated[str | None, typer.Option(help="the region (default: the first)")]


def _print(value: Any) -> None:
    typer.echo(json.dumps(asdict(value) if not isinstance(value, dict) else value, default=str))


def _storage(region: str | None) -> tuple[Container, BlockStorage]:
    container = common.container()
    return container, common.run(lambda: container.block_storage(region))


def _flush(container: Container, region: str | None) -> None:
    """Notifications reach the events journal before the command exits."""
    runtime = container.regions.get(region or container.default_region)
    if runtime is not None:
        runtime.bus.flush()


@app.command("create")
def create(name: str, size_gb: Annotated[int, typer.Option("--size")], tenant: Tenant,
           volume_type: Annotated[str, typer.Option("--type")] = "local-ssd",
           snapshot: Annotated[str | None, typer.Option(help="restore this snapshot")] = None,
           host: Annotated[str | None, typer.Option(help="the compute host")] = None,
           region: Region = None) -> None:
    """Create a volume, empty or from a snapshot."""
    container, storage = _storage(region)
    volume = common.run(lambda: storage.create_volume(tenant, VolumeCreate(
        name=name, size_gb=size_gb, volume_type=volume_type, snapshot_id=snapshot, host=host)))
    _flush(container, region)
    _print(volume)


@app.command("list")
def list_volumes(tenant: Tenant, region: Region = None) -> None:
    """The tenant's volumes, one JSON object a line."""
    _, storage = _storage(region)
    for volume in common.run(lambda: storage.list_volumes(tenant)):
        _print(volume)


@app.command("show")
def show(volume_id: str, tenant: Tenant, region: Region = None) -> None:
    _, storage = _storage(region)
    _print(common.run(lambda: storage.get_volume(tenant, volume_id)))


@app.command("attach")
def attach(volume_id: str, server_id: str, tenant: Tenant, region: Region = None) -> None:
    """Attach to an instance on the volume's host."""
    container, storage = _storage(region)
    _print(common.run(lambda: storage.attach_volume(tenant, volume_id, server_id)))
    _flush(container, region)


@app.command("detach")
def detach(volume_id: str, tenant: Tenant, region: Region = None) -> None:
    container, storage = _storage(region)
    _print(common.run(lambda: storage.detach_volume(tenant, volume_id)))
    _flush(container, region)


@app.command("extend")
def extend(volume_id: str, size_gb: Annotated[int, typer.Option("--size")], tenant: Tenant,
           region: Region = None) -> None:
    """Grow a volume (never shrink it)."""
    container, storage = _storage(region)
    _print(common.run(lambda: storage.extend_volume(tenant, volume_id, size_gb)))
    _flush(container, region)


@app.command("delete")
def delete(volume_id: str, tenant: Tenant, region: Region = None) -> None:
    """Delete a detached volume; its snapshots stay."""
    container, storage = _storage(region)
    common.run(lambda: storage.delete_volume(tenant, volume_id))
    _flush(container, region)
    _print({"deleted": volume_id})


@app.command("snapshot")
def snapshot(volume_id: str, tenant: Tenant, name: str = "", region: Region = None) -> None:
    """Take an Island snapshot now."""
    container, storage = _storage(region)
    _print(common.run(lambda: storage.create_volume_snapshot(
        tenant, volume_id, name or f"snapshot-{volume_id[:8]}")))
    _flush(container, region)


@app.command("snapshots")
def snapshots(tenant: Tenant, volume: Annotated[str | None, typer.Option()] = None,
              delete: Annotated[str | None, typer.Option(help="delete this snapshot")] = None,
              region: Region = None) -> None:
    """The tenant's volume snapshots (of one volume with --volume); --delete ID deletes one."""
    container, storage = _storage(region)
    if delete is not None:
        common.run(lambda: storage.delete_volume_snapshot(tenant, delete))
        _flush(container, region)
        _print({"deleted": delete})
        return
    for snap in common.run(lambda: storage.list_volume_snapshots(tenant, volume)):
        _print(snap)


@app.command("schedule")
def schedule(volume_id: str, tenant: Tenant,
             daily: Annotated[int | None, typer.Option(help="daily snapshots kept")] = None,
             weekly: Annotated[int, typer.Option(help="weekly snapshots kept")] = 0,
             off: Annotated[bool, typer.Option(help="remove the schedule")] = False,
             region: Region = None) -> None:
    """Show the volume's snapshot schedule; --daily N [--weekly M] sets it, --off removes it."""
    container = common.container()
    schedules = container.volume_schedules
    assert schedules is not None
    if off:
        common.run(lambda: schedules.remove(tenant_id=tenant, volume_id=volume_id))
        _print({"removed": volume_id})
    elif daily is not None:
        _print(common.run(lambda: schedules.set(
            tenant_id=tenant, region=region or container.default_region, volume_id=volume_id,
            daily_keep=daily, weekly_keep=weekly)))
    else:
        _print(common.run(lambda: schedules.get(tenant_id=tenant, volume_id=volume_id)))
