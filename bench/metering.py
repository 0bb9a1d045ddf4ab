"""Benchmark of metering: steady-state ingest with rollups, query latency, and Gnocchi's engine.

(a) Steady-state ingest: M metrics, at each size of --sizes (default 1k, 10k and 100k metrics),
    one new point each per 10-s poll, for P polls, through `metering.service.ingest` (one
    batched transaction per poll) followed by
    `service.seal` (rollups at 1 min, 5 min, 1 h and 1 day kept up to date), on a fresh SQLite
    file, and on PostgreSQL with --postgres (a throw-away database is created and dropped).
(b) Query latency: p50 and p99 of a 1-day, 5-minute `mean` of one metric with a day of 10-s
    history, through `service.query` (the path the API route takes, without HTTP).
(c) Gnocchi's carbonara engine on the same data, in its own venv (default /tmp/gnocchi-venv,
    created with `pip install gnocchi` if missing): per point, what metricd does per metric
    update: BoundTimeSerie.set_values, then the same 24 aggregations (4 granularities x min,
    max, mean, sum, count, last), then serialisation. No storage I/O is counted for Gnocchi.

    .venv/bin/python bench/metering.py [--sizes 1k,10k,100k] [--polls 12] [--postgres URL]
        [--prefill-minutes 0] [--skip-sqlite] [--gnocchi-venv /tmp/gnocchi-venv]
        [--gnocchi-metrics 1000] [--skip-gnocchi] [--json]

Every figure is wall time, this process's CPU and, on PostgreSQL, the CPU of the backends it
used; Gnocchi's is its process's CPU over the same loop.

With --prefill-minutes N the tables first hold N minutes of every metric (stored the same way,
untimed), so sealing has to find its minute among many rather than in a nearly empty table.

On SQLite (where SWS appends new points to metering_buffer and moves them into metering_raw
once a minute) each size also measures two floors in the same run: the same number of polls of
the same metrics inserted straight into metering_raw by the same multi-row INSERT alone (no
Python per row, no rollups: what the raw table costs per point written once per poll, the path
PostgreSQL and MariaDB keep), and the same INSERTs into metering_buffer moved once a minute
(the floor of SWS's SQLite path). The bench also
prints the embedded mode's real load: the samples one instance yields per 10-s poll (the
simulated region's counters through `model.derive`) times 100 instances, and the headroom.

Goals: >= 50,000 points/s ingest per process (judged on total CPU: this process's plus the
backends'); query p50 under 5 ms (wall: it is a latency).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from _measure import Cost, Verdict, Watched, add_options, measured, per_unit_row, watch_backends
from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine, normalise_url
from sws.db.migrate import upgrade
from sws.drivers.base import CounterReading, Flavor, InstanceReading
from sws.drivers.simulated.workload import Domain, profile_of
from sws.metering import service
from sws.metering.model import Sample, SeriesQuery, derive
from sws.metering.repository import FLUSH_BUFFER

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
POLL = timedelta(seconds=10)
GOAL_INGEST, GOAL_P50_MS = 50_000.0, 5.0
LAPTOP_INSTANCES = 100  # a generous embedded region (`sws up` on one machine)


def value(metric: int, poll: int) -> float:
    """The same deterministic data on both sides: a bounded integer sawtooth."""
    return float((metric * 7919 + poll * 104729) % 1000)


@contextmanager
def scratch(postgres: str | None, backends: Watched) -> Iterator[Database]:
    if postgres is None:
        with tempfile.TemporaryDirectory() as directory:
            engine = make_engine(f"sqlite:///{Path(directory) / 'bench.db'}")
            upgrade(engine)
            yield Database(engine)
            engine.dispose()
        return
    name = f"sws_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(postgres), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        engine = make_engine(normalise_url(postgres).rsplit("/", 1)[0] + f"/{name}")
        watch_backends(engine, backends)
        upgrade(engine)
        yield Database(engine)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def history(db: Database, clock: SimulatedClock, until: datetime = START) -> None:
    """One metric with a day of 10-s history before `until` (the timed steady state starts)."""
    points = [
        Sample("q-metric", "bench", "cpu_util", "", until - timedelta(seconds=10 * n),
               float(n % 97))
        for n in range(1, 8641)
    ]
    service.ingest(db=db, clock=clock, samples=points)


def steady_state(
    db: Database, clock: SimulatedClock, metrics: int, polls: int, backends: Watched
) -> Cost:
    resources = [f"vm-{m:05d}" for m in range(metrics)]
    total = Cost()
    for poll in range(polls):
        now = clock.now()
        samples = [Sample(r, "bench", "cpu_util", "", now, value(m, poll))
                   for m, r in enumerate(resources)]
        with measured(backends) as cost:  # the store path: samples as the collector hands them
            service.ingest(db=db, clock=clock, samples=samples)
            service.seal(db=db, clock=clock)
        total.add(cost)
        clock.advance(POLL)
    return total


def floor(db: Database, clock: SimulatedClock, metrics: int, polls: int) -> Cost:
    """SQLite's own cost for the same rows written straight into metering_raw: the next `polls`
    polls of every metric inserted into the raw table of the same run, one transaction per poll,
    with the statement SWS's direct path uses (multi-row VALUES of 300 rows, ON CONFLICT DO
    NOTHING; `executemany` of one prepared row is slower), every parameter prepared outside the
    timed block, and no rollups: what the database costs per point when each poll dirties the
    raw table's leaves (SWS's SQLite path buffers to avoid it; see `buffered_floor`)."""
    with db.read() as conn:
        ids = dict(conn.exec_driver_sql(
            "SELECT resource_id, id FROM metering_metrics WHERE meter = 'cpu_util'").all())
    metric_ids = [ids[f"vm-{m:05d}"] for m in range(metrics)]
    total = Cost()
    with db.engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        for poll in range(polls):
            at = clock.now().strftime("%Y-%m-%d %H:%M:%S.%f")  # as UTCDateTime stores it
            rows = [(metric_id, at, value(m, poll)) for m, metric_id in enumerate(metric_ids)]
            parts = [(_values(len(rows[i:i + 300])),
                      [x for row in rows[i:i + 300] for x in row])
                     for i in range(0, len(rows), 300)]
            with measured() as cost:
                driver.execute("BEGIN")
                for sql, params in parts:
                    driver.execute(sql, params)
                driver.execute("COMMIT")
            total.add(cost)
            clock.advance(POLL)
    return total


def buffered_floor(db: Database, clock: SimulatedClock, metrics: int, polls: int) -> Cost:
    """The floor of SWS's SQLite path: the same INSERTs into metering_buffer (no index, as
    `SQLiteDialect.append_buffer` writes them), moved into metering_raw in key order and the
    buffer emptied once a minute by the statements `repository.flush_buffer` runs; no rollups,
    no Python per row. What SWS's buffered ingest costs above this is its own overhead."""
    with db.engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        ids = [row[0] for row in driver.execute(
            "SELECT id FROM metering_metrics WHERE meter = 'cpu_util' AND resource_id "
            "LIKE 'vm-%' ORDER BY resource_id")]
        total = Cost()
        for poll in range(polls):
            at = clock.now().strftime("%Y-%m-%d %H:%M:%S.%f")
            rows = [(metric_id, at, value(m, poll)) for m, metric_id in enumerate(ids)]
            parts = [(_values(len(rows[i:i + 300]), "metering_buffer"),
                      [x for row in rows[i:i + 300] for x in row])
                     for i in range(0, len(rows), 300)]
            with measured() as cost:
                driver.execute("BEGIN")
                for sql, params in parts:
                    driver.execute(sql, params)
                if poll % 6 == 5 or poll == polls - 1:  # a minute's points, in key order
                    driver.execute(FLUSH_BUFFER)
                    driver.execute("DELETE FROM metering_buffer")
                driver.execute("COMMIT")
            total.add(cost)
            clock.advance(POLL)
    return total


def _values(rows: int, table: str = "metering_raw") -> str:
    """A multi-row INSERT of `rows` points skipping stored ones, as SWS's SQLite dialect does."""
    return (f"INSERT INTO {table} (metric_id, ts, value) VALUES "
            + ",".join(["(?, ?, ?)"] * rows) + " ON CONFLICT DO NOTHING")


def query_latency(
    db: Database, end: datetime, backends: Watched, runs: int = 500
) -> tuple[float, float, Cost]:
    """A 1-day, 5-minute mean of the metric whose day of history ends at `end`."""
    request = SeriesQuery.build(end - timedelta(days=1), end, 300, "mean")
    timings = []
    with measured(backends) as cost:
        for _ in range(runs):
            started = time.perf_counter()
            found = service.query(db=db, project_id="bench", resource_id="q-metric",
                                  meter="cpu_util", request=request)
            timings.append((time.perf_counter() - started) * 1000)
    assert len(found.points) >= 288, len(found.points)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1], cost.per(runs)


def samples_per_instance() -> int:
    """Samples one running instance yields per poll in the embedded mode: the simulated
    region's libvirt-like counters and gauges, read twice 10 s apart, through `model.derive`."""
    flavor = Flavor("f", "m1.small", 1, 2048, 20)
    domain, cursors = Domain("bench-vm", profile_of("bench-vm"), START), {}
    count = 0
    for at in (START + POLL, START + 2 * POLL):
        domain.advance(at, flavor, True)
        counters = tuple(CounterReading(m, v, d) for (m, d), v in sorted(domain.counters.items()))
        gauges = (CounterReading("vcpus", 1.0), CounterReading("memory.usage", 1024.0))
        reading = InstanceReading("bench-vm", "bench", flavor, at, True, counters, gauges)
        count = len(derive(reading, cursors))  # the first reading is only a baseline
    return count


GNOCCHI_SCRIPT = r"""
import json, sys, time
import numpy
from gnocchi import carbonara
metrics, polls, start = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def value(m, p): return float((m * 7919 + p * 104729) % 1000)
granularities = [numpy.timedelta64(s, "s") for s in (60, 300, 3600, 86400)]
methods = ["min", "max", "mean", "sum", "count", "last"]
aggregations = [carbonara.Aggregation(m, g, None) for g in granularities for m in methods]
series = [carbonara.BoundTimeSerie(block_size=granularities[-1], back_window=0)
          for _ in range(metrics)]
out = {}
def update(m, ts, at):
    def compute(bound):
        first = max(bound.first, at)
        grouped = {g: bound.group_serie(g, carbonara.round_timestamp(first, g))
                   for g in granularities}
        result = {a: carbonara.AggregatedTimeSerie.from_grouped_serie(grouped[a.granularity], a)
                  for a in aggregations}
        for agg_ts in result.values():
            for key, split in agg_ts.split():
                split.serialize(key, compressed=True)
        return result
    measures = carbonara.make_timeseries(numpy.array([at], dtype="datetime64[ns]"),
                                         numpy.array([value(m, p)]))
    ts.set_values(measures, before_truncate_callback=compute)
    ts.serialize()
elapsed = cpu = 0.0
for p in range(polls):
    at = numpy.datetime64(start + p * 10, "s")
    t0, c0 = time.perf_counter(), time.process_time()
    for m, ts in enumerate(series):
        update(m, ts, at)
    elapsed += time.perf_counter() - t0
    cpu += time.process_time() - c0
print(json.dumps({"points": metrics * polls, "seconds": elapsed, "cpu_seconds": cpu}))
"""


def gnocchi(venv: Path, metrics: int, polls: int) -> Cost | None:
    """Carbonara's cost for `metrics` x `polls` points (wall and its process's CPU), or None."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} with `pip install gnocchi` ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "gnocchi"], check=True)
    start = int(START.timestamp())
    done = subprocess.run(
        [str(python), "-c", GNOCCHI_SCRIPT, str(metrics), str(polls), str(start)],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        print("gnocchi run failed:", done.stderr[-2000:])
        return None
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Cost(figures["seconds"], figures["cpu_seconds"]).per(figures["points"])


def run(label: str, postgres: str | None, metrics: int, args: argparse.Namespace,
        verdict: Verdict) -> Cost:
    """Ingest and query at one size on one store; returns the ingest cost of all its points."""
    clock, backends, polls = SimulatedClock(START), Watched("PostgreSQL"), args.polls
    with scratch(postgres, backends) as db:
        history_end = START + timedelta(minutes=args.prefill_minutes)
        history(db, clock, history_end)
        if args.prefill_minutes:  # untimed: the tables hold that many minutes of every metric
            steady_state(db, clock, metrics, args.prefill_minutes * 6, backends)
        ingest = steady_state(db, clock, metrics, polls, backends)
        p50, p99, query = query_latency(db, history_end, backends)
        least = None if postgres else floor(db, clock, metrics, polls)
        buffered = None if postgres else buffered_floor(db, clock, metrics, polls)
    points = metrics * polls
    print(f"{label:<11} {metrics:>7,} metrics: ingest {points / ingest.wall:>10,.0f} points/s "
          f"wall, {points / ingest.total_cpu:>10,.0f} per CPU second "
          f"(goal {GOAL_INGEST:,.0f}) [{ingest.describe()}]")
    print(f"{'':<11} query 1 day @ 5 min mean: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
          f"(goal p50 < 5 ms) [{query.describe(1e3, 'ms')} per query]")
    name = f"{label} {metrics}"
    if least is not None:
        print(f"{'':<11} floor (the same rows' INSERTs alone, same table, no rollups): "
              f"{points / least.total_cpu:>10,.0f} per CPU second [{least.describe()}]; "
              f"SWS costs {ingest.total_cpu / least.total_cpu:.2f}x the floor")
        verdict.add(f"{name} floor rate, total cpu", points / least.total_cpu, "points/s")
        verdict.add(f"{name} ingest cpu over floor", ingest.total_cpu / least.total_cpu, "x")
    if buffered is not None:
        print(f"{'':<11} buffered floor (the same INSERTs into metering_buffer, moved once a "
              f"minute in key order, as SWS's SQLite path): "
              f"{points / buffered.total_cpu:>10,.0f} per CPU second [{buffered.describe()}]; "
              f"SWS costs {ingest.total_cpu / buffered.total_cpu:.2f}x it")
        verdict.add(f"{name} buffered floor rate, total cpu", points / buffered.total_cpu,
                    "points/s")
        verdict.add(f"{name} ingest cpu over buffered floor",
                    ingest.total_cpu / buffered.total_cpu, "x")
    verdict.add_cost(f"{name} ingest", ingest)
    verdict.add(f"{name} ingest rate, wall", points / ingest.wall, "points/s")
    verdict.add(f"{name} ingest rate, total cpu", points / ingest.total_cpu, "points/s",
                at_least=GOAL_INGEST)
    verdict.add(f"{name} query p50", p50, "ms", at_most=GOAL_P50_MS)
    verdict.add(f"{name} query p99", p99, "ms")
    verdict.add(f"{name} query total cpu", query.total_cpu * 1e3, "ms")
    return ingest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=12)
    parser.add_argument("--postgres", help="e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--gnocchi-venv", type=Path, default=Path("/tmp/gnocchi-venv"))
    parser.add_argument("--gnocchi-metrics", type=int, default=1000)
    parser.add_argument("--skip-gnocchi", action="store_true")
    parser.add_argument("--prefill-minutes", type=int, default=0,
                        help="store this many minutes of every metric (untimed) first")
    parser.add_argument("--skip-sqlite", action="store_true")
    add_options(parser, (1_000, 10_000, 100_000), "metrics")
    args = parser.parse_args()
    verdict = Verdict("metering")
    print(f"{args.polls} polls (10 s apart) of each size, rollups 1m/5m/1h/1d"
          + (f", after {args.prefill_minutes} min stored" if args.prefill_minutes else ""))
    stores = ([("SQLite", None)] if not args.skip_sqlite else []) + (
        [("PostgreSQL", args.postgres)] if args.postgres else [])
    rows = {label: [(m * args.polls, run(label, url, m, args, verdict)) for m in args.sizes]
            for label, url in stores}
    per_instance = samples_per_instance()
    load = LAPTOP_INSTANCES * per_instance / POLL.total_seconds()
    print(f"embedded mode's real load: {per_instance} samples per instance per 10-s poll, "
          f"{LAPTOP_INSTANCES} instances: {load:,.0f} points/s")
    verdict.add("embedded load, points per instance per poll", per_instance, "points")
    verdict.add(f"embedded load, {LAPTOP_INSTANCES} instances", load, "points/s")
    for label, sized in rows.items():
        if label != "SQLite":  # the embedded mode's store
            continue
        points, cost = sized[-1]
        rate = points / cost.total_cpu
        print(f"  {label} at {points:,} points ingests {rate / load:,.0f}x that per CPU second: "
              f"{rate * POLL.total_seconds() / per_instance:,.0f} instances on one core")
        verdict.add(f"{label} headroom over the embedded load", rate / load, "x")
    print("ingest cost per point at each size:")
    for label, sized in rows.items():
        print(f" {label}:")
        for points, cost in sized:
            print(per_unit_row(points, "points", cost))
        verdict.add_sizes(f"{label} ingest", "point", sized)
    theirs = None if args.skip_gnocchi else gnocchi(
        args.gnocchi_venv, args.gnocchi_metrics, args.polls)
    if theirs is not None:
        print(f"Gnocchi carbonara ({args.gnocchi_metrics} metrics, compute only): "
              f"{theirs.describe(1e6, 'µs')} per point")
        verdict.add_cost("gnocchi carbonara per point", theirs, micro=True)
        for label, sized in rows.items():
            for points, cost in sized:
                ratio = theirs.cpu / (cost.total_cpu / points)
                print(f"  SWS on {label} at {points:,} points uses {ratio:.1f}x less CPU "
                      f"per point than carbonara")
                verdict.add(f"{label} {points} cpu ratio to gnocchi", ratio, "x")
    verdict.emit(args.json)


if __name__ == "__main__":
    main()
