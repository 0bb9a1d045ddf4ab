"""The community rules as worked examples and invariants: a lease's steps come in order and
once; idle and mining need a measurement in every window; the CPU adapter averages metering's
real samples per day and per hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from sws.clock import SimulatedClock
from sws.community import model
from sws.community.cpu import MeteredCpu
from sws.community.model import Lease, Terms
from sws.db.engine import Database, make_engine
from sws.errors import Conflict
from sws.metering import service as metering
from sws.metering.model import Sample
from tests.schema import migrate

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
TERMS = Terms(lease=timedelta(days=7), warn=timedelta(hours=24), grace=timedelta(days=3))


def _lease(**changes: object) -> Lease:
    base = Lease("s1", "RegionOne", "p1", "lab", START, START + TERMS.lease)
    return Lease(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, **changes})


def test_the_steps_of_a_lease_in_a_worked_example() -> None:
    expires = START + TERMS.lease
    assert model.next_step(_lease(), expires - timedelta(hours=25), TERMS) is None
    assert model.next_step(_lease(), expires - timedelta(hours=23), TERMS) == "warn"
    warned = _lease(warned_at=expires - timedelta(hours=23))
    assert model.next_step(warned, expires - timedelta(hours=1), TERMS) is None
    assert model.next_step(warned, expires, TERMS) == "shelve"
    shelved = _lease(warned_at=START, shelved_at=expires)
    assert model.next_step(shelved, expires + timedelta(days=2), TERMS) is None
    assert model.next_step(shelved, expires + TERMS.grace, TERMS) == "delete"
    assert model.next_step(_lease(deleted_at=expires), expires + TERMS.grace, TERMS) is None


@given(st.lists(st.integers(min_value=0, max_value=20 * 24), min_size=1, max_size=30))
def test_steps_come_in_order_each_once_whatever_the_pass_times(hours: list[int]) -> None:
    """Passes at any (sorted) moments: warn (if a pass fell in its window), shelve, delete."""
    lease, taken = _lease(), []
    for hour in sorted(hours):
        now = START + timedelta(hours=hour)
        step = model.next_step(lease, now, TERMS)
        if step is None:
            continue
        taken.append(step)
        column = {"warn": "warned_at", "shelve": "shelved_at", "delete": "deleted_at"}[step]
        lease = _lease(
            **{
                **{f: getattr(lease, f) for f in ("warned_at", "shelved_at", "deleted_at")},
                column: now,
            }
        )
    assert taken in (
        [],
        ["warn"],
        ["shelve"],
        ["warn", "shelve"],
        ["shelve", "delete"],
        ["warn", "shelve", "delete"],
    )
    assert len(set(taken)) == len(taken)


def test_a_renewal_gives_a_full_lease_from_now_never_more_and_not_once_deleted() -> None:
    now = START + timedelta(days=3)
    assert model.renewed_expiry(_lease(), now, TERMS) == now + TERMS.lease
    early = START + timedelta(hours=1)
    assert model.renewed_expiry(_lease(), early, TERMS) == early + TERMS.lease
    try:
        model.renewed_expiry(_lease(deleted_at=now), now, TERMS)
    except Conflict:
        pass
    else:
        raise AssertionError("a deleted instance was renewed")


def test_idle_and_mining_need_a_measurement_in_every_window() -> None:
    terms = Terms(idle_days=3, idle_cpu_percent=2.0, mining_hours=3, mining_cpu_percent=90.0)
    assert model.is_idle([0.1, 0.2, 0.3], terms)
    assert not model.is_idle([0.1, None, 0.3], terms)
    assert not model.is_idle([0.1, 0.2], terms)
    assert not model.is_idle([0.1, 0.2, 2.0], terms)
    assert model.is_mining([95.0, 99.0, 90.0], terms)
    assert not model.is_mining([95.0, None, 99.0], terms)
    assert not model.is_mining([95.0, 89.9, 99.0], terms)


def test_the_free_regions_follow_the_mode_and_refuse_unknown_names() -> None:
    known = ["RegionOne", "Lab"]
    assert model.free_regions("community", [], known) == frozenset(known)
    assert model.free_regions("standard", ["Lab"], known) == frozenset({"Lab"})
    assert model.free_regions("standard", [], known) == frozenset()
    try:
        model.free_regions("standard", ["Nowhere"], known)
    except Exception as error:  # Invalid, naming the setting
        assert "community_regions" in str(getattr(error, "field", ""))
    else:
        raise AssertionError("an unknown region was accepted")


def test_metered_cpu_is_averaged_per_day_and_per_hour(tmp_path: Path) -> None:
    db = Database(make_engine(f"sqlite:///{tmp_path / 'sws.db'}"))
    migrate(db.engine)
    now = START + timedelta(days=3)
    clock = SimulatedClock(now)
    samples = [
        Sample("busy", "p1", "cpu_util", "", START + timedelta(minutes=10 * i), 95.0)
        for i in range(6 * 72)
    ] + [
        Sample("quiet", "p1", "cpu_util", "", START + timedelta(days=d, hours=h), 1.0 + h % 2)
        for d in range(3)
        for h in range(24)
    ]
    metering.ingest(db=db, clock=clock, samples=samples)
    cpu = MeteredCpu(db)
    daily = cpu.averages({"busy", "quiet", "absent"}, end=now, seconds=86400, windows=3)
    assert daily["quiet"] == [1.5, 1.5, 1.5] and daily["busy"] == [95.0, 95.0, 95.0]
    assert "absent" not in daily
    hourly = cpu.averages({"busy"}, end=now, seconds=3600, windows=12)
    assert hourly["busy"] == [95.0] * 12
    before = cpu.averages({"busy"}, end=START + timedelta(hours=2), seconds=86400, windows=2)
    assert before["busy"] == [None, None]  # no measurement: never idle, never mining
    db.engine.dispose()
