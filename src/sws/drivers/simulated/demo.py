"""`run_demo`: fast-forward a busy simulated region hour by hour on a SimulatedClock.

Each hour, every project acts a few times at random minutes: it creates servers up to its own
target, stops and starts them, resizes (then confirms or sometimes reverts), shelves and
unshelves, snapshots, moves floating IPs, and deletes. Errors a real tenant would meet (quota,
no valid host, a task still running) are counted in the summary, never raised.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sws.clock import SimulatedClock
from sws.drivers.base import (
    Flavor,
    FloatingIP,
    Server,
    ServerActionName,
    ServerCreate,
    ServerFilter,
)
from sws.drivers.simulated.catalog import FLAVORS, FLAVORS_BY_ID, IMAGE_SEEDS, seeded_id
from sws.drivers.simulated.region import SimulatedRegion
from sws.drivers.simulated.scheduler import NO_VALID_HOST
from sws.errors import Conflict, Invalid, NotFound, QuotaExceeded, SWSError

HourCallback = Callable[[int, datetime], object]

# How often tenants pick each flavor for a new server: mostly small ones, like a real cloud.
_FLAVOR_WEIGHTS = {"1": 25, "2": 35, "3": 20, "6": 10, "7": 5, "4": 4, "5": 1}
_NAMES = ("web", "db", "cache", "worker", "api", "build", "mq", "search")


@dataclass(slots=True)
class DemoSummary:
    """What happened during a demo run; equal for equal seeds."""

    hours: int = 0
    actions: int = 0
    instances_created: int = 0
    instances_deleted: int = 0
    resized: int = 0
    resize_confirmed: int = 0
    resize_reverted: int = 0
    stopped: int = 0
    started: int = 0
    rebooted: int = 0
    shelved: int = 0
    unshelved: int = 0
    snapshots: int = 0
    floating_ips_allocated: int = 0
    floating_ips_associated: int = 0
    floating_ips_released: int = 0
    tasks_completed: int = 0
    notifications: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def count_error(self, error: SWSError) -> None:
        kind = _error_kind(error)
        self.errors[kind] = self.errors.get(kind, 0) + 1


def _error_kind(error: SWSError) -> str:
    if isinstance(error, QuotaExceeded):
        return "quota_exceeded"
    if isinstance(error, Conflict):
        return "no_valid_host" if error.detail == NO_VALID_HOST else "conflict"
    if isinstance(error, Invalid):
        return "invalid"
    if isinstance(error, NotFound):
        return "not_found"
    return type(error).__name__.lower()


@dataclass(frozen=True, slots=True)
class _Tenant:
    project_id: str
    user_id: str
    target_servers: int


def run_demo(
    *,
    region: SimulatedRegion,
    clock: SimulatedClock,
    project_ids: Sequence[str],
    user_id_for: Callable[[str], str],
    days: int,
    rng: random.Random,
    on_hour: HourCallback | None = None,
    actions_per_project_per_day: float = 4.0,
) -> DemoSummary:
    """Run `days` simulated days; `on_hour(hours_done, now)` is called after every hour."""
    summary = DemoSummary()
    emitted_before = region.notifications_emitted
    tenants = [_Tenant(p, user_id_for(p), rng.randint(2, 6)) for p in project_ids]
    chance = min(1.0, actions_per_project_per_day / 24)
    for hour in range(days * 24):
        _run_hour(region, clock, tenants, rng, chance, summary)
        summary.hours += 1
        if on_hour is not None:
            on_hour(hour + 1, clock.now())
    summary.notifications = region.notifications_emitted - emitted_before
    return summary


def _run_hour(
    region: SimulatedRegion,
    clock: SimulatedClock,
    tenants: Sequence[_Tenant],
    rng: random.Random,
    chance: float,
    summary: DemoSummary,
) -> None:
    start = clock.now()
    plan = sorted(
        (rng.randrange(3600), index) for index in range(len(tenants)) if rng.random() < chance
    )
    for second, index in plan:
        clock.warp_to(max(clock.now(), start + timedelta(seconds=second)))
        summary.tasks_completed += region.advance()
        _act(region, tenants[index], rng, summary)
    clock.warp_to(start + timedelta(hours=1))
    summary.tasks_completed += region.advance()


def _act(
    region: SimulatedRegion, tenant: _Tenant, rng: random.Random, summary: DemoSummary
) -> None:
    servers = region.list_servers(tenant.project_id, ServerFilter(), 100, None)
    floating = region.list_floating_ips(tenant.project_id)
    summary.actions += 1
    try:
        _choose(region, tenant, servers, floating, rng, summary)
    except SWSError as error:
        summary.count_error(error)


def _choose(
    region: SimulatedRegion,
    tenant: _Tenant,
    servers: Sequence[Server],
    floating: Sequence[FloatingIP],
    rng: random.Random,
    summary: DemoSummary,
) -> None:
    waiting = [s for s in servers if s.status == "VERIFY_RESIZE"]
    if waiting:
        _finish_resize(region, tenant, rng.choice(waiting), rng, summary)
    elif len(servers) < tenant.target_servers and rng.random() < 0.6:
        _create(region, tenant, rng, summary)
    else:
        _act_on_existing(region, tenant, servers, floating, rng, summary)


def _finish_resize(
    region: SimulatedRegion,
    tenant: _Tenant,
    server: Server,
    rng: random.Random,
    summary: DemoSummary,
) -> None:
    if rng.random() < 0.85:
        region.server_action(tenant.project_id, server.id, "confirm_resize")
        summary.resize_confirmed += 1
    else:
        region.server_action(tenant.project_id, server.id, "revert_resize")
        summary.resize_reverted += 1


def _create(
    region: SimulatedRegion, tenant: _Tenant, rng: random.Random, summary: DemoSummary
) -> None:
    seed = rng.choice(IMAGE_SEEDS)
    flavors = [f for f in FLAVORS if f.disk_gb >= seed.min_disk_gb]
    flavor = rng.choices(flavors, weights=[_FLAVOR_WEIGHTS[f.id] for f in flavors])[0]
    spec = ServerCreate(
        name=f"{rng.choice(_NAMES)}-{rng.randrange(100)}",
        flavor_id=flavor.id,
        image_id=seeded_id(region.region, "image", seed.name),
    )
    region.create_servers(tenant.project_id, tenant.user_id, spec)
    summary.instances_created += 1


def _act_on_existing(
    region: SimulatedRegion,
    tenant: _Tenant,
    servers: Sequence[Server],
    floating: Sequence[FloatingIP],
    rng: random.Random,
    summary: DemoSummary,
) -> None:
    idle = [s for s in servers if s.task_state is None]
    choices = _possible_moves(idle, floating)
    if not choices:
        return
    move = rng.choices([name for name, _ in choices], weights=[w for _, w in choices])[0]
    _MOVES[move](region, tenant, idle, floating, rng, summary)


def _possible_moves(
    idle: Sequence[Server], floating: Sequence[FloatingIP]
) -> list[tuple[str, int]]:
    statuses = {s.status for s in idle}
    moves: list[tuple[str, int]] = []
    if "ACTIVE" in statuses:
        moves += [("stop", 10), ("reboot", 4), ("resize", 6), ("shelve", 4), ("snapshot", 1)]
        moves += [("float", 5)] if len(floating) < 2 else []
    if "SHUTOFF" in statuses:
        moves += [("start", 25), ("resize", 2), ("shelve", 3)]
    if "SHELVED_OFFLOADED" in statuses:
        moves += [("unshelve", 20)]
    if idle:
        moves += [("delete", 6)]
    if floating:
        moves += [("release", 3)]
    return moves


Move = Callable[
    [SimulatedRegion, _Tenant, Sequence[Server], Sequence[FloatingIP], random.Random, DemoSummary],
    None,
]


def _simple(action: ServerActionName, statuses: tuple[str, ...], counter: str) -> Move:
    def move(
        region: SimulatedRegion,
        tenant: _Tenant,
        idle: Sequence[Server],
        floating: Sequence[FloatingIP],
        rng: random.Random,
        summary: DemoSummary,
    ) -> None:
        server = rng.choice([s for s in idle if s.status in statuses])
        region.server_action(tenant.project_id, server.id, action)
        setattr(summary, counter, getattr(summary, counter) + 1)

    return move


def _resize(
    region: SimulatedRegion,
    tenant: _Tenant,
    idle: Sequence[Server],
    floating: Sequence[FloatingIP],
    rng: random.Random,
    summary: DemoSummary,
) -> None:
    server = rng.choice([s for s in idle if s.status in ("ACTIVE", "SHUTOFF")])
    targets = _resize_targets(server.flavor)
    if not targets:
        return
    region.server_action(tenant.project_id, server.id, "resize", rng.choice(targets).id)
    summary.resized += 1


def _resize_targets(current: Flavor) -> list[Flavor]:
    return [
        f
        for f in FLAVORS_BY_ID.values()
        if f.id != current.id and f.disk_gb >= current.disk_gb and f.vcpus <= 4
    ]


def _snapshot(
    region: SimulatedRegion,
    tenant: _Tenant,
    idle: Sequence[Server],
    floating: Sequence[FloatingIP],
    rng: random.Random,
    summary: DemoSummary,
) -> None:
    server = rng.choice([s for s in idle if s.status == "ACTIVE"])
    region.create_snapshot(tenant.project_id, server.id, f"{server.name}-snap")
    summary.snapshots += 1


def _delete(
    region: SimulatedRegion,
    tenant: _Tenant,
    idle: Sequence[Server],
    floating: Sequence[FloatingIP],
    rng: random.Random,
    summary: DemoSummary,
) -> None:
    region.delete_server(tenant.project_id, rng.choice(idle).id)
    summary.instances_deleted += 1


def _float(
    region: SimulatedRegion,
    tenant: _Tenant,
    idle: Sequence[Server],
    floating: Sequence[FloatingIP],
    rng: random.Random,
    summary: DemoSummary,
) -> None:
    bound = {f.server_id for f in floating}
    candidates = [s for s in idle if s.status == "ACTIVE" and s.id not in bound]
    if not candidates:
        return
    free = [f for f in floating if f.server_id is None]
    address = free[0] if free else region.allocate_floating_ip(tenant.project_id)
    summary.floating_ips_allocated += 0 if free else 1
    region.associate_floating_ip(tenant.project_id, address.id, rng.choice(candidates).id)
    summary.floating_ips_associated += 1


def _release(
    region: SimulatedRegion,
    tenant: _Tenant,
    idle: Sequence[Server],
    floating: Sequence[FloatingIP],
    rng: random.Random,
    summary: DemoSummary,
) -> None:
    region.release_floating_ip(tenant.project_id, rng.choice(floating).id)
    summary.floating_ips_released += 1


_MOVES: dict[str, Move] = {
    "stop": _simple("stop", ("ACTIVE",), "stopped"),
    "start": _simple("start", ("SHUTOFF",), "started"),
    "reboot": _simple("reboot", ("ACTIVE",), "rebooted"),
    "shelve": _simple("shelve", ("ACTIVE", "SHUTOFF"), "shelved"),
    "unshelve": _simple("unshelve", ("SHELVED_OFFLOADED",), "unshelved"),
    "resize": _resize,
    "snapshot": _snapshot,
    "delete": _delete,
    "float": _float,
    "release": _release,
}
