"""The SWS filter's policy: pure values and the rules that validate them.

The operator declares *internal networks* (its intranet, IPv4 and IPv6). Tenant VMs may send
nothing into them except what an *allow rule* names: a scope (every tenant, one tenant or one
instance), a destination CIDR inside the internal space, a protocol and a port range, with an
optional expiry and a reason. *Cloud Bridge* is the other direction: the operator lists the
bridge source CIDRs its PaaS uses, and a tenant grants them one TCP port on one of its VMs.

Nothing here touches a database or a framework; `service.py` persists and `compiler.py`
turns these values into a host's ruleset.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sws.errors import Conflict, Invalid

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Scope = Literal["all", "tenant", "instance"]
IpProtocol = Literal["tcp", "udp", "icmp", "any"]
SCOPES: tuple[Scope, ...] = ("all", "tenant", "instance")
PROTOCOLS: tuple[IpProtocol, ...] = ("tcp", "udp", "icmp", "any")
PORTED: frozenset[str] = frozenset({"tcp", "udp"})
MAX_PORT = 65535


@dataclass(frozen=True, slots=True)
class InternalNetwork:
    id: str
    cidr: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class AllowRule:
    """Instances in `scope` may open connections to `destination` on `protocol`/ports."""

    id: str
    scope: Scope
    destination: str
    protocol: IpProtocol
    port_min: int | None = None
    port_max: int | None = None
    tenant_id: str | None = None
    instance_id: str | None = None
    expires_at: datetime | None = None
    reason: str = ""

    def ports(self) -> tuple[int, int]:
        """The port interval the rule opens; protocols without ports open every value."""
        if self.protocol not in PORTED or self.port_min is None:
            return (0, MAX_PORT)
        return (self.port_min, self.port_max if self.port_max is not None else self.port_min)

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True, slots=True)
class BridgeSource:
    id: str
    cidr: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class BridgeGrant:
    """A tenant lets the bridge sources reach one TCP port of one of its instances."""

    id: str
    tenant_id: str
    instance_id: str
    port: int


@dataclass(frozen=True, slots=True)
class Instance:
    """A VM as the filter sees it: who owns it, where it runs and its fixed addresses."""

    id: str
    tenant_id: str
    fixed_ips: tuple[str, ...]
    host: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    internal: tuple[InternalNetwork, ...] = ()
    rules: tuple[AllowRule, ...] = ()
    bridge_sources: tuple[BridgeSource, ...] = ()
    grants: tuple[BridgeGrant, ...] = ()


def parse_cidr(text: str, *, field: str) -> Network:
    """A network in canonical form. Refused: host bits set, garbage, spaces around it, and a
    bare address (is `10.0.0.0` one host or a forgotten `/8`? only the operator knows)."""
    if text != text.strip():
        raise Invalid(f"{text!r} has spaces around it; send the CIDR alone", field=field)
    if "/" not in text:
        raise Invalid(
            f"{text} has no prefix length: write {text}/{_full_prefix(text)} for that one "
            "address, or the network's prefix (e.g. /24)", field=field,
        )
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise Invalid(f"{text!r} is not a valid CIDR: {exc}", field=field) from None


def _full_prefix(text: str) -> int:
    return 128 if ":" in text else 32


#: Ranges no packet from a VM is ever forwarded to under that name: declaring them internal
#: would guard nothing (link-local, loopback, multicast) or a notation, not a network
#: (IPv4-mapped and IPv4-compatible IPv6: declare the IPv4 network itself).
UNGUARDABLE: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(cidr), why) for cidr, why in (
        ("169.254.0.0/16", "link-local: routers never forward it"),
        ("fe80::/10", "link-local: routers never forward it"),
        ("127.0.0.0/8", "loopback: it never leaves a host"),
        ("::1/128", "loopback: it never leaves a host"),
        ("224.0.0.0/4", "multicast, not a destination network"),
        ("ff00::/8", "multicast, not a destination network"),
        ("::ffff:0:0/96", "IPv4-mapped IPv6; declare the IPv4 network itself"),
        ("::/96", "IPv4-compatible IPv6 (deprecated); declare the IPv4 network itself"),
    )
)


def check_guardable(cidr: str, *, field: str) -> str:
    """An internal network or bridge source must be space packets are forwarded to."""
    network = parse_cidr(cidr, field=field)
    for special, why in UNGUARDABLE:
        if _covers(special, network):
            raise Invalid(f"{cidr} is {why}", field=field)
    return str(network)


def check_no_overlap(cidr: str, existing: Iterable[str], *, field: str, what: str) -> None:
    """Refuse a CIDR that overlaps one already declared (sets must stay disjoint)."""
    new = parse_cidr(cidr, field=field)
    for other in existing:
        old = ipaddress.ip_network(other)
        if old.version == new.version and new.overlaps(old):
            raise Conflict(f"{cidr} overlaps the {what} {other}", field=field)


def check_ports(protocol: str, port_min: int | None, port_max: int | None) -> None:
    if protocol not in PROTOCOLS:
        raise Invalid(f"protocol must be one of {', '.join(PROTOCOLS)}", field="protocol")
    if protocol not in PORTED:
        if port_min is not None or port_max is not None:
            raise Invalid(f"{protocol} has no ports; leave them out", field="port_min")
        return
    if port_min is None:
        raise Invalid(f"{protocol} needs port_min (and optionally port_max)", field="port_min")
    for name, value in (("port_min", port_min), ("port_max", port_max)):
        if value is not None and not 1 <= value <= MAX_PORT:
            raise Invalid(f"{name} must be between 1 and {MAX_PORT}", field=name)
    if port_max is not None and port_max < port_min:
        raise Invalid(f"port_max {port_max} is below port_min {port_min}", field="port_max")


def check_scope(scope: str, tenant_id: str | None, instance_id: str | None) -> None:
    """`all` names nobody, `tenant` names a tenant, `instance` names an instance."""
    if scope not in SCOPES:
        raise Invalid(f"scope must be one of {', '.join(SCOPES)}", field="scope")
    if scope == "tenant" and not tenant_id:
        raise Invalid("a tenant rule names its tenant_id", field="tenant_id")
    if scope == "instance" and not instance_id:
        raise Invalid("an instance rule names its instance_id", field="instance_id")
    if scope != "tenant" and tenant_id:
        raise Invalid(f"a rule of scope {scope} takes no tenant_id", field="tenant_id")
    if scope != "instance" and instance_id:
        raise Invalid(f"a rule of scope {scope} takes no instance_id", field="instance_id")


def applies_to(rule: AllowRule, instance: Instance) -> bool:
    if rule.scope == "all":
        return True
    if rule.scope == "tenant":
        return rule.tenant_id == instance.tenant_id
    return rule.instance_id == instance.id


def check_expiry(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is None:
        return
    if expires_at.tzinfo is None:
        raise Invalid("expires_at needs a time zone (UTC: append 'Z')", field="expires_at")
    if expires_at <= now:
        raise Invalid("expires_at is in the past", field="expires_at")


def check_destination(
    destination: str, internal: Sequence[str], *, confirm: bool
) -> str:
    """The destination must lie inside the internal space; covering all of it needs `confirm`."""
    dest = parse_cidr(destination, field="destination")
    same = [ipaddress.ip_network(c) for c in internal]
    same = [n for n in same if n.version == dest.version]
    if not any(dest.overlaps(n) for n in same):
        raise Invalid(
            f"{dest} is not inside any internal network; the filter only guards those",
            field="destination",
        )
    if all(_covers(dest, n) for n in same) and not confirm:
        raise Invalid(
            f"{dest} opens the whole internal IPv{dest.version} space; send confirm=true "
            "if that is really meant",
            field="confirm",
        )
    return str(dest)


def _covers(outer: Network, inner: Network) -> bool:
    return outer.version == inner.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def rules_using(cidr: str, rules: Iterable[AllowRule]) -> list[AllowRule]:
    """The rules whose destination reaches into `cidr`: deleting it would leave them
    pointing outside the internal space."""
    network = ipaddress.ip_network(cidr)
    found = []
    for rule in rules:
        destination = ipaddress.ip_network(rule.destination)
        if destination.version == network.version and destination.overlaps(network):
            found.append(rule)
    return found


def check_bridge_port(port: int) -> None:
    if not 1 <= port <= MAX_PORT:
        raise Invalid(f"port must be between 1 and {MAX_PORT}", field="port")


def check_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise Invalid("say why this access is needed", field="reason")
    return text


@dataclass(frozen=True, slots=True)
class AgentReport:
    """What a filter agent says after a round: the ruleset it runs and what it found."""

    host: str
    target: str
    digest: str
    in_sync: bool
    elements: int
    mode: str
    drift: Mapping[str, Any]
    error: str | None = None
    apply_seconds: float | None = None
