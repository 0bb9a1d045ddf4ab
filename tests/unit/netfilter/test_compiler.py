"""The compiler: golden rulesets, determinism, and a property test against the policy itself.

The property test draws random policies and packets and compares two answers: the reference
evaluator below, written straight from the policy's words, and `matching.decide`, a model of
the kernel applying the *compiled* sets. It also checks every set is pairwise disjoint, as
the kernel's interval sets require.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sws.netfilter import iptables, nftables
from sws.netfilter.compiler import SPEC_BY_NAME, Ruleset, compile_ruleset, diff, disjoint
from sws.netfilter.matching import Packet, decide
from sws.netfilter.model import (
    AllowRule,
    BridgeGrant,
    BridgeSource,
    Instance,
    InternalNetwork,
    Policy,
    applies_to,
)
from tests.budget import examples

GOLDEN = Path(__file__).with_name("golden")
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
VMS = (
    Instance("vm-a", "tenant-a", ("10.251.0.2", "fd00:5a5::2")),
    Instance("vm-b", "tenant-b", ("10.251.0.3",)),
    Instance("vm-c", "tenant-a", ("10.251.0.4",)),
)
POLICY = Policy(
    internal=(InternalNetwork("n1", "10.251.1.0/24"), InternalNetwork("n2", "10.251.8.0/22"),
              InternalNetwork("n3", "fd00:5a5:1::/64")),
    rules=(
        AllowRule("r1", "instance", "10.251.1.10/32", "tcp", 8080, 8080, instance_id="vm-a",
                  reason="orders db"),
        AllowRule("r2", "tenant", "10.251.1.0/28", "udp", 53, 53, tenant_id="tenant-a",
                  reason="dns"),
        AllowRule("r3", "all", "10.251.8.0/23", "tcp", 3000, 3999, reason="build farm"),
        AllowRule("r4", "all", "10.251.8.128/25", "tcp", 3500, 4500, reason="overlaps r3"),
        AllowRule("r5", "all", "fd00:5a5:1::10/128", "icmp", reason="ping"),
        AllowRule("r6", "all", "10.251.9.0/24", "any", reason="mirror"),
        AllowRule("r7", "all", "10.251.1.99/32", "tcp", 22, 22, reason="expired",
                  expires_at=NOW - timedelta(days=1)),
    ),
    bridge_sources=(BridgeSource("b1", "10.251.1.48/29"), BridgeSource("b2", "fd00:5a5:1::/120")),
    grants=(BridgeGrant("g1", "tenant-a", "vm-a", 22), BridgeGrant("g2", "tenant-b", "vm-b", 443),
            BridgeGrant("g3", "tenant-b", "vm-a", 80)),  # g3: not vm-a's owner, ignored
)


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SWS_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; rerun with SWS_UPDATE_GOLDEN=1 if meant"


def test_nftables_ruleset_matches_the_golden_file() -> None:
    golden("compute-01.nft", nftables.render(compile_ruleset(POLICY, VMS, host="compute-01",
                                                                now=NOW)))


@pytest.mark.parametrize("family", [4, 6])
def test_iptables_rulesets_match_the_golden_files(family: int) -> None:
    ruleset = compile_ruleset(POLICY, VMS, host="compute-01", now=NOW)
    golden(f"compute-01.ip{'' if family == 4 else '6'}tables", iptables.render(ruleset, family))


def test_output_is_byte_identical_whatever_the_input_order() -> None:
    shuffled = Policy(
        internal=POLICY.internal[::-1], rules=POLICY.rules[::-1],
        bridge_sources=POLICY.bridge_sources[::-1], grants=POLICY.grants[::-1],
    )
    one = nftables.render(compile_ruleset(POLICY, VMS, host="h", now=NOW))
    two = nftables.render(compile_ruleset(shuffled, VMS[::-1], host="h", now=NOW))
    assert one == two


def test_the_filter_never_accepts() -> None:
    text = nftables.render(compile_ruleset(POLICY, VMS, host="h", now=NOW))
    verdicts = [line for line in text.splitlines() if "accept" in line]
    assert verdicts == ["\t\ttype filter hook forward priority filter - 10; policy accept;"]
    assert "ACCEPT" not in iptables.render(compile_ruleset(POLICY, VMS, host="h", now=NOW), 4)


def test_expired_rules_are_left_out() -> None:
    ruleset = compile_ruleset(POLICY, VMS, host="h", now=NOW)
    assert decide(ruleset, Packet("10.251.0.2", "10.251.1.99", 6, 22)) == "drop"


def test_a_delta_turns_one_ruleset_into_the_other() -> None:
    old = compile_ruleset(POLICY, VMS, host="h", now=NOW)
    fewer = Policy(POLICY.internal, POLICY.rules[1:], POLICY.bridge_sources, POLICY.grants)
    new = compile_ruleset(fewer, VMS, host="h", now=NOW)
    delta = diff({n: set(old.elements(n)) for n in SPEC_BY_NAME}, new)
    for name in SPEC_BY_NAME:
        after = (set(old.elements(name)) - set(delta.remove[name])) | set(delta.add[name])
        assert after == set(new.elements(name))
    assert 0 < delta.size() < old.size()
    assert nftables.render_delta(delta).splitlines()[0].startswith(
        "delete element inet sws_filter allow4 { 10.251.0.2 . 10.251.1.0-10.251.1.9 . udp . 53"
    )


def test_json_round_trip_keeps_the_digest() -> None:
    ruleset = compile_ruleset(POLICY, VMS, host="h", now=NOW)
    again = Ruleset.from_json(ruleset.to_json())
    assert again.digest() == ruleset.digest() and again.sets == ruleset.sets


# The property test ---------------------------------------------------------------------------

def reference(policy: Policy, vms: tuple[Instance, ...], packet: Packet) -> str:
    """The policy's own words: VM -> internal needs an allow rule; internal -> VM a grant."""
    src, dst = ipaddress.ip_address(packet.source), ipaddress.ip_address(packet.destination)
    guarded = [ipaddress.ip_network(n.cidr) for n in (*policy.internal, *policy.bridge_sources)]
    owner = {ip: vm for vm in vms for ip in map(ipaddress.ip_address, vm.fixed_ips)}
    if src in owner and any(dst in net for net in guarded):
        return "continue" if any(_allows(r, owner[src], packet) for r in policy.rules) else "drop"
    if dst in owner and any(src in net for net in guarded):
        vm = owner[dst]
        ok = any(g.instance_id == vm.id and g.tenant_id == vm.tenant_id and g.port == packet.dport
                 and packet.proto == 6 for g in policy.grants) and any(
            src in ipaddress.ip_network(s.cidr) for s in policy.bridge_sources)
        return "continue" if ok else "drop"
    return "continue"


def _allows(rule: AllowRule, vm: Instance, packet: Packet) -> bool:
    if not rule.active(NOW) or not applies_to(rule, vm):
        return False
    if ipaddress.ip_address(packet.destination) not in ipaddress.ip_network(rule.destination):
        return False
    v6 = ":" in packet.destination
    protos = {"tcp": {6}, "udp": {17}, "icmp": {58 if v6 else 1}, "any": set(range(256))}
    lo, hi = rule.ports()
    return packet.proto in protos[rule.protocol] and lo <= packet.dport <= hi


ADDRS = [f"10.251.0.{i}" for i in range(2, 6)] + [f"10.251.{n}.{h}" for n in (1, 2)
                                                   for h in (0, 3, 7, 8, 64, 200, 255)]
VM_POOL = (
    Instance("v1", "t1", ("10.251.0.2",)), Instance("v2", "t1", ("10.251.0.3",)),
    Instance("v3", "t2", ("10.251.0.4",)), Instance("v4", "t3", ("10.251.0.5",)),
)
cidr = st.builds(
    lambda net, host, plen: str(ipaddress.ip_network(f"10.251.{net}.{host}/{plen}", strict=False)),
    st.sampled_from([1, 2]), st.integers(0, 255), st.integers(22, 32),
)
ports = st.integers(1, 40).flatmap(lambda a: st.tuples(st.just(a), st.integers(a, 45)))


@st.composite
def rules(draw: st.DrawFn) -> AllowRule:
    scope = draw(st.sampled_from(["all", "tenant", "instance"]))
    protocol = draw(st.sampled_from(["tcp", "udp", "icmp", "any"]))
    lo, hi = draw(ports)
    ported = protocol in ("tcp", "udp")
    expires = draw(st.sampled_from([None, NOW - timedelta(hours=1), NOW + timedelta(hours=1)]))
    return AllowRule(
        id=f"r{draw(st.integers(0, 10**6))}", scope=scope, destination=draw(cidr),
        protocol=protocol, port_min=lo if ported else None, port_max=hi if ported else None,
        tenant_id=draw(st.sampled_from(["t1", "t2", "t9"])) if scope == "tenant" else None,
        instance_id=draw(st.sampled_from(["v1", "v3", "v9"])) if scope == "instance" else None,
        expires_at=expires, reason="x",
    )


policies = st.builds(
    lambda internal, rs, sources, grants: Policy(
        internal=tuple(InternalNetwork(f"n{i}", c) for i, c in enumerate(internal)),
        rules=tuple(rs),
        bridge_sources=tuple(BridgeSource(f"b{i}", c) for i, c in enumerate(sources)),
        grants=tuple(BridgeGrant(f"g{i}", t, v, p) for i, (t, v, p) in enumerate(grants)),
    ),
    st.lists(st.sampled_from(["10.251.1.0/25", "10.251.1.128/26", "10.251.2.0/24"]),
             unique=True, max_size=3),
    st.lists(rules(), max_size=8),
    st.lists(st.sampled_from(["10.251.1.0/29", "10.251.2.192/27"]), unique=True, max_size=2),
    st.lists(st.tuples(st.sampled_from(["t1", "t2"]), st.sampled_from(["v1", "v2", "v3"]),
                       st.integers(20, 25)), max_size=4),
)
packets = st.builds(
    Packet, st.sampled_from(ADDRS), st.sampled_from(ADDRS), st.sampled_from([1, 6, 17, 47]),
    st.integers(0, 50),
)


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies, batch=st.lists(packets, min_size=1, max_size=25))
def test_compiled_decisions_equal_the_policy(policy: Policy, batch: list[Packet]) -> None:
    ruleset = compile_ruleset(policy, VM_POOL, host="h", now=NOW)
    for packet in batch:
        assert decide(ruleset, packet) == reference(policy, VM_POOL, packet), packet
    for name in SPEC_BY_NAME:
        for one, two in combinations(ruleset.elements(name), 2):
            assert not all(a[0] <= b[1] and b[0] <= a[1] for a, b in zip(one, two, strict=True))


boxes = st.lists(
    st.tuples(*[st.integers(0, 12).flatmap(lambda a: st.tuples(st.just(a), st.integers(a, 12)))
                for _ in range(3)]),
    max_size=8,
)


@settings(deadline=None)
@given(boxes)
def test_disjoint_covers_exactly_the_union(items: list[tuple[tuple[int, int], ...]]) -> None:
    out = disjoint(items)
    grid = [(x, y, z) for x in range(13) for y in range(13) for z in range(13)]

    def inside(box: tuple[tuple[int, int], ...], p: tuple[int, int, int]) -> bool:
        return all(lo <= v <= hi for (lo, hi), v in zip(box, p, strict=True))

    for point in grid:
        assert any(inside(b, point) for b in items) == (sum(inside(b, point) for b in out) == 1)
    assert disjoint(out) == out
