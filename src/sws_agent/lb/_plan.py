"""What the running worker holds (`Live`), and the runtime commands that take it to a desired
state (`plan`), or the reason only a reload can."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from sws.loadbalancer.model import DesiredState, LoadBalancer, Member
from sws.loadbalancer.renderer import (
    Backend,
    Rendered,
    server_args,
    server_name,
    wanted_hosts,
    wanted_ports,
)


@dataclass
class Live:
    """What the running worker holds, as far as the agent has changed it."""

    backends: dict[str, Backend]  # name -> backend (servers as last applied)
    hosts: dict[str, str]
    ports: dict[int, str]
    version: int = -1

    @classmethod
    def from_render(cls, rendered: Rendered, version: int) -> Live:
        return cls(
            {b.name: b for b in rendered.backends},
            dict(rendered.hosts),
            {int(k): v for k, v in rendered.ports.items()},
            version,
        )

    def backend_of(self, lb_id: str) -> Backend | None:
        for backend in self.backends.values():
            if backend.lb_id == lb_id:
                return backend
        return None

    def free_spare(self, lb: LoadBalancer) -> Backend | None:
        for name in sorted(self.backends, key=_spare_order):
            backend = self.backends[name]
            if backend.lb_id is None and not backend.members and backend.shape == lb.shape:
                return backend
        return None


def _spare_order(name: str) -> tuple[int, str]:
    return (0 if name.startswith("spare_") else 1, name)


@dataclass
class Plan:
    """Runtime commands in order, or a reload; `backends` is the live state afterwards."""

    commands: list[str] = field(default_factory=list)
    reload_reason: str | None = None
    backends: dict[str, Backend] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)
    ports: dict[int, str] = field(default_factory=dict)


def plan(live: Live, state: DesiredState, maps: tuple[Path, Path]) -> Plan:
    """The runtime commands that take `live` to `state`, or the reason a reload is needed."""
    hosts_map, ports_map = maps
    out = Plan(backends=dict(live.backends))
    wanted = {lb.id: lb for lb in state.loadbalancers}
    removals: list[str] = []
    for backend in live.backends.values():
        if backend.lb_id is not None and backend.lb_id not in wanted:
            for member in backend.members:
                removals += _del_server(f"{backend.name}/{server_name(member)}")
            out.backends[backend.name] = replace(backend, members=(), lb_id=None)
    targets: dict[str, str] = {}
    owned = {b.lb_id: b for b in live.backends.values() if b.lb_id is not None}
    for lb in state.loadbalancers:
        reason = _plan_lb(out, live, lb, targets, owned.get(lb.id))
        if reason:
            return Plan(reload_reason=reason)
    out.hosts, out.ports = wanted_hosts(state, targets), wanted_ports(state, targets)
    out.commands += _map_commands(hosts_map, live.hosts, out.hosts)
    out.commands += _map_commands(ports_map, live.ports, out.ports)
    out.commands += removals
    return out


def _plan_lb(
    out: Plan, live: Live, lb: LoadBalancer, targets: dict[str, str], backend: Backend | None
) -> str | None:
    """`backend`: the one serving `lb` now, if any (looked up once per plan, not per LB)."""
    if backend is not None and _unchanged(backend, lb):
        targets[lb.id] = backend.name  # the common case: nothing to do for this LB
        return None
    if backend is None:
        backend = live.free_spare(lb)
        if backend is None:
            return f"no spare backend of shape {lb.shape} for load balancer {lb.id}"
        backend = replace(backend, lb_id=lb.id)
        live.backends[backend.name] = replace(backend, members=())  # reserve it
    elif backend.shape != lb.shape:
        return f"load balancer {lb.id} changed algorithm or health check"
    commands = _server_commands(backend, lb)
    if commands is None:
        return f"a member of {lb.id} changed address, backup flag or check timing"
    out.commands += commands
    out.backends[backend.name] = replace(
        backend, members=lb.members, lb_id=lb.id, monitor=lb.monitor
    )
    targets[lb.id] = backend.name
    return None


def _unchanged(backend: Backend, lb: LoadBalancer) -> bool:
    return (
        backend.members == lb.members
        and backend.monitor == lb.monitor
        and (backend.shape == lb.shape)
    )


def _server_commands(backend: Backend, lb: LoadBalancer) -> list[str] | None:
    have = {m.id: m for m in backend.members}
    want = {m.id: m for m in lb.members}
    commands: list[str] = []
    for member in lb.members:
        old = have.get(member.id)
        if old is None:
            commands += _add_server(backend.name, member, lb)
        elif server_args(old, backend.monitor) != server_args(member, lb.monitor):
            if _only_weight_changed(old, member, backend, lb):
                commands.append(
                    f"set server {backend.name}/{server_name(member)} weight {member.weight}"
                )
            else:
                return None
        if old is not None and old.admin_state != member.admin_state:
            state = "maint" if member.admin_state == "maint" else "ready"
            commands.append(f"set server {backend.name}/{server_name(member)} state {state}")
    for member_id, old in have.items():
        if member_id not in want:
            commands += _del_server(f"{backend.name}/{server_name(old)}")
    return commands


def _del_server(name: str) -> list[str]:
    return [f"disable server {name}", f"shutdown sessions server {name}", f"del server {name}"]


def _only_weight_changed(old: Member, new: Member, backend: Backend, lb: LoadBalancer) -> bool:
    return server_args(replace(old, weight=new.weight), backend.monitor) == server_args(
        new, lb.monitor
    )


def _add_server(backend: str, member: Member, lb: LoadBalancer) -> list[str]:
    name = f"{backend}/{server_name(member)}"
    commands = [f"add server {name} {server_args(member, lb.monitor)}", f"enable health {name}"]
    if member.admin_state != "maint":
        commands.append(f"enable server {name}")
    return commands


def _map_commands(
    path: Path, have: dict[str, str] | dict[int, str], want: dict[str, str] | dict[int, str]
) -> list[str]:
    commands = []
    for key, value in want.items():
        if key not in have:
            commands.append(f"add map {path} {key} {value}")
        elif have[key] != value:  # type: ignore[index]
            commands.append(f"set map {path} {key} {value}")
    commands += [f"del map {path} {key}" for key in have if key not in want]
    return commands


def freed(live: Live, after: dict[str, Backend]) -> list[str]:
    """The backends whose LB is gone or moved (a spare may serve another LB next)."""
    return [
        name
        for name, b in live.backends.items()
        if name in after and b.lb_id is not None and after[name].lb_id != b.lb_id
    ]
