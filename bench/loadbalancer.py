"""Load-balancer benchmark on a real HAProxy 2.6 on 127.0.0.1 (bounded in count and time).

    .venv/bin/python bench/loadbalancer.py [--sizes 10,100,1k] [--json]

Prints: time from a new desired state to the first request served on a new endpoint (runtime
API, no reload), p50/p99/max over --changes changes (default 100) beside 10, 100 and 1,000
existing endpoints (the sizes of --sizes), while --load busy-loop processes (default 2: both
cores) run beside it; reload time at each size of --sizes (load balancers of two servers each,
default 10, 100 and 1,000), per backend; requests lost during reloads under a steady load (at
the largest size); requests per second through HAProxy versus direct to a backend.
Next to wall time: this process's CPU (the agent and its children) and HAProxy's (master and
workers, from `/proc/<pid>/stat`; a worker that a reload starts is counted from its start).
Goals: a new endpoint live within 50 ms at p99 at every size, under that load; no request lost.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.loadbalancer.backends import (
    Backend,
    free_port,
    free_range,
    http_get,
)

from _measure import Cost, Verdict, Watched, add_options, measured, proc_cpu
from sws.loadbalancer.model import DesiredState, LoadBalancer, Member, Monitor
from sws.loadbalancer.renderer import RenderOptions
from sws_agent.lb import LBAgent, MemorySource, Runner


def _lb(i: int, members: tuple[Member, ...]) -> LoadBalancer:
    return LoadBalancer(
        id=f"{i:032x}",
        project_id="p",
        type="http",
        algorithm="roundrobin",
        monitor=Monitor(),
        hosts=(f"h{i}.lb.test",),
        members=members,
    )


LIVE_GOAL_MS = 50.0


def haproxy_cpu(agent: LBAgent, watched: Watched) -> Watched:
    """Add HAProxy's master and current workers to `watched` (call again after a reload)."""
    proc = agent.haproxy.proc()
    for pid in (proc.master_pid, *proc.workers):
        watched.add(pid)
    return watched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser, (10, 100, 1_000), "load balancers (backends) in the reloaded config")
    parser.add_argument("--changes", type=int, default=100, help="new endpoints at each size")
    parser.add_argument(
        "--load",
        type=int,
        default=2,
        help="busy-loop processes beside the new-endpoint part (default 2)",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness of the agent and HAProxy beside the busy loops (e.g. -5; default 0)",
    )
    args = parser.parse_args()
    verdict = Verdict("loadbalancer")
    a, b = Backend("a").start(), Backend("b").start()
    low, high = free_range(4)
    port = free_port()
    opts = RenderOptions(
        run_dir=Path(tempfile.mkdtemp()),
        bind=("127.0.0.1",),
        http_port=port,
        maxconn=2000,
        spares_per_shape=10,
    )
    agent = LBAgent.create(opts)
    agent.start(DesiredState(1, 80, low, high, ()))
    try:
        haproxy = haproxy_cpu(agent, Watched("HAProxy"))
        loaders = _load_both_cores(args.load)
        _renice(agent, args.nice)  # after the busy loops start: they keep niceness 0
        print(
            f"new endpoint live (publish -> first 200 through HAProxy), {args.load} busy-loop "
            f"processes beside it; load average {_loadavg()} at the start:"
        )
        try:
            _new_endpoints(agent, port, (low, high), a, args.sizes, args.changes, haproxy, verdict)
        finally:
            busy = _stop(loaders)
        print(f"  load average {_loadavg()} at the end; the busy loops used {busy:.1f} s CPU")
        rows = [
            (size, _reload_at(agent, (low, high), size, (a, b), haproxy)) for size in args.sizes
        ]
        print("reload cost per backend (two servers each) at each size:")
        for size, cost in rows:
            print(
                f"  {size:>6,} backends: {cost.per(size).describe(1e3, 'ms')} per backend "
                f"(reload {cost.describe(1e3, 'ms')})"
            )
        verdict.add_sizes("reload", "backend", rows)
        _lost(agent, port, verdict)
        _throughput(port, a, verdict)
    finally:
        agent.haproxy.stop()
    verdict.emit(args.json)


def _renice(agent: LBAgent, nice: int) -> None:
    """The data plane's priority (the agent here, HAProxy's master and workers), e.g. -5 as
    a node's systemd unit could give it with Nice=-5; 0 leaves every process equal."""
    if nice:
        proc = agent.haproxy.proc()
        for pid in (0, proc.master_pid, *proc.workers):
            os.setpriority(os.PRIO_PROCESS, pid, nice)


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _load_both_cores(procs: int) -> list[subprocess.Popen[bytes]]:
    """`procs` busy-loop processes at normal priority: the other work the goal is met beside."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(procs)]


def _stop(loaders: list[subprocess.Popen[bytes]]) -> float:
    """Stop the busy loops; the CPU seconds they used."""
    used = sum(proc_cpu(p.pid) or 0.0 for p in loaders)
    for proc in loaders:
        proc.kill()
        proc.wait()
    return used


def _new_endpoints(
    agent: LBAgent,
    port: int,
    ports: tuple[int, int],
    a: Backend,
    sizes: tuple[int, ...],
    changes: int,
    haproxy: Watched,
    verdict: Verdict,
) -> None:
    """At each size: `changes` new endpoints, each from `publish` to its first 200."""
    source = MemorySource(DesiredState(2, 80, *ports, ()))
    runner = Runner(agent, source, poll_wait=0.2, report_interval=0.5)
    threading.Thread(target=runner.run, name="bench-runner", daemon=True).start()
    rows = []
    try:
        for size in sizes:
            rows.append(
                (
                    size,
                    _changes_at(agent, source, (port, *ports), a, size, changes, haproxy, verdict),
                )
            )
    finally:
        runner.stopping.set()
        time.sleep(0.5)  # its apply loop ends within one short poll
    for size, cost in rows:
        verdict.add_cost(f"new endpoint live per change at {size}", cost, units=changes)
    (small, first), (large, last) = rows[0], rows[-1]
    verdict.add(
        f"new endpoint live growth, cpu per change at {large} / at {small}",
        last.total_cpu / max(first.total_cpu, 1e-12),
        "x",
    )


def _changes_at(
    agent: LBAgent,
    source: MemorySource,
    listen: tuple[int, int, int],
    a: Backend,
    size: int,
    changes: int,
    haproxy: Watched,
    verdict: Verdict,
) -> Cost:
    """Each change adds endpoint k and drops endpoint k-1 beside `size` existing ones."""
    port, *ports = listen
    existing = tuple(_lb(j, (Member(f"e{j}", "s", "127.0.0.1", a.port),)) for j in range(size))
    version = source.state.version + 1
    source.publish(DesiredState(version, 80, *ports, existing))  # a reload: the new size
    _wait_applied(agent, version)
    timings, total = [], Cost()
    for k in range(changes):
        new = _lb(10**6 + size * 1000 + k, (Member(f"n{k}", "s", "127.0.0.1", a.port),))
        version += 1
        host = new.hosts[0]
        with measured(haproxy) as cost:
            source.publish(DesiredState(version, 80, *ports, (*existing, new)))
            while http_get(port, host)[0] != 200:
                time.sleep(0.001)  # the client yields: it shares the agent's process and GIL
        total.add(cost)
        timings.append(cost.wall * 1000)
    ordered = sorted(timings)
    p50, p99 = ordered[len(ordered) // 2], ordered[math.ceil(0.99 * len(ordered)) - 1]
    per = total.per(changes)
    print(
        f"  {size:>5,} existing endpoints: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max "
        f"{ordered[-1]:.1f} ms over {changes} changes; per change "
        f"{per.describe(1e3, 'ms')}"
    )
    verdict.add(f"new endpoint live p50 at {size}", p50, "ms")
    verdict.add(f"new endpoint live p99 at {size}", p99, "ms", at_most=LIVE_GOAL_MS)
    verdict.add(f"new endpoint live max at {size}", ordered[-1], "ms")
    return total


def _wait_applied(agent: LBAgent, version: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while agent.live is None or agent.live.version < version:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the agent did not apply version {version}")
        time.sleep(0.05)


def _reload_at(
    agent: LBAgent,
    ports: tuple[int, int],
    size: int,
    backends: tuple[Backend, ...],
    haproxy: Watched,
) -> Cost:
    """The best of 5 reloads (by total CPU) with `size` load balancers of two servers each."""
    a, b = backends
    lbs = tuple(
        _lb(
            i,
            (Member(f"x{i}", "s", "127.0.0.1", a.port), Member(f"y{i}", "s", "127.0.0.1", b.port)),
        )
        for i in range(size)
    )
    agent.apply(DesiredState(100 + size, 80, *ports, lbs))
    costs = []
    for _ in range(5):
        with measured(haproxy_cpu(agent, haproxy)) as cost:
            agent.haproxy.reload()
            haproxy_cpu(agent, haproxy)  # the new worker, counted from its start
        costs.append(cost)
    walls = sorted(c.wall * 1000 for c in costs)
    print(
        f"reload with {size:,} backends / {2 * size:,} servers: {walls[0]:.0f}-{walls[-1]:.0f} "
        f"ms wall"
    )
    return min(costs, key=lambda c: c.total_cpu)


def _lost(agent: LBAgent, port: int, verdict: Verdict) -> None:
    """Requests lost to 20 reloads while 4 clients loop (h7 exists at every size >= 8)."""
    stop, results = threading.Event(), Counter[str]()

    def load() -> None:
        while not stop.is_set():
            try:
                ok = http_get(port, "h7.lb.test", timeout=5)[0] == 200
                results["ok" if ok else "bad"] += 1
            except OSError:
                results["lost"] += 1

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    for _ in range(20):
        agent.haproxy.reload()
        time.sleep(0.1)
    stop.set()
    for worker in workers:
        worker.join()
    total = sum(results.values())
    print(f"requests lost during 20 reloads: {total - results['ok']} of {total}")
    verdict.add("requests lost during 20 reloads", total - results["ok"], "requests", at_most=0)


def _throughput(port: int, a: Backend, verdict: Verdict, seconds: float = 3.0) -> None:
    def rate(target_port: int, host: str) -> tuple[float, Cost]:
        count, deadline = 0, time.monotonic() + seconds
        with measured() as cost:
            while time.monotonic() < deadline:
                http_get(target_port, host)
                count += 1
        return count / seconds, cost.per(count)

    direct, direct_cost = rate(a.port, "direct")
    through, through_cost = rate(port, "h7.lb.test")
    print(
        f"throughput, one client, new connection per request: direct {direct:.0f} req/s, "
        f"through HAProxy {through:.0f} req/s (client CPU per request "
        f"{direct_cost.cpu * 1e6:.0f} / {through_cost.cpu * 1e6:.0f} µs)"
    )
    verdict.add("throughput direct", direct, "req/s")
    verdict.add("throughput through haproxy", through, "req/s")


if __name__ == "__main__":
    main()
