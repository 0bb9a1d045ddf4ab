"""Load-balancer benchmark on a real HAProxy 2.6 on 127.0.0.1 (bounded in count and time).

    .venv/bin/python bench/loadbalancer.py

Prints: time from a new desired state to the first request served on a new endpoint (runtime
API, no reload); reload time with 1,000 backends and 2,000 servers; requests lost during
reloads under a steady load; requests per second through HAProxy versus direct to a backend.
"""

from __future__ import annotations

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

from sws.loadbalancer.model import DesiredState, LoadBalancer, Member, Monitor
from sws.loadbalancer.renderer import RenderOptions
from sws_agent.lb import LBAgent


def _lb(i: int, members: tuple[Member, ...]) -> LoadBalancer:
    return LoadBalancer(id=f"{i:032x}", project_id="p", type="http", algorithm="roundrobin",
                        monitor=Monitor(), hosts=(f"h{i}.lb.test",), members=members)


def main() -> None:
    a, b = Backend("a").start(), Backend("b").start()
    low, high = free_range(4)
    port = free_port()
    opts = RenderOptions(run_dir=Path(tempfile.mkdtemp()), bind=("127.0.0.1",),
                         http_port=port, maxconn=2000, spares_per_shape=10)
    agent = LBAgent.create(opts)
    agent.start(DesiredState(1, 80, low, high, ()))
    try:
        _new_endpoint(agent, port, low, high, a)
        _reloads(agent, port, low, high, a, b)
        _throughput(port, a)
    finally:
        agent.haproxy.stop()


def _new_endpoint(agent: LBAgent, port: int, low: int, high: int, a: Backend) -> None:
    timings, applies = [], []
    for i in range(10):  # 10 spares of this shape: each new LB goes live at runtime
        member = Member(f"n{i}", "s", "127.0.0.1", a.port)
        lbs = tuple(_lb(j, (Member(f"n{j}", "s", "127.0.0.1", a.port),)) for j in range(i))
        started = time.perf_counter()
        outcome = agent.apply(DesiredState(10 + i, 80, low, high, (*lbs, _lb(i, (member,)))))
        applied = time.perf_counter()
        assert outcome == "runtime", outcome
        while http_get(port, f"h{i}.lb.test")[0] != 200:
            pass
        timings.append((time.perf_counter() - started) * 1000)
        applies.append((applied - started) * 1000)
    first = timings[0]
    ordered = sorted(timings)
    print(f"new endpoint live (state -> first 200, no reload): median "
          f"{ordered[len(ordered) // 2]:.1f} ms, max {ordered[-1]:.1f} ms over {len(ordered)} "
          f"(first change {first:.1f} ms; agent apply median "
          f"{sorted(applies)[len(applies) // 2]:.1f} ms, max {max(applies):.1f} ms)")


def _reloads(agent: LBAgent, port: int, low: int, high: int, a: Backend, b: Backend) -> None:
    lbs = tuple(_lb(i, (Member(f"x{i}", "s", "127.0.0.1", a.port),
                        Member(f"y{i}", "s", "127.0.0.1", b.port)))
                for i in range(1000))
    agent.apply(DesiredState(100, 80, low, high, lbs))
    times = []
    for _ in range(5):
        started = time.perf_counter()
        agent.haproxy.reload()
        times.append((time.perf_counter() - started) * 1000)
    print(f"reload with 1,000 backends / 2,000 servers: {min(times):.0f}-{max(times):.0f} ms")
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


def _throughput(port: int, a: Backend, seconds: float = 3.0) -> None:
    def rate(target_port: int, host: str) -> float:
        count, deadline = 0, time.monotonic() + seconds
        while time.monotonic() < deadline:
            http_get(target_port, host)
            count += 1
        return count / seconds

    direct = rate(a.port, "direct")
    through = rate(port, "h7.lb.test")
    print(f"throughput, one client, new connection per request: direct {direct:.0f} req/s, "
          f"through HAProxy {through:.0f} req/s")


if __name__ == "__main__":
    main()
