"""SWS filter benchmark (root; everything inside network namespaces it creates and deletes).

    sudo .venv/bin/python bench/netfilter.py [--rounds 7] [--seconds 2] [--procs 2]
        [--sizes 1k,10k,50k] [--json]

Prints, for the nftables target and, as the peer figure from the same run, the linear
iptables-nft fallback, wall time and CPU (this process's, and the `nft` / `iptables-restore`
children's, whose system time includes the kernel's work on their transactions):
- the time to compile and to apply the allow entries at each size of --sizes (whole-table
  transaction; default 1k, 10k and 50k entries), and the cost per entry at each size;
- at the middle size (10k by default): the time of one incremental change (one set element
  added, then deleted), both through the
  `nft` command (`ip netns exec ... nft -f`, what the agent did before) and through
  libnftables in the agent's process (what `sws-agent netfilter` does now);
- new TCP connections per second from the "vm" namespace through "compute" to an intranet
  server, unfiltered and with 10,000 entries loaded (the allowed entry sorts last, so the
  linear chain walks all of them). The load is `bench/netfilter_load.c` (built with `cc`):
  several client processes, connect + RST close in a tight loop, against a C accept loop
  (its CPU per connection is the clients' only).
  Rounds interleave unfiltered / nft / iptables; the figures are medians over rounds, and the
  ratio is the median of each round's ratio to that round's unfiltered rate.
Goals: <= 0.15 s for 10k entries, <= 10 ms per incremental change, >= 95 % of unfiltered conn/s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.integration.netfilter.topology import Topology, sh  # noqa: E402

from _measure import Cost, Verdict, add_options, measured, per_unit_row  # noqa: E402
from sws.netfilter import iptables, nftables  # noqa: E402
from sws.netfilter.compiler import SPEC_BY_NAME, Ruleset, compile_ruleset, diff  # noqa: E402
from sws.netfilter.model import AllowRule, Instance, InternalNetwork, Policy  # noqa: E402
from sws_agent.netfilter import LibNft, NftTarget, Shell, enforce  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=UTC)
VM = Instance("vm-a", "tenant-a", ("10.251.0.2",))
TARGET_IP, TARGET_PORT = "10.251.255.250", 7070
BULK_BASE = (10 << 24) | (251 << 16) | (128 << 8)  # 10.251.128.0/17

LOAD_C = Path(__file__).with_name("netfilter_load.c")
APPLY_10K_GOAL_S = 0.15


def build_load(workdir: Path) -> Path:
    """Compile the C load generator (any C compiler Debian ships as `cc`)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("bench/netfilter.py needs a C compiler: apt-get install -y gcc")
    binary = workdir / "netfilter_load"
    subprocess.run([compiler, "-O2", "-o", str(binary), str(LOAD_C)], check=True)
    return binary


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


def timed(args: list[str], script: str) -> Cost:
    with tempfile.NamedTemporaryFile("w", suffix=".rules", delete=False) as handle:
        handle.write(script)
    with measured() as cost:
        sh(*args, handle.name)
    return cost


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


def apply_nft(topo: Topology, ruleset: Ruleset) -> Cost:
    return timed(["ip", "netns", "exec", topo.compute, "nft", "-f"], nftables.render(ruleset))


def apply_iptables(topo: Topology, ruleset: Ruleset) -> Cost:
    cost = timed(["ip", "netns", "exec", topo.compute, "iptables-restore", "--noflush"],
                    iptables.render(ruleset, 4))
    topo.inside("compute", "iptables", "-I", "FORWARD", "1", *iptables.JUMP)
    return cost


def incremental(topo: Topology, ruleset: Ruleset, rounds: int = 20) -> dict[str, Cost]:
    """One change (add one element / delete it) by each way of sending it: median wall, mean
    CPU (the `nft` command's is its child process's)."""
    extra = compile_ruleset(
        Policy(bulk_policy(2).internal, (AllowRule("x", "all", "10.251.1.99/32", "tcp", 1, 1),)),
        [VM], host="bench", now=NOW,
    )
    added = {n: set(ruleset.elements(n)) for n in SPEC_BY_NAME}
    plus = Ruleset(host="bench", sets={n: tuple(sorted(added[n] | set(extra.elements(n))))
                                       if n in ("allow4", "exact4") else ruleset.elements(n)
                                       for n in SPEC_BY_NAME})
    there, back = nftables.render_delta(diff(added, plus)), nftables.render_delta(
        diff({n: set(plus.elements(n)) for n in SPEC_BY_NAME}, ruleset))
    lib = LibNft(topo.compute)
    cli = ["ip", "netns", "exec", topo.compute, "nft", "-f", "-"]
    costs: dict[str, list[Cost]] = {"nft command": [], "libnftables": [], "agent round": []}
    for _ in range(rounds):
        for script in (there, back):  # the CLI way: one `nft` process per change
            with measured() as cost:
                subprocess.run(cli, input=script, text=True, check=True)
            costs["nft command"].append(cost)
        for script in (there, back):  # the agent's way: one libnftables context, kept
            with measured() as cost:
                ok, _, err = lib.run(script)
            costs["libnftables"].append(cost)
            assert ok, err
    target = NftTarget(shell=Shell(netns=topo.compute), nft=lib)
    for _ in range(max(3, rounds // 4)):
        for want in (plus, ruleset):
            with measured() as cost:
                report = enforce(target, target.shell, want)
            costs["agent round"].append(cost)
            assert report["mode"] == "delta" and report["in_sync"], report
    lib.close()
    return {name: typical(values) for name, values in costs.items()}


def typical(costs: list[Cost]) -> Cost:
    """The median wall time with the mean CPU of the same runs."""
    return Cost(statistics.median(c.wall for c in costs),
                statistics.fmean(c.cpu for c in costs))


def conn_rate(topo: Topology, load: Path, seconds: float, procs: int) -> tuple[float, Cost]:
    """New connections per second, and the clients' cost per connection."""
    with measured() as cost:
        done = topo.inside("vm", str(load), "connect", TARGET_IP, str(TARGET_PORT), str(procs),
                           str(seconds))
    rate = float(done.stdout.split()[0])
    return rate, cost.per(max(rate * seconds, 1.0))


def prepare(topo: Topology, load: Path, workers: int) -> None:
    topo.build()
    topo.inside("intranet", "ip", "addr", "add", f"{TARGET_IP}/32", "dev", f"nfi{topo.tag}")
    topo.inside("compute", "ip", "route", "add", "10.251.128.0/17", "via", "10.251.1.10")
    server = subprocess.Popen(
        ["ip", "netns", "exec", topo.ns("intranet"), str(load), "serve", TARGET_IP,
         str(TARGET_PORT), str(workers)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    topo.processes.append(server)
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=2.0, help="per conn/s measurement")
    parser.add_argument("--procs", type=int, default=2, help="client processes (and servers)")
    add_options(parser, (1_000, 10_000, 50_000), "allow entries")
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts" / "install-netfilter-tools")], check=True,
                   stdout=sys.stderr)
    topo, verdict = Topology(), Verdict("netfilter")
    with tempfile.TemporaryDirectory() as workdir:
        load = build_load(Path(workdir))
        try:
            prepare(topo, load, args.procs)
            run(topo, load, args, verdict)
        finally:
            topo.close()
    verdict.emit(args.json)


def bulk(topo: Topology, sizes: tuple[int, ...], rounds: int,
         verdict: Verdict) -> dict[int, Ruleset]:
    """Compile and apply (nft, then the linear iptables peer) at each size; per entry."""
    sets: dict[int, Ruleset] = {}
    rows: dict[str, list[tuple[int, Cost]]] = {"compile": [], "nft apply": [],
                                               "iptables apply": []}
    for entries in sizes:
        with measured() as compiled:
            sets[entries] = compile_ruleset(bulk_policy(entries), [VM], host="bench", now=NOW)
        nft = typical([apply_nft(topo, sets[entries]) for _ in range(rounds)])
        clear(topo)
        ipt = typical([_ipt_once(topo, sets[entries]) for _ in range(rounds)])
        clear(topo)
        print(f"{entries:>6} entries ({sets[entries].size()} set elements): "
              f"compile {compiled.describe()}; apply: nft {nft.describe()} | "
              f"linear iptables-nft {ipt.describe()}")
        for name, cost in (("compile", compiled), ("nft apply", nft), ("iptables apply", ipt)):
            rows[name].append((entries, cost))
            verdict.add_cost(f"{name} {entries}", cost)
        if entries == 10_000:
            verdict.add("nft apply 10000 wall", nft.wall, "s", at_most=APPLY_10K_GOAL_S)
    print("cost per entry at each size:")
    for name, sized in rows.items():
        print(f" {name}:")
        for entries, cost in sized:
            print(per_unit_row(entries, "entries", cost, "entry"))
        verdict.add_sizes(name, "entry", sized)
    return sets


def run(topo: Topology, load: Path, args: argparse.Namespace, verdict: Verdict) -> None:
    rounds = args.rounds
    sets = bulk(topo, args.sizes, rounds, verdict)
    middle = args.sizes[len(args.sizes) // 2]
    apply_nft(topo, sets[middle])
    for way, cost in incremental(topo, sets[middle]).items():
        print(f"incremental change (one element, {middle:,} entries loaded), {way}: "
              f"{cost.describe(1e3, 'ms')}")
        verdict.add_cost(f"incremental change {middle} {way}", cost, micro=True)
        if way == "libnftables":
            verdict.add(f"incremental change {middle} libnftables wall", cost.wall * 1e3, "ms",
                        at_most=10.0)
    rates: dict[str, list[float]] = {"unfiltered": [], f"nft {middle}": [],
                                     f"iptables {middle}": []}
    per_conn: dict[str, list[Cost]] = {name: [] for name in rates}
    conn_rate(topo, load, 1.0, args.procs)  # warm up: ARP, caches, CPU frequency
    for _ in range(rounds):
        for name in rates:
            clear(topo)
            if name.startswith("nft"):
                apply_nft(topo, sets[middle])
            elif name.startswith("iptables"):
                apply_iptables(topo, sets[middle])
            rate, cost = conn_rate(topo, load, args.seconds, args.procs)
            rates[name].append(rate)
            per_conn[name].append(cost)
    print("rounds (conn/s): " + "; ".join(
        f"{name} " + " ".join(f"{v:.0f}" for v in values) for name, values in rates.items()))
    base = rates["unfiltered"]
    for name, values in rates.items():
        ratio = statistics.median(v / b for v, b in zip(values, base, strict=True))
        cpu = typical(per_conn[name]).cpu * 1e6
        print(f"new TCP connections/s, {name:>14}: median {statistics.median(values):7.0f} "
              f"(min {min(values):.0f}, max {max(values):.0f}; {ratio:.1%} of unfiltered, "
              f"median of per-round ratios; clients' CPU {cpu:.1f} µs per connection)")
        verdict.add(f"conn/s {name}", statistics.median(values), "conn/s")
        verdict.add(f"conn cpu {name}", cpu, "µs")
        verdict.add(f"conn/s {name} share of unfiltered", ratio, "ratio",
                    at_least=0.95 if name.startswith("nft") else None)


def _ipt_once(topo: Topology, ruleset: Ruleset) -> Cost:
    clear(topo)
    return apply_iptables(topo, ruleset)


if __name__ == "__main__":
    main()
