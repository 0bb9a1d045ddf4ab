"""SWS filter benchmark (root; everything inside network namespaces it creates and deletes).

    sudo .venv/bin/python bench/netfilter.py [--connections 3000] [--rounds 3]

Prints, for the nftables target and, as the peer figure from the same run, the linear
iptables-nft fallback:
- the time to compile and to apply 10,000 and 50,000 allow entries (whole-table transaction);
- the time of one incremental change (one set element added, then deleted);
- new TCP connections per second from the "vm" namespace through "compute" to an intranet
  server, unfiltered and with 10,000 entries loaded (the allowed entry sorts last, so the
  linear chain walks all of them).
Goals: <= 0.15 s for 10k entries, <= 10 ms per incremental change, >= 95 % of unfiltered conn/s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.integration.netfilter.topology import Topology, sh  # noqa: E402

from sws.netfilter import iptables, nftables  # noqa: E402
from sws.netfilter.compiler import SPEC_BY_NAME, Ruleset, compile_ruleset, diff  # noqa: E402
from sws.netfilter.model import AllowRule, Instance, InternalNetwork, Policy  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=UTC)
VM = Instance("vm-a", "tenant-a", ("10.251.0.2",))
TARGET_IP, TARGET_PORT = "10.251.255.250", 7070
BULK_BASE = (10 << 24) | (251 << 16) | (128 << 8)  # 10.251.128.0/17

ACCEPT_CLOSE = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(4096); print("ready", flush=True)
while True:
    c, _ = s.accept(); c.close()
"""

CONNECT_LOOP = r"""
import socket, struct, sys, time
dst, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
linger = struct.pack("ii", 1, 0)
start = time.perf_counter()
for _ in range(count):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    s.connect((dst, port)); s.close()
print(count / (time.perf_counter() - start))
"""


def bulk_policy(entries: int) -> Policy:
    """`entries` disjoint, non-adjacent allow entries for one VM, plus the benchmarked one."""
    rules = [
        AllowRule(f"r{i}", "all", f"{_ip(BULK_BASE + 2 * (i % 16000))}/32", "tcp",
                  1000 + 2 * (i // 16000), 1000 + 2 * (i // 16000), reason="bench")
        for i in range(entries - 1)
    ]
    rules.append(AllowRule("target", "all", f"{TARGET_IP}/32", "tcp", TARGET_PORT, TARGET_PORT,
                           reason="bench"))
    internal = (InternalNetwork("n1", "10.251.1.0/24"), InternalNetwork("n2", "10.251.128.0/17"))
    return Policy(internal=internal, rules=tuple(rules))


def _ip(value: int) -> str:
    return ".".join(str((value >> s) & 255) for s in (24, 16, 8, 0))


def timed(args: list[str], script: str) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".rules", delete=False) as handle:
        handle.write(script)
    start = time.perf_counter()
    sh(*args, handle.name)
    return time.perf_counter() - start


# A compute node always tracks connections (Neutron's security groups need conntrack), so
# the unfiltered baseline keeps one conntrack-using rule in a table of its own.
BASELINE = ("table inet baseline { chain track { type filter hook forward priority 0; "
            "ct state new counter; }; }")


def clear(topo: Topology) -> None:
    subprocess.run(["ip", "netns", "exec", topo.compute, "nft", "-f", "-"], input=BASELINE,
                   text=True, check=True)
    topo.inside("compute", "nft", "delete", "table", "inet", nftables.TABLE, check=False)
    topo.inside("compute", "iptables", "-D", "FORWARD", *iptables.JUMP, check=False)
    for chain in (iptables.CHAIN, iptables.EGRESS, iptables.INGRESS):
        topo.inside("compute", "iptables", "-F", chain, check=False)
    for chain in (iptables.CHAIN, iptables.EGRESS, iptables.INGRESS):
        topo.inside("compute", "iptables", "-X", chain, check=False)


def apply_nft(topo: Topology, ruleset: Ruleset) -> float:
    return timed(["ip", "netns", "exec", topo.compute, "nft", "-f"], nftables.render(ruleset))


def apply_iptables(topo: Topology, ruleset: Ruleset) -> float:
    seconds = timed(["ip", "netns", "exec", topo.compute, "iptables-restore", "--noflush"],
                    iptables.render(ruleset, 4))
    topo.inside("compute", "iptables", "-I", "FORWARD", "1", *iptables.JUMP)
    return seconds


def incremental(topo: Topology, ruleset: Ruleset, rounds: int = 20) -> float:
    extra = compile_ruleset(
        Policy(bulk_policy(2).internal, (AllowRule("x", "all", "10.251.1.99/32", "tcp", 1, 1),)),
        [VM], host="bench", now=NOW,
    )
    added = {n: set(ruleset.elements(n)) for n in SPEC_BY_NAME}
    plus = Ruleset(host="bench", sets={n: tuple(sorted(added[n] | set(extra.elements(n))))
                                       if n == "allow4" else ruleset.elements(n)
                                       for n in SPEC_BY_NAME})
    there, back = nftables.render_delta(diff(added, plus)), nftables.render_delta(
        diff({n: set(plus.elements(n)) for n in SPEC_BY_NAME}, ruleset))
    times = []
    for _ in range(rounds):
        for script in (there, back):
            times.append(timed(["ip", "netns", "exec", topo.compute, "nft", "-f"], script))
    return statistics.median(times)


def conn_rate(topo: Topology, count: int) -> float:
    done = topo.inside("vm", sys.executable, "-c", CONNECT_LOOP, TARGET_IP, str(TARGET_PORT),
                       str(count))
    return float(done.stdout.strip())


def prepare(topo: Topology) -> None:
    topo.build()
    topo.inside("intranet", "ip", "addr", "add", f"{TARGET_IP}/32", "dev", f"nfi{topo.tag}")
    topo.inside("compute", "ip", "route", "add", "10.251.128.0/17", "via", "10.251.1.10")
    server = topo.spawn("intranet", ACCEPT_CLOSE, str(TARGET_PORT))
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts" / "install-netfilter-tools")], check=True)
    topo = Topology()
    try:
        prepare(topo)
        run(topo, args.connections, args.rounds)
    finally:
        topo.close()


def run(topo: Topology, connections: int, rounds: int) -> None:
    sets: dict[int, Ruleset] = {}
    for entries in (10_000, 50_000):
        start = time.perf_counter()
        sets[entries] = compile_ruleset(bulk_policy(entries), [VM], host="bench", now=NOW)
        print(f"compile {entries:>6} entries: {time.perf_counter() - start:.3f} s "
              f"({sets[entries].size()} set elements)")
    for entries, ruleset in sets.items():
        nft = statistics.median(apply_nft(topo, ruleset) for _ in range(rounds))
        clear(topo)
        ipt = statistics.median(_ipt_once(topo, ruleset) for _ in range(rounds))
        clear(topo)
        print(f"apply {entries:>6} entries: nft {nft:.3f} s | linear iptables-nft {ipt:.3f} s")
    apply_nft(topo, sets[10_000])
    change = incremental(topo, sets[10_000])
    print(f"incremental change (one element, nft -f): {change * 1000:.1f} ms")
    rates: dict[str, list[float]] = {"unfiltered": [], "nft 10k": [], "iptables 10k": []}
    for _ in range(rounds):
        clear(topo)
        rates["unfiltered"].append(conn_rate(topo, connections))
        apply_nft(topo, sets[10_000])
        rates["nft 10k"].append(conn_rate(topo, connections))
        clear(topo)
        apply_iptables(topo, sets[10_000])
        rates["iptables 10k"].append(conn_rate(topo, connections))
    base = statistics.median(rates["unfiltered"])
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"new TCP connections/s, {name:>12}: {rate:7.0f} ({rate / base:.0%} of unfiltered)")


def _ipt_once(topo: Topology, ruleset: Ruleset) -> float:
    clear(topo)
    return apply_iptables(topo, ruleset)


if __name__ == "__main__":
    main()
