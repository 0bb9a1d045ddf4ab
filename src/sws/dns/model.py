"""The answer for one query, pure: which shared IPs a client of which ISP gets for a name.

The client is the EDNS Client Subnet when the resolver sent one, else the resolver's address.
Views are CIDR lists per ISP; the longest matching prefix wins. A client in no view, or whose
view has no healthy node, gets every healthy node. Nodes an operator marked down or maint are
never answered; nodes that stopped reporting are left out unless no node reports at all (then
the admin-up nodes are answered: failing open beats a zone that answers nothing).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sws.loadbalancer.model import Node

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Record:
    qname: str
    qtype: str
    content: str
    ttl: int


@dataclass(frozen=True, slots=True)
class Answer:
    records: tuple[Record, ...]
    scope: int  # how many bits of the client address the answer depended on (ECS scope)


def parse_client(text: str) -> Network:
    """`10.1.2.0/24` (ECS) or `192.0.2.7` (resolver); PowerDNS may add `%iface` to IPv6."""
    return ipaddress.ip_network(text.split("%")[0].strip(), strict=False)


def view_of(client: Network, views: Mapping[str, Sequence[str]]) -> tuple[str | None, int]:
    """The ISP whose CIDR list holds the client, by longest prefix; and that prefix length."""
    best: tuple[str | None, int] = (None, 0)
    for isp, cidrs in views.items():
        for cidr in cidrs:
            network = ipaddress.ip_network(cidr, strict=False)
            inside = network.version == client.version and client.subnet_of(
                network  # type: ignore[arg-type]
            )
            if inside and (best[0] is None or network.prefixlen > best[1]):
                best = (isp, network.prefixlen)
    return best


def serving_nodes(nodes: Sequence[Node], isp: str | None) -> list[Node]:
    admitted = [n for n in nodes if n.admin_state == "up"]
    alive = [n for n in admitted if n.alive] or admitted
    local = [n for n in alive if n.isp == isp]
    return local or alive


def answer(
    *, qname: str, qtype: str, client: str, exists: bool, nodes: Sequence[Node],
    views: Mapping[str, Sequence[str]], ttl: int,
) -> Answer:
    """A and AAAA records for an LB name; nothing for a name that does not exist."""
    if not exists or qtype not in ("A", "AAAA", "ANY"):
        return Answer((), 0)
    network = parse_client(client)
    isp, prefix = view_of(network, views)
    scope = min(prefix, network.prefixlen) if isp else min(network.prefixlen, _widest(views))
    records = []
    for node in serving_nodes(nodes, isp):
        kind = "AAAA" if ipaddress.ip_address(node.address).version == 6 else "A"
        if qtype in (kind, "ANY"):
            records.append(Record(qname, kind, node.address, ttl))
    return Answer(tuple(records), scope)


def _widest(views: Mapping[str, Sequence[str]]) -> int:
    """For a client in no view, the answer holds for as wide a subnet as no view splits."""
    prefixes = [ipaddress.ip_network(c, strict=False).prefixlen for v in views.values() for c in v]
    return max(prefixes, default=0)


def soa(zone: str, nameserver: str, serial: int, ttl: int) -> Record:
    content = f"{nameserver}. hostmaster.{zone}. {serial} 3600 600 604800 {ttl}"
    return Record(f"{zone}.", "SOA", content, ttl)
