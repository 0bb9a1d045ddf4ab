"""Benchmark of the API cluster: read-heavy requests/s through HAProxy, 1, 2 and 4 processes.

Seeds the `sws up` demo (tenants, prices, servers, a bill with charges) into a throw-away
PostgreSQL database, then at each size starts that many `sws api` processes (uvicorn, one
worker each) on 127.0.0.1 behind a real HAProxy (round robin, keep-alive) and drives it with
`wrk` and a Lua script: a mix of GET /v1/servers, GET /v1/billing/bills/<month> and
GET /v1/metrics/<server> (a metrics query), each with the tenant's token.

At each size: the peak (wrk, open throttle), then p50/p99 with every connection paced to 80%
of that peak (wrk's `delay()`; the achieved rate is printed next to it). CPU seconds of the
API processes, HAProxy and the PostgreSQL backends are read from /proc, so the figure that
holds on a shared machine is CPU per request; requests/s depend on the cores free.

    .venv/bin/python bench/cluster.py [--sizes 1,2,4] [--seconds 10] [--connections 16]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--json]

Needs haproxy and wrk (scripts/install-system-packages). Goal: no failed request.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, make_url, text

from _measure import Cost, Verdict, Watched, add_options, measured
from sws import bootstrap
from sws.config import Settings
from sws.db.engine import normalise_url
from sws.db.migrate import upgrade
from sws.drivers.base import ServerCreate
from sws.identity import service as identity
from sws.seed import seed_first_start

SWS = str(Path(sys.executable).parent / "sws")
SERVERS = 8  # the demo tenant's quota is 10 instances, 2 of them used
TOKEN_BODY = '{"name": "%s", "password": "%s"}'


@dataclass(frozen=True)
class Run:
    """One wrk run: requests/s, p50 and p99 in seconds, failed answers, and its cost."""

    rate: float
    p50: float
    p99: float
    failed: int
    requests: int
    cost: Cost


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def throwaway_database(url: str) -> Iterator[str]:
    name = f"sws_cluster_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(url)).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(home: Path, url: str) -> tuple[str, str, str]:
    """The demo with SERVERS servers for acme: (acme user, password, one server id)."""
    container = bootstrap.build(Settings(home=home, database_url=url, sim_task_seconds=0))
    upgrade(container.db.engine)
    identity.ensure_regions(db=container.db, names=container.settings.regions)
    credentials = seed_first_start(container) or []
    user = next(c for c in credentials if c.tenant == "acme" and c.role == "member")
    acme = next(t for t in identity.list_tenants(db=container.db, limit=10, marker=None)
                if t.name == "acme")
    driver = container.driver()
    flavor = next(f.id for f in driver.list_flavors() if f.name == "m1.tiny")
    image = next(i.id for i in driver.list_images(acme.id) if i.visibility == "public")
    owner = identity.list_users(db=container.db, tenant_id=acme.id, limit=1, marker=None)[0]
    made = driver.create_servers(acme.id, owner.id, ServerCreate(
        name="app", flavor_id=flavor, image_id=image, count=SERVERS))
    for _ in range(3):  # events applied, the farmer charges: this month's bill has lines
        container.tick()
    container.db.engine.dispose()
    return user.name, user.password, made[0].id


def token(base: str, name: str, password: str) -> str:
    request = urllib.request.Request(
        f"{base}/v1/auth/tokens", data=(TOKEN_BODY % (name, password)).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        found = re.search(r'"token":\s*"([^"]+)"', answer.read().decode())
    assert found, "no token in the log-in answer"
    return found.group(1)


def lua(paths: list[str], secret: str, delay_ms: float) -> str:
    """wrk's script: the paths in turn, the token on each, an optional pause per request."""
    listed = ", ".join(f'"{p}"' for p in paths)
    return (
        f"local paths = {{{listed}}}\nlocal n = 0\n"
        "request = function()\n  n = n + 1\n"
        f'  return wrk.format("GET", paths[(n % #paths) + 1], {{["X-Auth-Token"] = "{secret}"}})\n'
        f"end\ndelay = function() return {delay_ms:.3f} end\n"
    )


def seconds_of(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk(url: str, script: Path, seconds: int, connections: int, *watched: Watched) -> Run:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
               str(script), url]
    with measured(*watched) as cost:
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = seconds_of(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = seconds_of(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    bad = int(failed.group(1)) if failed else 0
    bad += sum(int(g) for g in errors.groups()) if errors else 0
    return Run(rate, p50, p99, bad, requests, cost)


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process ended with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} never answered")


@contextmanager
def cluster(size: int, env: dict[str, str], home: Path) -> Iterator[tuple[str, list[int], int]]:
    """`size` API processes behind HAProxy: (its URL, the API pids, HAProxy's pid)."""
    ports = [free_port() for _ in range(size)]
    processes = [subprocess.Popen([SWS, "api", "--host", "127.0.0.1", "--port", str(p)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for p in ports]
    front = free_port()
    config = home / f"haproxy-{size}.cfg"
    servers = "\n".join(f"  server api{n} 127.0.0.1:{p}" for n, p in enumerate(ports))
    config.write_text(
        "global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 5s\n"
        "  timeout client 60s\n  timeout server 60s\n"
        f"frontend api\n  bind 127.0.0.1:{front}\n  default_backend sws\n"
        f"backend sws\n  balance roundrobin\n{servers}\n")
    haproxy = subprocess.Popen([shutil.which("haproxy") or "haproxy", "-f", str(config), "-db"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes.append(haproxy)
    try:
        for port, process in zip(ports, processes, strict=False):
            wait_for(f"http://127.0.0.1:{port}/healthz", process)
        wait_for(f"http://127.0.0.1:{front}/healthz", haproxy)
        yield f"http://127.0.0.1:{front}", [p.pid for p in processes[:-1]], haproxy.pid
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)


@contextmanager
def backends_seen(setup: dict[str, str], postgres: Watched) -> Iterator[None]:
    """Watch the database's PostgreSQL backends while the block runs. The API's pool opens
    and closes overflow connections under load, so pg_stat_activity is polled every 50 ms:
    CPU a backend spent before it was first seen, or one that lived under 50 ms, is missed
    (the PostgreSQL figure is a lower bound)."""
    engine = create_engine(normalise_url(setup["url"]))
    query = text("SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> "
                 "pg_backend_pid()")
    done = threading.Event()

    def look(conn: Connection) -> None:
        for pid in conn.execute(query, {"name": setup["database"]}).scalars():
            postgres.add(int(pid))
        conn.rollback()

    def poll() -> None:
        with engine.connect() as conn:
            while not done.wait(0.05):
                look(conn)

    with engine.connect() as conn:  # the pool's lasting connections, before the count starts
        look(conn)
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        yield
    finally:
        done.set()
        poller.join()
        engine.dispose()


def at_size(size: int, setup: dict[str, str], args: argparse.Namespace, home: Path,
            verdict: Verdict) -> tuple[Run, Run]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SWS_")},
           "SWS_HOME": str(home), "SWS_DATABASE_URL": setup["url"], "SWS_DEMO_DATA": "false"}
    with cluster(size, env, home) as (url, api_pids, haproxy_pid):
        secret = token(url, setup["user"], setup["password"])
        paths = ["/v1/servers", f"/v1/billing/bills/{setup['month']}",
                 f"/v1/metrics/{setup['server']}"]
        script = home / "mix.lua"
        script.write_text(lua(paths, secret, 0.0))
        wrk(url, script, 2, args.connections)  # warm-up: connections, caches, pools
        api, proxy, postgres = Watched("API"), Watched("HAProxy"), Watched("PostgreSQL")
        for pid in api_pids:
            api.add(pid)
        proxy.add(haproxy_pid)
        with backends_seen(setup, postgres):
            peak = wrk(url, script, args.seconds, args.connections, api, proxy, postgres)
        pause_ms = paced_pause(url, script, (paths, secret), args, target=0.8 * peak.rate)
        script.write_text(lua(paths, secret, pause_ms))
        paced = wrk(url, script, args.seconds, args.connections, api, proxy, postgres)
    report(size, peak, paced, verdict)
    return peak, paced


def paced_pause(url: str, script: Path, request: tuple[list[str], str],
                args: argparse.Namespace, target: float) -> float:
    """The pause per request that makes the connections together ask `target` req/s: each
    cycle is service time plus pause, so two short runs correct the first guess."""
    cycle_ms = 1000.0 * args.connections / target
    pause_ms = cycle_ms
    for _ in range(2):
        script.write_text(lua(*request, pause_ms))
        achieved = wrk(url, script, 3, args.connections).rate
        service_ms = 1000.0 * args.connections / max(achieved, 1e-9) - pause_ms
        pause_ms = max(0.0, cycle_ms - service_ms)
    return pause_ms


def report(size: int, peak: Run, paced: Run, verdict: Verdict) -> None:
    api_cpu = peak.cost.others.get("API", 0.0) / max(peak.requests, 1)
    print(f"  {size} API process(es): peak {peak.rate:,.0f} req/s ({peak.rate / size:,.0f} per "
          f"process), API CPU {api_cpu * 1e3:.2f} ms/request, "
          f"PostgreSQL {peak.cost.others.get('PostgreSQL', 0.0) / max(peak.requests, 1) * 1e3:.2f}"
          f" ms/request; "
          f"at {paced.rate:,.0f} req/s (80% target): p50 {paced.p50 * 1e3:.1f} ms, "
          f"p99 {paced.p99 * 1e3:.1f} ms; failed {peak.failed + paced.failed}", flush=True)
    name = f"{size} processes"
    verdict.add(f"{name} peak", peak.rate, "req/s")
    verdict.add(f"{name} peak per process", peak.rate / size, "req/s")
    verdict.add(f"{name} API cpu per request", api_cpu * 1e3, "ms")
    verdict.add(f"{name} total cpu per request",
                peak.cost.total_cpu / max(peak.requests, 1) * 1e3, "ms")
    for other, seconds in peak.cost.others.items():
        verdict.add(f"{name} cpu {other} per request", seconds / max(peak.requests, 1) * 1e3,
                    "ms")
    verdict.add(f"{name} rate at 80% target", paced.rate, "req/s")
    verdict.add(f"{name} p50 at 80%", paced.p50 * 1e3, "ms")
    verdict.add(f"{name} p99 at 80%", paced.p99 * 1e3, "ms")
    verdict.add(f"{name} failed requests", peak.failed + paced.failed, "requests", at_most=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url",
                        default="postgresql://postgres@127.0.0.1:5432/postgres")
    add_options(parser, (1, 2, 4), "API processes")
    args = parser.parse_args()
    for tool in ("wrk", "haproxy"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: run scripts/install-system-packages")
    verdict = Verdict("cluster")
    print(f"cluster: {os.cpu_count()} cores; read mix through HAProxy, {args.connections} "
          f"connections, {args.seconds} s a run")
    with tempfile.TemporaryDirectory() as tmp, throwaway_database(args.database_url) as url:
        home = Path(tmp)
        name, password, server = seed(home, url)
        setup = {"url": url, "database": make_url(url).database or "", "user": name,
                 "password": password, "server": server,
                 "month": datetime.now(UTC).strftime("%Y-%m")}
        rows = [(size, at_size(size, setup, args, home, verdict)) for size in args.sizes]
    first = rows[0][1][0].rate
    for size, (peak, _) in rows[1:]:
        print(f"  scaling {size} / {rows[0][0]}: {peak.rate / max(first, 1e-9):.2f}x")
        verdict.add(f"scaling {size} processes / {rows[0][0]}", peak.rate / max(first, 1e-9),
                    "x")
    verdict.emit(args.json)


if __name__ == "__main__":
    main()
