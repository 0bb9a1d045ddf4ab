"""The SWS filter in a real kernel: connections that open, and connections that do not.

Each test gets the module's namespaces as built (see topology.py), compiles a policy with the
real compiler, and applies it with the agent's own code in the "compute" namespace. Every test
runs with both targets: nftables and the iptables-restore fallback.
"""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from sws.netfilter.compiler import Ruleset, compile_ruleset
from sws.netfilter.model import (
    AllowRule,
    BridgeGrant,
    BridgeSource,
    Instance,
    InternalNetwork,
    Policy,
)
from sws.netfilter.nftables import render
from sws_agent.netfilter import (
    ApplyError,
    IptablesTarget,
    LibNft,
    NftTarget,
    Shell,
    Target,
    enforce,
)
from tests.integration.netfilter.topology import Topology

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
VM_A = Instance("vm-a", "tenant-a", ("10.251.0.2", "fd00:5a5::2"))
VM_B = Instance("vm-b", "tenant-b", ("10.251.0.3",))
INTERNAL = (InternalNetwork("n4", "10.251.1.0/24"), InternalNetwork("n6", "fd00:5a5:1::/64"))
BRIDGE = (BridgeSource("b1", "10.251.1.48/29"),)
SERVER_1, SERVER_2 = "10.251.1.10", "10.251.1.20"
BRIDGE_IP, NOT_BRIDGE = "10.251.1.50", "10.251.1.60"
A, B = "10.251.0.2", "10.251.0.3"
A6, SERVER6_1, SERVER6_2 = "fd00:5a5::2", "fd00:5a5:1::10", "fd00:5a5:1::20"
ALLOW_A_8080 = AllowRule(
    "r1", "instance", f"{SERVER_1}/32", "tcp", 8080, 8080, instance_id="vm-a", reason="db"
)
ALLOW_A6 = AllowRule(
    "r6", "tenant", f"{SERVER6_1}/128", "tcp", 8080, 8080, tenant_id="tenant-a", reason="v6"
)


def ruleset(*rules: AllowRule, grants: tuple[BridgeGrant, ...] = ()) -> Ruleset:
    policy = Policy(internal=INTERNAL, rules=rules, bridge_sources=BRIDGE, grants=grants)
    return compile_ruleset(policy, [VM_A, VM_B], host="compute", now=NOW)


def apply(target: Target, topo: Topology, rules: Ruleset) -> dict[str, object]:
    report = enforce(target, Shell(netns=topo.compute), rules)
    assert report["in_sync"], report
    return report


def test_only_the_allowed_destination_and_port_pass(topology: Topology, target: Target) -> None:
    apply(target, topology, ruleset(ALLOW_A_8080, ALLOW_A6))
    assert topology.connects("vm", A, SERVER_1, 8080)
    assert not topology.connects("vm", A, SERVER_1, 9090), "same host, another port"
    assert not topology.connects("vm", A, SERVER_2, 8080), "another host"
    assert not topology.connects("vm", B, SERVER_1, 8080), "another tenant's VM"
    assert topology.connects("vm", A6, SERVER6_1, 8080)
    assert not topology.connects("vm", A6, SERVER6_2, 8080), "another IPv6 host"


def test_internet_bound_traffic_is_untouched(topology: Topology, target: Target) -> None:
    apply(target, topology, ruleset(ALLOW_A_8080))
    for source in (A, B):
        assert topology.connects("vm", source, "10.251.2.10", 8080)


def test_revoking_a_rule_cuts_an_established_connection(
    topology: Topology, target: Target
) -> None:
    apply(target, topology, ruleset(ALLOW_A_8080))
    session = topology.session(A, SERVER_1, 8080)
    assert session.ping() == "alive"
    report = apply(target, topology, ruleset())
    assert report["drift"] == {} and report["conntrack_deleted"] == 1  # a cut is no drift
    assert report["changes"] == {"exact4": {"removed": [f"{A} . {SERVER_1} . tcp . 8080"]}}
    assert session.ping() == "dead"
    assert not topology.connects("vm", A, SERVER_1, 8080)


def test_cloud_bridge_opens_only_the_granted_vm_and_port_from_bridge_sources(
    topology: Topology, target: Target
) -> None:
    apply(target, topology, ruleset())
    assert not topology.connects("intranet", BRIDGE_IP, A, 2222), "closed before the grant"
    apply(target, topology, ruleset(grants=(BridgeGrant("g1", "tenant-a", "vm-a", 2222),)))
    assert topology.connects("intranet", BRIDGE_IP, A, 2222)
    assert not topology.connects("intranet", BRIDGE_IP, A, 3333), "another port"
    assert not topology.connects("intranet", BRIDGE_IP, B, 2222), "another VM"
    assert not topology.connects("intranet", NOT_BRIDGE, A, 2222), "not a bridge source"


def test_a_broken_ruleset_leaves_the_previous_one_whole(
    topology: Topology, target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = ruleset(ALLOW_A_8080)
    apply(target, topology, good)
    broken = "table inet sws_filter {\n chain forward { this is not nft }\n"
    for name in ("nftables.render", "nftables.render_delta", "iptables.render"):
        monkeypatch.setattr(f"sws_agent.netfilter.{name}", lambda *_a: broken)
    report = enforce(target, Shell(netns=topology.compute), ruleset())
    assert report["mode"] == "failed" and report["error"]
    monkeypatch.undo()
    assert topology.connects("vm", A, SERVER_1, 8080)
    assert not topology.connects("vm", A, SERVER_2, 8080)
    assert enforce(target, Shell(netns=topology.compute), good)["mode"] in ("unchanged", "full")


def test_a_killed_apply_leaves_the_previous_ruleset_whole(topology: Topology) -> None:
    target = NftTarget(shell=Shell(netns=topology.compute), nft=LibNft(topology.compute))
    apply(target, topology, ruleset(ALLOW_A_8080))
    bigger = Policy(internal=INTERNAL, rules=tuple(
        AllowRule(f"r{p}", "all", f"{SERVER_2}/32", "tcp", p, p, reason="x")
        for p in range(1000, 21000, 2)
    ))
    script = render(compile_ruleset(bigger, [VM_A, VM_B], host="compute", now=NOW))
    nft = subprocess.Popen(
        ["ip", "netns", "exec", topology.compute, "nft", "-f", "-"],
        stdin=subprocess.PIPE, text=True,
    )
    assert nft.stdin is not None
    nft.stdin.write(script[: len(script) // 2])  # the agent dies half-way through the script
    nft.stdin.flush()
    time.sleep(0.2)
    nft.send_signal(signal.SIGKILL)
    nft.wait(timeout=5)
    report = enforce(target, Shell(netns=topology.compute), ruleset(ALLOW_A_8080))
    assert report["mode"] == "unchanged", report  # the old table is still whole
    assert topology.connects("vm", A, SERVER_1, 8080)
    assert not topology.connects("vm", A, SERVER_2, 1000)


def test_restarts_are_idempotent_and_drift_is_repaired(
    topology: Topology, target: Target
) -> None:
    rules = ruleset(ALLOW_A_8080, ALLOW_A6)
    assert apply(target, topology, rules)["mode"] == "full"
    if isinstance(target, IptablesTarget):
        topology.inside("compute", "iptables", "-F", "SWS-EGRESS")
        drift = enforce_drift(target, rules)["iptables"]
        assert any(line.startswith("-A SWS-EGRESS") for line in drift["missing"]), drift
        assert apply(target, topology, rules)["mode"] == "full"
        return
    assert apply(target, topology, rules)["mode"] == "unchanged"
    topology.inside("compute", "nft", "delete", "element", "inet", "sws_filter", "exact4",
                    f"{{ {A} . {SERVER_1} . tcp . 8080 }}")
    assert not topology.connects("vm", A, SERVER_1, 8080)
    report = apply(target, topology, rules)
    assert report["mode"] == "delta"
    assert topology.connects("vm", A, SERVER_1, 8080)


def enforce_drift(target: IptablesTarget, rules: Ruleset) -> dict[str, Any]:
    return target.drift(rules)


def test_one_rule_change_is_a_set_element_delta(topology: Topology) -> None:
    target = NftTarget(shell=Shell(netns=topology.compute), nft=LibNft(topology.compute))
    apply(target, topology, ruleset(ALLOW_A_8080))
    topology.inside("compute", "nft", "add", "table", "inet", "neighbour")
    extra = AllowRule("r2", "all", f"{SERVER_2}/32", "tcp", 9090, 9090, reason="metrics")
    report = apply(target, topology, ruleset(ALLOW_A_8080, extra))
    assert report["mode"] == "delta"
    assert topology.connects("vm", B, SERVER_2, 9090)
    tables = topology.inside("compute", "nft", "list", "tables").stdout
    assert "inet neighbour" in tables, "other tables are left alone"


def test_allowed_traffic_still_meets_the_security_groups(topology: Topology) -> None:
    """A later chain at the forward hook (security groups) still judges what we allowed."""
    target = NftTarget(shell=Shell(netns=topology.compute))
    apply(target, topology, ruleset(ALLOW_A_8080))
    later = ("table inet secgroups { chain sg { type filter hook forward priority filter; "
             f"ip daddr {SERVER_1} tcp dport 8080 drop; }}; }}")
    subprocess.run(["ip", "netns", "exec", topology.compute, "nft", "-f", "-"],
                   input=later, text=True, check=True)
    assert not topology.connects("vm", A, SERVER_1, 8080)


def test_a_refused_apply_raises_nothing_past_the_report(topology: Topology) -> None:
    shell = Shell(netns=topology.compute)
    with pytest.raises(ApplyError):
        shell.must(["nft", "-f", "-"], "this is not nft\n")


def test_libnftables_runs_inside_the_namespace_and_leaves_the_agent_outside(
    topology: Topology,
) -> None:
    lib = LibNft(topology.compute)
    ok, _, err = lib.run("add table inet sws_probe")
    assert ok, err
    assert "sws_probe" in topology.inside("compute", "nft", "list", "tables").stdout
    host = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True)
    assert "sws_probe" not in host.stdout, "the agent's own namespace is untouched"
    ok, _, err = lib.run("this is not nft")
    assert not ok and "syntax error" in err
    lib.close()
