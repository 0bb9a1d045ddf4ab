"""Shared bench machinery: CPU next to wall time, other processes' CPU, sizes, the JSON verdict.

Wall time on this shared machine moves 2x with the load; CPU seconds hardly move. So each bench
times its work with `measured(...)`, which reads, before and after:
- wall time (`time.perf_counter`);
- the CPU of this process and of the children it has waited for (`getrusage`);
- the CPU of other processes that do the work, read from `/proc/<pid>/stat` (utime + stime):
  PostgreSQL backends (`watch_backends` records `pg_backend_pid()` of every connection an
  engine opens), or servers such as Redis, memcached or HAProxy (`Watched.add(pid)`).

`add_options` gives every bench `--sizes` (the work at several sizes, cost per unit at each)
and `--json` (end with one JSON line: every figure, its goal and whether it is met).

The same code costs more CPU on some days than others on this shared machine (2x has been
seen between two quiet runs a day apart). So each bench starts with `machine reference: N ms`,
the CPU time of a fixed pure-Python workload (`reference_ms`), also in its --json figures:
figures from two runs compare after dividing each by its run's reference.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process on this machine has used; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0]
    return (int(fields[11]) + int(fields[12])) / TICKS


def own_cpu() -> float:
    """CPU seconds of this process (all threads) and of the children it has waited for."""
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN
    )
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


class Watched:
    """Other processes whose CPU is charged to the bench's work, under one name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._last: dict[int, float] = {}  # a process that ended keeps its last reading

    def add(self, pid: int) -> None:
        self._last.setdefault(pid, proc_cpu(pid) or 0.0)

    def refresh(self, pid: int) -> None:
        seen = proc_cpu(pid)
        if seen is not None:
            self._last[pid] = seen

    def total(self) -> float:
        for pid in self._last:
            self.refresh(pid)
        return sum(self._last.values())

    def __bool__(self) -> bool:
        return bool(self._last)


def watch_backends(engine: Engine, watched: Watched) -> Engine:
    """Record the PostgreSQL backend pid of each connection `engine` opens (others: no-op)."""
    if engine.dialect.name != "postgresql":
        return engine

    @event.listens_for(engine, "connect")
    def _connected(dbapi: Any, record: Any) -> None:
        cursor = dbapi.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        record.info["backend_pid"] = cursor.fetchone()[0]
        cursor.close()
        dbapi.rollback()
        watched.add(record.info["backend_pid"])

    @event.listens_for(engine, "close")
    def _closing(dbapi: Any, record: Any) -> None:
        if "backend_pid" in record.info:
            watched.refresh(record.info["backend_pid"])

    return engine


@dataclass
class Cost:
    """Wall seconds, this process's CPU seconds and other processes' CPU seconds by name."""

    wall: float = 0.0
    cpu: float = 0.0
    others: dict[str, float] = field(default_factory=dict)

    @property
    def total_cpu(self) -> float:
        return self.cpu + sum(self.others.values())

    def add(self, other: Cost) -> None:
        self.wall += other.wall
        self.cpu += other.cpu
        for name, seconds in other.others.items():
            self.others[name] = self.others.get(name, 0.0) + seconds

    def per(self, units: float) -> Cost:
        return Cost(self.wall / units, self.cpu / units,
                    {name: s / units for name, s in self.others.items()})

    def describe(self, scale: float = 1.0, unit: str = "s") -> str:
        """'wall 1.20 s, CPU 0.80 s + PostgreSQL 0.30 s' (figures times `scale`, in `unit`)."""
        text = f"wall {self.wall * scale:.2f} {unit}, CPU {self.cpu * scale:.2f} {unit}"
        for name, seconds in self.others.items():
            text += f" + {name} {seconds * scale:.2f} {unit}"
        return text


@contextmanager
def measured(*watched: Watched) -> Iterator[Cost]:
    """Time the block: wall, own CPU and the CPU of each watched group, filled in at exit."""
    cost = Cost()
    before = [w.total() for w in watched]
    wall, cpu = time.perf_counter(), own_cpu()
    try:
        yield cost
    finally:
        cost.wall, cost.cpu = time.perf_counter() - wall, own_cpu() - cpu
        cost.others = {w.name: w.total() - b for w, b in zip(watched, before, strict=True) if w}


def parse_sizes(text: str) -> tuple[int, ...]:
    """'1k,10k,100k' -> (1000, 10000, 100000); 'M' is a million."""
    factors = {"k": 1_000, "m": 1_000_000}
    sizes = []
    for part in text.split(","):
        part = part.strip().lower()
        factor = factors.get(part[-1:], 1)
        sizes.append(int(float(part[:-1] if factor > 1 else part) * factor))
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive counts: {text!r}")
    return tuple(sizes)


def add_options(parser: argparse.ArgumentParser, sizes: Sequence[int], unit: str) -> None:
    """`--sizes` (the work at each size, in `unit`) and `--json`."""
    shown = ",".join(f"{s:,}".replace(",000,000", "M").replace(",000", "k") for s in sizes)
    parser.add_argument("--sizes", type=parse_sizes, default=tuple(sizes),
                        help=f"{unit} at each size, e.g. 1k,10k,100k (default {shown})")
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON line: every figure, its goal and met")


def per_unit_row(size: int, units: str, cost: Cost, unit: str | None = None) -> str:
    """One growth row: the work's size and its cost per unit (default: `units` less its s)."""
    each = unit or units.removesuffix("s")
    return f"  {size:>10,} {units}: {cost.per(size).describe(1e6, 'µs')} per {each}"


def growth(rows: Sequence[tuple[int, Cost]]) -> float:
    """Total CPU per unit at the largest size over that at the smallest (1.0 is linear)."""
    (small, first), (large, last) = rows[0], rows[-1]
    return (last.total_cpu / large) / max(first.total_cpu / small, 1e-12)


def _reference_work() -> int:
    """A fixed mix of what SWS's Python does most: calls, dicts, strings, small lists."""
    counts: dict[str, int] = {}
    total = 0
    for n in range(60_000):
        key = f"tenant-{n % 500:04d}"
        counts[key] = counts.get(key, 0) + n
        total += len(key.split("-")[1]) + _step(n)
    return total + len(sorted(counts.items(), key=lambda item: item[1]))


def _step(n: int) -> int:
    return (n * 7 + 3) % 11


def reference_ms(runs: int = 3) -> float:
    """CPU milliseconds of the reference workload: the cheapest of `runs` (some 50 ms each
    on this machine), so a moment's contention on the other core counts less."""
    best = float("inf")
    for _ in range(runs):
        start = time.thread_time()
        _reference_work()
        best = min(best, time.thread_time() - start)
    return best * 1e3


class Verdict:
    """Every figure a bench prints, by name, with its goal (if any) and whether it is met.
    Made when a bench starts (after its options are read): it prints the machine reference
    first, and keeps it as a figure with no goal."""

    def __init__(self, bench: str) -> None:
        self.bench = bench
        self.figures: dict[str, dict[str, Any]] = {}
        reference = reference_ms()
        print(f"machine reference: {reference:.0f} ms (CPU of a fixed Python workload; "
              "figures of two runs compare after dividing by it)", flush=True)
        self.add("machine reference", reference, "ms")

    def add(self, name: str, value: float, unit: str, *, at_most: float | None = None,
            at_least: float | None = None) -> bool | None:
        goal: dict[str, float] | None = None
        met: bool | None = None
        if at_most is not None:
            goal, met = {"<=": at_most}, value <= at_most
        elif at_least is not None:
            goal, met = {">=": at_least}, value >= at_least
        self.figures[name] = {"value": round(value, 6), "unit": unit, "goal": goal, "met": met}
        return met

    def add_cost(self, name: str, cost: Cost, units: int = 1, *, micro: bool = False) -> None:
        """Wall, own CPU and each watched group's CPU of `cost`: seconds, or µs per unit."""
        scale, shown = (1e6, "µs") if units > 1 or micro else (1.0, "s")
        per = cost.per(units)
        self.add(f"{name} wall", per.wall * scale, shown)
        self.add(f"{name} cpu", per.cpu * scale, shown)
        for other, seconds in per.others.items():
            self.add(f"{name} cpu {other}", seconds * scale, shown)

    def add_sizes(self, name: str, unit: str, rows: Sequence[tuple[int, Cost]], *,
                  cpu_at_most_us: float | None = None) -> None:
        """Per-unit cost at each size (total CPU against an optional goal) and the growth."""
        for size, cost in rows:
            self.add_cost(f"{name} per {unit} at {size}", cost, units=size)
            self.add(f"{name} total cpu per {unit} at {size}", cost.total_cpu / size * 1e6,
                     "µs", at_most=cpu_at_most_us)
        if len(rows) > 1:
            self.add(f"{name} growth, cpu per {unit} largest / smallest", growth(rows), "x")

    @property
    def met(self) -> bool:
        return all(f["met"] is not False for f in self.figures.values())

    def emit(self, enabled: bool) -> None:
        """The last line of the run, with --json: one object a script can read."""
        if enabled:
            line = {"bench": self.bench, "met": self.met, "figures": self.figures}
            print(json.dumps(line, ensure_ascii=False), flush=True)


def best_of(runs: int, work: Callable[[], object], *watched: Watched) -> Cost:
    """The cheapest of `runs` runs of `work` by total CPU (with that run's wall time)."""
    costs = []
    for _ in range(runs):
        with measured(*watched) as cost:
            work()
        costs.append(cost)
    return min(costs, key=lambda c: c.total_cpu)
