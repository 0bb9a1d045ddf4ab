"""SWS filter benchmark (root; everything inside network namespaces it creates and deletes).

    sudo .venv/bin/python bench/netfilter.py [--rounds 7] [--seconds 2] [--procs 2]

Prints, for the nftables target and, as the peer figure from the same run, the linear
iptables-nft fallback:
- the time to compile and to apply 10,000 and 50,000 allow entries (whole-table transaction);
- the time of one incremental change (one set element added, then deleted), both through the
  `nft` command (`ip netns exec ... nft -f`, what the agent did before) and through
  libnftables in the agent's process (what `sws-agent netfilter` does now);
- new TCP connections per second from the "vm" namespace through "compute" to an intranet
  server, unfiltered and with 10,000 entries loaded (the allowed entry sorts last, so the
  linear chain walks all of them). The load is `bench/netfilter_load.c` (built with `cc`):
  several client processes, connect + RST close in a tight loop, against a C accept loop.
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
from sws_agent.netfilter import LibNft, NftTarget, Shell, enforce  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=UTC)
VM = Instance("vm-a", "tenant-a", ("10.251.0.2",))
TARGET_IP, TARGET_PORT = "10.251.255.250", 7070
BULK_BASE = (10 << 24) | (251 << 16) | (128 << 8)  # 10.251.128.0/17

LOAD_C = Path(__file__).with_name("netfilter_load.c")


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


def incremental(topo: Topology, ruleset: Ruleset, rounds: int = 20) -> dict[str, float]:
    """Median ms of one change (add one element / delete it), by each way of sending it."""
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
    times: dict[str, list[float]] = {"nft command": [], "libnftables": [], "agent round": []}
    for _ in range(rounds):
        for script in (there, back):  # the CLI way: one `nft` process per change
            start = time.perf_counter()
            subprocess.run(cli, input=script, text=True, check=True)
            times["nft command"].append(time.perf_counter() - start)
        for script in (there, back):  # the agent's way: one libnftables context, kept
            start = time.perf_counter()
            ok, _, err = lib.run(script)
            times["libnftables"].append(time.perf_counter() - start)
            assert ok, err
    target = NftTarget(shell=Shell(netns=topo.compute), nft=lib)
    for _ in range(max(3, rounds // 4)):
        for want in (plus, ruleset):
            start = time.perf_counter()
            report = enforce(target, target.shell, want)
            times["agent round"].append(time.perf_counter() - start)
            assert report["mode"] == "delta" and report["in_sync"], report
    lib.close()
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def conn_rate(topo: Topology, load: Path, seconds: float, procs: int) -> float:
    done = topo.inside("vm", str(load), "connect", TARGET_IP, str(TARGET_PORT), str(procs),
                       str(seconds))
    return float(done.stdout.split()[0])


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
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts" / "install-netfilter-tools")], check=True)
    topo = Topology()
    with tempfile.TemporaryDirectory() as workdir:
        load = build_load(Path(workdir))
        try:
            prepare(topo, load, args.procs)
            run(topo, load, args)
        finally:
            topo.close()


def run(topo: Topology, load: Path, args: argparse.Namespace) -> None:
    rounds = args.rounds
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
    for way, ms in incremental(topo, sets[10_000]).items():
        print(f"incremental change (one element), {way}: {ms:.2f} ms")
    rates: dict[str, list[float]] = {"unfiltered": [], "nft 10k": [], "iptables 10k": []}
    conn_rate(topo, load, 1.0, args.procs)  # warm up: ARP, caches, CPU frequency
    for _ in range(rounds):
        clear(topo)
        rates["unfiltered"].append(conn_rate(topo, load, args.seconds, args.procs))
        apply_nft(topo, sets[10_000])
        rates["nft 10k"].append(conn_rate(topo, load, args.seconds, args.procs))
        clear(topo)
        apply_iptables(topo, sets[10_000])
        rates["iptables 10k"].append(conn_rate(topo, load, args.seconds, args.procs))
    print("rounds (conn/s): " + "; ".join(
        f"{name} " + " ".join(f"{v:.0f}" for v in values) for name, values in rates.items()))
    base = rates["unfiltered"]
    for name, values in rates.items():
        ratio = statistics.median(v / b for v, b in zip(values, base, strict=True))
        print(f"new TCP connections/s, {name:>12}: median {statistics.median(values):7.0f} "
              f"(min {min(values):.0f}, max {max(values):.0f}; {ratio:.1%} of unfiltered, "
              "median of per-round ratios)")


def _ipt_once(topo: Topology, ruleset: Ruleset) -> float:
    clear(topo)
    return apply_iptables(topo, ruleset)


if __name__ == "__main__":
    main()
