"""The demo fast-forwards a busy region; the same seed gives the same story."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.db.metadata import metadata
from sws.db.migrate import load_all_tables
from sws.drivers.simulated import SimulatedRegion
from sws.drivers.simulated.demo import DemoSummary, run_demo

from .conftest import ListBus


def run_once(path: Path, seed: int) -> tuple[DemoSummary, ListBus, list[int]]:
    engine = make_engine(f"sqlite:///{path}")
    load_all_tables()
    metadata.create_all(engine)
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))
    bus = ListBus()
    region = SimulatedRegion(
        name="demo-1",
        db=Database(engine),
        clock=clock,
        bus=bus,
        build_failure_rate=0.05,
        rng=random.Random(seed),
    )
    hours: list[int] = []
    summary = run_demo(
        region=region,
        clock=clock,
        project_ids=["p1", "p2", "p3"],
        user_id_for=lambda project: f"user-of-{project}",
        days=2,
        rng=random.Random(seed),
        on_hour=lambda hour, now: hours.append(hour),
        actions_per_project_per_day=12,
    )
    engine.dispose()
    return summary, bus, hours


def test_same_seed_same_summary(tmp_path: Path) -> None:
    first, bus, hours = run_once(tmp_path / "a.db", seed=42)
    second, _, _ = run_once(tmp_path / "b.db", seed=42)
    assert first == second
    assert hours == list(range(1, 49))
    assert first.hours == 48 and first.actions > 20
    assert first.instances_created >= 3
    assert first.notifications == len(bus.envelopes) > 0
    assert first.tasks_completed > 0


def test_another_seed_tells_another_story(tmp_path: Path) -> None:
    assert run_once(tmp_path / "a.db", seed=1)[0] != run_once(tmp_path / "b.db", seed=2)[0]
