"""CDN benchmark: a real Varnish edge against the real Swift origin, purge visibility, offload.

    .venv/bin/python bench/cdn.py [--sizes 4,16,64] [--seconds 3] [--purges 100]
                                  [--offload-sizes 1k,2k,5k] [--only purge] [--json]

The rig (bench/_cdn_rig.py): the Swift of `scripts/swift-dev` with a proxy of the bench's own
(tempauth and tempurl, one worker per core), SWS's API on SQLite in this process with a
distribution on a private container (the edges' TempURL signature, `SWS_CDN_ORIGIN_SECRET`),
and two edges on 127.0.0.1, each an `sws-agent cdn` process running its own varnishd with the
VCL SWS rendered. Every process the bench starts is stopped by its PID, on Ctrl-C too.

1. **A hot 10 KB object**: requests/s with `wrk` through edge-1's Varnish (`Host:` the
   distribution's name) and straight from the Swift proxy (the signed URL the edges fetch), at
   each concurrency of --sizes, --seconds each. Next to wall time: CPU per request of this
   process and wrk, of varnishd (manager and cache child) and varnishncsa, and of the Swift
   proxy (parent and workers) and object server, from /proc/<pid>/stat.
   Goal: the edge serves >= 10x the origin's rate at every size.
2. **Purge visibility**: a hard purge by URL posted to the API (HTTP), then both edges polled
   until each answers a MISS; --purges samples, p50 and p99 (and until the job reads done).
   Goal: p99 <= 200 ms.
3. **Origin offload at 95% hot traffic**: after the hot set (20 objects) is cached, N requests
   (--offload-sizes) of which every 20th is a new cold object: the share of requests that
   reached the origin, by edge-1's counters (MAIN.backend_req / MAIN.client_req).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _cdn_rig import EdgeProcess, Rig, descendants, get, rig
from _measure import Cost, Verdict, Watched, add_options, measured, parse_sizes

OBJECT_BYTES = 10 * 1024
RATIO_GOAL = 10.0
PURGE_P99_GOAL_MS = 200.0
HOT_OBJECTS = 20
COLD_EVERY = 20  # one request in 20 is cold: 95% hot
PARTS = ("throughput", "purge", "offload")
POLL_SECONDS = 0.002  # between polls of the edges: a spinning client would starve the API


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser, (4, 16, 64), "concurrent connections of the throughput runs")
    parser.add_argument("--seconds", type=int, default=3, help="per wrk run (default 3)")
    parser.add_argument("--purges", type=int, default=100, help="purge samples (default 100)")
    parser.add_argument(
        "--offload-sizes",
        type=parse_sizes,
        default=(1_000, 2_000, 5_000),
        help="requests of each offload run (default 1k,2k,5k)",
    )
    parser.add_argument(
        "--only",
        choices=PARTS,
        action="append",
        help="run only this part (repeat for more; default all three)",
    )
    args = parser.parse_args()
    parts = set(args.only or PARTS)
    signal.signal(signal.SIGTERM, _exit_on_signal)  # so every `finally` stops what it started
    verdict = Verdict("cdn")
    print(f"cdn bench: {os.cpu_count()} cores, load average at start {_loadavg()}", flush=True)
    with rig() as found:
        if "throughput" in parts:
            _throughput(found, args.sizes, args.seconds, verdict)
        if "purge" in parts:
            _purge_visibility(found, args.purges, verdict)
        if "offload" in parts:
            _offload(found, args.offload_sizes, verdict)
    print(f"load average at the end {_loadavg()}")
    verdict.emit(args.json)


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---- 1. a hot object: the edge against the origin -----------------------------------------


def _edge_watch(edge: EdgeProcess) -> tuple[Watched, Watched]:
    varnishd, ncsa = Watched("varnishd"), Watched("varnishncsa")
    for pid in edge.varnish_pids():
        varnishd.add(pid)
    if (logger := edge.ncsa_pid()) is not None:
        ncsa.add(logger)
    return varnishd, ncsa


def _origin_watch(found: Rig) -> tuple[Watched, Watched]:
    proxy, objects = Watched("swift-proxy"), Watched("swift-object")
    for pid in descendants(found.proxy_pid):
        proxy.add(pid)
    if (server := found.object_server_pid()) is not None:
        objects.add(server)
    return proxy, objects


def _throughput(found: Rig, sizes: tuple[int, ...], seconds: int, verdict: Verdict) -> None:
    edge = found.edges[0]
    found.put("hot-10k", os.urandom(OBJECT_BYTES))
    edge_url, origin_url = f"http://127.0.0.1:{edge.port}/hot-10k", found.origin_url("hot-10k")
    _check_object(edge, found.host)
    host = ("-H", f"Host: {found.host}")
    _wrk(edge_url, 1, 2, host)  # warm-up: the object cached, threads and connections made
    _wrk(origin_url, 1, 2, ())
    edge_watch, origin_watch = _edge_watch(edge), _origin_watch(found)
    print(
        f"\n1. a hot {OBJECT_BYTES // 1024} KB object, wrk {seconds} s a run, edge-1's Varnish "
        f"vs the Swift proxy ({os.cpu_count()} workers) on the same machine"
    )
    for connections in sizes:
        through = _wrk(edge_url, connections, seconds, host, *edge_watch)
        direct = _wrk(origin_url, connections, seconds, (), *origin_watch)
        ratio = through.rate / max(direct.rate, 1e-9)
        print(
            f"  {connections:>4} connections: edge {through.rate:>9,.0f} req/s, origin "
            f"{direct.rate:>7,.0f} req/s: {ratio:5.1f}x (goal >= {RATIO_GOAL:.0f}x); "
            f"failed {through.failed} / {direct.failed}"
        )
        print(f"       CPU per request: edge {_per_request(through)}")
        print(f"                        origin {_per_request(direct)}")
        name = f"hot 10KB at {connections} connections"
        verdict.add(f"{name} edge rate", through.rate, "req/s")
        verdict.add(f"{name} origin rate", direct.rate, "req/s")
        verdict.add(f"{name} edge / origin", ratio, "x", at_least=RATIO_GOAL)
        verdict.add(f"{name} edge failed requests", through.failed, "requests", at_most=0)
        verdict.add(f"{name} origin failed requests", direct.failed, "requests")
        verdict.add_cost(f"{name} edge per request", through.cost, units=through.requests)
        verdict.add_cost(f"{name} origin per request", direct.cost, units=direct.requests)


class WrkRun:
    """One wrk run: requests/s, requests, failed answers and what it cost."""

    def __init__(self, out: str, cost: Cost) -> None:
        self.rate = float(_found(r"Requests/sec:\s+([\d.]+)", out))
        self.requests = int(_found(r"(\d+) requests in", out))
        failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errors = re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), "
            r"timeout (\d+)",
            out,
        )
        self.failed = (int(failed.group(1)) if failed else 0) + (
            sum(int(g) for g in errors.groups()) if errors else 0
        )
        self.cost = cost


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise SystemExit(f"bench/cdn: wrk's output has no {pattern!r}:\n{text}")
    return match.group(1)


def _wrk(
    url: str, connections: int, seconds: int, headers: tuple[str, ...], *watched: Watched
) -> WrkRun:
    threads = min(2, connections)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        *headers,
        url,
    ]
    with measured(*watched) as cost:
        out = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
    return WrkRun(out, cost)


def _per_request(run: WrkRun) -> str:
    return run.cost.per(max(run.requests, 1)).describe(1e6, "µs") + " (CPU: this process and wrk)"


def _check_object(edge: EdgeProcess, host: str) -> None:
    status, _, body = get(edge.port, host, "/hot-10k")
    if status != 200 or len(body) != OBJECT_BYTES:
        raise SystemExit(f"bench/cdn: the edge answers {status} with {len(body)} bytes")


# ---- 2. purge visibility ------------------------------------------------------------------


def _purge_visibility(found: Rig, samples: int, verdict: Verdict) -> None:
    found.put("purged", b"p" * OBJECT_BYTES)
    connections = [http.client.HTTPConnection("127.0.0.1", e.port, timeout=30) for e in found.edges]
    agents = Watched("sws-agent")
    varnishd = Watched("varnishd")
    for edge in found.edges:
        agents.add(edge.agent.pid)
        for pid in edge.varnish_pids():
            varnishd.add(pid)
    visible, done, answered, total = [], [], [], Cost()
    firsts: dict[str, list[float]] = {e.name: [] for e in found.edges}
    try:
        for _ in range(samples):
            for edge, conn in zip(found.edges, connections, strict=True):
                _until(lambda e=edge, c=conn: _cache(e, found.host, c) == "HIT", "cached")
            time.sleep(0.05)  # the previous job's reports are in
            with measured(agents, varnishd) as cost:
                started = time.perf_counter()
                job = _post_purge(found)
                answered.append(time.perf_counter() - started)
                missed = _both_miss(found, connections, started)
                for name, at in missed.items():
                    firsts[name].append(at)
                visible.append(max(missed.values()))
                _until(lambda j=job: _job_state(found, j) == "done", "the job done", pause=0.005)
                done.append(time.perf_counter() - started)
            total.add(cost)
    finally:
        for conn in connections:
            conn.close()
    p50, p99 = _percentile(visible, 50) * 1e3, _percentile(visible, 99) * 1e3
    done50, done99 = _percentile(done, 50) * 1e3, _percentile(done, 99) * 1e3
    print(f"\n2. purge visibility, {samples} hard purges by URL through the API, two edges:")
    print(
        f"  API call -> both edges miss: p50 {p50:.0f} ms, p99 {p99:.0f} ms, max "
        f"{max(visible) * 1e3:.0f} ms (goal p99 <= {PURGE_P99_GOAL_MS:.0f} ms)"
    )
    print(f"  API call -> job reads done:  p50 {done50:.0f} ms, p99 {done99:.0f} ms")
    print(
        f"  phases, p50: the API answered the POST {_percentile(answered, 50) * 1e3:.0f} ms; "
        + ", ".join(
            f"{name} missed {_percentile(at, 50) * 1e3:.0f} ms" for name, at in firsts.items()
        )
    )
    print(
        f"  per purge: {total.per(samples).describe(1e3, 'ms')} (CPU: this process = the API "
        "and the polling client)"
    )
    verdict.add("purge visible on both edges p50", p50, "ms")
    verdict.add("purge visible on both edges p99", p99, "ms", at_most=PURGE_P99_GOAL_MS)
    verdict.add("purge job done p50", done50, "ms")
    verdict.add("purge job done p99", done99, "ms")
    verdict.add_cost("purge", total, units=samples)


def _both_miss(
    found: Rig, connections: list[http.client.HTTPConnection], started: float
) -> dict[str, float]:
    """Seconds from `started` until each edge answered a MISS, polling them in turn."""
    missed: dict[str, float] = {}
    deadline = started + 30
    while len(missed) < len(found.edges):
        for edge, conn in zip(found.edges, connections, strict=True):
            if edge.name not in missed and _cache(edge, found.host, conn) == "MISS":
                missed[edge.name] = time.perf_counter() - started
        if time.perf_counter() > deadline:
            raise SystemExit("bench/cdn: the purge did not reach both edges within 30 s")
        time.sleep(POLL_SECONDS)
    return missed


def _cache(edge: EdgeProcess, host: str, conn: http.client.HTTPConnection) -> str:
    status, cache, _ = get(edge.port, host, "/purged", conn)
    if status != 200:
        raise SystemExit(f"bench/cdn: {edge.name} answers {status}")
    return cache


def _until(check: Any, what: str, seconds: float = 30.0, pause: float = POLL_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench/cdn: no {what} within {seconds:.0f} s")
        time.sleep(pause)


def _post_purge(found: Rig) -> str:
    body = json.dumps({"kind": "url", "value": "/purged", "mode": "hard"}).encode()
    answer = _api(found, f"/v1/cdn/distributions/{found.dist_id}/purges", body)
    return str(answer["id"])


def _job_state(found: Rig, job: str) -> str:
    return str(_api(found, f"/v1/cdn/distributions/{found.dist_id}/purges/{job}")["state"])


def _api(found: Rig, path: str, body: bytes | None = None) -> dict[str, Any]:
    headers = {**found.cloud.acme.headers, "Content-Type": "application/json"}
    request = urllib.request.Request(found.api + path, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return dict(json.loads(answer.read()))


def _percentile(values: list[float], pct: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


# ---- 3. origin offload --------------------------------------------------------------------


def _offload(found: Rig, sizes: tuple[int, ...], verdict: Verdict) -> None:
    edge = found.edges[0]
    for i in range(HOT_OBJECTS):
        found.put(f"hot-{i}", os.urandom(OBJECT_BYTES))
        get(edge.port, found.host, f"/hot-{i}")
    print(
        f"\n3. origin offload at 95% hot traffic ({HOT_OBJECTS} hot objects, cached first; "
        f"every {COLD_EVERY}th request a new cold object), by edge-1's counters:"
    )
    for size in sizes:
        _offload_at(found, edge, size, verdict)


def _offload_at(found: Rig, edge: EdgeProcess, size: int, verdict: Verdict) -> None:
    cold = [f"cold-{size}-{i}" for i in range(size // COLD_EVERY)]
    for name in cold:
        found.put(name, os.urandom(OBJECT_BYTES))
    paths = [
        f"/{cold[i // COLD_EVERY]}"
        if i % COLD_EVERY == COLD_EVERY - 1
        else f"/hot-{i % HOT_OBJECTS}"
        for i in range(size)
    ]
    before = edge.varnish.counters()
    conn = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=30)
    with measured(*_edge_watch(edge), *_origin_watch(found)) as cost:
        answers = [get(edge.port, found.host, path, conn) for path in paths]
    conn.close()  # a worker adds its session's counters to varnishstat's when the session ends
    clients, fetches = _settled(edge, before, size)
    bad = sum(status != 200 for status, _, _ in answers)
    misses = sum(cache != "HIT" for _, cache, _ in answers)
    share = fetches / max(clients, 1) * 100
    print(
        f"  {size:>7,} requests: {fetches:,} of {clients:,} reached the origin ({share:.2f}%; "
        f"{len(cold)} cold objects; {misses} answered MISS; {bad} not 200); per request "
        f"{cost.per(size).describe(1e6, 'µs')}"
    )
    verdict.add(f"offload at {size} requests, share reaching the origin", share, "%")
    verdict.add(f"offload at {size} requests, failed", bad, "requests", at_most=0)
    verdict.add_cost(f"offload at {size} requests per request", cost, units=size)


def _settled(edge: EdgeProcess, before: dict[str, int], size: int) -> tuple[int, int]:
    """MAIN.client_req and MAIN.backend_req since `before`, once the counters show every
    request (Varnish's workers add their counters to the shared ones lazily)."""
    deadline = time.monotonic() + 10
    while True:
        after = edge.varnish.counters()
        clients = after["MAIN.client_req"] - before["MAIN.client_req"]
        fetches = after["MAIN.backend_req"] - before["MAIN.backend_req"]
        if clients >= size or time.monotonic() > deadline:
            return clients, fetches
        time.sleep(0.2)


if __name__ == "__main__":
    main()
