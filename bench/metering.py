"""Benchmark of metering: steady-state ingest with rollups, query latency, and Gnocchi's engine.

(a) Steady-state ingest: M metrics (default 10,000), one new point each per 10-s poll, for P
    polls, through `metering.service.ingest` (one batched transaction per poll) followed by
    `service.seal` (rollups at 1 min, 5 min, 1 h and 1 day kept up to date), on a fresh SQLite
    file, and on PostgreSQL with --postgres (a throw-away database is created and dropped).
(b) Query latency: p50 and p99 of a 1-day, 5-minute `mean` of one metric with a day of 10-s
    history, through `service.query` (the path the API route takes, without HTTP).
(c) Gnocchi's carbonara engine on the same data, in its own venv (default /tmp/gnocchi-venv,
    created with `pip install gnocchi` if missing): per point, what metricd does per metric
    update: BoundTimeSerie.set_values, then the same 24 aggregations (4 granularities x min,
    max, mean, sum, count, last), then serialisation. No storage I/O is counted for Gnocchi.

    .venv/bin/python bench/metering.py [--metrics 10000] [--polls 30] [--postgres URL]
        [--prefill-minutes 0] [--skip-sqlite] [--gnocchi-venv /tmp/gnocchi-venv]
        [--gnocchi-metrics 1000] [--skip-gnocchi]

With --prefill-minutes N the tables first hold N minutes of every metric (stored the same way,
untimed), so sealing has to find its minute among many rather than in a nearly empty table.

Goals: >= 50,000 points/s ingest per process; query p50 under 5 ms.
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

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine, normalise_url
from sws.db.migrate import upgrade
from sws.metering import service
from sws.metering.model import Sample, SeriesQuery

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
POLL = timedelta(seconds=10)
GOAL_INGEST, GOAL_P50_MS = 50_000.0, 5.0


def value(metric: int, poll: int) -> float:
    """The same deterministic data on both sides: a bounded integer sawtooth."""
    return float((metric * 7919 + poll * 104729) % 1000)


@contextmanager
def scratch(postgres: str | None) -> Iterator[Database]:
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


def steady_state(db: Database, clock: SimulatedClock, metrics: int, polls: int) -> float:
    resources = [f"vm-{m:05d}" for m in range(metrics)]
    elapsed = 0.0
    for poll in range(polls):
        now = clock.now()
        samples = [Sample(r, "bench", "cpu_util", "", now, value(m, poll))
                   for m, r in enumerate(resources)]
        started = time.perf_counter()  # the store path: samples as the collector hands them
        service.ingest(db=db, clock=clock, samples=samples)
        service.seal(db=db, clock=clock)
        elapsed += time.perf_counter() - started
        clock.advance(POLL)
    return metrics * polls / elapsed


def query_latency(db: Database, end: datetime, runs: int = 500) -> tuple[float, float]:
    """A 1-day, 5-minute mean of the metric whose day of history ends at `end`."""
    request = SeriesQuery.build(end - timedelta(days=1), end, 300, "mean")
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        found = service.query(db=db, project_id="bench", resource_id="q-metric",
                              meter="cpu_util", request=request)
        timings.append((time.perf_counter() - started) * 1000)
    assert len(found.points) >= 288, len(found.points)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1]


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
elapsed = 0.0
for p in range(polls):
    at = numpy.datetime64(start + p * 10, "s")
    t0 = time.perf_counter()
    for m, ts in enumerate(series):
        update(m, ts, at)
    elapsed += time.perf_counter() - t0
print(json.dumps({"points_per_s": metrics * polls / elapsed}))
"""


def gnocchi(venv: Path, metrics: int, polls: int) -> float | None:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} with `pip install gnocchi` ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "gnocchi"], check=True)
    script = GNOCCHI_SCRIPT.replace("value(m, p)]", "value(m, p)]")
    start = int(START.timestamp())
    done = subprocess.run([str(python), "-c", script, str(metrics), str(polls), str(start)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print("gnocchi run failed:", done.stderr[-2000:])
        return None
    return float(json.loads(done.stdout.strip().splitlines()[-1])["points_per_s"])


def run(
    label: str, postgres: str | None, metrics: int, polls: int, prefill: int = 0
) -> tuple[float, float]:
    clock = SimulatedClock(START)
    with scratch(postgres) as db:
        history_end = START + timedelta(minutes=prefill)
        history(db, clock, history_end)
        if prefill:  # untimed: the tables hold `prefill` minutes of every metric first
            steady_state(db, clock, metrics, prefill * 6)
        rate = steady_state(db, clock, metrics, polls)
        p50, p99 = query_latency(db, history_end)
    print(f"{label:<11} ingest {rate:>10,.0f} points/s (goal {GOAL_INGEST:,.0f})   "
          f"query 1 day @ 5 min mean: p50 {p50:.2f} ms, p99 {p99:.2f} ms (goal p50 < 5 ms)")
    return rate, p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=int, default=10_000)
    parser.add_argument("--polls", type=int, default=30)
    parser.add_argument("--postgres", help="e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--gnocchi-venv", type=Path, default=Path("/tmp/gnocchi-venv"))
    parser.add_argument("--gnocchi-metrics", type=int, default=1000)
    parser.add_argument("--skip-gnocchi", action="store_true")
    parser.add_argument("--prefill-minutes", type=int, default=0,
                        help="store this many minutes of every metric (untimed) first")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    print(f"{args.metrics} metrics x {args.polls} polls (10 s apart), rollups 1m/5m/1h/1d"
          + (f", after {args.prefill_minutes} min stored" if args.prefill_minutes else ""))
    ours = 0.0
    if not args.skip_sqlite:
        ours, _ = run("SQLite", None, args.metrics, args.polls, args.prefill_minutes)
    if args.postgres:
        run("PostgreSQL", args.postgres, args.metrics, args.polls, args.prefill_minutes)
    if not args.skip_gnocchi:
        theirs = gnocchi(args.gnocchi_venv, args.gnocchi_metrics, args.polls)
        if theirs is not None and ours:
            print(f"Gnocchi carbonara ({args.gnocchi_metrics} metrics, compute only): "
                  f"{theirs:,.0f} points/s; SWS on SQLite is {ours / theirs:.1f}x")


if __name__ == "__main__":
    main()
