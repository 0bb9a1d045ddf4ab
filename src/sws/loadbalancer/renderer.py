"""A pure HAProxy configuration renderer: desired state in, configuration and map files out.

One L7 frontend routes by `map(hosts.map)` on the Host header; one L4 frontend binds the whole
shared port range and routes by `map_int(ports.map)` on the destination port. Each load
balancer is a backend named `lb_<id>`; servers are `m_<member id>`. Spare backends of the
common shapes (mode, algorithm, health-check kind) are declared empty, so a new load balancer
of such a shape is taken live through the runtime API (map entry + `add server`) without a
reload. Nothing here touches a file or a process: the agent writes what this returns.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2

from sws.loadbalancer.model import (
    ALGORITHMS,
    LB_TYPES,
    DesiredState,
    LBType,
    LoadBalancer,
    Member,
    Monitor,
)

TEMPLATES = Path(__file__).with_name("templates")
NOT_FOUND_PAGE = (
    "<!doctype html><html><head><title>404 No site here</title></head><body>"
    "<h1>404 No site here</h1><p>No load balancer serves this host name.</p></body></html>"
)
Shape = tuple[str, str, str]
#: The shapes spare backends are declared in: every type and algorithm, with a TCP check or
#: the default HTTP check (GET /, 200-399), at the default check timeout.
SPARE_MONITORS = (Monitor(type="tcp"), Monitor(type="http"))


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Node-local settings: where to listen and where the agent keeps its files."""

    run_dir: Path
    bind: tuple[str, ...] = ("0.0.0.0",)
    http_port: int | None = None  # None: the state's http_port (80)
    spares_per_shape: int = 2
    maxconn: int = 4000  # HAProxy needs about 2 x maxconn file descriptors
    hard_stop_after_s: int = 60
    log_target: str | None = None


@dataclass(frozen=True, slots=True)
class Backend:
    name: str
    type: LBType
    algorithm: str
    monitor: Monitor
    members: tuple[Member, ...] = ()
    lb_id: str | None = None  # None: a spare

    @property
    def shape(self) -> Shape:
        return (self.type, self.algorithm, self.monitor.shape)


@dataclass(frozen=True, slots=True)
class Rendered:
    """What a reload writes: the configuration, both maps, and which backend serves what."""

    config: str
    hosts_map: str
    ports_map: str
    backends: tuple[Backend, ...]
    hosts: dict[str, str] = field(default_factory=dict)  # host -> backend
    ports: dict[int, str] = field(default_factory=dict)  # port -> backend


def backend_name(lb_id: str) -> str:
    return f"lb_{lb_id}"


def server_name(member: Member) -> str:
    return f"m_{member.id}"


def server_args(member: Member, monitor: Monitor) -> str:
    """The arguments after a server's name; the same text serves the file and `add server`."""
    parts = [f"{_address(member.address)}:{member.port}", f"weight {member.weight}"]
    if member.backup:
        parts.append("backup")
    parts.append(f"check inter {monitor.interval_ms}ms rise {monitor.rise} fall {monitor.fall}")
    return " ".join(parts)


def _address(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _server_line(member: Member, monitor: Monitor) -> str:
    line = server_args(member, monitor)
    return line + " disabled" if member.admin_state == "maint" else line


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters["server_name"] = server_name
    env.filters["server_line"] = _server_line
    return env


def spare_backends(per_shape: int) -> list[Backend]:
    spares: list[Backend] = []
    for lb_type in LB_TYPES:
        for algorithm in ALGORITHMS:
            for monitor in SPARE_MONITORS:
                for _ in range(per_shape):
                    name = f"spare_{len(spares)}"
                    spares.append(Backend(name, lb_type, algorithm, monitor))
    return spares


def lb_backend(lb: LoadBalancer) -> Backend:
    return Backend(backend_name(lb.id), lb.type, lb.algorithm, lb.monitor, lb.members, lb.id)


def wanted_hosts(state: DesiredState, targets: dict[str, str]) -> dict[str, str]:
    """Host name -> the backend serving it, given each LB's backend (`targets`: LB id -> name)."""
    return {h: targets[lb.id] for lb in state.loadbalancers if lb.type == "http"
            for h in lb.hosts}


def wanted_ports(state: DesiredState, targets: dict[str, str]) -> dict[int, str]:
    """Listening port -> the backend serving it, given each LB's backend."""
    return {lb.port: targets[lb.id] for lb in state.loadbalancers if lb.port is not None}


def render(state: DesiredState, opts: RenderOptions) -> Rendered:
    backends = [lb_backend(lb) for lb in state.loadbalancers]
    backends += spare_backends(opts.spares_per_shape)
    own = {lb.id: backend_name(lb.id) for lb in state.loadbalancers}
    hosts, ports = wanted_hosts(state, own), wanted_ports(state, own)
    config = _environment().get_template("haproxy.cfg.j2").render(
        state=state, opts=opts, backends=backends, not_found_page=NOT_FOUND_PAGE
    )
    return Rendered(
        config=config,
        hosts_map=map_text(hosts),
        ports_map=map_text(ports),
        backends=tuple(backends),
        hosts=hosts,
        ports=ports,
    )


def map_text(entries: dict[str, str] | dict[int, str]) -> str:
    return "".join(f"{key} {value}\n" for key, value in sorted(entries.items()))


def duplicate_keys(state: DesiredState) -> list[str]:
    """Hosts or ports claimed twice: the database forbids it; the agent double-checks."""
    counts: Counter[str] = Counter()
    for lb in state.loadbalancers:
        counts.update(lb.hosts)
        if lb.port is not None:
            counts[str(lb.port)] += 1
    return sorted(key for key, n in counts.items() if n > 1)
