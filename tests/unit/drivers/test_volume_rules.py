"""A hypothesis test of the volume rules: any sequence of create, attach, detach, extend and
delete answers exactly as a model of Cinder's rules with Island's same-host trade-off says."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sws.clock import SimulatedClock
from sws.drivers.base import Server
from sws.drivers.simulated import SimulatedRegion
from sws.drivers.simulated.volumes import SimulatedBlockStorage, VolumeQuota
from sws.drivers.volumes import VolumeCreate
from sws.errors import Conflict, Invalid, SWSError
from sws_island.store import MemoryStore
from tests.budget import examples

from .conftest import PROJECT, ListBus, boot

Op = tuple[str, int, int]  # (action, volume slot, argument)
OPS = st.lists(st.tuples(
    st.sampled_from(["create", "attach", "detach", "extend", "delete"]),
    st.integers(0, 2), st.integers(0, 3)), max_size=14)


@dataclass
class Expected:
    size: int
    host: str
    server: str | None = None


def _expected_error(op: Op, model: dict[int, Expected], servers: list[Server]) -> type | None:
    action, slot, arg = op
    volume = model.get(slot)
    if action == "create":
        return None
    if volume is None:
        return None  # nothing to act on: the step is skipped
    if action == "attach":
        server = servers[arg % len(servers)]
        return Conflict if volume.server or server.host != volume.host else None
    if action == "detach":
        return Conflict if volume.server is None else None
    if action == "extend":
        return Invalid if volume.size + arg - 1 <= volume.size else None
    return Conflict if volume.server else None  # delete


def _apply(volumes: SimulatedBlockStorage, op: Op, model: dict[int, Expected],
           ids: dict[int, str], servers: list[Server], hosts: list[str]) -> None:
    action, slot, arg = op
    if action == "create":
        made = volumes.create_volume(PROJECT, VolumeCreate("v", 1, host=hosts[arg % 2]))
        ids[slot], model[slot] = made.id, Expected(size=1, host=hosts[arg % 2])
        return
    if slot not in model:
        return
    volume, volume_id = model[slot], ids[slot]
    if action == "attach":
        server = servers[arg % len(servers)]
        volumes.attach_volume(PROJECT, volume_id, server.id)
        volume.server = server.id
    elif action == "detach":
        volumes.detach_volume(PROJECT, volume_id)
        volume.server = None
    elif action == "extend":
        volume.size = volumes.extend_volume(PROJECT, volume_id, volume.size + arg - 1).size_gb
    else:
        volumes.delete_volume(PROJECT, volume_id)
        del model[slot]


def test_volume_rules_hold_for_any_sequence(
    region: SimulatedRegion, tmp_path: Path, clock: SimulatedClock, bus: ListBus
) -> None:
    servers = [boot(region, clock, name=f"web-{n}") for n in range(3)]
    hosts = sorted({str(s.host) for s in servers} | {"compute-01", "compute-02"})[:2]
    volumes = SimulatedBlockStorage(
        region="sim-1", db=region._db, clock=clock, bus=bus, data_dir=tmp_path / "v",
        store=MemoryStore(), limits=lambda _p: VolumeQuota(volumes=10_000, volume_gb=10**6))

    @settings(max_examples=examples(25), deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ops=OPS)
    def run(ops: list[Op]) -> None:
        model: dict[int, Expected] = {}
        ids: dict[int, str] = {}
        for op in ops:
            expected = _expected_error(op, model, servers)
            try:
                _apply(volumes, op, model, ids, servers, hosts)
            except SWSError as error:
                assert type(error) is expected, (op, error.detail)
            else:
                assert expected is None, op
        for slot, want in model.items():
            got = volumes.get_volume(PROJECT, ids[slot])
            assert (got.size_gb, got.host, got.server_id) == (want.size, want.host, want.server)
            assert got.status == ("in-use" if want.server else "available")
            assert volumes.path_of(got.id).stat().st_size == want.size * 1024**3

    run()
