"""Policy + the instances on one host -> that host's ruleset: pure, deterministic, disjoint.

A `Ruleset` is a handful of named sets whose elements are boxes of integer intervals, one
interval per field, exactly what an nftables interval set holds:

| set              | fields                                  | holds                               |
|------------------|-----------------------------------------|-------------------------------------|
| `vm4`, `vm6`     | address                                 | the fixed IPs of the host's VMs     |
| `guarded4/6`     | address interval                        | internal networks + bridge sources  |
| `allow4/6`       | VM address . destination . proto . port | what VMs may open into the intranet |
| `exact4/6`       | the same, single values only (hash set) | allow entries without ranges        |
| `bridge4/6`      | bridge source . VM address . tcp . port | what Cloud Bridge may open on VMs   |

The kernel refuses overlapping elements in an interval set, so every set is made disjoint
(`disjoint`) and sorted: the same policy always gives the same elements, byte for byte once
rendered. A packet from a VM to a guarded address is dropped unless `allow` holds it; a new
packet from a guarded address to a VM is dropped unless `bridge` holds it; everything else
(internet traffic, replies) is left for the other chains to judge.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from sws.netfilter.model import AllowRule, Instance, Policy, applies_to

Interval = tuple[int, int]
Box = tuple[Interval, ...]
FAMILIES = (4, 6)
ADDRESS_MAX = {4: 2**32 - 1, 6: 2**128 - 1}
PROTO_NUMBERS = {"tcp": 6, "udp": 17}
ICMP = {4: 1, 6: 58}
ANY_PROTO: Interval = (0, 255)
TCP = 6


@dataclass(frozen=True, slots=True)
class SetSpec:
    name: str
    family: int
    fields: tuple[str, ...]  # "addr", "proto" or "port", in match order
    interval: bool


SET_SPECS: tuple[SetSpec, ...] = tuple(
    spec
    for family in FAMILIES
    for spec in (
        SetSpec(f"vm{family}", family, ("addr",), interval=False),
        SetSpec(f"guarded{family}", family, ("addr",), interval=True),
        SetSpec(f"allow{family}", family, ("addr", "addr", "proto", "port"), interval=True),
        SetSpec(f"exact{family}", family, ("addr", "addr", "proto", "port"), interval=False),
        SetSpec(f"bridge{family}", family, ("addr", "addr", "proto", "port"), interval=True),
    )
)
SPEC_BY_NAME = {spec.name: spec for spec in SET_SPECS}


@dataclass(frozen=True, slots=True)
class Ruleset:
    """One host's compiled filter: every set's elements, sorted and pairwise disjoint."""

    host: str
    sets: Mapping[str, tuple[Box, ...]] = field(default_factory=dict)

    def elements(self, name: str) -> tuple[Box, ...]:
        return self.sets.get(name, ())

    def size(self) -> int:
        return sum(len(v) for v in self.sets.values())

    def to_json(self) -> dict[str, Any]:
        sets = {n: [list(map(list, box)) for box in self.elements(n)] for n in SPEC_BY_NAME}
        return {"host": self.host, "digest": self.digest(), "sets": sets}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ruleset:
        sets = {
            name: tuple(tuple((int(lo), int(hi)) for lo, hi in box) for box in data["sets"][name])
            for name in SPEC_BY_NAME
        }
        return cls(host=str(data["host"]), sets=sets)

    def digest(self) -> str:
        canonical = json.dumps(
            {n: [list(map(list, b)) for b in self.elements(n)] for n in SPEC_BY_NAME},
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def compile_ruleset(
    policy: Policy, instances: Iterable[Instance], *, host: str, now: datetime
) -> Ruleset:
    """The ruleset that enforces `policy` for `instances` (the VMs running on `host`)."""
    vms = sorted(instances, key=lambda i: i.id)
    rules = [r for r in policy.rules if r.active(now)]
    sets: dict[str, tuple[Box, ...]] = {}
    for family in FAMILIES:
        sets[f"vm{family}"] = tuple(
            sorted({((a, a),) for vm in vms for a in _addresses(vm, family)})
        )
        sets[f"guarded{family}"] = tuple((iv,) for iv in merge(_guarded(policy, family)))
        allowed = disjoint(list(_allow_boxes(rules, vms, family)))
        sets[f"allow{family}"] = tuple(b for b in allowed if not is_point(b))
        sets[f"exact{family}"] = tuple(b for b in allowed if is_point(b))
        sets[f"bridge{family}"] = tuple(disjoint(list(_bridge_boxes(policy, vms, family))))
    return Ruleset(host=host, sets=sets)


def is_point(box: Box) -> bool:
    """A box of single values goes to a hash set: O(1) to load, look up and change."""
    return all(lo == hi for lo, hi in box)


def _addresses(vm: Instance, family: int) -> list[int]:
    found = []
    for text in vm.fixed_ips:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        if address.version == family:
            found.append(int(address))
    return sorted(found)


def cidr_interval(text: str) -> tuple[int, Interval]:
    network = ipaddress.ip_network(text)
    return network.version, (int(network.network_address), int(network.broadcast_address))


def _guarded(policy: Policy, family: int) -> list[Interval]:
    cidrs = [n.cidr for n in policy.internal] + [s.cidr for s in policy.bridge_sources]
    return [iv for version, iv in map(cidr_interval, cidrs) if version == family]


def proto_interval(protocol: str, family: int) -> Interval:
    if protocol == "any":
        return ANY_PROTO
    number = ICMP[family] if protocol == "icmp" else PROTO_NUMBERS[protocol]
    return (number, number)


def _allow_boxes(rules: Sequence[AllowRule], vms: Sequence[Instance], family: int) -> Iterator[Box]:
    for rule in rules:
        version, destination = cidr_interval(rule.destination)
        if version != family:
            continue
        proto, ports = proto_interval(rule.protocol, family), rule.ports()
        for vm in vms:
            if applies_to(rule, vm):
                for address in _addresses(vm, family):
                    yield ((address, address), destination, proto, ports)


def _bridge_boxes(policy: Policy, vms: Sequence[Instance], family: int) -> Iterator[Box]:
    by_id = {vm.id: vm for vm in vms}
    sources = [iv for v, iv in map(cidr_interval, (s.cidr for s in policy.bridge_sources))
               if v == family]
    for grant in policy.grants:
        vm = by_id.get(grant.instance_id)
        if vm is None or vm.tenant_id != grant.tenant_id:
            continue
        for address in _addresses(vm, family):
            for source in sources:
                yield (source, (address, address), (TCP, TCP), (grant.port, grant.port))


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint, non-adjacent intervals covering exactly the union of the input."""
    merged: list[Interval] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def disjoint(boxes: Sequence[Box]) -> list[Box]:
    """Pairwise-disjoint boxes covering exactly the union of `boxes`, sorted, canonical.

    A sweep over the first field cuts it at every box edge; each piece recurses on the
    remaining fields, and neighbouring pieces with the same inner cover are merged again.
    """
    if not boxes:
        return []
    if len(boxes[0]) == 1:
        return [(iv,) for iv in merge(b[0] for b in boxes)]
    pieces = _sweep(sorted(set(boxes)))
    return [(first, *rest) for first, inner in pieces for rest in inner]


def _sweep(boxes: list[Box]) -> list[tuple[Interval, tuple[Box, ...]]]:
    cuts = sorted({b[0][0] for b in boxes} | {b[0][1] + 1 for b in boxes})
    pieces: list[tuple[Interval, tuple[Box, ...]]] = []
    active: list[Box] = []
    cache: dict[tuple[Box, ...], tuple[Box, ...]] = {}
    start = 0
    for lo, nxt in pairwise(cuts):
        while start < len(boxes) and boxes[start][0][0] == lo:
            active.append(boxes[start])
            start += 1
        active = [b for b in active if b[0][1] >= lo]
        if not active:
            continue
        key = tuple(sorted(b[1:] for b in active))
        if key not in cache:
            cache[key] = tuple(disjoint(key))
        inner = cache[key]
        if pieces and pieces[-1][0][1] + 1 == lo and pieces[-1][1] == inner:
            pieces[-1] = ((pieces[-1][0][0], nxt - 1), inner)
        else:
            pieces.append(((lo, nxt - 1), inner))
    return pieces


@dataclass(frozen=True, slots=True)
class Delta:
    """Set elements to delete and to add to turn one ruleset into another."""

    remove: Mapping[str, tuple[Box, ...]]
    add: Mapping[str, tuple[Box, ...]]

    def empty(self) -> bool:
        return not any(self.remove.values()) and not any(self.add.values())

    def size(self) -> int:
        return sum(map(len, self.remove.values())) + sum(map(len, self.add.values()))


def diff(old: Mapping[str, Iterable[Box]], new: Ruleset) -> Delta:
    remove: dict[str, tuple[Box, ...]] = {}
    add: dict[str, tuple[Box, ...]] = {}
    for name in SPEC_BY_NAME:
        before, after = set(old.get(name, ())), set(new.elements(name))
        remove[name] = tuple(sorted(before - after))
        add[name] = tuple(sorted(after - before))
    return Delta(remove=remove, add=add)
