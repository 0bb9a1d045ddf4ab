"""Pure values and rules of load balancers: types, algorithms, members, monitors, endpoints.

Nothing here touches a database or a framework. `DesiredState` is what every LB node should
run; it is what the API hands the agent and what `renderer` turns into HAProxy configuration.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Any, Literal

from sws.errors import Invalid
from sws.text import check_text

LBType = Literal["http", "tcp"]
Algorithm = Literal["roundrobin", "leastconn", "source"]
MonitorType = Literal["http", "tcp"]
AdminState = Literal["enabled", "maint"]
Health = Literal["up", "down", "maint", "unknown"]
NodeState = Literal["up", "down", "maint"]

LB_TYPES: tuple[LBType, ...] = ("http", "tcp")
ALGORITHMS: tuple[Algorithm, ...] = ("roundrobin", "leastconn", "source")
HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
EXPECTED_CODES = re.compile(r"^[1-5][0-9]{2}(-[1-5][0-9]{2})?$")
AUTO_LABEL_CHARS = string.ascii_lowercase + string.digits
AUTO_LABEL_LENGTH = 10
MAX_WEIGHT = 256
MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class Monitor:
    """A health monitor: how HAProxy decides a member is up (rise) or down (fall)."""

    type: MonitorType = "tcp"
    interval_ms: int = 500
    timeout_ms: int = 400
    rise: int = 2
    fall: int = 2
    http_path: str = "/"
    expected_codes: str = "200-399"

    def __post_init__(self) -> None:
        check_monitor(self)

    @property
    def shape(self) -> str:
        """What HAProxy can only set per backend (the rest is per server, set at runtime)."""
        if self.type == "tcp":
            return f"tcp {self.timeout_ms}"
        return f"http {self.timeout_ms} {self.http_path} {self.expected_codes}"


def check_monitor(monitor: Monitor) -> None:
    _within("monitor.interval_ms", monitor.interval_ms, 100, 3_600_000)
    _within("monitor.timeout_ms", monitor.timeout_ms, 50, 3_600_000)
    _within("monitor.rise", monitor.rise, 1, 10)
    _within("monitor.fall", monitor.fall, 1, 10)
    if monitor.timeout_ms > monitor.interval_ms:
        raise Invalid("the timeout must not exceed the interval", field="monitor.timeout_ms")
    if monitor.type == "http":
        check_http_path(monitor.http_path)
        check_expected_codes(monitor.expected_codes)


def check_http_path(path: str) -> None:
    if not path.startswith("/"):
        raise Invalid("a health-check path starts with '/'", field="monitor.http_path")
    if len(path) > 255 or any(c.isspace() or ord(c) < 33 or ord(c) > 126 for c in path):
        raise Invalid(
            "a health-check path is printable ASCII without spaces, at most 255 characters",
            field="monitor.http_path",
        )


def check_expected_codes(codes: str) -> None:
    match = EXPECTED_CODES.match(codes)
    if not match:
        raise Invalid(
            "expected codes are one status (200) or a range (200-399)",
            field="monitor.expected_codes",
        )
    low, _, high = codes.partition("-")
    if high and int(high) < int(low):
        raise Invalid("the range of expected codes is reversed", field="monitor.expected_codes")


def check_name(name: str) -> str:
    """A load balancer's name: required, at most 255 printable characters (see `sws.text`)."""
    return check_text(name, field="name", max_length=MAX_NAME, required=True)


def _within(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise Invalid(f"{name} must be between {low} and {high}", field=name)


def check_port(port: int, field_name: str = "port") -> None:
    _within(field_name, port, 1, 65535)


def check_weight(weight: int) -> None:
    _within("weight", weight, 0, MAX_WEIGHT)


def check_algorithm(algorithm: str) -> Algorithm:
    if algorithm not in ALGORITHMS:
        raise Invalid(f"algorithm is one of {', '.join(ALGORITHMS)}", field="algorithm")
    return algorithm


def normalise_host(host: str, field_name: str = "host") -> str:
    """A DNS host name, lower-cased, without a trailing dot; anything else is refused."""
    name = host.strip().lower().removesuffix(".")
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(HOST_LABEL.match(lab) for lab in labels):
        raise Invalid(f"{host!r} is not a valid host name", field=field_name)
    if labels[-1].isdigit():
        raise Invalid(f"{host!r} is not a host name (it looks like an address)", field=field_name)
    return name


def check_custom_host(host: str, zone: str) -> str:
    """A tenant's own name (CNAMEd to the automatic host); the LB zone itself is reserved."""
    name = normalise_host(host, "host")
    if name == zone or name.endswith("." + zone):
        raise Invalid(f"names under {zone} are given out by SWS", field="host")
    return name


def auto_host(zone: str) -> str:
    """`<random-10>.<zone>`, as in `aha6wufp0t.elb4.example.com`."""
    label = "".join(secrets.choice(AUTO_LABEL_CHARS) for _ in range(AUTO_LABEL_LENGTH))
    return f"{label}.{zone}"


def first_free_port(used: set[int], low: int, high: int) -> int | None:
    """The lowest port of `[low, high]` not in `used`, or None when the range is full."""
    for port in range(low, high + 1):
        if port not in used:
            return port
    return None


@dataclass(frozen=True, slots=True)
class MemberSpec:
    """A member as a tenant asks for it: one of its instances and a port."""

    server_id: str
    port: int
    weight: int = 1
    backup: bool = False


@dataclass(frozen=True, slots=True)
class LoadBalancerSpec:
    """What a tenant asks for when creating a load balancer (checked by the service)."""

    name: str
    type: str
    algorithm: str = "roundrobin"
    monitor: Monitor = field(default_factory=Monitor)
    custom_hosts: tuple[str, ...] = ()
    members: tuple[MemberSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Member:
    """An instance's address and port behind a load balancer."""

    id: str
    server_id: str
    address: str
    port: int
    weight: int = 1
    backup: bool = False
    admin_state: AdminState = "enabled"


@dataclass(frozen=True, slots=True)
class LoadBalancer:
    """What a node needs to serve one load balancer."""

    id: str
    project_id: str
    type: LBType
    algorithm: Algorithm
    monitor: Monitor
    hosts: tuple[str, ...] = ()  # http: every name routed here (auto first)
    port: int | None = None  # tcp: the shared port
    members: tuple[Member, ...] = ()

    @property
    def shape(self) -> tuple[str, str, str]:
        """What a backend fixes at reload: mode, balance and the http check."""
        return (self.type, self.algorithm, self.monitor.shape)


@dataclass(frozen=True, slots=True)
class DesiredState:
    """Everything LB nodes should run, at one version of the configuration."""

    version: int
    http_port: int
    port_min: int
    port_max: int
    loadbalancers: tuple[LoadBalancer, ...] = field(default_factory=tuple)
    # Each configured node's shared public address (SWS_LB_NODES): where a node listens by
    # default. Not part of the version: a settings change reaches agents at their restart.
    node_addresses: tuple[tuple[str, str], ...] = ()

    def address_of(self, node: str) -> str | None:
        """The shared public address `SWS_LB_NODES` gives `node`, if it names it."""
        return dict(self.node_addresses).get(node)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "http_port": self.http_port,
            "port_min": self.port_min,
            "port_max": self.port_max,
            "loadbalancers": [_lb_json(lb) for lb in self.loadbalancers],
            "nodes": dict(self.node_addresses),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DesiredState:
        return cls(
            version=int(data["version"]),
            http_port=int(data["http_port"]),
            port_min=int(data["port_min"]),
            port_max=int(data["port_max"]),
            loadbalancers=tuple(_lb_from(item) for item in data["loadbalancers"]),
            node_addresses=tuple((str(k), str(v)) for k, v in data.get("nodes", {}).items()),
        )


def _lb_json(lb: LoadBalancer) -> dict[str, Any]:
    return {
        "id": lb.id, "project_id": lb.project_id, "type": lb.type, "algorithm": lb.algorithm,
        "monitor": {
            "type": lb.monitor.type, "interval_ms": lb.monitor.interval_ms,
            "timeout_ms": lb.monitor.timeout_ms, "rise": lb.monitor.rise,
            "fall": lb.monitor.fall, "http_path": lb.monitor.http_path,
            "expected_codes": lb.monitor.expected_codes,
        },
        "hosts": list(lb.hosts), "port": lb.port,
        "members": [
            {"id": m.id, "server_id": m.server_id, "address": m.address, "port": m.port,
             "weight": m.weight, "backup": m.backup, "admin_state": m.admin_state}
            for m in lb.members
        ],
    }


def _lb_from(data: dict[str, Any]) -> LoadBalancer:
    return LoadBalancer(
        id=data["id"], project_id=data["project_id"], type=data["type"],
        algorithm=data["algorithm"], monitor=Monitor(**data["monitor"]),
        hosts=tuple(data["hosts"]), port=data["port"],
        members=tuple(Member(**m) for m in data["members"]),
    )


@dataclass(frozen=True, slots=True)
class Node:
    """An LB node: one HAProxy with one shared public IP, serving one ISP view."""

    name: str
    address: str
    isp: str
    admin_state: NodeState = "up"
    alive: bool = False  # reported within the heartbeat timeout


def overall_health(admin_state: str, reports: list[str]) -> Health:
    """A member's health over the nodes' fresh reports: any down is down, all up is up."""
    if admin_state == "maint":
        return "maint"
    if not reports:
        return "unknown"
    if "down" in reports:
        return "down"
    if all(r == "up" for r in reports):
        return "up"
    return "maint" if "maint" in reports else "unknown"
