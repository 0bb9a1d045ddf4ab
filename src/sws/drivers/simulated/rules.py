"""Security group rules, pure: Neutron's validation of direction, protocol, ports and CIDR."""

from __future__ import annotations

import ipaddress

from sws.drivers.base import SecurityGroupRuleCreate
from sws.errors import Invalid

DIRECTIONS = frozenset({"ingress", "egress"})
ETHERTYPES = {"IPv4": 4, "IPv6": 6}
PROTOCOLS = frozenset({"tcp", "udp", "icmp", "icmpv6"})
_PORTED = frozenset({"tcp", "udp"})


def normalise_rule(rule: SecurityGroupRuleCreate) -> SecurityGroupRuleCreate:
    """Return the rule with a canonical protocol and CIDR, or raise Invalid naming the field."""
    if rule.direction not in DIRECTIONS:
        raise Invalid("direction must be 'ingress' or 'egress'", field="direction")
    if rule.ethertype not in ETHERTYPES:
        raise Invalid("ethertype must be 'IPv4' or 'IPv6'", field="ethertype")
    protocol = _protocol(rule.protocol)
    _check_ports(protocol, rule.port_range_min, rule.port_range_max)
    prefix = _prefix(rule.remote_ip_prefix, ETHERTYPES[rule.ethertype], rule.ethertype)
    return SecurityGroupRuleCreate(
        direction=rule.direction,
        ethertype=rule.ethertype,
        protocol=protocol,
        port_range_min=rule.port_range_min,
        port_range_max=rule.port_range_max,
        remote_ip_prefix=prefix,
    )


def _protocol(protocol: str | None) -> str | None:
    if protocol is None or protocol.lower() in ("", "any"):
        return None
    if protocol.lower() not in PROTOCOLS:
        allowed = ", ".join(sorted(PROTOCOLS))
        raise Invalid(
            f"Protocol {protocol!r} is not supported; use one of {allowed} or none for any",
            field="protocol",
        )
    return protocol.lower()


def _check_ports(protocol: str | None, low: int | None, high: int | None) -> None:
    if low is None and high is None:
        return
    if protocol is None:
        raise Invalid("A port range needs a protocol", field="protocol")
    for name, value in (("port_range_min", low), ("port_range_max", high)):
        if value is None:
            raise Invalid(f"{name} is required when a port range is given", field=name)
    assert low is not None and high is not None
    if protocol in _PORTED:
        _check_port_bounds(low, high)
    else:
        _check_icmp(low, high)


def _check_port_bounds(low: int, high: int) -> None:
    for name, value in (("port_range_min", low), ("port_range_max", high)):
        if not 1 <= value <= 65535:
            raise Invalid(f"{name} must be between 1 and 65535, not {value}", field=name)
    if low > high:
        raise Invalid(
            f"port_range_min ({low}) must be less than or equal to port_range_max ({high})",
            field="port_range_min",
        )


def _check_icmp(icmp_type: int, icmp_code: int) -> None:
    for name, value in (("port_range_min", icmp_type), ("port_range_max", icmp_code)):
        if not 0 <= value <= 255:
            raise Invalid(f"ICMP {name} (type/code) must be between 0 and 255", field=name)


def _prefix(prefix: str | None, version: int, ethertype: str) -> str | None:
    if prefix is None or prefix == "":
        return None
    try:
        network = ipaddress.ip_network(prefix, strict=False)
    except ValueError as error:
        raise Invalid(f"{prefix!r} is not a valid CIDR", field="remote_ip_prefix") from error
    if network.version != version:
        raise Invalid(
            f"Conflicting value ethertype {ethertype} for CIDR {prefix}",
            field="remote_ip_prefix",
        )
    return str(network)
