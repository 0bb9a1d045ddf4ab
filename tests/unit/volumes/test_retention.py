"""Schedule retention: keep the newest of each of N days and of each of M ISO weeks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sws.errors import Invalid
from sws.volumes.model import Schedule, Taken, check_keeps, to_keep
from tests.budget import examples

MONDAY = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def _daily(days: int) -> list[Taken]:
    return [Taken(f"s{n:02d}", MONDAY + timedelta(days=n)) for n in range(days)]


def test_a_week_of_dailies_keeps_three_days_and_two_sundays() -> None:
    taken = _daily(14)  # two ISO weeks, Monday to Sunday
    kept = to_keep(taken, daily_keep=3, weekly_keep=2)
    assert kept == {"s13", "s12", "s11", "s06"}  # s13 is also the newest of its week


def test_a_schedule_runs_once_a_utc_day() -> None:
    schedule = Schedule("v", "r", "t", 7, 0, MONDAY, last_run_at=MONDAY)
    assert not schedule.due(MONDAY + timedelta(hours=21))
    assert schedule.due(MONDAY + timedelta(hours=22))


def test_keeping_nothing_is_refused() -> None:
    with pytest.raises(Invalid):
        check_keeps(0, 0)


@settings(max_examples=examples(100))
@given(hours=st.lists(st.integers(0, 24 * 60), min_size=1, max_size=40, unique=True),
       daily=st.integers(0, 10), weekly=st.integers(0, 6))
def test_retention_invariants(hours: list[int], daily: int, weekly: int) -> None:
    taken = [Taken(f"s{h:05d}", MONDAY + timedelta(hours=h)) for h in hours]
    kept = to_keep(taken, daily, weekly)
    assert kept <= {t.snapshot_id for t in taken}
    assert len(kept) <= daily + weekly
    newest = max(taken, key=lambda t: t.taken_at)
    assert (newest.snapshot_id in kept) == (daily + weekly > 0)
    days = {t.taken_at.date() for t in taken}
    assert len({t.taken_at.date() for t in taken if t.snapshot_id in kept}) >= min(daily,
                                                                                   len(days))
